//! The history's fingerprint on PostgreSQL, which lets a start-up with
//! nothing pending read one row instead of the whole history.
//!
//! `<history>_state`, a companion table in the history table's schema, holds
//! the history's fingerprint: the set checksum of the versions and checksums
//! it holds, computed as the binary's is at compile time (see
//! [`Ledger::fingerprint`]), or NULL while a migration is unfinished.
//!
//! - Every transaction in which migrate changes the history writes the new
//!   fingerprint as its last statement, so the two commit together.
//! - A statement-level trigger on the history table, `<history>_state_reset`,
//!   sets the fingerprint to NULL after any `INSERT`, `UPDATE`, `DELETE` or
//!   `TRUNCATE`, so that a change made outside migrate (a row deleted by
//!   hand, a checksum updated, a restore with `COPY`) sends the next start-up
//!   back to reading the history in full. Migrate's own changes fire it too,
//!   before the fingerprint is written.
//! - The row also holds the history table's oid, and start-up reads it with
//!   the oid that the history table's name resolves to now, and compares the
//!   two itself: a companion that the `search_path` finds in another schema,
//!   or that outlived a dropped history table, never vouches for this
//!   history. Comparing them on the server, or opening the history table,
//!   would add half again to a new session's first query (catalog look-ups
//!   for the operator, or for the table and its index), where resolving a
//!   name adds about a fifth (`--pg-boot-queries` in `bench/` measures each).
//!
//! A stored fingerprint equal to the binary's set checksum therefore means
//! the history holds exactly the binary's migrations, all finished, with the
//! same checksums: nothing pending, drifted or missing. That relies on:
//!
//! - the trigger firing on every change to the history, which
//!   `session_replication_role = replica` and `ALTER TABLE … DISABLE
//!   TRIGGER` prevent;
//! - 2^-256 odds against two histories sharing a fingerprint.

use std::fmt::Write as _;

use migrate_format::checksum::{self, Checksum};
use migrate_format::history::{self, Dialect, TableName, quote_literal};

use super::super::Stored;
use crate::driver::Row;
use crate::history::Ledger;
use crate::{Error, Result};

/// The names of the objects that keep a history table's fingerprint.
#[derive(Debug, Clone)]
pub(crate) struct Companion {
    /// The one-row table that holds the fingerprint.
    state: TableName,
    /// The trigger function, and the trigger's name.
    reset: TableName,
}

impl Companion {
    /// The companion objects of `table`, named after it in its schema.
    pub(crate) fn of(table: &TableName) -> Result<Companion> {
        const STATE: &str = "_state";
        const RESET: &str = "_state_reset";
        match (table.with_suffix(STATE), table.with_suffix(RESET)) {
            (Some(state), Some(reset)) => Ok(Companion { state, reset }),
            _ => Err(Error::InvalidTableName {
                name: table.plain().to_owned(),
                reason: "on PostgreSQL the table part may be at most 51 bytes, \
                         so that its companion `<table>_state_reset` fits in 63",
            }),
        }
    }
}

/// The stored fingerprint, the oid of the history table it was written for,
/// and the oid of the table that `table` names now (an error when there is
/// none, as when the history table was dropped).
pub(crate) fn read(table: &TableName, companion: &Companion) -> String {
    format!(
        "SELECT fingerprint, history, {}::regclass::oid FROM {}",
        quote_literal(Dialect::Postgres, &table.to_string()),
        companion.state
    )
}

/// The companion's rows as read by [`read`].
pub(crate) fn stored(rows: &[Row]) -> Stored {
    Stored::Companion(
        rows.iter()
            .map(|row| {
                let column = |index: usize| row.get(index).cloned().flatten();
                let of_this_history = column(1).is_some() && column(1) == column(2);
                (column(0), of_this_history)
            })
            .collect(),
    )
}

/// Whether the companion holds exactly one fingerprint, `expected`, and
/// holds it for this history table.
pub(crate) fn vouches(stored: &Stored, expected: Option<&Checksum>) -> bool {
    match (stored, expected) {
        (Stored::Companion(rows), Some(expected)) => match rows.as_slice() {
            [(Some(fingerprint), true)] => checksum::matches_hex(expected, fingerprint),
            _ => false,
        },
        _ => false,
    }
}

