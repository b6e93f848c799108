//! PostgreSQL's SQL: everything is sent with the simple query protocol, so
//! that a migration, its history row and the `COMMIT` travel in one message,
//! and no named prepared statement is ever created.

pub(crate) mod lock;
pub(crate) mod session;
pub(crate) mod state;

use migrate_format::history::{Dialect, TableName, quote_literal};

/// The transaction-local setting that holds when the previous migration of a
/// batch ended, so that the server measures each migration on its own. One
/// setting, reused, costs less than one per migration.
const MARK: &str = "migrate.mark";

/// The server's clock, in seconds since the epoch, as text for [`MARK`].
const NOW_EPOCH: &str = "extract(epoch FROM clock_timestamp())::text";

/// The microseconds since [`MARK`] was last set.
fn elapsed_us() -> String {
    format!(
        "((extract(epoch FROM clock_timestamp()) - current_setting('{MARK}')::numeric) * 1000000)::bigint"
    )
}

/// Starts the batch's clock.
pub(crate) fn start_clock() -> String {
    format!("SELECT set_config('{MARK}', {NOW_EPOCH}, true)")
}

/// The `RETURNING` of a marker: the version, the microseconds since the
/// previous mark, and the clock restarted for the next migration.
fn returning_marker(column: &str) -> String {
    format!(
        "RETURNING {column} AS migrate_marker, {} AS elapsed_us, set_config('{MARK}', {NOW_EPOCH}, true)",
        elapsed_us()
    )
}

/// The history row of a migration that just ran in the batch, as a marker.
/// `execution_ms` is what the server measured since the previous mark.
pub(crate) fn insert_applied(
    table: &TableName,
    version: i64,
    description: &str,
    checksum: &str,
) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({version}, {}, {}, clock_timestamp(), {} / 1000, true, NULL) {}",
        migrate_format::history::COLUMNS,
        quote_literal(Dialect::Postgres, description),
        quote_literal(Dialect::Postgres, checksum),
        elapsed_us(),
        returning_marker("version"),
    )
}

/// The removal of a reverted migration's row, as a marker.
pub(crate) fn delete_reverted(table: &TableName, version: i64) -> String {
    format!(
        "DELETE FROM {table} WHERE version = {version} {}",
        returning_marker("version")
    )
}

/// The history's `applied_at`, as UTC text in the format the SQLite
/// backend stores.
pub(crate) const APPLIED_AT: &str =
    "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
