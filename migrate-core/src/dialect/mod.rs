//! The SQL of each engine, as pure functions: everything a run sends is
//! decided here and in the engine, and tested without a database.
//!
//! [`Sql`] is what the engine talks to: one engine's SQL for one history
//! table. The engine never writes SQL itself, and the drivers never do.

pub(crate) mod adopt;
pub(crate) mod postgres;
pub(crate) mod sqlite;
pub(crate) mod verify;

use migrate_format::checksum::Checksum;
use migrate_format::history::{self, Dialect, Row as HistoryValues, TableName, quote_literal};
use migrate_format::lexer::{self, Flavor};

use crate::driver::Row;
use crate::history::{HistoryRow, Ledger};
use crate::{Error, Migration, Result};
use postgres::state::{self, Companion};

/// The fingerprint as the database stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stored {
    /// SQLite: `PRAGMA user_version`, and `application_id` when it was read
    /// (under the lock; the fast path reads `user_version` alone).
    Pragmas {
        user_version: i32,
        application_id: Option<i32>,
    },
    /// PostgreSQL: the companion table's rows, each a fingerprint and whether
    /// it was written for this history table.
    Companion(Vec<(Option<String>, bool)>),
    /// PostgreSQL: the companion table, or the history table, does not exist.
    Missing,
}

/// The columns a read of the history fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Columns {
    /// What deciding what to run needs: all but `applied_at`, which costs
    /// more to format than the rest of the row on PostgreSQL.
    ForPlan,
    /// Everything, for `status`.
    All,
}

/// When the migration before the one being recorded ended, for the timing of
/// a batch on SQLite, which has no session variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Since {
    /// The start of the batch: the database's clock as read under the lock.
    Start(String),
    /// The migration of this version, recorded earlier in the batch.
    Version(i64),
}

