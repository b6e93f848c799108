//! The PostgreSQL backend, on tokio-postgres.
//!
//! Exactly-once across replicas rests on a session-level advisory lock keyed
//! by the database and the history table: the history is read again once the
//! lock is held, so a migration that another replica applied first is seen
//! before anything is done. The lock is polled with `pg_try_advisory_lock`
//! rather than awaited with `pg_advisory_lock`, because a blocked
//! `pg_advisory_lock` can deadlock with `CREATE INDEX CONCURRENTLY`, which
//! waits for every open transaction, the waiting one included.
//!
//! Every statement is sent with the simple query protocol: a migration, its
//! history row and the `COMMIT` travel in one message, so applying a migration
//! costs one round trip.

use std::fmt::Write as _;
use std::pin::pin;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use migrate_format::lexer::{self, Flavor};
use migrate_format::transaction::refused_in_transaction;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use crate::error::LockHolder;
use crate::history::{HistoryRow, Ledger, TableName, parse_table};
use crate::plan::plan;
use crate::report::{Applied, Report, Status};
use crate::{Error, Migration, Migrations, Result, Runner, TransactionMode};
use state::{Companion, Snapshot};

mod lifecycle;
mod state;

/// The first pause between two attempts to take the lock.
const FIRST_RETRY: Duration = Duration::from_millis(10);
/// The longest pause between two attempts, so a freed lock is noticed quickly.
const LONGEST_RETRY: Duration = Duration::from_millis(250);
/// The column alias that tells the runner's own rows apart from rows that a
/// migration's statements return in the same batch.
const APPLIED_COLUMN: &str = "migrate_applied_version";
/// The transaction-local setting that remembers when the current migration
/// started, so the server measures each migration of a batch on its own.
const STARTED_SETTING: &str = "migrate.started_at";

impl Migrations {
    /// Applies the pending migrations to a PostgreSQL database, with the
    /// default settings of [`Runner`]. See [`Runner::run_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn run_async(&self, client: &mut Client) -> Result<Report> {
        self.runner().run_async(client).await
    }

    /// Reports the state of every migration in a PostgreSQL database, changing
    /// nothing. See [`Runner::status_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn status_async(&self, client: &Client) -> Result<Status> {
        self.runner().status_async(client).await
    }
}

