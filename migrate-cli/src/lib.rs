//! The commands of the `migrate` command line, for a service's own binary.
//!
//! A service that embeds its migrations can offer `myservice migrate status`,
//! `up`, `down`, `baseline`, `repair`, `resolve`, `adopt` and `verify` over them, so a
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
//! # PostgreSQL over TLS
//!
//! With the `tls` feature (on by default), a `postgres://` URL's `sslmode`
//! (`disable`, `allow`, `prefer` the default, `require`, `verify-ca`,
//! `verify-full`) and `sslrootcert` (a PEM file, or `system`) mean what they
//! mean to libpq, `psql` and the PostgreSQL documentation: `require` encrypts
//! without checking the server (unless a root certificate is given, or
//! `~/.postgresql/root.crt` exists), `verify-ca` checks that the server's
//! certificate is signed by the root certificate, and `verify-full` checks
//! the host name too. TLS is rustls, which needs no system library. Without
//! the feature, `prefer` and `allow` connect without TLS and the other modes
//! are refused.
//!
//! # Exit codes
//!
//! | Code | Meaning |
//! |------|---------|
//! | 0 | Success. |
//! | 1 | A migration or the database failed. |
//! | 2 | The command line is wrong. |
//! | 3 | The migrations folder is invalid: a bad file, or a violated `migrate.lock`. |
//! | 4 | The database and the migrations disagree (an edited, missing, out-of-order, incomplete or irreversible migration, an unknown version), or `adopt` refused another tool's history. Nothing was changed. `status` exits with 4 when it shows such a problem. |
//! | 5 | `verify` found a problem in the database. |
//!
//! # Features
//!
//! | Feature | What it adds | Default |
//! |---------|--------------|---------|
//! | `sqlite` | Databases given as `sqlite:<path>`, through rusqlite (0.32 to 0.43, as migrate-core). | yes |
//! | `postgres` | Databases given as `postgres://` or `postgresql://` URLs, through tokio-postgres. | yes |
//! | `tls` | TLS to PostgreSQL (see above). Implies `postgres`. | yes |
//! | `bundled` | SQLite compiled into the binary (rusqlite's `bundled`), so that `migrate` needs no system library. | yes |
//! | `check-sqlite` | `migrate check --dialect sqlite`: the dry run of `embed_migrations!`. | yes |
//! | `check-postgres` | `migrate check --dialect postgres`: squawk's PostgreSQL grammar. | yes |
//!
//! A service that offers the commands in its own binary needs only its
//! database's driver: `default-features = false, features = ["sqlite"]`
//! keeps the SQLite its own rusqlite links, and compiles no checker.

#![warn(missing_docs)]

// Every command for a service's binary opens a database.
#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("migrate-cli needs a database driver: enable its `sqlite` or `postgres` feature");

mod adopt_verify;
mod database;
mod execute;
mod fleet;
mod output;
#[cfg(feature = "postgres")]
mod sslmode;
#[cfg(feature = "tls")]
mod tls;

use std::process::ExitCode;

use clap::{ArgAction, Args, Subcommand, ValueEnum};
use migrate_core::{DEFAULT_TABLE, LockStrategy, Migrations, Tool};

pub use execute::{Failure, Outcome, execute};
pub use fleet::{FleetArgs, FleetOutcome};
pub use output::{finish, init_tracing};

/// Options of every database command.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: `sqlite:<path>` or `postgres://user@host/database`,
    /// with TLS settings as libpq reads them (`?sslmode=verify-full&sslrootcert=ca.pem`).
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Many databases instead of one: `--fleet FILE`, `--parallel N`, … .
    #[command(flatten)]
    pub fleet: FleetArgs,
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
        /// Go on when the database has applied migrations that are not among these.
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
    /// Record the migrations another tool applied, so that migrate takes over.
    Adopt {
        /// The tool whose history table to read.
        #[arg(long, value_enum)]
        from: ToolArg,
        /// The tool's table, when it is not the tool's default (optionally
        /// `schema.table`). `--table` names migrate's own history table.
        #[arg(long, value_name = "NAME")]
        from_table: Option<String>,
    },
    /// Check the database, changing nothing; exit with 5 when anything is found.
    ///
    /// SQLite: `PRAGMA integrity_check` and `foreign_key_check`. PostgreSQL:
    /// invalid indexes, NOT VALID constraints, sequences behind their
    /// column. Both: migrations the history records as incomplete. It reads
    /// no migrations folder.
    Verify,
}

/// The tools `adopt --from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToolArg {
    /// `_sqlx_migrations`.
    Sqlx,
    /// `schema_migrations (version, dirty)`.
    GolangMigrate,
    /// `__diesel_schema_migrations`.
    Diesel,
    /// `refinery_schema_history`.
    Refinery,
    /// Wrangler's `d1_migrations`.
    D1,
    /// `_prisma_migrations`.
    Prisma,
    /// `flyway_schema_history`.
    Flyway,
}

impl From<ToolArg> for Tool {
    fn from(tool: ToolArg) -> Tool {
        match tool {
            ToolArg::Sqlx => Tool::Sqlx,
            ToolArg::GolangMigrate => Tool::GolangMigrate,
            ToolArg::Diesel => Tool::Diesel,
            ToolArg::Refinery => Tool::Refinery,
            ToolArg::D1 => Tool::D1,
            ToolArg::Prisma => Tool::Prisma,
            ToolArg::Flyway => Tool::Flyway,
        }
    }
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
