//! The migration folder format of [migrate](https://docs.rs/migrate-core): the
//! one implementation of file names, directives, SQL lexing and checksums,
//! used by the `embed_migrations!` macro at compile time and by
//! `migrate-core` at run time.
//!
//! You probably want `migrate-core`, which re-exports what users need.
//!
//! # The folder format
//!
//! - `<version>_<description>.sql` is an up migration with no down file.
//! - `<version>_<description>.up.sql` is an up migration, and
//!   `<version>_<description>.down.sql` its optional reverse.
//! - The version is decimal digits compared numerically, so zero-padded
//!   sequences (`0001`) and timestamps (`20240102150405`) both work.
//! - Files that do not end in `.sql`, and hidden files, are ignored. A `.sql`
//!   file whose name does not fit is an error, never skipped.
//! - Directives are `-- migrate:<name>` lines before the first statement.
//! - Prisma, diesel and Flyway folders are read as they are; see [`layout`].
//! - A migration that runs in a transaction may not end or escape it; see
//!   [`control`].
//! - An optional `migrate.lock` pins the checksums of released migrations;
//!   see [`lock`].

#![warn(missing_docs)]

pub mod checksum;
pub mod control;
pub mod directive;
pub mod folder;
pub mod history;
pub mod layout;
pub mod lexer;
pub mod lock;
pub mod name;
pub mod session;
pub mod transaction;

pub use checksum::Checksum;
pub use directive::Directives;
pub use folder::{Problem, SourceFile, SourceMigration};
pub use layout::Layout;
pub use lexer::Flavor;
