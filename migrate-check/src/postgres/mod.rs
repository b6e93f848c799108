//! The PostgreSQL checks.
//!
//! Without a server, every file is parsed with squawk's PostgreSQL grammar
//! (pure Rust, no C toolchain), and a statement that PostgreSQL refuses in a
//! transaction is refused in a migration that runs in one. That finds syntax
//! errors and those refusals, not unknown tables, columns or functions: only
//! an engine knows the schema.
//!
//! With a server (`check_postgres_server`, feature `postgres-server`), the
//! migrations are also dry-run on it, in a throwaway database, which finds
//! what PostgreSQL itself would refuse at deploy time.

mod grammar;
#[cfg(feature = "postgres-server")]
mod server;
mod transaction;

use migrate_format::{Problem, SourceMigration};

#[cfg(feature = "postgres-server")]
pub use server::{
    CLEANUP_TIMEOUT, CONNECT_TIMEOUT, DEADLINE, STALE_AFTER, STATEMENT_TIMEOUT, ServerOptions,
    ServerVerdict, check_postgres_server,
};

/// Checks every up and down file, except those marked `-- migrate:no-check`,
/// with the PostgreSQL grammar, and every file that runs in a transaction
/// for statements that PostgreSQL refuses there (`CREATE INDEX
/// CONCURRENTLY`, `VACUUM`, …; see [`migrate_format::transaction`]).
/// Returns the problems, in file order, with the file, line and column of
/// each.
///
/// The refusals are checked in `no-check` files too: the runtime refuses to
/// run such a migration whatever the compile-time check said.
pub fn check_postgres(migrations: &[SourceMigration]) -> Vec<Problem> {
    migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down))
        .flat_map(|file| {
            let mut problems = if file.directives.no_check {
                Vec::new()
            } else {
                grammar::check_file(file)
            };
            problems.extend(transaction::check_file(file));
            problems.sort_by_key(|problem| problem.position);
            problems
        })
        .collect()
}
