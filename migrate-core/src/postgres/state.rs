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
//!
//! A fingerprint that matches nothing costs one more round trip, to read the
//! history.

use std::fmt::Write as _;

use migrate_format::checksum::{self, Checksum};
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use super::{is_missing_table, parse_column, quote_literal};
use crate::history::{HistoryRow, Ledger, TableName};
use crate::{Error, Result};
use migrate_format::history;

/// The names of the objects that keep a history table's fingerprint.
pub(super) struct Companion {
    /// The one-row table that holds the fingerprint.
    state: TableName,
    /// The trigger function, and the trigger's name.
    reset: TableName,
}

impl Companion {
    /// The companion objects of `table`, named after it in its schema.
    pub(super) fn of(table: &TableName) -> Result<Companion> {
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

/// The rows of the companion table: one, unless it was edited by hand.
pub(super) struct Stored(Vec<StoredRow>);

struct StoredRow {
    fingerprint: Option<String>,
    /// Whether the row was written for the table that the history table's
    /// name resolves to now.
    of_this_history: bool,
}

impl Stored {
    /// Whether the companion holds exactly one fingerprint, `expected`, and
    /// holds it for this history table.
    pub(super) fn holds(&self, expected: Option<&Checksum>) -> bool {
        match (self.0.as_slice(), expected) {
            (
                [
                    StoredRow {
                        fingerprint: Some(stored),
                        of_this_history: true,
                    },
                ],
                Some(expected),
            ) => checksum::matches_hex(expected, stored),
            _ => false,
        }
    }
}

/// What a read of the fingerprint and the history found.
pub(super) struct Snapshot {
    stored: Stored,
    pub(super) history: Vec<HistoryRow>,
}

impl Snapshot {
    /// Whether the stored fingerprint is that of the history that was read.
    pub(super) fn is_current(&self) -> bool {
        self.stored
            .holds(Ledger::of(&self.history).fingerprint().as_ref())
    }
}

/// Reads the stored fingerprint, in one round trip that reads one row;
/// `None` when the companion table does not exist.
pub(super) async fn read_stored(
    client: &Client,
    table: &TableName,
    companion: &Companion,
) -> Result<Option<Stored>> {
    let action = "reading the history's fingerprint";
    let messages = match client
        .simple_query(&fingerprint_sql(table, companion))
        .await
    {
        Ok(messages) => messages,
        Err(error) if is_missing_table(&error) => return Ok(None),
        Err(error) => return Err(Error::database(action, error)),
    };
    Ok(Some(stored(&messages)))
}

/// The columns a read of the history fetches.
#[derive(Clone, Copy)]
pub(super) enum Columns {
    /// What deciding what to run needs: all but `applied_at`, which costs
    /// more to format than the rest of the row.
    ForPlan,
    /// Everything, for `status`.
    All,
}

/// Reads the history, without the fingerprint, in one round trip; `None`
/// when the table (or its schema) does not exist.
pub(super) async fn read_history(
    client: &Client,
    table: &TableName,
    columns: Columns,
) -> Result<Option<Vec<HistoryRow>>> {
    let action = format!("reading the history table {}", table.plain());
    let messages = match client.simple_query(&history_sql(table, columns)).await {
        Ok(messages) => messages,
        Err(error) if is_missing_table(&error) => return Ok(None),
        Err(error) => return Err(Error::database(action, error)),
    };
    history(&messages, &action).map(Some)
}

/// Reads the fingerprint and the history in one round trip, or `None` when
/// the history table or its companion does not exist.
pub(super) async fn read(
    client: &Client,
    table: &TableName,
    companion: &Companion,
) -> Result<Option<Snapshot>> {
    read_after(client, table, companion, String::new()).await
}

/// Creates the companion of an existing history table (created first when
/// `create_history` is set) if it is missing, then reads as [`read`] does,
/// in one round trip. `None` when the history table does not exist and was
/// not to be created. Only called under the migration lock.
pub(super) async fn create_and_read(
    client: &Client,
    given: &TableName,
    table: &TableName,
    companion: &Companion,
    create_history: bool,
) -> Result<Option<Snapshot>> {
    let mut sql = String::new();
    if create_history {
        sql.push_str(&create_history_sql(given, table));
    }
    sql.push_str(&create_companion_sql(table, companion));
    read_after(client, table, companion, sql).await
}

async fn read_after(
    client: &Client,
    table: &TableName,
    companion: &Companion,
    mut sql: String,
) -> Result<Option<Snapshot>> {
    let _ = write!(
        sql,
        "{};\n{}",
        fingerprint_sql(table, companion),
        history_sql(table, Columns::ForPlan)
    );
    let action = format!("reading the history table {}", table.plain());
    let messages = match client.simple_query(&sql).await {
        Ok(messages) => messages,
        Err(error) if is_missing_table(&error) => return Ok(None),
        Err(error) => return Err(Error::database(action, error)),
    };
    Ok(Some(Snapshot {
        stored: stored(&messages),
        history: history(&messages, &action)?,
    }))
}

/// The stored fingerprint, the oid of the history table it was written for,
/// and the oid of the table that `table` names now (an error when there is
/// none, as when the history table was dropped).
fn fingerprint_sql(table: &TableName, companion: &Companion) -> String {
    format!(
        "SELECT fingerprint, history, {}::regclass::oid FROM {}",
        quote_literal(&table.to_string()),
        companion.state
    )
}

/// The history's rows, in any order. `applied_at` is read as UTC text in the
/// format the SQLite backend stores.
fn history_sql(table: &TableName, columns: Columns) -> String {
    let applied_at = match columns {
        Columns::ForPlan => "",
        Columns::All => {
            ", to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        }
    };
    format!(
        "SELECT version, checksum, finished, statements_done, description{applied_at} FROM {table}"
    )
}

/// The companion's rows among `messages`: the rows of three columns.
fn stored(messages: &[SimpleQueryMessage]) -> Stored {
    Stored(
        rows(messages)
            .filter(|row| row.len() == 3)
            .map(|row| StoredRow {
                fingerprint: row.get(0).map(str::to_owned),
                of_this_history: row.get(1).is_some() && row.get(1) == row.get(2),
            })
            .collect(),
    )
}

/// The history among `messages`, sorted by version: the rows of five or six
/// columns.
fn history(messages: &[SimpleQueryMessage], action: &str) -> Result<Vec<HistoryRow>> {
    let mut history = rows(messages)
        .filter(|row| row.len() >= 5)
        .map(|row| history_row(row, action))
        .collect::<Result<Vec<_>>>()?;
    history.sort_unstable_by_key(|row| row.version);
    Ok(history)
}

fn rows(messages: &[SimpleQueryMessage]) -> impl Iterator<Item = &SimpleQueryRow> {
    messages.iter().filter_map(|message| match message {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    })
}

fn history_row(row: &SimpleQueryRow, action: &str) -> Result<HistoryRow> {
    let text = |index| row.get(index).unwrap_or_default().to_owned();
    Ok(HistoryRow {
        version: parse_column(row, 0, action)?,
        checksum: text(1),
        finished: row.get(2) == Some("t"),
        statements_done: match row.get(3) {
            Some(_) => Some(parse_column(row, 3, action)?),
            None => None,
        },
        description: text(4),
        applied_at: if row.len() > 5 {
            text(5)
        } else {
            String::new()
        },
    })
}

/// The statements that record `ledger`'s fingerprint, for the end of a
/// transaction that changed the history. `table` is schema-qualified.
pub(super) fn write_sql(table: &TableName, companion: &Companion, ledger: &Ledger) -> String {
    let fingerprint = match ledger.fingerprint() {
        Some(set) => format!("'{}'", checksum::to_hex(&set)),
        None => "NULL".to_owned(),
    };
    let state = &companion.state;
    format!(
        "DELETE FROM {state};\nINSERT INTO {state} (history, fingerprint) VALUES ({}::regclass::oid, {fingerprint});\n",
        quote_literal(&table.to_string())
    )
}

/// Creates the history table, and its schema when the name given was
/// qualified, if missing. Only run under the lock, and only when a table is
/// missing, so that a role without `CREATE` rights can run migrations once
/// the tables exist.
fn create_history_sql(given: &TableName, table: &TableName) -> String {
    let mut sql = String::new();
    if let Some(schema) = given.schema() {
        let _ = writeln!(sql, "CREATE SCHEMA IF NOT EXISTS \"{schema}\";");
    }
    sql.push_str(&history::create_table(history::Dialect::Postgres, table));
    sql.push_str(";\n");
    sql
}

/// Creates the companion table, the trigger function and the trigger when
/// the history table exists and they do not. The function runs as its owner
/// (`SECURITY DEFINER`, with a fixed `search_path` and qualified names), so
/// a role allowed to edit the history by hand need not be granted the
/// companion table too.
fn create_companion_sql(table: &TableName, companion: &Companion) -> String {
    let history = quote_literal(&table.to_string());
    let Companion { state, reset } = companion;
    let trigger = reset.table();
    format!(
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
$migrate$;\n"
    )
}
