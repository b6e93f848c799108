//! The SQLite backend, on rusqlite.
//!
//! Exactly-once across processes rests on SQLite's write lock: the history is
//! re-read inside a `BEGIN IMMEDIATE` transaction, which only one connection
//! at a time can hold, so a migration that another process applied first is
//! seen before anything is done.

use std::thread;
use std::time::{Duration, Instant};

use migrate_format::Checksum;
use migrate_format::lexer::{self, Flavor};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::history::{HistoryRow, Ledger, TableName, parse_table};
use crate::lifecycle::{plan_baseline, plan_repair, plan_resolve, plan_rollback};
use crate::plan::plan;
use crate::report::{Action, Applied, Report, Status};
use crate::{
    Error, Migration, Migrations, Resolution, Result, Rollback, Runner, Script, TransactionMode,
};

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
    /// - When everything is applied, this reads one pragma (see
    ///   [`track_user_version`](Runner::track_user_version)) or, failing
    ///   that, the history table, and takes no lock.
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
        let table = parse_table(&self.table)?;
        if self.track_user_version
            && read_user_version(conn)? == fingerprint(self.migrations.checksum(), &table)
        {
            return Ok(Report::new(Vec::new(), started.elapsed()));
        }
        let history = read_history(conn, &table)?;
        match plan(self, &table, &history) {
            Ok(pending) if pending.is_empty() => {
                if self.track_user_version
                    && history_fingerprint(&history, &table)
                        == Some(fingerprint(self.migrations.checksum(), &table))
                {
                    // Applied by a version of migrate that did not keep the
                    // fingerprint, or by a runner that had it turned off.
                    with_busy_timeout(conn, self.busy_timeout, |conn| {
                        write_locked(self, conn, &table, |_, _| Ok(()))
                    })?;
                }
                return Ok(Report::new(Vec::new(), started.elapsed()));
            }
            // Another process may be running that migration: wait under the lock.
            Ok(_) | Err(Error::Incomplete { .. }) => {}
            Err(error) => return Err(error),
        }
        let applied = with_busy_timeout(conn, self.busy_timeout, |conn| apply(self, conn, &table))?;
        Ok(Report::new(applied, started.elapsed()))
    }

    /// The migrations a run would apply now, in order, or the error it would
    /// fail with; it changes nothing. This is a dry run of [`Runner::run`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn pending(&self, conn: &Connection) -> Result<Vec<&Migration>> {
        let table = parse_table(&self.table)?;
        let history = read_history(conn, &table)?;
        plan(self, &table, &history)
    }

    /// Reports the state of every migration in a SQLite database: applied,
    /// pending, drifted, missing or incomplete. It writes nothing, and does not
    /// create the history table.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        let table = parse_table(&self.table)?;
        let history = read_history(conn, &table)?;
        Ok(Status::new(self.migrations.as_slice(), &history))
    }
}