impl Runner<'_> {
    /// Applies the pending migrations to a PostgreSQL database.
    ///
    /// ```no_run
    /// use migrate_core::tokio_postgres::{self, NoTls};
    ///
    /// static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    ///
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, connection) =
    ///     tokio_postgres::connect("postgresql://app@localhost/app", NoTls).await?;
    /// tokio::spawn(connection);
    /// let report = MIGRATIONS.runner().run_async(&mut client).await?;
    /// println!("{report}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// - When everything is applied, this is one round trip that reads one
    ///   row, whatever the length of the history, and takes no lock: see
    ///   [The fingerprint](#the-fingerprint). When that row does not vouch
    ///   for the binary's migrations, the history is read in a second round
    ///   trip and checked in full, still without the lock if nothing is
    ///   pending.
    /// - Otherwise it takes a session-level advisory lock keyed by the
    ///   database and the history table, polling for up to
    ///   [`lock_timeout`](Runner::lock_timeout) ([`Error::LockTimeout`] names
    ///   the session holding it), reads the history again, applies what is
    ///   still pending, and releases the lock, on success and on failure.
    /// - Before anything is applied, drifted, missing and out-of-order
    ///   migrations are refused as on SQLite, and so is a migration that runs
    ///   in a transaction but contains a statement PostgreSQL refuses there,
    ///   such as `CREATE INDEX CONCURRENTLY` ([`Error::RefusedInTransaction`]).
    /// - Each migration is sent with its history row and the `COMMIT` in one
    ///   message: one round trip per migration, or one for all of them with
    ///   [`TransactionMode::Single`]. The history's `execution_ms` is what
    ///   the server measured for each migration's SQL, from
    ///   `clock_timestamp()` before it to its history insert; for a
    ///   `no-transaction` migration it is the runner's wall time over its
    ///   statements, round trips included. [`Applied::duration`] has the same
    ///   measures in microseconds.
    /// - `no-transaction` migrations run one statement at a time outside a
    ///   transaction. Their row is inserted unfinished first and counts the
    ///   statements done, so a failure part-way is reported by the next run as
    ///   [`Error::Incomplete`] and never re-run silently.
    ///
    /// # When a `no-transaction` migration fails
    ///
    /// PostgreSQL cannot undo the statements of a `no-transaction` migration
    /// that completed before the one that failed (an index built
    /// concurrently stays built; a failed `CREATE INDEX CONCURRENTLY` leaves
    /// an `INVALID` index behind). So its history row is written before the
    /// first statement, unfinished, and counts the statements done. A run
    /// that finds such a row stops with [`Error::Incomplete`], which says how
    /// many statements completed, and applies nothing until a person has
    /// finished or undone the rest by hand (dropping an invalid index, say)
    /// and said which with [`resolve_async`](Runner::resolve_async) (or
    /// `migrate resolve`): completed, or rolled back, in which case the next
    /// run runs the migration again from its first statement. [`status_async`](Runner::status_async) shows it as
    /// [`State::Incomplete`](crate::State::Incomplete).
    ///
    /// # The history table
    ///
    /// [`history_table`](Runner::history_table) may name a schema
    /// (`"app.schema_history"`); the schema is created if it does not exist.
    /// An unqualified name is found through the connection's `search_path`,
    /// as any table is; when it does not exist yet, it is created in the
    /// first existing schema of the `search_path` (`current_schema()`,
    /// normally `public`). The lock is keyed by the database, the resolved
    /// schema and the table, so runners that spell the same table
    /// differently still exclude each other, and runners of different
    /// history tables in one database do not wait for each other.
    ///
    /// # The fingerprint
    ///
    /// Next to the history table, in its schema, migrate keeps a one-row
    /// table `<table>_state`, which holds the history's fingerprint: the
    /// set checksum of the versions and checksums it holds, computed as
    /// [`Migrations::checksum`] is, and the oid of the history table it was
    /// written for. Every transaction in which migrate changes the history
    /// writes it last, and a statement-level trigger on the history table,
    /// `<table>_state_reset`, sets it to NULL after any `INSERT`, `UPDATE`,
    /// `DELETE`, `TRUNCATE` or `COPY` made outside migrate. A start-up whose
    /// binary has the same fingerprint, for the same table, has nothing to
    /// apply and reads nothing else. So editing the history by hand is safe,
    /// but disabling that trigger (`ALTER TABLE … DISABLE TRIGGER`,
    /// `session_replication_role = replica`) while doing so is not. Both
    /// are created under the lock by the first run, or by the first run that
    /// finds a history table without them; a history table name's table part
    /// may therefore have at most 51 bytes.
    ///
    /// # Pooled connections
    ///
    /// Pools hand out objects that dereference to a [`Client`]. Pass
    /// `&mut *object` from deadpool-postgres, or `&mut *connection` from
    /// bb8-postgres's `PooledConnection`. The lock is released before this
    /// returns, whatever happened, so the connection can go back to the pool.
    /// If the connection broke, its session ended and PostgreSQL released the
    /// lock with it. Do not drop the future before it completes (under a
    /// `tokio::time::timeout`, say): the session may then still hold the lock
    /// or an open transaction, so discard that connection instead of returning
    /// it to the pool.
    ///
    /// Session advisory locks need the migrations to run on one server
    /// session from start to end. Behind PgBouncer in transaction or statement
    /// pooling mode that is not so: connect directly to PostgreSQL, or through
    /// a session-pooling PgBouncer, to migrate.
    ///
    /// Runs on a tokio runtime with the time driver enabled.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn run_async(&self, client: &mut Client) -> Result<Report> {
        let started = Instant::now();
        let table = parse_table(&self.table)?;
        let companion = Companion::of(&table)?;
        let stored = state::read_stored(client, &table, &companion).await?;
        let set = self.migrations.checksum();
        if stored
            .as_ref()
            .is_some_and(|stored| stored.holds(Some(set)))
        {
            return Ok(Report::new(Vec::new(), started.elapsed()));
        }
        let history = state::read_history(client, &table, state::Columns::ForPlan).await?;
        let current = match (&stored, &history) {
            (Some(stored), Some(history)) => {
                stored.holds(Ledger::of(history).fingerprint().as_ref())
            }
            _ => false,
        };
        if self.nothing_to_do(&table, history.as_deref().unwrap_or_default(), current)? {
            return Ok(Report::new(Vec::new(), started.elapsed()));
        }
        // A new database, or a history table without its companion: the
        // missing tables are created under the lock.
        let missing = stored.is_none() || history.is_none();
        let lock = acquire_lock(client, &table, self.lock_timeout).await?;
        let result = apply_locked(self, client, &table, &lock.table, missing).await;
        let released = release_lock(client, &lock, result.is_err()).await;
        let applied = result?;
        released?;
        Ok(Report::new(applied, started.elapsed()))
    }

    /// The checks made before taking the lock, on the history read without it:
    /// errors that need no lock to be certain, and whether the run is
    /// already complete (nothing pending, fingerprint `current`). A stale
    /// fingerprint, after an edit by hand say, is brought up to date under
    /// the lock.
    fn nothing_to_do(
        &self,
        table: &TableName,
        history: &[HistoryRow],
        current: bool,
    ) -> Result<bool> {
        match plan(self, table, history) {
            Ok(pending) if pending.is_empty() => Ok(current),
            Ok(pending) => check_transactions(&pending).map(|()| false),
            // Another runner may be running that migration: decide under the lock.
            Err(Error::Incomplete { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Reports the state of every migration in a PostgreSQL database:
    /// applied, pending, drifted, missing or incomplete. It is one query,
    /// writes nothing, takes no lock and does not create the history table.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn status_async(&self, client: &Client) -> Result<Status> {
        let table = parse_table(&self.table)?;
        let history = read_history(client, &table).await?.unwrap_or_default();
        Ok(Status::new(self.migrations.as_slice(), &history))
    }
}

/// Refuses, before anything runs, a transactional migration that contains a
/// statement PostgreSQL would refuse inside its transaction.
fn check_transactions(pending: &[&Migration]) -> Result<()> {
    for migration in pending.iter().filter(|m| !m.no_transaction()) {
        let sql = migration.up().sql();
        for range in lexer::lex(sql, Flavor::Postgres).statements {
            if let Some(command) = refused_in_transaction(&sql[range.clone()]) {
                return Err(Error::RefusedInTransaction {
                    version: migration.version(),
                    file: migration.file().to_owned(),
                    line: lexer::line_col(sql, range.start).0,
                    command,
                });
            }
        }
    }
    Ok(())
}

/// The advisory lock this session holds, and the history table it guards.
struct Lock {
    key: i64,
    /// The history table, qualified by the schema it resolved to.
    table: TableName,
}

/// The SQL expression of the history table's schema.
///
/// A qualified name gives it. An unqualified name is resolved as PostgreSQL
/// resolves it in a query: the schema where `search_path` finds the table,
/// or, when it does not exist yet, the first existing schema of the
/// `search_path`, where `CREATE TABLE` will put it.
fn schema_expression(table: &TableName) -> String {
    match table.schema() {
        Some(schema) => quote_literal(schema),
        None => format!(
            "coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                       WHERE c.oid = to_regclass({})), current_schema())",
            quote_literal(&format!("\"{}\"", table.table()))
        ),
    }
}

/// The SQL expression of the lock key: a 64-bit hash of the database and the
/// schema-qualified history table, `<database>.<schema>.<table>`.
///
/// `hashtextextended` (PostgreSQL 11 and later) is the hash behind hash
/// partitioning, which must stay stable across versions and upgrades since
/// partitions are stored by it, so every runner computes the same key.
fn lock_key_expression(schema: &str, table: &TableName) -> String {
    format!(
        "hashtextextended(current_database() || '.' || {schema} || '.' || {}, 0)",
        quote_literal(table.table())
    )
}

/// Takes the migration lock, polling with growing pauses until the timeout.
async fn acquire_lock(client: &Client, table: &TableName, timeout: Duration) -> Result<Lock> {
    let deadline = Instant::now() + timeout;
    // The schema is resolved once, and the key computed from it, in the same
    // round trip as the first attempt.
    let first = format!(
        "SELECT k.key, pg_try_advisory_lock(k.key), k.schema FROM \
         (SELECT {}, s.schema FROM (SELECT {} AS schema) s) k(key, schema)",
        lock_key_expression("s.schema", table),
        schema_expression(table),
    );
    let row = one_row(client, &first, "taking the migration lock").await?;
    // Without a schema the key is NULL and no lock was taken.
    let Some(schema) = row.get(2).map(str::to_owned) else {
        return Err(no_schema(table));
    };
    let key: i64 = parse_column(&row, 0, "taking the migration lock")?;
    let mut locked = row.get(1) == Some("t");
    let mut pause = FIRST_RETRY;
    while !locked {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::LockTimeout {
                table: table.plain().to_owned(),
                waited: timeout,
                holder: lock_holder(client, key).await?,
            });
        }
        tokio::time::sleep(with_jitter(pause).min(deadline - now)).await;
        pause = (pause * 2).min(LONGEST_RETRY);
        let row = one_row(
            client,
            &format!("SELECT pg_try_advisory_lock({key})"),
            "taking the migration lock",
        )
        .await?;
        locked = row.get(0) == Some("t");
    }
    Ok(Lock {
        key,
        table: table.in_schema(&schema),
    })
}

