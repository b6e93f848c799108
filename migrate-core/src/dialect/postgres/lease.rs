//! The table strategy's lease: one row in `<history>_lock`, next to the
//! history table, which one runner at a time owns until it expires.
//!
//! - Taking it is one conditional `UPDATE`: the row is taken when its lease
//!   has expired, by the database's clock, and no transaction holds the row.
//!   Each taking increments the row's fencing token.
//! - Every transaction that writes the history starts with [`guard`], which
//!   renews the lease only if this runner's token is still there and fails
//!   the transaction otherwise, and ends with [`renew`]. The guard's `UPDATE`
//!   also locks the row until `COMMIT`, and a taker skips a locked row, so no
//!   one can take the lease over while a transaction of its owner runs,
//!   however long: a heartbeat kept by the server, which ends with the
//!   owner's session.
//! - Releasing it makes it expire at once.
//!
//! Nothing here needs advisory locks, session state or server-side
//! functions, so it works through any pooler and on PostgreSQL-compatible
//! engines whose advisory locks lock nothing.

use std::time::Duration;

use migrate_format::history::{Dialect, TableName, quote_literal};

use super::lock::schema_expression;
use crate::{Error, Result};

/// The lease table's name: the history table's, followed by `_lock`.
pub(crate) fn table_of(history: &TableName) -> Result<TableName> {
    history
        .with_suffix("_lock")
        .ok_or_else(|| Error::InvalidTableName {
            name: history.plain().to_owned(),
            reason: "on PostgreSQL the table part may be at most 58 bytes, so that the lease table `<table>_lock` fits in 63",
        })
}

/// Creates the lease table, its schema when it is qualified, and its one row,
/// expired, when missing. The `singleton` key keeps it to one row.
pub(crate) fn create(lease: &TableName) -> Vec<String> {
    let mut statements = Vec::with_capacity(3);
    if let Some(schema) = lease.schema() {
        statements.push(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""));
    }
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS {lease} (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    owner text NOT NULL,
    token bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    backend_pid integer,
    application_name text,
    client_addr text
)"
    ));
    statements.push(format!(
        "INSERT INTO {lease} (owner, token, acquired_at, renewed_at, expires_at) \
         VALUES ('', 0, {EPOCH}, {EPOCH}, {EPOCH}) ON CONFLICT (singleton) DO NOTHING"
    ));
    statements
}

const EPOCH: &str = "'1970-01-01 00:00:00+00'";

/// One attempt to take the lease, as one statement. Its row: the new token
/// (`NULL` when not taken); the row as it was before (owner, backend pid,
/// application name, client address, expiry in UTC), all `NULL` when the
/// table has no row; the lease table's schema; and the history table's
/// schema, resolved as the advisory strategies resolve it.
///
/// A row that a transaction holds (its owner's, writing the history) is
/// skipped, not awaited, so an attempt never blocks.
pub(crate) fn take(lease: &TableName, history: &TableName, owner: &str, ttl: Duration) -> String {
    format!(
        "WITH prior AS (
    SELECT owner, backend_pid, application_name, client_addr, expires_at FROM {lease} WHERE singleton
), taken AS (
    UPDATE {lease} SET owner = {owner}, token = token + 1,
        acquired_at = clock_timestamp(), renewed_at = clock_timestamp(), expires_at = {expiry},
        backend_pid = pg_backend_pid(), application_name = current_setting('application_name'),
        client_addr = host(inet_client_addr())
    WHERE singleton AND expires_at <= clock_timestamp()
        AND singleton IN (SELECT singleton FROM {lease} WHERE singleton FOR UPDATE SKIP LOCKED)
    RETURNING token
)
SELECT (SELECT token FROM taken), p.owner, p.backend_pid, p.application_name, p.client_addr,
    to_char(p.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
    (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = {regclass}::regclass),
    {schema}
FROM (SELECT 1) one LEFT JOIN prior p ON true",
        owner = quote_literal(Dialect::Postgres, owner),
        expiry = expiry(ttl),
        regclass = quote_literal(Dialect::Postgres, &lease.to_string()),
        schema = schema_expression(history),
    )
}

