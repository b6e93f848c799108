//! The commands of the `migrate` command line, for a service's own binary.
//!
//! A service that embeds its migrations can offer `myservice migrate status`,
//! `up`, `down`, `baseline`, `repair` and `resolve` over them, so a
//! single-binary deploy needs no migration files and no other tool:
//!
//! ```no_run
//! use clap::Parser;
//!
//! static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
//!
//! #[derive(Parser)]
//! enum Cli {
//!     /// Serve requests.
//!     Serve,
//!     /// Inspect or change the database's migrations.
//!     Migrate(migrate_cli::MigrateArgs),
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     match Cli::parse() {
//!         Cli::Serve => std::process::ExitCode::SUCCESS,
//!         Cli::Migrate(args) => migrate_cli::run(&MIGRATIONS, &args),
//!     }
//! }
//! ```
//!
//! The standalone `migrate` binary adds the commands that work on a folder:
//! `new`, `lock` and `check`.
//!
//! # Exit codes
//!
//! | Code | Meaning |
//! |------|---------|
//! | 0 | Success. |
//! | 1 | A migration or the database failed. |
//! | 2 | The command line is wrong. |
//! | 3 | The migrations folder is invalid: a bad file, or a violated `migrate.lock`. |
//! | 4 | The database and the migrations disagree (an edited, missing, out-of-order, incomplete or irreversible migration, an unknown version). Nothing was changed. `status` exits with 4 when it shows such a problem. |

#![warn(missing_docs)]

mod database;
mod execute;
mod output;

use std::process::ExitCode;

use clap::{ArgAction, Args, Subcommand, ValueEnum};
use migrate_core::{DEFAULT_TABLE, LockStrategy, Migrations};

pub use execute::{Failure, Outcome, execute};
pub use output::{finish, init_tracing};

/// Options of every database command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: `sqlite:<path>` or `postgres://user@host/database`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// The history table, optionally `schema.table`.
    #[arg(long, default_value = DEFAULT_TABLE, global = true)]
    pub table: String,
    /// Print JSON for programs instead of text for people.
    #[arg(long, global = true)]
    pub json: bool,
    /// PostgreSQL: how to keep other runners out while migrating. `session`
    /// (the default; `table` on CockroachDB): an advisory lock, for direct
    /// connections. `transaction`: an advisory lock inside each transaction,
    /// through transaction pooling; refuses no-transaction migrations.
    /// `table`: a lease in `<table>_lock`, through any pooler and on
    /// CockroachDB.
    #[arg(long, value_enum, global = true)]
    pub lock: Option<LockArg>,
    /// With `--lock table`: how long the lease lasts unless renewed, in
    /// seconds (300 by default); above the longest statement of a
    /// no-transaction migration.
    #[arg(long, value_name = "SECONDS", global = true)]
    pub lease_ttl: Option<u64>,
    /// Print what migrate does on standard error: a span per run and per
    /// migration, the lock, drift. `-vv` adds each statement of a
    /// no-transaction migration.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// `--lock`: a [`LockStrategy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LockArg {
    /// A session-level advisory lock.
    Session,
    /// A transaction-level advisory lock in each transaction.
    Transaction,
    /// A lease in a table next to the history table.
    Table,
}

impl From<LockArg> for LockStrategy {
    fn from(lock: LockArg) -> LockStrategy {
        match lock {
            LockArg::Session => LockStrategy::Session,
            LockArg::Transaction => LockStrategy::Transaction,
            LockArg::Table => LockStrategy::Table,
        }
    }
}

/// The commands that work on a database.
#[derive(Debug, Clone, Subcommand)]
pub enum DatabaseCommand {
    /// Show each migration's state: applied, pending, edited, missing or incomplete.
    Status,
    /// Apply pending migrations.
    Up {
        /// Stop after this version.
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        /// Show what would be applied, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Accept applied migrations that the migrations do not have.
        #[arg(long)]
        allow_missing: bool,
        /// Apply pending migrations below the highest applied one.
        #[arg(long)]
        allow_out_of_order: bool,
        /// Commit after each migration instead of once for the whole run.
        #[arg(long)]
        per_migration: bool,
    },
    /// Roll back with the down scripts, newest first.
    Down {
        /// Revert every migration above this version.
        #[arg(
            long,
            value_name = "VERSION",
            required_unless_present = "steps",
            conflicts_with = "steps"
        )]
        to: Option<i64>,
        /// Revert this many migrations.
        #[arg(long, value_name = "N")]
        steps: Option<usize>,
    },
    /// Record the migrations up to VERSION as applied, without running them.
    Baseline {
        /// The last version the database already has.
        version: i64,
    },
    /// Accept a deliberate edit: record the current checksum of VERSION.
    Repair {
        /// The edited migration.
        version: i64,
    },
    /// Settle a no-transaction migration that stopped part-way.
    Resolve {
        /// The incomplete migration.
        version: i64,
        /// What was done by hand: `completed` records it as applied,
        /// `rolled-back` lets the next run apply it again.
        #[arg(long = "as", value_enum)]
        resolution: ResolutionArg,
    },
}

/// How an incomplete migration was settled by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResolutionArg {
    /// Its remaining statements were run by hand.
    Completed,
    /// What it did was undone by hand.
    RolledBack,
}

/// `migrate <command>` inside a service's binary: the database commands
/// over the migrations it embeds.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Options of every command.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The command.
    #[command(subcommand)]
    pub command: DatabaseCommand,
}

/// Runs a database command over `migrations`, printing its result, and
/// returns the exit code (see the [crate docs](crate)).
pub fn run(migrations: &Migrations, args: &MigrateArgs) -> ExitCode {
    init_tracing(args.database.verbose);
    output::finish(
        execute(migrations, &args.database, &args.command),
        args.database.json,
    )
}
