//! `migrate`: the command line over a migrations folder.

mod folder;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use migrate_cli::{DatabaseArgs, DatabaseCommand, Failure};
use migrate_core::Migrations;

/// SQL migrations checked at build time and applied safely. See the exit codes in `migrate-cli`'s docs:
/// 0 success, 1 failure, 2 usage, 3 invalid folder, 4 database and migrations disagree.
#[derive(Debug, Parser)]
#[command(name = "migrate", version)]
struct Cli {
    /// The migrations folder.
    #[arg(long, default_value = "migrations", global = true)]
    dir: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Database(DatabaseCommand),
    /// Create the next migration file, in the folder's own version scheme.
    New {
        /// What the migration does, as in `create_users`.
        description: String,
        /// Also create a `.down.sql` file.
        #[arg(long)]
        down: bool,
    },
    /// Write `migrate.lock`: the checksums of every migration in the folder.
    Lock,
    /// Check the folder as `embed_migrations!` does, without compiling.
    Check {
        /// Also check the SQL with an engine: a SQLite dry run, or the
        /// PostgreSQL grammar, as `embed_migrations!(…, dialect = …)` does.
        #[arg(long, value_enum)]
        dialect: Option<folder::Dialect>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    migrate_cli::init_tracing(cli.database.verbose);
    let json = cli.database.json;
    let result = match &cli.command {
        Command::Database(command) => load(&cli.dir)
            .and_then(|migrations| migrate_cli::execute(&migrations, &cli.database, command)),
        Command::New { description, down } => folder::new(&cli.dir, description, *down),
        Command::Lock => folder::lock(&cli.dir),
        Command::Check { dialect } => folder::check(&cli.dir, *dialect),
    };
    migrate_cli::finish(result, json)
}

fn load(dir: &PathBuf) -> Result<Migrations, Failure> {
    Migrations::from_folder(dir).map_err(Failure::from)
}
