//! The SQLite backend, on rusqlite.
//!
//! Exactly-once across processes rests on SQLite's write lock: the history is
//! re-read inside a `BEGIN IMMEDIATE` transaction, which only one connection
//! at a time can hold, so a migration that another process applied first is
//! seen before anything is done.

use std::thread;
use std::time::{Duration, Instant};

use migrate_format::lexer::{self, Flavor};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::history::{HistoryRow, TableName};
use crate::plan::plan;
use crate::report::{Applied, Report, Status};
use crate::{Error, Migration, Migrations, Result, Runner, TransactionMode};

/// How often to look again while another process runs a `no-transaction` migration.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

impl Migrations {
    /// Applies the pending migrations to a SQLite database, with the default
    /// settings of [`Runner`].
    ///
    /// See [`Runner::run`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn run(&self, conn: &mut Connection) -> Result<Report> {
        self.runner().run(conn)
    }

    /// Reports the state of every migration in a SQLite database, changing
    /// nothing. See [`Runner::status`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        self.runner().status(conn)
    }
}

impl Runner<'_> {
    /// Applies the pending migrations to a SQLite database.
    ///
    /// - When everything is applied, this is one query and takes no lock.
    /// - Otherwise it takes the write lock (`BEGIN IMMEDIATE`, waiting up to
    ///   [`busy_timeout`](Runner::busy_timeout)), reads the history again and
    ///   applies what is still pending, each migration in the same transaction
    ///   as its history row.
    /// - Before anything is applied, every applied migration's checksum is
    ///   compared with the binary's ([`Error::Drift`]), and applied versions
    ///   missing from the binary and pending versions below the highest
    ///   applied one are refused unless allowed.
    /// - `no-transaction` migrations run one statement at a time outside a
    ///   transaction, with their progress recorded, so a failure part-way is
    ///   reported by the next run instead of being re-run ([`Error::Incomplete`]).
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn run(&self, conn: &mut Connection) -> Result<Report> {
        let started = Instant::now();
        let table = TableName::parse(&self.table)?;
        let history = read_history(conn, &table)?;
        match plan(self, &table, &history) {
            Ok(pending) if pending.is_empty() => {
                return Ok(Report::new(Vec::new(), started.elapsed()));
            }
            // Another process may be running that migration: wait under the lock.
            Ok(_) | Err(Error::Incomplete { .. }) => {}
            Err(error) => return Err(error),
        }
        let applied = with_busy_timeout(conn, self.busy_timeout, |conn| apply(self, conn, &table))?;
        Ok(Report::new(applied, started.elapsed()))
    }

    /// Reports the state of every migration in a SQLite database: applied,
    /// pending, drifted, missing or incomplete. It writes nothing, and does not
    /// create the history table.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        let table = TableName::parse(&self.table)?;
        let history = read_history(conn, &table)?;
        Ok(Status::new(self.migrations.as_slice(), &history))
    }
}

/// Runs `f` with the connection's busy timeout set to `timeout`, then puts
/// the caller's own setting back.
fn with_busy_timeout<T>(
    conn: &mut Connection,
    timeout: Duration,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    let previous: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
        .map_err(|e| Error::database("reading the busy timeout", e))?;
    conn.busy_timeout(timeout)
        .map_err(|e| Error::database("setting the busy timeout", e))?;
    let result = f(conn);
    let restored = conn
        .busy_timeout(Duration::from_millis(u64::try_from(previous).unwrap_or(0)))
        .map_err(|e| Error::database("restoring the busy timeout", e));
    let value = result?;
    restored?;
    Ok(value)
}

fn apply(runner: &Runner<'_>, conn: &mut Connection, table: &TableName) -> Result<Vec<Applied>> {
    let deadline = Instant::now() + runner.busy_timeout;
    let mut applied = Vec::new();
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::database("taking the write lock", e))?;
        tx.execute_batch(&create_table(table)).map_err(|e| {
            Error::database(format!("creating the history table {}", table.plain()), e)
        })?;
        let history = read_history(&tx, table)?;
        let pending = match plan(runner, table, &history) {
            Err(Error::Incomplete { .. }) if Instant::now() < deadline => {
                drop(tx);
                thread::sleep(POLL_INTERVAL);
                continue;
            }
            result => result?,
        };
        let Some(&first) = pending.first() else {
            tx.commit().map_err(|e| Error::database("committing", e))?;
            return Ok(applied);
        };
        if first.no_transaction() {
            insert_row(&tx, table, first, Duration::ZERO, false)?;
            tx.commit()
                .map_err(|e| Error::database("recording the start of a migration", e))?;
            applied.push(run_outside_transaction(conn, table, first)?);
            continue;
        }
        let batch = match runner.transaction_mode {
            TransactionMode::Single => pending.iter().take_while(|m| !m.no_transaction()).count(),
            TransactionMode::PerMigration => 1,
        };
        for migration in &pending[..batch] {
            applied.push(apply_in_transaction(&tx, table, migration)?);
        }
        tx.commit()
            .map_err(|e| Error::database("committing the migrations", e))?;
    }
}