impl Runner<'_> {
    /// Reverts applied migrations with their down scripts, newest first, each
    /// together with the removal of its history row.
    ///
    /// Refuses before reverting anything when a migration to revert has no
    /// down script, is missing from the binary, was edited or is incomplete
    /// ([`Error::Irreversible`], [`Error::Drift`], [`Error::Incomplete`]).
    /// With [`TransactionMode::Single`] the whole rollback is one
    /// transaction. A `no-transaction` down script runs one statement at a
    /// time outside a transaction.
    ///
    /// Stop the services that migrate at start-up first: one starting during
    /// the rollback would apply the reverted migrations again.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn rollback(&self, conn: &mut Connection, rollback: Rollback) -> Result<Report> {
        let started = Instant::now();
        let table = parse_table(&self.table)?;
        let reverted = with_busy_timeout(conn, self.busy_timeout, |conn| {
            revert(self, conn, &table, rollback)
        })?;
        Ok(Report::of(Action::Rollback, reverted, started.elapsed()))
    }

    /// Records the migrations up to and including `version` as applied
    /// without running them, for a database whose schema was created another
    /// way. Versions already applied are left alone.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn baseline(&self, conn: &mut Connection, version: i64) -> Result<Report> {
        let started = Instant::now();
        let table = parse_table(&self.table)?;
        let recorded = with_busy_timeout(conn, self.busy_timeout, |conn| {
            write_locked(self, conn, &table, |tx, history| {
                let baseline = plan_baseline(self, &table, history, version)?;
                for migration in &baseline {
                    insert_row(tx, &table, migration, Duration::ZERO, true)?;
                }
                Ok(baseline
                    .iter()
                    .map(|m| Applied::new(m, Duration::ZERO))
                    .collect())
            })
        })?;
        Ok(Report::of(Action::Baseline, recorded, started.elapsed()))
    }

    /// Replaces the recorded checksum of one applied migration with the
    /// binary's, after a deliberate edit (see [`Error::Drift`]). Returns
    /// whether the record changed.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn repair(&self, conn: &mut Connection, version: i64) -> Result<bool> {
        let table = parse_table(&self.table)?;
        with_busy_timeout(conn, self.busy_timeout, |conn| {
            write_locked(self, conn, &table, |tx, history| {
                let Some(migration) = plan_repair(self, history, version)? else {
                    return Ok(false);
                };
                tx.execute(
                    &format!("UPDATE {table} SET checksum = ?2 WHERE version = ?1"),
                    params![version, migration.checksum_hex()],
                )
                .map_err(|e| Error::database(format!("re-stamping migration {version}"), e))?;
                Ok(true)
            })
        })
    }

    /// Settles a `no-transaction` migration that stopped part-way (see
    /// [`Error::Incomplete`]), after an operator finished or undid it by hand.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn resolve(
        &self,
        conn: &mut Connection,
        version: i64,
        resolution: Resolution,
    ) -> Result<()> {
        let table = parse_table(&self.table)?;
        with_busy_timeout(conn, self.busy_timeout, |conn| {
            write_locked(self, conn, &table, |tx, history| {
                plan_resolve(history, version)?;
                let sql = match resolution {
                    Resolution::Completed => {
                        format!(
                            "UPDATE {table} SET finished = 1, statements_done = NULL WHERE version = ?1"
                        )
                    }
                    Resolution::RolledBack => format!("DELETE FROM {table} WHERE version = ?1"),
                };
                tx.execute(&sql, [version])
                    .map_err(|e| Error::database(format!("resolving migration {version}"), e))?;
                Ok(())
            })
        })
    }
}

/// Takes the write lock, makes sure the history table exists, and reads it.
fn begin_immediate<'c>(conn: &'c Connection, table: &TableName) -> Result<Transaction<'c>> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| Error::database("taking the write lock", e))?;
    tx.execute_batch(&create_table(table))
        .map_err(|e| Error::database(format!("creating the history table {}", table.plain()), e))?;
    Ok(tx)
}

