//! The standing torture suite of migrate.
//!
//! - `kill --engine sqlite|postgres --trials N`: applies a generated folder
//!   of 200 migrations, transactional and `no-transaction`, some of them
//!   slow, in child processes killed with `-9` at random points; runs again,
//!   resolves what a kill left incomplete as an operator would, and checks
//!   the schema and the history against the folder.
//! - `fuzz --seconds S`: feeds generated and mutated input to the lexer, the
//!   file-name grammar, the directives, the transaction-control classifier,
//!   the lock-file parser and the macro's argument parser, and checks their
//!   invariants: no panic, statement splits that agree with SQLite's own
//!   prepare loop and with the PostgreSQL grammar, lock files that round-trip.
//!
//! Both exit non-zero on any finding.

mod child;
mod folder;
mod fuzz;
mod kill;
mod rng;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(about = "The torture suite of migrate: kill trials and fuzzing")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply a generated folder in child processes killed with -9 at random
    /// points, then check the schema and the history against the folder.
    Kill {
        /// The database engine.
        #[arg(long, value_enum)]
        engine: Engine,
        /// How many trials, each on a fresh database.
        #[arg(long, default_value_t = 20)]
        trials: usize,
        /// The seed of the random choices, to replay a run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Fuzz the folder format's parsers against their invariants.
    Fuzz {
        /// How long to fuzz.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// The seed of the generator, to replay a run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// One run of a trial, in a child process (used by `kill`).
    #[command(hide = true)]
    Child {
        #[arg(long, value_enum)]
        engine: Engine,
        /// The SQLite file, or the PostgreSQL URL.
        #[arg(long)]
        database: String,
        #[arg(long)]
        folder: PathBuf,
        /// Run each migration in its own transaction.
        #[arg(long)]
        per_migration: bool,
    },
}

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let seed = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| {
                (since.as_secs() << 32) ^ u64::from(since.subsec_nanos()) | 1
            })
    };
    let result = match args.command {
        Command::Kill {
            engine,
            trials,
            seed: given,
        } => kill::run(engine, trials, given.unwrap_or_else(seed)),
        Command::Fuzz {
            seconds,
            seed: given,
        } => fuzz::run(seconds, given.unwrap_or_else(seed)),
        Command::Child {
            engine,
            database,
            folder,
            per_migration,
        } => return child::run(engine, &database, &folder, per_migration),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("migrate-torture: {error}");
            ExitCode::from(2)
        }
    }
}