/// One engine's SQL for one history table.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    dialect: Dialect,
    /// The history table, as given or, once the lock resolved it on
    /// PostgreSQL, qualified by its schema.
    table: TableName,
    /// PostgreSQL's companion table, named after `table`.
    companion: Option<Companion>,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, table: TableName) -> Result<Sql> {
        let companion = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(Companion::of(&table)?),
        };
        Ok(Sql {
            dialect,
            table,
            companion,
        })
    }

    /// The same SQL for the history table `table`, resolved by the lock.
    pub(crate) fn with_table(&self, table: TableName) -> Result<Sql> {
        Sql::new(self.dialect, table)
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn table(&self) -> &TableName {
        &self.table
    }

    fn companion(&self) -> &Companion {
        self.companion
            .as_ref()
            .unwrap_or_else(|| unreachable!("only PostgreSQL has a companion table"))
    }

    /// The fast path's read of the stored fingerprint.
    pub(crate) fn read_fingerprint(&self) -> String {
        match self.dialect {
            Dialect::Sqlite => sqlite::READ_FINGERPRINT.to_owned(),
            Dialect::Postgres => state::read(&self.table, self.companion()),
        }
    }

    /// The stored fingerprint from the rows of [`Sql::read_fingerprint`].
    pub(crate) fn stored(&self, rows: &[Row]) -> Result<Stored> {
        match self.dialect {
            Dialect::Sqlite => Ok(Stored::Pragmas {
                user_version: integer(rows.first(), 0, "PRAGMA user_version")?,
                application_id: None,
            }),
            Dialect::Postgres => Ok(state::stored(rows)),
        }
    }

    /// What else the slow path of a run reads with the history, to know
    /// whether it may write a stale fingerprint: SQLite's `application_id`,
    /// which the fast path leaves out to stay one pragma.
    pub(crate) fn read_owner(&self) -> Option<&'static str> {
        match self.dialect {
            Dialect::Sqlite => Some("PRAGMA application_id"),
            Dialect::Postgres => None,
        }
    }

    /// `stored` with the owner that [`Sql::read_owner`] read.
    pub(crate) fn with_owner(&self, stored: Stored, rows: &[Row]) -> Result<Stored> {
        match stored {
            Stored::Pragmas { user_version, .. } => Ok(Stored::Pragmas {
                user_version,
                application_id: Some(integer(rows.first(), 0, "PRAGMA application_id")?),
            }),
            other => Ok(other),
        }
    }

    /// Whether `stored` says the history holds `expected`.
    pub(crate) fn vouches(&self, stored: &Stored, expected: Option<&Checksum>) -> bool {
        match self.dialect {
            Dialect::Sqlite => sqlite::vouches(stored, expected, &self.table),
            Dialect::Postgres => state::vouches(stored, expected),
        }
    }

    /// The history, in any order.
    pub(crate) fn read_history(&self, columns: Columns) -> String {
        let applied_at = match (columns, self.dialect) {
            (Columns::ForPlan, _) => "",
            (Columns::All, Dialect::Sqlite) => ", applied_at",
            (Columns::All, Dialect::Postgres) => &format!(", {}", postgres::APPLIED_AT),
        };
        format!(
            "SELECT version, checksum, finished, statements_done, description{applied_at} FROM {}",
            self.table
        )
    }

    /// The statements that record `ledger`'s fingerprint, at the end of a
    /// transaction that changed the history.
    pub(crate) fn write_fingerprint(&self, stored: &Stored, ledger: &Ledger) -> Vec<String> {
        match self.dialect {
            Dialect::Sqlite => sqlite::write_fingerprint(stored, ledger, &self.table),
            Dialect::Postgres => state::write(&self.table, self.companion(), ledger),
        }
    }

    /// Creates what is missing under the lock: the history table (when
    /// `history` is set, with its schema) and its companion.
    pub(crate) fn create(&self, given: &TableName, history: bool) -> Vec<String> {
        let mut statements = Vec::new();
        if history {
            statements.extend(state::create_history(given, &self.table));
        }
        statements.push(state::create_companion(&self.table, self.companion()));
        statements
    }

    /// Where `sql`, a transactional migration, holds a statement that the
    /// engine refuses inside a transaction, and which: PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`, say. SQLite reports its own at run time.
    pub(crate) fn refused_in_transaction(&self, sql: &str) -> Option<(usize, &'static str)> {
        // Lexing every pending migration before each run costs more than
        // the rest of the client's work; most migrations hold none of the
        // words a refused statement needs.
        if self.dialect != Dialect::Postgres
            || !migrate_format::transaction::may_refuse_in_transaction(sql, None)
        {
            return None;
        }
        let lexed = lexer::lex(sql, Flavor::Postgres);
        migrate_format::transaction::statements_refused_in_transaction(sql, &lexed, None)
            .into_iter()
            .next()
            .map(|refusal| (refusal.range.start, refusal.command))
    }

    pub(crate) fn begin(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// What starts the clock of a batch, where the engine needs one.
    pub(crate) fn start_clock(&self) -> Option<String> {
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(postgres::start_clock()),
        }
    }

    /// The history row of a migration that just ran in a batch, written as a
    /// marker whose row is its version and, on PostgreSQL, the microseconds
    /// the server measured.
    pub(crate) fn insert_applied(&self, migration: &Migration, since: &Since) -> String {
        let checksum = migration.checksum_hex();
        match self.dialect {
            Dialect::Postgres => postgres::insert_applied(
                &self.table,
                migration.version(),
                migration.description(),
                &checksum,
            ),
            Dialect::Sqlite => {
                let previous = match since {
                    Since::Start(now) => quote_literal(Dialect::Sqlite, now),
                    Since::Version(version) => sqlite::applied_at_of(&self.table, *version),
                };
                let elapsed = sqlite::elapsed_ms(&previous);
                let row = values(migration, &checksum, &elapsed, true);
                format!(
                    "{} RETURNING version AS migrate_marker, NULL",
                    history::insert(Dialect::Sqlite, &self.table, &[row])
                )
            }
        }
    }

    /// The removal of a reverted migration's row, written as a marker.
    pub(crate) fn delete_reverted(&self, version: i64) -> String {
        match self.dialect {
            Dialect::Postgres => postgres::delete_reverted(&self.table, version),
            Dialect::Sqlite => format!(
                "DELETE FROM {} WHERE version = {version} RETURNING version AS migrate_marker, NULL",
                self.table
            ),
        }
    }

    /// Rows recorded without running anything: a baseline, or the start of
    /// a `no-transaction` migration (unfinished, no statement done).
    pub(crate) fn insert(&self, migrations: &[&Migration], finished: bool) -> String {
        let checksums: Vec<String> = migrations.iter().map(|m| m.checksum_hex()).collect();
        let rows: Vec<HistoryValues<'_>> = migrations
            .iter()
            .zip(&checksums)
            .map(|(migration, checksum)| values(migration, checksum, "0", finished))
            .collect();
        history::insert(self.dialect, &self.table, &rows)
    }

    /// The connection settings the statements of `sql` change, which the
    /// engine puts back after the migration: a connection setting made by a
    /// migration lasts until the end of that migration.
    pub(crate) fn settings_changed(&self, sql: &str) -> Vec<String> {
        match self.dialect {
            Dialect::Sqlite => sqlite::settings_changed(sql, &lexer::lex(sql, Flavor::Sqlite)),
            Dialect::Postgres => migrate_format::session::postgres::settings_changed(
                sql,
                &lexer::lex(sql, Flavor::Postgres).statements,
            ),
        }
    }

    /// What reads the settings before a migration changes them, when the
    /// engine reads them apart from the migration: SQLite, whose settings
    /// cannot be kept by SQL.
    pub(crate) fn read_settings(&self) -> Option<String> {
        match self.dialect {
            Dialect::Sqlite => Some(migrate_format::session::sqlite_read()),
            Dialect::Postgres => None,
        }
    }

    /// What saves the settings `names` just before the migration that
    /// changes them, in the same batch: PostgreSQL.
    pub(crate) fn save_settings(&self, names: &[String], in_transaction: bool) -> Option<String> {
        match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(migrate_format::session::postgres::save(
                names,
                in_transaction,
            )),
        }
    }

    /// What puts the settings `names` back right after the migration that
    /// changed them; `saved` is what [`Sql::read_settings`] read, on SQLite.
    pub(crate) fn restore_settings(
        &self,
        names: &[String],
        saved: &[i64],
        in_transaction: bool,
    ) -> String {
        match self.dialect {
            Dialect::Sqlite => sqlite::restore_settings(saved, names),
            Dialect::Postgres => migrate_format::session::postgres::restore(names, in_transaction),
        }
    }

    /// A `no-transaction` migration's progress.
    pub(crate) fn record_progress(&self, version: i64, done: usize) -> String {
        format!(
            "UPDATE {} SET statements_done = {done} WHERE version = {version}",
            self.table
        )
    }

    /// A `no-transaction` migration that finished, after `ms` milliseconds.
    pub(crate) fn record_finished(&self, version: i64, ms: i64) -> String {
        format!(
            "UPDATE {} SET finished = {}, statements_done = NULL, applied_at = {}, execution_ms = {ms} WHERE version = {version}",
            self.table,
            history::boolean(self.dialect, true),
            history::now(self.dialect),
        )
    }

    /// A migration finished by hand: `resolve --as completed`.
    pub(crate) fn record_resolved(&self, version: i64) -> String {
        format!(
            "UPDATE {} SET finished = {}, statements_done = NULL WHERE version = {version}",
            self.table,
            history::boolean(self.dialect, true),
        )
    }

    pub(crate) fn delete(&self, version: i64) -> String {
        format!("DELETE FROM {} WHERE version = {version}", self.table)
    }

    /// A deliberate edit accepted: `repair`.
    pub(crate) fn restamp(&self, version: i64, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE version = {version}",
            self.table,
            quote_literal(self.dialect, checksum)
        )
    }
}