/// Runs `f` on the history under the write lock, brings the fingerprint in
/// `user_version` up to date, and commits.
fn write_locked<T>(
    runner: &Runner<'_>,
    conn: &Connection,
    table: &TableName,
    f: impl FnOnce(&Transaction<'_>, &[HistoryRow]) -> Result<T>,
) -> Result<T> {
    let tx = begin_immediate(conn, table)?;
    let history = read_history(&tx, table)?;
    let value = f(&tx, &history)?;
    commit_synced(runner, tx, table)?;
    Ok(value)
}

/// Commits after reading the history again for the fingerprint, for the
/// operations that change it in ways other than appending.
fn commit_synced(runner: &Runner<'_>, tx: Transaction<'_>, table: &TableName) -> Result<()> {
    if runner.track_user_version {
        let history = read_history(&tx, table)?;
        sync_user_version(runner, &tx, table, &history)?;
    }
    tx.commit().map_err(|e| Error::database("committing", e))
}

fn revert(
    runner: &Runner<'_>,
    conn: &Connection,
    table: &TableName,
    rollback: Rollback,
) -> Result<Vec<Applied>> {
    let mut tx = begin_immediate(conn, table)?;
    let reverts = plan_rollback(runner, table, &read_history(&tx, table)?, rollback)?;
    let mut reverted = Vec::with_capacity(reverts.len());
    for (migration, down) in reverts {
        if down.no_transaction() {
            commit_synced(runner, tx, table)?;
            reverted.push(runner.step(migration, || {
                run_down_outside_transaction(conn, table, migration, down)
            })?);
            tx = begin_immediate(conn, table)?;
        } else {
            reverted.push(runner.step(migration, || {
                revert_in_transaction(&tx, table, migration, down)
            })?);
            if runner.transaction_mode == TransactionMode::PerMigration {
                commit_synced(runner, tx, table)?;
                tx = begin_immediate(conn, table)?;
            }
        }
    }
    commit_synced(runner, tx, table)?;
    Ok(reverted)
}

fn revert_in_transaction(
    tx: &Connection,
    table: &TableName,
    migration: &Migration,
    down: &Script,
) -> Result<Applied> {
    let started = Instant::now();
    tx.execute_batch(down.sql())
        .map_err(|e| script_failed(migration, down, None, e))?;
    let duration = started.elapsed();
    delete_row(tx, table, migration)?;
    Ok(Applied::new(migration, duration))
}

fn run_down_outside_transaction(
    conn: &Connection,
    table: &TableName,
    migration: &Migration,
    down: &Script,
) -> Result<Applied> {
    let sql = down.sql();
    let started = Instant::now();
    for (index, range) in lexer::lex(sql, Flavor::Sqlite)
        .statements
        .iter()
        .enumerate()
    {
        conn.execute_batch(&sql[range.clone()])
            .map_err(|e| script_failed(migration, down, Some(index + 1), e))?;
    }
    let duration = started.elapsed();
    delete_row(conn, table, migration)?;
    Ok(Applied::new(migration, duration))
}

fn delete_row(conn: &Connection, table: &TableName, migration: &Migration) -> Result<()> {
    conn.execute(
        &format!("DELETE FROM {table} WHERE version = ?1"),
        [migration.version()],
    )
    .map(drop)
    .map_err(|e| {
        Error::database(
            format!(
                "removing migration {} from {}",
                migration.version(),
                table.plain()
            ),
            e,
        )
    })
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

fn apply(runner: &Runner<'_>, conn: &Connection, table: &TableName) -> Result<Vec<Applied>> {
    let deadline = Instant::now() + runner.busy_timeout;
    let mut applied = Vec::new();
    loop {
        let tx = begin_immediate(conn, table)?;
        let mut history = read_history(&tx, table)?;
        let pending = match plan(runner, table, &history) {
            Err(Error::Incomplete { .. }) if Instant::now() < deadline => {
                drop(tx);
                thread::sleep(POLL_INTERVAL);
                continue;
            }
            result => result?,
        };
        let Some(&first) = pending.first() else {
            sync_user_version(runner, &tx, table, &history)?;
            tx.commit().map_err(|e| Error::database("committing", e))?;
            return Ok(applied);
        };
        if first.no_transaction() {
            insert_row(&tx, table, first, Duration::ZERO, false)?;
            record(&mut history, first, false);
            sync_user_version(runner, &tx, table, &history)?;
            tx.commit()
                .map_err(|e| Error::database("recording the start of a migration", e))?;
            applied.push(runner.step(first, || run_outside_transaction(conn, table, first))?);
            continue;
        }
        let batch = match runner.transaction_mode {
            TransactionMode::Single => pending.iter().take_while(|m| !m.no_transaction()).count(),
            TransactionMode::PerMigration => 1,
        };
        for migration in &pending[..batch] {
            applied.push(runner.step(migration, || apply_in_transaction(&tx, table, migration))?);
            record(&mut history, migration, true);
        }
        sync_user_version(runner, &tx, table, &history)?;
        tx.commit()
            .map_err(|e| Error::database("committing the migrations", e))?;
    }
}

/// Adds a migration just recorded in the table to the history read before.
fn record(history: &mut Vec<HistoryRow>, migration: &Migration, finished: bool) {
    let row = HistoryRow {
        version: migration.version(),
        description: migration.description().to_owned(),
        checksum: migration.checksum_hex(),
        applied_at: String::new(),
        finished,
        statements_done: (!finished).then_some(0),
    };
    let index = history.partition_point(|r| r.version < row.version);
    history.insert(index, row);
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
    script_failed(migration, migration.up(), statement, error)
}

fn script_failed(
    migration: &Migration,
    script: &Script,
    statement: Option<usize>,
    error: rusqlite::Error,
) -> Error {
    Error::Migration {
        version: migration.version(),
        file: script.file().to_owned(),
        statement,
        source: error.into(),
    }
}

fn create_table(table: &TableName) -> String {
    migrate_format::history::create_table(migrate_format::history::Dialect::Sqlite, table)
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

/// The `application_id` of a database whose `user_version` migrate keeps:
/// "migr" in ASCII.
const APPLICATION_ID: i32 = 0x6d69_6772;

/// The `user_version` that says the history table `table` holds exactly the
/// migrations whose set checksum is `set`, all finished.
///
/// Reading `PRAGMA user_version` costs a fraction of what reading any table
/// does: the first statement that touches a table makes SQLite parse the
/// whole schema, milliseconds for a large one. This is what lets a start-up
/// with nothing pending skip the history table. The table's name is mixed
/// in so that two history tables in one database never share a value.
fn fingerprint(set: &Checksum, table: &TableName) -> i32 {
    // FNV-1a, which is enough to tell table names apart.
    let table_hash = table.plain().bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let value = i32::from_le_bytes([set[0], set[1], set[2], set[3]])
        ^ i32::from_le_bytes(table_hash.to_le_bytes());
    // Zero is SQLite's default, which must never mean "up to date".
    if value == 0 { 1 } else { value }
}

/// The fingerprint of what the history holds, or `None` while a migration is
/// unfinished (or a checksum is unreadable), when no start-up may skip it.
fn history_fingerprint(history: &[HistoryRow], table: &TableName) -> Option<i32> {
    Some(fingerprint(&Ledger::of(history).fingerprint()?, table))
}

fn read_user_version(conn: &Connection) -> Result<i32> {
    conn.prepare_cached("PRAGMA user_version")
        .and_then(|mut select| select.query_row([], |row| row.get(0)))
        .map_err(|e| Error::database("reading PRAGMA user_version", e))
}

/// Writes the fingerprint of `history`, the history as the transaction `tx`
/// leaves it, to `user_version`, when migrate may: the database's
/// `application_id` is migrate's, or both pragmas are still 0 (then migrate
/// claims them). A database whose application uses them is left alone, and
/// its start-ups read the history table instead.
fn sync_user_version(
    runner: &Runner<'_>,
    tx: &Connection,
    table: &TableName,
    history: &[HistoryRow],
) -> Result<()> {
    if !runner.track_user_version {
        return Ok(());
    }
    let pragma = |name: &str| -> Result<i32> {
        tx.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .map_err(|e| Error::database(format!("reading PRAGMA {name}"), e))
    };
    let (application_id, user_version) = (pragma("application_id")?, pragma("user_version")?);
    let owned = application_id == APPLICATION_ID || (application_id == 0 && user_version == 0);
    if !owned {
        return Ok(());
    }
    let value = history_fingerprint(history, table).unwrap_or(0);
    let mut set = String::new();
    if application_id != APPLICATION_ID {
        set.push_str(&format!("PRAGMA application_id = {APPLICATION_ID};"));
    }
    if user_version != value {
        set.push_str(&format!("PRAGMA user_version = {value};"));
    }
    if set.is_empty() {
        return Ok(());
    }
    tx.execute_batch(&set)
        .map_err(|e| Error::database("writing PRAGMA user_version", e))
}

/// Reads the history, or nothing when the table does not exist yet.
fn read_history(conn: &Connection, table: &TableName) -> Result<Vec<HistoryRow>> {
    let sql = format!(
        "SELECT version, description, checksum, applied_at, finished, statements_done FROM {table} ORDER BY version"
    );
    let rows = conn.prepare_cached(&sql).and_then(|mut select| {
        select
            .query_map([], |row| {
                Ok(HistoryRow {
                    version: row.get(0)?,
                    description: row.get(1)?,
                    checksum: row.get(2)?,
                    applied_at: row.get(3)?,
                    finished: row.get(4)?,
                    statements_done: row.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()
    });
    match rows {
        Ok(rows) => Ok(rows),
        // A cached statement reports a table dropped since at its first step,
        // a fresh one when it is prepared: either way there is no history yet.
        Err(error) if is_missing_table(&error) => Ok(Vec::new()),
        Err(error) => Err(Error::database(
            format!("reading the history table {}", table.plain()),
            error,
        )),
    }
}

fn is_missing_table(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(_, Some(message)) if message.starts_with("no such table"))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