fn no_schema(table: &TableName) -> Error {
    Error::database(
        format!(
            "resolving the schema of the history table {}",
            table.plain()
        ),
        "no schema of the search_path exists; qualify the history table, or set search_path",
    )
}

/// Adds up to half of `pause` again, so that runners that started together
/// do not retry in lockstep.
fn with_jitter(pause: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let half = u32::try_from(pause.as_micros() / 2)
        .unwrap_or(u32::MAX)
        .max(1);
    pause + Duration::from_micros(u64::from(nanos % half))
}

/// The session that holds the lock `key` in this database, as far as
/// `pg_locks` and `pg_stat_activity` tell this role.
async fn lock_holder(client: &Client, key: i64) -> Result<Option<Box<LockHolder>>> {
    // A bigint advisory key is stored as two 32-bit halves, in `classid`
    // (high) and `objid` (low), with `objsubid` 1.
    let sql = format!(
        "SELECT l.pid, a.application_name, host(a.client_addr), a.state, \
                to_char(a.query_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
         FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::bigint = (({key}::bigint >> 32) & 4294967295) \
           AND l.objid::bigint = ({key}::bigint & 4294967295) \
           AND l.pid IS NOT NULL \
         LIMIT 1"
    );
    let action = "finding who holds the migration lock";
    let rows = rows(client, &sql, action).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let text = |index: usize| row.get(index).map(str::to_owned);
    Ok(Some(Box::new(LockHolder {
        pid: parse_column(row, 0, action)?,
        application_name: text(1),
        client_addr: text(2),
        state: text(3),
        query_start: text(4),
    })))
}

