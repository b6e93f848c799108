//! SQL migrations checked at `cargo build` and applied safely at start-up.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Read, check and embed the folder `migrations/` next to Cargo.toml.
//! static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
//!
//! let mut conn = rusqlite::Connection::open_in_memory()?;
//! let report = MIGRATIONS.run(&mut conn)?;
//! assert_eq!(report.applied().len(), 2);
//!
//! // Nothing is pending any more: the next start-up is one query.
//! assert!(MIGRATIONS.run(&mut conn)?.was_up_to_date());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
//!
//! [`embed_migrations!`] reads the `.sql` files of a folder at compile time,
//! checks them (names, versions, pairing, directives, closed quotes) and
//! expands to a static array sorted by version, with SHA-256 checksums
//! computed at compile time. A bad migration is a compile error that names
//! the file, line and column.
//!
//! At start-up, [`Migrations::run`] applies what is pending, each migration in
//! a transaction together with its history row, exactly once even when several
//! processes start together, and never when an applied migration's file was
//! edited since ([`Error::Drift`]). [`Migrations::status`] reports without
//! changing anything, and [`Migrations::runner`] changes the settings and
//! offers the operations: [`rollback`][Runner::rollback],
//! [`baseline`][Runner::baseline], [`repair`][Runner::repair] and
//! [`resolve`][Runner::resolve].
//!
//! On PostgreSQL, the runner's [`LockStrategy`] chooses how replicas keep
//! each other out: a session-level advisory lock (the default), a
//! transaction-level one, or a lease in a table, which works through any
//! pooler and on CockroachDB. With the `tracing` feature, each run is a
//! `tracing` span with a span per migration, and events for the lock and
//! for drift.
//!
//! # The folder format
//!
//! - `<version>_<description>.sql` is an up migration.
//! - `<version>_<description>.up.sql` is an up migration, and
//!   `<version>_<description>.down.sql` its optional reverse.
//! - The version is decimal digits, compared numerically: zero-padded
//!   sequences (`0001_init.sql`) and timestamps (`20240102150405_init.sql`)
//!   both work. The description is letters, digits, `_` and `-`.
//! - Files that do not end in `.sql` (a `README.md`, a `.gitkeep`) and hidden
//!   files are ignored; subfolders are not read. A `.sql` file whose name does
//!   not fit is a compile error, never skipped.
//! - Directives are `--` comment lines before the first statement. An
//!   unknown directive is an error.
//!   - `-- migrate:no-transaction` runs the migration one statement at a time
//!     outside a transaction.
//!   - `-- migrate:no-check` leaves the file out of the compile-time SQL
//!     check of [`embed_migrations!`] (it is still embedded and run), for SQL
//!     the check cannot model: a virtual table of an extension, say.
//!   - `-- migrate:sqlite-function name/arity …` declares functions that the
//!     application or an extension registers on its SQLite connection, such
//!     as `-- migrate:sqlite-function bin2b64/1 my_agg/*` (`*` for any number
//!     of arguments). The SQLite dry run registers a stub returning `NULL`
//!     for each, for the whole run.
//! - The checksum is SHA-256 of the up file with a leading byte-order mark
//!   removed and CRLF turned into LF, so a Windows checkout is not an edit.
//!   Renaming the description does not change it; editing the SQL does.
//! - An optional `migrate.lock` in the folder pins the checksums of released
//!   migrations: editing or removing one, or adding one below the highest
//!   locked version, is a compile error. `migrate lock` writes it.
//!
//! # Features
//!
//! | Feature | What it enables | Default |
//! |---------|-----------------|---------|
//! | `macros` | Re-exports [`embed_migrations!`]. | yes |
//! | `sqlite` | The SQLite driver: [`Migrations::run`] and the other operations on a [`rusqlite`] connection. Any rusqlite from 0.32 to 0.43 works, so your service's own is used. Link SQLite yourself, or enable rusqlite's `bundled` feature in your own `Cargo.toml`. Nothing is compiled for the build machine. | no |
//! | `postgres` | The PostgreSQL driver: [`Migrations::run_async`] and the other operations on a [`tokio_postgres`] client. | no |
//! | `check-sqlite` | `dialect = "sqlite"` in [`embed_migrations!`]: a dry run of every migration at compile time on an in-memory SQLite, compiled from source for the build machine (a C compiler). Implies `macros`. | no |
//! | `check-postgres` | `dialect = "postgres"` in [`embed_migrations!`]: every migration parsed at compile time with squawk's PostgreSQL grammar (pure Rust), the statements PostgreSQL refuses in a transaction found, and the safety lints. Implies `macros`. | no |
//! | `check-postgres-server` | With `dialect = "postgres"`, also runs the migrations at compile time on the server that `MIGRATE_CHECK_POSTGRES_URL` names, when it names one; without the variable nothing connects. Compiles tokio-postgres a second time, for the proc macro (about 10 s of CPU on a cold build). Implies `check-postgres`. | no |
//! | `tracing` | A `tracing` span per operation and per migration, and events for the lock and for drift. | no |
//!
//! The drivers and the checks are separate, so a service pays at build time
//! only for the checks it names. Rust 1.89 is enough for the crate and its
//! drivers; `check-sqlite` needs Rust 1.91 and `check-postgres` 1.94
//! (squawk's).
//!
// Without a feature, the items it enables do not exist: its links above point
// at the feature table instead of failing.
#![cfg_attr(not(feature = "macros"), doc = "[`embed_migrations!`]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[`Migrations::run`]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[`Migrations::status`]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[Runner::rollback]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[Runner::baseline]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[Runner::repair]: #features")]
#![cfg_attr(not(feature = "sqlite"), doc = "[Runner::resolve]: #features")]
#![cfg_attr(
    not(feature = "sqlite"),
    doc = "[`rusqlite`]: https://docs.rs/rusqlite"
)]
#![cfg_attr(
    not(feature = "postgres"),
    doc = "[`Migrations::run_async`]: #features"
)]
#![cfg_attr(
    not(feature = "postgres"),
    doc = "[`tokio_postgres`]: https://docs.rs/tokio-postgres"
)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the crate's own tests and doc examples use the macro, whose expansion
// names `::migrate_core`.
#[allow(unused_extern_crates)]
extern crate self as migrate_core;

