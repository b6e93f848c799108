//! PostgreSQL's migration lock: a session-level advisory lock keyed by the
//! database and the history table.
//!
//! The lock is polled with `pg_try_advisory_lock` rather than awaited with
//! `pg_advisory_lock`, because a blocked `pg_advisory_lock` can deadlock with
//! `CREATE INDEX CONCURRENTLY`, which waits for every open transaction, the
//! waiting one included.

use migrate_format::history::{Dialect, TableName, quote_literal};

/// The first attempt: resolves the history table's schema, computes the key
/// from it and tries the lock, in one round trip. Its row is the key, whether
/// the lock was taken, and the schema (`NULL` when no schema of the
/// `search_path` exists, and then no lock was taken).
pub(crate) fn first_attempt(table: &TableName) -> String {
    format!(
        "SELECT k.key, pg_try_advisory_lock(k.key), k.schema FROM \
         (SELECT {}, s.schema FROM (SELECT {} AS schema) s) k(key, schema)",
        key_expression("s.schema", table),
        schema_expression(table),
    )
}

/// Another attempt, once the key is known.
pub(crate) fn attempt(key: i64) -> String {
    format!("SELECT pg_try_advisory_lock({key})")
}

/// Releases the lock. After a failure, the transaction that failed is rolled
/// back first, in the same round trip, since an aborted transaction accepts
/// nothing else.
pub(crate) fn release(key: i64, failed: bool) -> Vec<String> {
    let unlock = format!("SELECT pg_advisory_unlock({key})");
    if failed {
        vec!["ROLLBACK".to_owned(), unlock]
    } else {
        vec![unlock]
    }
}

/// The session that holds the lock `key` in this database, as far as
/// `pg_locks` and `pg_stat_activity` tell this role: pid, application name,
/// client address, state, query start.
pub(crate) fn holder(key: i64) -> String {
    // A bigint advisory key is stored as two 32-bit halves, in `classid`
    // (high) and `objid` (low), with `objsubid` 1.
    format!(
        "SELECT l.pid, a.application_name, host(a.client_addr), a.state, \
                to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::bigint = (({key}::bigint >> 32) & 4294967295) \
           AND l.objid::bigint = ({key}::bigint & 4294967295) \
           AND l.pid IS NOT NULL \
         LIMIT 1"
    )
}

/// The SQL expression of the history table's schema.
///
/// A qualified name gives it. An unqualified name is resolved as PostgreSQL
/// resolves it in a query: the schema where `search_path` finds the table,
/// or, when it does not exist yet, the first existing schema of the
/// `search_path`, where `CREATE TABLE` will put it.
fn schema_expression(table: &TableName) -> String {
    match table.schema() {
        Some(schema) => quote_literal(Dialect::Postgres, schema),
        None => format!(
            "coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE c.oid = to_regclass({})), current_schema())",
            quote_literal(Dialect::Postgres, &format!("\"{}\"", table.table()))
        ),
    }
}

/// The SQL expression of the lock key: a 64-bit hash of the database and the
/// schema-qualified history table, `<database>.<schema>.<table>`.
///
/// `hashtextextended` (PostgreSQL 11 and later) is the hash behind hash
/// partitioning, which must stay stable across versions and upgrades since
/// partitions are stored by it, so every runner computes the same key.
fn key_expression(schema: &str, table: &TableName) -> String {
    format!(
        "hashtextextended(current_database() || '.' || {schema} || '.' || {}, 0)",
        quote_literal(Dialect::Postgres, table.table())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_key_covers_the_database_and_the_resolved_table() {
        let qualified = TableName::parse("app.history").unwrap();
        assert_eq!(schema_expression(&qualified), "'app'");
        assert_eq!(
            key_expression("'app'", &qualified),
            "hashtextextended(current_database() || '.' || 'app' || '.' || 'history', 0)"
        );
        let plain = TableName::parse("_migrations").unwrap();
        let schema = schema_expression(&plain);
        assert!(
            schema.contains("to_regclass('\"_migrations\"')"),
            "{schema}"
        );
        assert!(schema.ends_with("current_schema())"), "{schema}");
    }

    #[test]
    fn a_failed_run_rolls_back_before_it_unlocks() {
        assert_eq!(release(7, false), ["SELECT pg_advisory_unlock(7)"]);
        assert_eq!(
            release(7, true),
            ["ROLLBACK", "SELECT pg_advisory_unlock(7)"]
        );
    }
}