/// Releases the lock. After a failure, the transaction that failed is rolled
/// back first, in the same round trip, since an aborted transaction accepts
/// nothing else. A closed connection needs nothing: its session ended and
/// PostgreSQL released the lock with it.
async fn release_lock(client: &Client, lock: &Lock, failed: bool) -> Result<()> {
    if client.is_closed() {
        return Ok(());
    }
    let rollback = if failed { "ROLLBACK; " } else { "" };
    let sql = format!("{rollback}SELECT pg_advisory_unlock({})", lock.key);
    client
        .simple_query(&sql)
        .await
        .map(drop)
        .map_err(|e| Error::database("releasing the migration lock", e))
}

/// Reads the fingerprint and the history under the lock, creating the
/// history table (when `create` is set) and its companion when missing.
/// `None` when the history table does not exist and was not to be created.
///
/// `missing` says that a read made before the lock found a table missing,
/// which saves trying to read again before creating it.
async fn read_locked(
    client: &Client,
    given: &TableName,
    table: &TableName,
    create: bool,
    missing: bool,
) -> Result<Option<(Companion, Snapshot)>> {
    let companion = Companion::of(table)?;
    let snapshot = match missing {
        false => state::read(client, table, &companion).await?,
        true => None,
    };
    let snapshot = match snapshot {
        Some(snapshot) => Some(snapshot),
        None => state::create_and_read(client, given, table, &companion, create).await?,
    };
    Ok(snapshot.map(|snapshot| (companion, snapshot)))
}