/// The statements that record `ledger`'s fingerprint, for the end of a
/// transaction that changed the history. `table` is schema-qualified.
pub(crate) fn write(table: &TableName, companion: &Companion, ledger: &Ledger) -> Vec<String> {
    let fingerprint = match ledger.fingerprint() {
        Some(set) => format!("'{}'", checksum::to_hex(&set)),
        None => "NULL".to_owned(),
    };
    let state = &companion.state;
    vec![
        format!("DELETE FROM {state}"),
        format!(
            "INSERT INTO {state} (history, fingerprint) VALUES ({}::regclass::oid, {fingerprint})",
            quote_literal(Dialect::Postgres, &table.to_string())
        ),
    ]
}

/// Creates the history table, and its schema when the name given was
/// qualified, if missing. Only run under the lock, and only when a table is
/// missing, so that a role without `CREATE` rights can run migrations once
/// the tables exist.
pub(crate) fn create_history(given: &TableName, table: &TableName) -> Vec<String> {
    let mut statements = Vec::new();
    if let Some(schema) = given.schema() {
        statements.push(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""));
    }
    statements.push(history::create_table(Dialect::Postgres, table));
    statements
}

/// Creates the companion table, the trigger function and the trigger when
/// the history table exists and they do not. The function runs as its owner
/// (`SECURITY DEFINER`, with a fixed `search_path` and qualified names), so
/// a role allowed to edit the history by hand need not be granted the
/// companion table too.
pub(crate) fn create_companion(table: &TableName, companion: &Companion) -> String {
    let history = quote_literal(Dialect::Postgres, &table.to_string());
    let Companion { state, reset } = companion;
    let trigger = reset.table();
    let mut sql = String::new();
    let _ = write!(
        sql,
        "DO $migrate$
BEGIN
    IF to_regclass({history}) IS NOT NULL THEN
        CREATE TABLE IF NOT EXISTS {state} (history oid NOT NULL, fingerprint text);
        COMMENT ON TABLE {state} IS 'The fingerprint of the history table, written by migrate; set to NULL by a trigger whenever the history changes.';
        CREATE OR REPLACE FUNCTION {reset}() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
            AS $reset$
            BEGIN
                UPDATE {state} SET fingerprint = NULL WHERE fingerprint IS NOT NULL;
                RETURN NULL;
            END
            $reset$;
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {history}::regclass AND tgname = '{trigger}') THEN
            CREATE TRIGGER \"{trigger}\" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION {reset}();
        END IF;
    END IF;
END
$migrate$"
    );
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fingerprint: Option<&str>, history: Option<&str>, now: Option<&str>) -> Row {
        [fingerprint, history, now]
            .into_iter()
            .map(|column| column.map(str::to_owned))
            .collect()
    }

    #[test]
    fn only_one_row_written_for_this_history_vouches() {
        let set = checksum::checksum("SELECT 1;");
        let hex = checksum::to_hex(&set);
        let ours = row(Some(&hex), Some("16384"), Some("16384"));
        assert!(vouches(&stored(std::slice::from_ref(&ours)), Some(&set)));
        assert!(!vouches(&stored(&[ours.clone(), ours.clone()]), Some(&set)));
        assert!(!vouches(
            &stored(&[row(Some(&hex), Some("16384"), Some("99999"))]),
            Some(&set)
        ));
        assert!(!vouches(
            &stored(&[row(None, Some("16384"), Some("16384"))]),
            Some(&set)
        ));
        assert!(!vouches(&stored(&[ours]), None), "an unfinished history");
        assert!(!vouches(&Stored::Missing, Some(&set)));
    }

    #[test]
    fn companion_names_fit_postgresql_s_limit() {
        assert!(Companion::of(&TableName::parse(&"x".repeat(51)).unwrap()).is_ok());
        let error = Companion::of(&TableName::parse(&"x".repeat(52)).unwrap()).unwrap_err();
        assert!(matches!(error, Error::InvalidTableName { .. }));
    }
}