fn values<'a>(
    migration: &'a Migration,
    checksum: &'a str,
    execution_ms: &'a str,
    finished: bool,
) -> HistoryValues<'a> {
    HistoryValues {
        version: migration.version(),
        description: migration.description(),
        checksum,
        execution_ms,
        finished,
        statements_done: (!finished).then_some(0),
    }
}

/// The history among the rows of [`Sql::read_history`], sorted by version.
pub(crate) fn parse_history(rows: &[Row], action: &str) -> Result<Vec<HistoryRow>> {
    let mut history = rows
        .iter()
        .map(|row| history_row(row, action))
        .collect::<Result<Vec<_>>>()?;
    history.sort_unstable_by_key(|row| row.version);
    Ok(history)
}

fn history_row(row: &Row, action: &str) -> Result<HistoryRow> {
    let text = |index: usize| row.get(index).cloned().flatten().unwrap_or_default();
    Ok(HistoryRow {
        version: integer(Some(row), 0, action)?,
        checksum: text(1),
        // SQLite stores booleans as 0 and 1; PostgreSQL's text form is t and f.
        finished: matches!(text(2).as_str(), "1" | "t" | "true"),
        statements_done: match row.get(3).cloned().flatten() {
            Some(_) => Some(integer(Some(row), 3, action)?),
            None => None,
        },
        description: text(4),
        applied_at: text(5),
    })
}

/// Parses a column of a text row as an integer.
pub(crate) fn integer<T: std::str::FromStr>(
    row: Option<&Row>,
    index: usize,
    action: &str,
) -> Result<T> {
    let value = row
        .and_then(|row| row.get(index))
        .and_then(Option::as_deref)
        .unwrap_or_default();
    value.parse().map_err(|_| {
        Error::unexpected(
            action,
            format!("unexpected value `{value}` in column {}", index + 1),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[Option<&str>]) -> Row {
        values.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn both_engines_history_rows_read_alike() {
        let rows = [
            text(&[Some("2"), Some("ab"), Some("t"), None, Some("b")]),
            text(&[
                Some("1"),
                Some("cd"),
                Some("0"),
                Some("3"),
                Some("a"),
                Some("2026-01-01T00:00:00.000Z"),
            ]),
        ];
        let history = parse_history(&rows, "reading").unwrap();
        assert_eq!(history[0].version, 1);
        assert!(!history[0].finished);
        assert_eq!(history[0].statements_done, Some(3));
        assert_eq!(history[0].applied_at, "2026-01-01T00:00:00.000Z");
        assert!(history[1].finished);
        assert_eq!(history[1].description, "b");
        let garbled = [text(&[Some("x")])];
        assert!(parse_history(&garbled, "reading").is_err());
    }

    #[test]
    fn the_history_read_leaves_out_applied_at_when_planning() {
        let sql = Sql::new(Dialect::Postgres, TableName::default()).unwrap();
        assert!(!sql.read_history(Columns::ForPlan).contains("applied_at"));
        assert!(
            sql.read_history(Columns::All)
                .contains("to_char(applied_at")
        );
    }
}