/// Everything done under the lock: read the history again, check it, apply.
async fn apply_locked(
    runner: &Runner<'_>,
    client: &Client,
    given: &TableName,
    table: &TableName,
    missing: bool,
) -> Result<Vec<Applied>> {
    let Some((companion, snapshot)) = read_locked(client, given, table, true, missing).await?
    else {
        return Err(Error::database(
            format!("creating the history table {}", table.plain()),
            "the table is still missing after it was created",
        ));
    };
    let pending = plan(runner, table, &snapshot.history)?;
    check_transactions(&pending)?;
    let mut ledger = Ledger::of(&snapshot.history);
    if pending.is_empty() && !snapshot.is_current() {
        let sql = state::write_sql(table, &companion, &ledger);
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| Error::database("writing the history's fingerprint", e))?;
    }
    let mut applied = Vec::with_capacity(pending.len());
    let mut rest = pending.as_slice();
    while let Some(&first) = rest.first() {
        if first.no_transaction() {
            runner.notify_started(first);
            let done =
                run_outside_transaction(client, table, &companion, &mut ledger, first).await?;
            runner.notify_finished(&done);
            applied.push(done);
            rest = &rest[1..];
            continue;
        }
        let batch = match runner.transaction_mode {
            TransactionMode::Single => rest.iter().take_while(|m| !m.no_transaction()).count(),
            TransactionMode::PerMigration => 1,
        };
        for migration in &rest[..batch] {
            ledger.finished(migration.version(), migration.checksum());
        }
        let finish = state::write_sql(table, &companion, &ledger);
        // One message applies the batch, so its progress is told when it returns.
        for (migration, done) in rest
            .iter()
            .zip(apply_in_transaction(client, table, &rest[..batch], &finish).await?)
        {
            runner.notify_started(migration);
            runner.notify_finished(&done);
            applied.push(done);
        }
        rest = &rest[batch..];
    }
    Ok(applied)
}

/// Applies transactional migrations in one transaction, sent as one message:
/// `BEGIN`, then for each migration a timer, its SQL and its history row,
/// then `finish` (which records the history's fingerprint) and `COMMIT`. The rows come back as they are inserted, which tells which
/// migration failed if one does.
async fn apply_in_transaction(
    client: &Client,
    table: &TableName,
    migrations: &[&Migration],
    finish: &str,
) -> Result<Vec<Applied>> {
    let mut sql = String::from("BEGIN;\n");
    for migration in migrations {
        let _ = write!(
            sql,
            "SELECT set_config('{STARTED_SETTING}', extract(epoch FROM clock_timestamp())::text, true);\n\
             {}\n;\n{};\n",
            migration.up().sql(),
            insert_finished_row(table, migration),
        );
    }
    sql.push_str(finish);
    sql.push_str("COMMIT;");
    let mut applied = Vec::with_capacity(migrations.len());
    let stream = client
        .simple_query_raw(&sql)
        .await
        .map_err(|e| migration_failed(migrations[0], None, e))?;
    let mut stream = pin!(stream);
    while let Some(message) = stream.next().await {
        let failed =
            |e| migration_failed(migrations[applied.len().min(migrations.len() - 1)], None, e);
        if let SimpleQueryMessage::Row(row) = message.map_err(failed)?
            && let Some(duration) = applied_duration(&row)
        {
            applied.push(Applied::new(migrations[applied.len()], duration));
        }
    }
    Ok(applied)
}

/// The `INSERT` of a finished migration's row. It returns the version and
/// the microseconds since the migration's timer started, under a column name
/// that no migration's own rows use.
fn insert_finished_row(table: &TableName, migration: &Migration) -> String {
    let elapsed_us = format!(
        "((extract(epoch FROM clock_timestamp()) - current_setting('{STARTED_SETTING}')::numeric) * 1000000)::bigint"
    );
    format!(
        "INSERT INTO {table} (version, description, checksum, applied_at, execution_ms, finished, statements_done) \
         VALUES ({}, {}, {}, clock_timestamp(), {elapsed_us} / 1000, true, NULL) \
         RETURNING version AS {APPLIED_COLUMN}, {elapsed_us} AS elapsed_us",
        migration.version(),
        quote_literal(migration.description()),
        quote_literal(&migration.checksum_hex()),
    )
}

/// The duration reported by one of the runner's own `RETURNING` rows, or
/// `None` for a row that a migration's statement returned.
fn applied_duration(row: &SimpleQueryRow) -> Option<Duration> {
    if row.columns().first().map(|c| c.name()) != Some(APPLIED_COLUMN) {
        return None;
    }
    let micros: u64 = row.get(1)?.parse().unwrap_or(0);
    Some(Duration::from_micros(micros))
}

