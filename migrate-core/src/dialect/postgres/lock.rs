//! PostgreSQL's advisory locks: the session strategy's session-level lock
//! and the transaction strategy's transaction-level one, keyed by the
//! database and the history table.
//!
//! Both are polled with `pg_try_advisory_lock` or `pg_try_advisory_xact_lock`
//! rather than awaited with `pg_advisory_lock`, because a blocked
//! `pg_advisory_lock` can deadlock with `CREATE INDEX CONCURRENTLY`, which
//! waits for every open transaction, the waiting one included.
//!
//! Every attempt opens a transaction and leaves it open. For the transaction
//! strategy that is where the lock lives. For the session strategy it keeps
//! a pooler in transaction mode from moving the run to another server
//! session between taking the lock and releasing it: the engine ends every
//! later message inside a transaction too, and sends the release with the
//! last `COMMIT`. An attempt that fails is rolled back at once, so that a
//! waiting runner pins no server connection while it sleeps.

use migrate_format::history::{Dialect, TableName, quote_literal};

/// The lifetime of an advisory lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Until released, or the session ends.
    Session,
    /// Until the transaction that took it ends.
    Transaction,
}

/// The first attempt: resolves the history table's schema, computes the key
/// from it and tries the lock, in one round trip, inside a new transaction.
/// The last statement's row is the key; whether the lock was taken (`NULL`
/// when this very server session holds it already, for the session level);
/// the schema (`NULL` when no schema of the `search_path` exists, and then
/// no lock was taken); the backend's pid; and `version()`, which tells
/// CockroachDB apart.
pub(crate) fn first_attempt(table: &TableName, level: Level) -> Vec<String> {
    vec![
        BEGIN.to_owned(),
        format!(
            "SELECT k.key, {}, k.schema, pg_backend_pid(), version() FROM \
             (SELECT {}, s.schema FROM (SELECT {} AS schema) s) k(key, schema)",
            try_lock("k.key", level),
            key_expression("s.schema", table),
            schema_expression(table),
        ),
    ]
}

/// Another attempt, once the key is known: whether the lock was taken (as
/// in [`first_attempt`]), and the backend's pid.
pub(crate) fn attempt(key: i64, level: Level) -> Vec<String> {
    vec![
        BEGIN.to_owned(),
        format!(
            "SELECT {}, pg_backend_pid()",
            try_lock(&key.to_string(), level)
        ),
    ]
}

/// The backend pid of the server session: compared between round trips, it
/// shows a pooler in transaction mode moving a run.
pub(crate) const SESSION_PROBE: &str = "SELECT pg_backend_pid()";

/// Ends the transaction of an attempt that did not take the lock.
pub(crate) const GIVE_UP: &str = "ROLLBACK";

const BEGIN: &str = "BEGIN";

/// The attempt itself. At the session level, a server session that already
/// holds the lock would be granted it again (advisory locks count), which
/// behind a pooler in transaction mode means another client holds it on the
/// same server session: that is reported as `NULL` instead.
fn try_lock(key: &str, level: Level) -> String {
    match level {
        Level::Session => format!(
            "CASE WHEN {} THEN NULL ELSE pg_try_advisory_lock({key}) END",
            held_by_this_session(key)
        ),
        Level::Transaction => format!("pg_try_advisory_xact_lock({key})"),
    }
}

fn held_by_this_session(key: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
           AND l.pid = pg_backend_pid() AND {})",
        key_matches("l", key)
    )
}

/// Releases the session-level lock, after ending the open transaction:
/// rolled back after a failure, committed otherwise, in the same message, so
/// that a pooler cannot move the release to another server session. The last
/// statement's row says whether this session held the lock, and its pid.
pub(crate) fn release(key: i64, failed: bool, open: bool) -> Vec<String> {
    let mut statements = Vec::with_capacity(2);
    if failed {
        statements.push("ROLLBACK".to_owned());
    } else if open {
        statements.push("COMMIT".to_owned());
    }
    statements.push(format!(
        "SELECT pg_advisory_unlock({key}), pg_backend_pid()"
    ));
    statements
}

/// The session that holds the lock `key` in this database, as far as
/// `pg_locks` and `pg_stat_activity` tell this role: pid, application name,
/// client address, state, query start.
pub(crate) fn holder(key: i64) -> String {
    format!(
        "SELECT l.pid, a.application_name, host(a.client_addr), a.state, \
                to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND {} AND l.pid IS NOT NULL \
         LIMIT 1",
        key_matches("l", &key.to_string())
    )
}

/// Whether the row `alias` of `pg_locks` is the advisory lock `key` of this
/// database. A bigint advisory key is stored as two 32-bit halves, in
/// `classid` (high) and `objid` (low), with `objsubid` 1.
fn key_matches(alias: &str, key: &str) -> String {
    format!(
        "{alias}.objsubid = 1 \
         AND {alias}.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND {alias}.classid::bigint = (({key}::bigint >> 32) & 4294967295) \
         AND {alias}.objid::bigint = ({key}::bigint & 4294967295)"
    )
}

/// The SQL expression of the history table's schema.
///
/// A qualified name gives it. An unqualified name is resolved as PostgreSQL
/// resolves it in a query: the schema where `search_path` finds the table,
/// or, when it does not exist yet, the first existing schema of the
/// `search_path`, where `CREATE TABLE` will put it.
pub(crate) fn schema_expression(table: &TableName) -> String {
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
    fn the_release_ends_the_open_transaction_in_the_same_message() {
        let unlock = "SELECT pg_advisory_unlock(7), pg_backend_pid()";
        assert_eq!(release(7, false, true), ["COMMIT", unlock]);
        assert_eq!(release(7, false, false), [unlock]);
        assert_eq!(release(7, true, true), ["ROLLBACK", unlock]);
    }

    #[test]
    fn every_attempt_opens_a_transaction_and_the_session_level_one_refuses_re_entry() {
        let session = attempt(7, Level::Session);
        assert_eq!(session[0], "BEGIN");
        assert!(
            session[1].contains("l.pid = pg_backend_pid()"),
            "{}",
            session[1]
        );
        assert!(session[1].contains("THEN NULL ELSE pg_try_advisory_lock(7)"));
        let transaction = attempt(7, Level::Transaction);
        assert_eq!(
            transaction,
            [
                "BEGIN",
                "SELECT pg_try_advisory_xact_lock(7), pg_backend_pid()"
            ]
        );
        let first = first_attempt(&TableName::default(), Level::Transaction);
        assert!(first[1].contains("version()"), "{}", first[1]);
    }
}
