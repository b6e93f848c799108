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
//! offers the operations: [`rollback`](Runner::rollback),
//! [`baseline`](Runner::baseline), [`repair`](Runner::repair) and
//! [`resolve`](Runner::resolve).
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
//! - Directives are `--` comment lines before the first statement:
//!   `-- migrate:no-transaction` runs the migration one statement at a time
//!   outside a transaction. An unknown directive is an error.
//! - The checksum is SHA-256 of the up file with a leading byte-order mark
//!   removed and CRLF turned into LF, so a Windows checkout is not an edit.
//!   Renaming the description does not change it; editing the SQL does.
//! - An optional `migrate.lock` in the folder pins the checksums of released
//!   migrations: editing or removing one, or adding one below the highest
//!   locked version, is a compile error. `migrate lock` writes it.
//!
//! # Features
//!
//! | Feature | Description | Default |
//! |---------|-------------|---------|
//! | `macros` | Re-exports [`embed_migrations!`]. | yes |
//! | `sqlite` | Runs migrations on SQLite through [`rusqlite`]. Link SQLite yourself, or enable rusqlite's `bundled` feature in your own `Cargo.toml`. | no |
//! | `postgres` | Runs migrations on PostgreSQL through [`tokio_postgres`]. | no |

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the crate's own tests and doc examples use the macro, whose expansion
// names `::migrate_core`.
#[allow(unused_extern_crates)]
extern crate self as migrate_core;

mod error;
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

pub use error::{DriverError, Error, LockHolder, Result};
pub use lifecycle::{Resolution, Rollback};
pub use migrate_format::Checksum;
pub use migration::{Migration, Migrations, Script};
pub use report::{Action, Applied, Report, State, Status, StatusEntry};
pub use runner::{DEFAULT_TABLE, Progress, Runner, TransactionMode};

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

// Compiles and runs the Rust examples of the README.
#[cfg(all(doctest, feature = "sqlite", feature = "postgres"))]
#[allow(clippy::needless_doctest_main)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