/// Runs a `no-transaction` migration statement by statement, recording after
/// each one how far it got.
///
/// The row is inserted unfinished first. If a statement fails, or the
/// connection dies, the row stays unfinished with the count of statements
/// that completed, and every later run stops with [`Error::Incomplete`] until
/// someone finishes or undoes the rest by hand and deletes the row. Each
/// statement and its progress update are two round trips: sending them in one
/// message would wrap them in an implicit transaction, which the statements
/// that need this mode refuse.
async fn run_outside_transaction(
    client: &Client,
    table: &TableName,
    companion: &Companion,
    ledger: &mut Ledger,
    migration: &Migration,
) -> Result<Applied> {
    let record = |action: &str, e| {
        Error::database(format!("{action} of migration {}", migration.version()), e)
    };
    ledger.unfinished(migration.version());
    let start = insert_unfinished_row(table, migration)
        + ";\n"
        + &state::write_sql(table, companion, ledger);
    client
        .batch_execute(&start)
        .await
        .map_err(|e| record("recording the start", e))?;
    let sql = migration.up().sql();
    let statements = lexer::lex(sql, Flavor::Postgres).statements;
    let started = Instant::now();
    for (index, range) in statements.iter().enumerate() {
        client
            .batch_execute(&sql[range.clone()])
            .await
            .map_err(|e| migration_failed(migration, Some(index + 1), e))?;
        if index + 1 < statements.len() {
            let update = format!(
                "UPDATE {table} SET statements_done = {} WHERE version = {}",
                index + 1,
                migration.version()
            );
            client
                .batch_execute(&update)
                .await
                .map_err(|e| record("recording the progress", e))?;
        }
    }
    let duration = started.elapsed();
    ledger.finished(migration.version(), migration.checksum());
    let finish = format!(
        "UPDATE {table} SET finished = true, statements_done = NULL, applied_at = clock_timestamp(), execution_ms = {} WHERE version = {};\n{}",
        millis(duration),
        migration.version(),
        state::write_sql(table, companion, ledger),
    );
    client
        .batch_execute(&finish)
        .await
        .map_err(|e| record("recording the end", e))?;
    Ok(Applied::new(migration, duration))
}

fn insert_unfinished_row(table: &TableName, migration: &Migration) -> String {
    format!(
        "INSERT INTO {table} (version, description, checksum, applied_at, execution_ms, finished, statements_done) \
         VALUES ({}, {}, {}, clock_timestamp(), 0, false, 0)",
        migration.version(),
        quote_literal(migration.description()),
        quote_literal(&migration.checksum_hex()),
    )
}

/// Reads the whole history, `applied_at` included, in one round trip, or
/// `None` when the table (or its schema) does not exist yet.
async fn read_history(client: &Client, table: &TableName) -> Result<Option<Vec<HistoryRow>>> {
    state::read_history(client, table, state::Columns::All).await
}

fn is_missing_table(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNDEFINED_TABLE)
        || error.code() == Some(&SqlState::INVALID_SCHEMA_NAME)
}

/// Runs a query and returns its rows.
async fn rows(client: &Client, sql: &str, action: &str) -> Result<Vec<SimpleQueryRow>> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| Error::database(action, e))?;
    Ok(messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .collect())
}

/// Runs a query that returns exactly one row.
async fn one_row(client: &Client, sql: &str, action: &str) -> Result<SimpleQueryRow> {
    rows(client, sql, action)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::database(action, "the query returned no row"))
}

/// Parses a column of a text row, which the simple query protocol returns.
fn parse_column<T: std::str::FromStr>(
    row: &SimpleQueryRow,
    index: usize,
    action: &str,
) -> Result<T> {
    let value = row.get(index).unwrap_or_default();
    value.parse().map_err(|_| {
        Error::database(
            action,
            format!("unexpected value `{value}` in column {}", index + 1),
        )
    })
}

/// A SQL string literal, as `quote_literal` in PostgreSQL makes it: quotes
/// doubled, and backslashes doubled in an `E''` literal so that the text is
/// the same whatever `standard_conforming_strings` says.
fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

fn migration_failed(
    migration: &Migration,
    statement: Option<usize>,
    error: tokio_postgres::Error,
) -> Error {
    Error::Migration {
        version: migration.version(),
        file: migration.file().to_owned(),
        statement,
        source: error.into(),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_whatever_they_contain() {
        assert_eq!(quote_literal("add_users"), "'add_users'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\'b"), r"E'a\\''b'");
    }

    #[test]
    fn the_lock_key_covers_the_database_and_the_resolved_table() {
        let qualified = TableName::parse("app.history").unwrap();
        assert_eq!(schema_expression(&qualified), "'app'");
        assert_eq!(
            lock_key_expression("'app'", &qualified),
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
}