fn apply_in_transaction(
    tx: &Connection,
    table: &TableName,
    migration: &Migration,
) -> Result<Applied> {
    let started = Instant::now();
    tx.execute_batch(migration.up().sql())
        .map_err(|e| migration_failed(migration, None, e))?;
    let duration = started.elapsed();
    insert_row(tx, table, migration, duration, true)?;
    Ok(Applied::new(migration, duration))
}

/// Runs a `no-transaction` migration statement by statement, recording after
/// each one how far it got.
fn run_outside_transaction(
    conn: &Connection,
    table: &TableName,
    migration: &Migration,
) -> Result<Applied> {
    let sql = migration.up().sql();
    let statements = lexer::lex(sql, Flavor::Sqlite).statements;
    let record = |action: &str, e| {
        Error::database(format!("{action} of migration {}", migration.version()), e)
    };
    let mut progress = conn
        .prepare(&format!(
            "UPDATE {table} SET statements_done = ?2 WHERE version = ?1"
        ))
        .map_err(|e| record("preparing to record the progress", e))?;
    let started = Instant::now();
    for (index, range) in statements.iter().enumerate() {
        conn.execute_batch(&sql[range.clone()])
            .map_err(|e| migration_failed(migration, Some(index + 1), e))?;
        progress
            .execute(params![
                migration.version(),
                i64::try_from(index + 1).unwrap_or(i64::MAX)
            ])
            .map_err(|e| record("recording the progress", e))?;
    }
    let duration = started.elapsed();
    conn.execute(
        &format!("UPDATE {table} SET finished = 1, statements_done = NULL, execution_ms = ?2 WHERE version = ?1"),
        params![migration.version(), millis(duration)],
    )
    .map_err(|e| record("recording the end", e))?;
    Ok(Applied::new(migration, duration))
}

fn migration_failed(
    migration: &Migration,
    statement: Option<usize>,
    error: rusqlite::Error,
) -> Error {
    Error::Migration {
        version: migration.version(),
        file: migration.file().to_owned(),
        statement,
        source: error.into(),
    }
}

fn create_table(table: &TableName) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            execution_ms INTEGER NOT NULL,
            finished INTEGER NOT NULL,
            statements_done INTEGER
        )"
    )
}

fn insert_row(
    conn: &Connection,
    table: &TableName,
    migration: &Migration,
    duration: Duration,
    finished: bool,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {table} (version, description, checksum, applied_at, execution_ms, finished, statements_done) \
         VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?4, ?5, ?6)"
    );
    let statements_done = (!finished).then_some(0);
    conn.prepare_cached(&sql)
        .and_then(|mut insert| {
            insert.execute(params![
                migration.version(),
                migration.description(),
                migration.checksum_hex(),
                millis(duration),
                finished,
                statements_done,
            ])
        })
        .map(drop)
        .map_err(|e| {
            Error::database(
                format!(
                    "recording migration {} in {}",
                    migration.version(),
                    table.plain()
                ),
                e,
            )
        })
}

/// Reads the history, or nothing when the table does not exist yet.
fn read_history(conn: &Connection, table: &TableName) -> Result<Vec<HistoryRow>> {
    let sql = format!(
        "SELECT version, description, checksum, applied_at, finished, statements_done FROM {table} ORDER BY version"
    );
    let action = || format!("reading the history table {}", table.plain());
    let mut select = match conn.prepare_cached(&sql) {
        Ok(select) => select,
        Err(error) if is_missing_table(&error) => return Ok(Vec::new()),
        Err(error) => return Err(Error::database(action(), error)),
    };
    let rows = select
        .query_map([], |row| {
            Ok(HistoryRow {
                version: row.get(0)?,
                description: row.get(1)?,
                checksum: row.get(2)?,
                applied_at: row.get(3)?,
                finished: row.get(4)?,
                statements_done: row.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>());
    rows.map_err(|error| Error::database(action(), error))
}

fn is_missing_table(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(_, Some(message)) if message.starts_with("no such table"))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