mod adopt;
mod dialect;
pub mod driver;
mod engine;
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub mod fleet;
mod history;
mod lifecycle;
mod migration;
mod plan;
#[cfg(feature = "postgres")]
mod postgres;
mod report;
mod runner;
#[cfg(feature = "sqlite")]
mod sqlite;
mod verify;

pub use adopt::{AdoptProblem, Adoption, Source, Tool};
pub use engine::{Operation, Output};
pub use error::{
    DriverError, Error, Irreversibility, LockHolder, LockProblem, Misconfigured, Result,
};
pub use lifecycle::{Resolution, Rollback};
pub use migrate_format::{Checksum, Layout};
pub use migration::{Migration, Migrations, Script};
pub use report::{Action, Applied, Report, State, Status, StatusEntry};
pub use runner::{DEFAULT_TABLE, LockStrategy, Progress, Runner, TransactionMode};
pub use verify::{Finding, ForeignKeyViolation, Verification};

/// The rusqlite this crate was built against, to avoid version mismatches.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use rusqlite;

/// The tokio-postgres this crate was built against.
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use tokio_postgres;

/// Reads, checks and embeds a folder of SQL migrations at compile time.
///
/// ```
/// static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
/// # assert_eq!(MIGRATIONS.iter().next().unwrap().file(), "migrations/0001_create_users.sql");
/// ```
///
/// The path is relative to the calling crate's `Cargo.toml`. Absolute paths
/// are refused, since they would only build on one machine. `..` is allowed,
/// so crates of one workspace can share a folder, but a crate published to
/// crates.io must keep its migrations inside it.
///
/// The macro checks the folder format (see the [crate docs](crate)) and
/// reports every problem at once, as compile errors that name the file, and
/// the line and column where there is one.
///
/// # Checking the SQL with the engine: `dialect`
///
/// ```
/// # #[cfg(feature = "check-sqlite")]
/// static MIGRATIONS: migrate_core::Migrations =
///     migrate_core::embed_migrations!("migrations", dialect = "sqlite");
/// ```
///
/// - `dialect = "sqlite"` (needs the `check-sqlite` feature) dry-runs every
///   migration at compile time on an in-memory database of SQLite itself, so
///   syntax errors *and* mistakes such as an unknown table, column or
///   function, a bad index or a constraint that the migration's own data
///   breaks fail `cargo build` with `file:line:col: <SQLite's message>`. The
///   dry run copies the runtime: the history table `_migrations` exists,
///   consecutive migrations share one transaction, `no-transaction`
///   migrations run statement by statement outside it, and `foreign_keys` is
///   on, as in the SQLite of rusqlite's `bundled` feature. If your
///   connections run with foreign keys off, say so with
///   `foreign_keys = "off"`. Each down migration runs right after its up
///   migration and is undone, so it is checked against the schema it will
///   meet. The dry run stops at the first up migration that fails. It cannot
///   touch files: an `ATTACH` or `VACUUM INTO` whose file is not the
///   literal `':memory:'` or `''`, and `load_extension()`, are refused.
/// - `dialect = "postgres"` (needs the `check-postgres` feature) parses every up
///   and down file with a PostgreSQL grammar (squawk's), so syntax errors
///   fail the build with the file, line and column, and so does a statement
///   that PostgreSQL refuses in a transaction (`CREATE INDEX CONCURRENTLY`,
///   `VACUUM`, …) in a migration that runs in one. With the
///   `check-postgres-server` feature and the environment variable
///   `MIGRATE_CHECK_POSTGRES_URL` naming a server, the migrations also run
///   on that server, in a throwaway database dropped at the end, as the
///   runtime would run them, so an unknown table, column, type or function
///   fails the build with the server's message at its file, line and
///   column. Without the variable, the build checks the grammar, the
///   statements refused in a transaction and the lints, but not the schema:
///   an unknown table, column, type or function, a constraint that the
///   migrations' own rows break, or an enum value used in the transaction
///   that added it is found at run time only. A variable set without the
///   feature is a compile error, never a check silently skipped. The
///   README's "The server-backed check" says how it is bounded, cached and
///   cleaned up.
/// - Without `dialect`, only the folder format and the lexical checks run:
///   closed strings, comments and dollar quotes under rules that accept
///   both engines' SQL, and known directives. Name the dialect to get the
///   engine check; the macro does not guess it from the enabled features,
///   since a crate can use both engines.
///
/// The engine check has two escape hatches per file, as directives:
/// `-- migrate:no-check` (the dry run still runs the file's statements,
/// ignoring their errors, so later migrations see its tables) and
/// `-- migrate:sqlite-function name/arity` for functions your application
/// registers. The dry run's history table is `_migrations`, the default;
/// if the runner is given another with [`Runner::history_table`], tell the
/// macro too, with `history_table = "schema_history"`, so that migrations
/// that read or alter the history are checked against the table they will
/// meet. Data-dependent
/// failures (a `UNIQUE` index over rows that exist only in production) and
/// trigger bodies naming a missing table (SQLite checks them only when the
/// trigger fires) are not found. Views are: each view of the final schema is
/// queried once.
///
/// ## Each migration on its own
///
/// A connection setting made by a migration, such as `PRAGMA foreign_keys =
/// OFF`, lasts until the end of that migration, in the dry run as at run
/// time: a deploy that applies the next migration alone would not have it
/// either. Set it in the migration that needs it (for `foreign_keys`, a
/// `-- migrate:no-transaction` one). The dry run also refuses a migration
/// that leaves a TEMP table, view or trigger or an attached database
/// behind, or a foreign key violation deferred to COMMIT: each belongs to
/// the connection or the transaction, so a later migration would meet it
/// only when both run in one process. The settings concerned are listed in
/// `migrate_format::session`. The server-backed PostgreSQL check follows the
/// same rule for `SET` and `RESET`, with the runtime's own SQL.
///
/// Each statement of the dry run may take up to 100 million steps of
/// SQLite's virtual machine (a few seconds), so that a query that never
/// ends, such as a recursive one without a bound, fails the build with its
/// file and line instead of hanging it. `check_limit = 1_000_000_000`
/// raises the limit; it counts steps, not time, so the verdict does not
/// depend on the build machine.
///
/// # Safety lints: `lints`
///
/// With a dialect, migrations that work but hurt in production (an index
/// built without `CONCURRENTLY`, a dropped column, a `PRAGMA foreign_keys`
/// that SQLite ignores in a transaction) are warnings in `cargo build`'s
/// output, naming the file, line, rule and what to do instead. Stable Rust
/// has no warning API for macros, so each lint is the use of a deprecated
/// item whose note is the lint; `-D warnings` turns them into errors like
/// any warning. `lints = "deny"` makes them errors, `lints = "off"` turns
/// them off, and `-- migrate:allow <rule> …` at the top of a file silences
/// rules for that file. Only up migrations above the highest version of
/// `migrate.lock` are linted. The README lists the rules.
///
/// # Rebuilding when migrations change
///
/// Editing a migration rebuilds the crate: each file is embedded with
/// `include_str!`. *Adding* a file is not something stable Rust lets a macro
/// watch, so add this `build.rs` next to `Cargo.toml`:
///
/// ```no_run
/// fn main() {
///     println!("cargo::rerun-if-changed=migrations");
/// }
/// ```
///
/// The build script also gives the crate an `OUT_DIR`, where the SQLite dry
/// run keeps checkpoints: after an edit of the newest migration it replays
/// only that one. Without them, a dry run of 1000 migrations can take
/// several seconds of each build that expands the macro.
// A build script is a whole program, so its example shows `fn main`.
#[allow(clippy::needless_doctest_main)]
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[macro_export]
macro_rules! embed_migrations {
    ($($input:tt)*) => {
        $crate::__private::embed_migrations!($($input)*)
    };
}

// Not public API. Referenced by macro-generated code.
#[doc(hidden)]
pub mod __private {
    pub use crate::migration::{Migration, Migrations, Script};
    #[cfg(feature = "macros")]
    pub use migrate_macros::embed_migrations;
}

// Compiles and runs the Rust examples of the README (`README.md` is a link to
// the workspace's, so that the published crate has it too).
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "postgres",
    feature = "check-sqlite"
))]
#[allow(clippy::needless_doctest_main)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