/// The first statement of every transaction that writes the history: renews
/// the lease if it is still this runner's, and locks its row until the
/// transaction ends; otherwise fails, so that nothing of the transaction is
/// committed.
pub(crate) fn guard(lease: &TableName, owner: &str, token: i64, ttl: Duration) -> String {
    let message = format!(
        "migrate: this runner no longer holds the migration lease in {} (its token was {token}): the lease expired and another runner took it over, so this write is refused",
        lease.plain()
    );
    format!(
        "DO $migrate$
BEGIN
    {};
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available', MESSAGE = {};
    END IF;
END
$migrate$",
        renew(lease, owner, token, ttl),
        quote_literal(Dialect::Postgres, &message),
    )
}

/// Renews the lease: the last statement of a transaction that writes the
/// history, whose time to live then starts at its end.
pub(crate) fn renew(lease: &TableName, owner: &str, token: i64, ttl: Duration) -> String {
    format!(
        "UPDATE {lease} SET renewed_at = clock_timestamp(), expires_at = {} WHERE {}",
        expiry(ttl),
        ours(owner, token)
    )
}

/// Releases the lease: it expires now. Its row, if any, says the lease was
/// still this runner's.
pub(crate) fn release(lease: &TableName, owner: &str, token: i64) -> String {
    format!(
        "UPDATE {lease} SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() WHERE {} RETURNING token",
        ours(owner, token)
    )
}

fn ours(owner: &str, token: i64) -> String {
    format!(
        "singleton AND owner = {} AND token = {token}",
        quote_literal(Dialect::Postgres, owner)
    )
}

fn expiry(ttl: Duration) -> String {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    format!("clock_timestamp() + interval '{ms} milliseconds'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_table_is_named_after_the_history_table_and_fits_postgresql_s_limit() {
        let lease = table_of(&TableName::parse("app.history").unwrap()).unwrap();
        assert_eq!(lease.plain(), "app.history_lock");
        assert_eq!(create(&lease)[0], "CREATE SCHEMA IF NOT EXISTS \"app\"");
        assert!(table_of(&TableName::parse(&"x".repeat(58)).unwrap()).is_ok());
        assert!(table_of(&TableName::parse(&"x".repeat(59)).unwrap()).is_err());
    }

    #[test]
    fn taking_is_one_conditional_statement_that_skips_a_held_row() {
        let lease = TableName::parse("_migrations_lock").unwrap();
        let sql = take(
            &lease,
            &TableName::default(),
            "host:1:ab'c",
            Duration::from_secs(2),
        );
        assert_eq!(lexed_statements(&sql), 1, "{sql}");
        assert!(sql.contains("expires_at <= clock_timestamp()"), "{sql}");
        assert!(sql.contains("FOR UPDATE SKIP LOCKED"), "{sql}");
        assert!(sql.contains("token = token + 1"), "{sql}");
        assert!(sql.contains("'host:1:ab''c'"), "the owner is quoted: {sql}");
        assert!(sql.contains("interval '2000 milliseconds'"), "{sql}");
    }

    #[test]
    fn the_guard_checks_the_token_and_fails_the_transaction_otherwise() {
        let lease = TableName::parse("app.h_lock").unwrap();
        let guard = guard(&lease, "me", 7, Duration::from_millis(1500));
        assert_eq!(lexed_statements(&guard), 1, "{guard}");
        assert!(guard.contains("owner = 'me' AND token = 7"), "{guard}");
        assert!(guard.contains("RAISE EXCEPTION"), "{guard}");
        assert!(guard.contains("interval '1500 milliseconds'"), "{guard}");
        assert!(release(&lease, "me", 7).ends_with("RETURNING token"));
    }

    fn lexed_statements(sql: &str) -> usize {
        migrate_format::lexer::lex(sql, migrate_format::lexer::Flavor::Postgres)
            .statements
            .len()
    }
}
