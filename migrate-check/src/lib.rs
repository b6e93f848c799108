//! Checks the SQL of [migrate](https://docs.rs/migrate-core) migrations with
//! the real engines, for the `embed_migrations!` macro and the command line:
//!
//! - [`check_sqlite`] dry-runs every migration on an in-memory SQLite
//!   database compiled from source (feature `sqlite`), which finds syntax
//!   errors and semantic ones: unknown tables, columns, functions, bad
//!   indexes, constraint failures on data the migrations insert.
//! - [`check_postgres`] parses every statement with a PostgreSQL grammar
//!   (feature `postgres`), which finds syntax errors only: PostgreSQL has no
//!   in-process engine to run them on.
//!
//! Both return [`Problem`]s that name the file, line and column. A file
//! marked `-- migrate:no-check` is not checked; see
//! [`Directives`](migrate_format::Directives) for the other escape hatch.
//!
//! # Each migration on its own
//!
//! A connection setting made by a migration (`PRAGMA foreign_keys = OFF`)
//! lasts until the end of that migration, at build time as at run time: a
//! deploy that applies the next migration alone would not have it either.
//! So after each migration the SQLite dry run puts back the settings of
//! [`migrate_format::session`], and refuses a migration that leaves a TEMP
//! object, an attached database or a deferred foreign key violation behind.
//! That is also why its cache of checkpoints can never change a verdict.
//!
//! The dry run touches no file but its checkpoints in the cache folder it is
//! given: it attaches only `:memory:` or `''`, keeps temporary data in
//! memory, and loads no extension. It stops any statement after
//! [`SqliteOptions::step_limit`] steps of SQLite's virtual machine, so that a
//! query that never ends cannot hang a build.

#![warn(missing_docs)]

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use migrate_format::Problem;
#[cfg(feature = "postgres")]
pub use postgres::check_postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::{
    DEFAULT_STEP_LIMIT, SqliteOptions, check_sqlite, check_sqlite_cached, check_sqlite_with,
};
