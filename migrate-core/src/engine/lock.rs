//! Taking and releasing the migration lock, and reading the history under it.
//!
//! SQLite's lock is its write transaction (`BEGIN IMMEDIATE`), which ends at
//! every `COMMIT`. On PostgreSQL the [`LockStrategy`] decides: the session
//! strategy's advisory lock and the table strategy's lease are held across
//! transactions until released; the transaction strategy's advisory lock,
//! like SQLite's, ends at every `COMMIT`, so the engine takes it again, and
//! reads the history again under it, before it decides anything more. The
//! engine cares about that difference only through [`Lock::scope`].

use std::time::Duration;

use migrate_format::history::TableName;

use crate::dialect::postgres::lock::{self as advisory, Level};
use crate::dialect::postgres::{lease, state};
use crate::dialect::{self, Columns, Stored, sqlite};
use crate::driver::{Dialect, FailureKind, Purpose, Row};
use crate::error::{LockHolder, LockProblem, Misconfigured};
use crate::history::HistoryRow;
use crate::{Error, LockStrategy, Migration, Result, Script};

use super::cx::{Cx, database};
use super::with_jitter;

/// The first pause between two attempts to take the lock.
const FIRST_RETRY: Duration = Duration::from_millis(10);
/// The longest pause between two attempts, so a freed lock is noticed quickly.
const LONGEST_RETRY: Duration = Duration::from_millis(250);
/// How often the table strategy tries again to create the lease table after
/// another runner created it at the same moment.
const CREATION_RETRIES: usize = 3;

/// The savepoint that lets a read under a lock of the session or transaction
/// strategy fail (on a missing table) without aborting the transaction the
/// lock lives in.
const READ: &str = "migrate_read";

/// A lock this runner holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lock {
    /// SQLite's write transaction.
    Write,
    /// The session strategy's advisory lock with this key, taken on the
    /// server session with this backend pid.
    Advisory { key: i64, pid: i32 },
    /// The transaction strategy's advisory lock with this key.
    Transaction { key: i64 },
    /// The table strategy's lease, whose details the context keeps for the
    /// writes it guards.
    Lease,
}

/// The table strategy's lease, as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The lease table, qualified by its schema.
    pub(crate) table: TableName,
    /// The fencing token this runner got when it took the lease.
    pub(crate) token: i64,
}

/// How long a lock lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Until the transaction that took it commits.
    Transaction,
    /// Until it is released.
    Session,
}

impl Lock {
    pub(crate) fn scope(&self) -> Scope {
        match self {
            Lock::Write | Lock::Transaction { .. } => Scope::Transaction,
            Lock::Advisory { .. } | Lock::Lease => Scope::Session,
        }
    }

    /// Whether a `no-transaction` migration that another process left
    /// unfinished may still be running, and is worth waiting for: under
    /// SQLite's lock, which such a migration runs without. On PostgreSQL
    /// every strategy either holds its lock while one runs or refuses to run
    /// one, so an unfinished row there is reported at once.
    pub(crate) fn awaits_unfinished(&self) -> bool {
        *self == Lock::Write
    }
}

/// The server sessions a run has seen, by backend pid: a pooler in
/// transaction mode shows itself by moving a run between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sessions {
    first: Option<i32>,
    /// The first session, and the first other one seen after it.
    pub(crate) moved: Option<(i32, i32)>,
}

impl Sessions {
    pub(crate) fn saw(&mut self, pid: i32) {
        match self.first {
            None => self.first = Some(pid),
            Some(first) if first != pid && self.moved.is_none() => self.moved = Some((first, pid)),
            Some(_) => {}
        }
    }
}

/// Whom a runner waits for.
#[derive(Debug, Clone)]
enum Holder {
    /// The session holding the advisory lock with this key: asked of
    /// `pg_locks` when needed.
    Advisory(i64),
    /// The lease's owner, as the last attempt read it.
    Lease(Option<LockHolder>),
}

/// How long a runner has waited for the lock, and how long it pauses next.
#[derive(Debug)]
struct Wait {
    waited: Duration,
    pause: Duration,
    announced: bool,
}

impl Wait {
    fn new() -> Wait {
        Wait {
            waited: Duration::ZERO,
            pause: FIRST_RETRY,
            announced: false,
        }
    }
}

/// What a read under the lock found.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) history: Vec<HistoryRow>,
    pub(crate) stored: Stored,
    /// SQLite: the database's clock when the lock was taken, which times the
    /// first migration of a batch.
    pub(crate) now: String,
}

impl Cx<'_, '_> {
    /// Takes the lock and reads the history under it, creating the history
    /// table first when `create` is set and it is missing. `missing` says a
    /// read before the lock found the history or its companion missing,
    /// which saves reading before creating them.
    pub(crate) async fn lock(&mut self, create: bool, missing: bool) -> Result<(Lock, Snapshot)> {
        let lock = match (self.dialect(), self.strategy) {
            (Dialect::Sqlite, _) => return Ok((Lock::Write, self.take_write_lock().await?)),
            (Dialect::Postgres, LockStrategy::Table) => self.take_lease(missing).await?,
            (Dialect::Postgres, LockStrategy::Transaction) => {
                self.take_advisory_lock(Level::Transaction, missing).await?
            }
            (Dialect::Postgres, _) => self.take_advisory_lock(Level::Session, missing).await?,
        };
        match self.read_under_lock(create, missing).await {
            Ok(snapshot) => Ok((lock, snapshot)),
            Err(error) => self.release(&lock, Err(error)).await,
        }
    }

    /// Takes a lock of the transaction scope again, after a commit ended it,
    /// and reads the history again under it.
    pub(crate) async fn relock(&mut self, lock: &Lock) -> Result<Snapshot> {
        match lock {
            Lock::Write => self.take_write_lock().await,
            Lock::Transaction { key } => self.retake_transaction_lock(*key).await,
            Lock::Advisory { .. } | Lock::Lease => self.read_under_lock(false, false).await,
        }
    }

    /// Releases the lock after `result`, which it returns unless releasing
    /// failed after a success. A run that failed because its lease was taken
    /// over says so.
    pub(crate) async fn release<T>(&mut self, lock: &Lock, result: Result<T>) -> Result<T> {
        let token = self.lease.as_ref().map(|lease| lease.token);
        let released = self.unlock(lock, result.is_err()).await;
        match (result, released, token) {
            (Err(error), Ok(Released::Lost), Some(token)) => Err(Error::LeaseLost {
                table: self.sql.table().plain().to_owned(),
                token,
                source: Box::new(error),
            }),
            (result, released, _) => {
                let value = result?;
                released?;
                Ok(value)
            }
        }
    }

    async fn unlock(&mut self, lock: &Lock, failed: bool) -> Result<Released> {
        let statements = match lock {
            Lock::Write | Lock::Transaction { .. } if !self.open => return Ok(Released::Held),
            Lock::Write | Lock::Transaction { .. } if failed => vec!["ROLLBACK".to_owned()],
            Lock::Write | Lock::Transaction { .. } => vec![super::cx::COMMIT.to_owned()],
            Lock::Advisory { key, .. } => advisory::release(*key, failed, self.open),
            Lock::Lease => self.lease_release(failed),
        };
        self.pinned = false;
        if statements.is_empty() {
            return Ok(Released::Held);
        }
        let result = self.query(Purpose::Unlock, statements).await;
        self.open = false;
        let lease = self.lease.take();
        match result {
            Ok(results) => self.released(lock, lease.as_ref(), &results, failed),
            // A closed session took its lock, and its transaction, with it.
            Err(failure) if failure.kind == FailureKind::ConnectionClosed => Ok(Released::Held),
            // SQLite may have rolled back by itself after the error.
            Err(_) if failed && *lock == Lock::Write => Ok(Released::Held),
            Err(failure) => Err(database("releasing the migration lock", failure)),
        }
    }

    fn lease_release(&self, failed: bool) -> Vec<String> {
        let mut statements = Vec::with_capacity(2);
        if self.open {
            statements.push(
                if failed {
                    "ROLLBACK"
                } else {
                    super::cx::COMMIT
                }
                .to_owned(),
            );
        }
        if let Some(held) = &self.lease {
            statements.push(lease::release(&held.table, &self.owner, held.token));
        }
        statements
    }

    /// What a release found: whether the lock was still this runner's.
    fn released(
        &mut self,
        lock: &Lock,
        lease: Option<&Lease>,
        results: &[Vec<Row>],
        failed: bool,
    ) -> Result<Released> {
        let last = results.last().and_then(|rows| rows.first());
        match lock {
            Lock::Advisory { pid, .. } if !is_true(last, 0) => {
                let now = dialect::integer(last, 1, "releasing the migration lock")?;
                self.trace.lock_left_behind(*pid, now);
                match failed {
                    // The run's own error says more; the event names the holder.
                    true => Ok(Released::Held),
                    false => Err(self.lock_problem(LockProblem::LeftBehind { holder: *pid, now })),
                }
            }
            Lock::Lease if lease.is_some() && last.is_none() => {
                self.trace.lease_lost(lease.map_or(0, |lease| lease.token));
                Ok(Released::Lost)
            }
            _ => Ok(Released::Held),
        }
    }

    /// Ends the transaction of an attempt that did not take the lock, so
    /// that no server connection stays pinned while the runner waits.
    async fn give_up_attempt(&mut self) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        let result = self
            .query(Purpose::Lock, vec![advisory::GIVE_UP.to_owned()])
            .await;
        self.open = false;
        match result {
            Ok(_) => Ok(()),
            Err(failure) => Err(database("taking the migration lock", failure)),
        }
    }

    /// `result`, after giving up the attempt's transaction if it failed.
    async fn or_give_up<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.give_up_attempt().await?;
        }
        result
    }

    /// Runs an attempt that begins a transaction, and leaves it open on
    /// success; a failure after its `BEGIN` rolls it back before reporting.
    async fn attempt(&mut self, statements: Vec<String>) -> Result<Vec<Vec<Row>>> {
        match self.query(Purpose::Lock, statements).await {
            Ok(results) => {
                self.open = true;
                Ok(results)
            }
            Err(failure) => {
                self.open = failure.completed > 0;
                let error = database("taking the migration lock", failure);
                self.give_up_attempt().await?;
                Err(error)
            }
        }
    }

    /// `BEGIN IMMEDIATE`, which waits for other writers up to the busy
    /// timeout, then the history and the fingerprint's pragmas.
    async fn take_write_lock(&mut self) -> Result<Snapshot> {
        let statements =
            sqlite::lock_and_read(self.sql.table(), self.sql.read_history(Columns::ForPlan));
        match self.query(Purpose::Lock, statements).await {
            Ok(results) => {
                self.open = true;
                self.trace.lock_taken("write", Duration::ZERO, None);
                self.write_lock_snapshot(&results)
            }
            Err(failure) if failure.completed == 0 => {
                Err(database("taking the write lock", failure))
            }
            Err(failure) => {
                self.open = true;
                let error = database(self.reading_history(), failure);
                self.release(&Lock::Write, Err(error)).await
            }
        }
    }

    fn write_lock_snapshot(&self, results: &[Vec<Row>]) -> Result<Snapshot> {
        let action = self.reading_history();
        let pragmas = results.get(2).and_then(|rows| rows.first());
        Ok(Snapshot {
            history: dialect::parse_history(results.get(3).map_or(&[], Vec::as_slice), &action)?,
            stored: Stored::Pragmas {
                // Without an application_id, no fingerprint is ever written.
                application_id: match self.keeps_fingerprint() {
                    true => Some(dialect::integer(pragmas, 1, &action)?),
                    false => None,
                },
                user_version: dialect::integer(pragmas, 2, &action)?,
            },
            now: pragmas
                .and_then(|row| row.first().cloned().flatten())
                .unwrap_or_default(),
        })
    }

    /// Polls `pg_try_advisory_lock` (or, at the transaction level,
    /// `pg_try_advisory_xact_lock`) with growing pauses until it succeeds or
    /// the lock timeout passes, each attempt in a transaction that is left
    /// open when it succeeds. The first attempt also resolves the history
    /// table's schema, which the rest of the operation uses, and tells
    /// CockroachDB apart.
    async fn take_advisory_lock(&mut self, level: Level, missing: bool) -> Result<Lock> {
        const ACTION: &str = "taking the migration lock";
        let first = self
            .attempt(advisory::first_attempt(&self.given, level))
            .await?;
        let row = last_row(&first);
        // Without a schema the key is NULL and no lock was taken.
        let Some(schema) = text(row, 2) else {
            self.give_up_attempt().await?;
            return Err(self.no_schema());
        };
        let parsed = dialect::integer::<i64>(row, 0, ACTION).and_then(|key| {
            let pid = dialect::integer::<i32>(row, 3, ACTION)?;
            Ok((
                key,
                pid,
                self.sql.with_table(self.given.in_schema(&schema))?,
            ))
        });
        let (key, mut pid, sql) = self.or_give_up(parsed).await?;
        self.sql = sql;
        self.sessions.saw(pid);
        let version = text(row, 4).unwrap_or_default();
        if is_cockroach(&version) {
            self.give_up_attempt().await?;
            return self.on_cockroach(version, missing).await;
        }
        let mut taken = flag(row, 1);
        let mut wait = Wait::new();
        loop {
            match taken {
                Some(true) => break,
                None => {
                    self.give_up_attempt().await?;
                    return Err(self.lock_problem(LockProblem::SharedSession { pid }));
                }
                Some(false) => {
                    self.give_up_attempt().await?;
                    self.back_off(&mut wait, Holder::Advisory(key)).await?;
                    let attempt = self.attempt(advisory::attempt(key, level)).await?;
                    let row = last_row(&attempt);
                    taken = flag(row, 0);
                    pid = self.or_give_up(dialect::integer(row, 1, ACTION)).await?;
                    self.sessions.saw(pid);
                }
            }
        }
        self.trace
            .lock_taken(&self.strategy.to_string(), wait.waited, None);
        Ok(match level {
            Level::Session => {
                self.pinned = true;
                Lock::Advisory { key, pid }
            }
            Level::Transaction => Lock::Transaction { key },
        })
    }

    /// The transaction strategy's lock again, after a commit released it,
    /// with the history read under it in the same round trip.
    async fn retake_transaction_lock(&mut self, key: i64) -> Result<Snapshot> {
        let mut wait = Wait::new();
        loop {
            let mut statements = advisory::attempt(key, Level::Transaction);
            statements.push(self.sql.read_fingerprint());
            statements.push(self.sql.read_history(Columns::ForPlan));
            let results = self.attempt(statements).await?;
            let row = results.get(1).and_then(|rows| rows.first());
            self.sessions
                .saw(dialect::integer(row, 1, "taking the migration lock")?);
            if flag(row, 0) == Some(true) {
                return self.snapshot_of(&results);
            }
            self.give_up_attempt().await?;
            self.back_off(&mut wait, Holder::Advisory(key)).await?;
        }
    }

    /// The default strategy on CockroachDB becomes the table strategy; one
    /// asked for is refused, since its advisory locks would lock nothing.
    async fn on_cockroach(&mut self, version: String, missing: bool) -> Result<Lock> {
        if self.strategy_asked {
            return Err(self.lock_problem(LockProblem::CockroachDb {
                strategy: self.strategy,
                version,
            }));
        }
        self.trace.cockroach(&version);
        self.strategy = LockStrategy::Table;
        self.take_lease(missing).await
    }

    /// Polls the lease with growing pauses until this runner takes it or the
    /// lock timeout passes. The lease table is created first when a read
    /// found the history missing, or when it turns out missing.
    async fn take_lease(&mut self, missing: bool) -> Result<Lock> {
        const ACTION: &str = "taking the migration lease";
        let table = lease::table_of(&self.given)?;
        let (mut create, mut creation_failures) = (missing, 0);
        let mut wait = Wait::new();
        loop {
            let mut statements = if create {
                lease::create(&table)
            } else {
                Vec::new()
            };
            let creates = statements.len();
            statements.push(lease::take(
                &table,
                &self.given,
                &self.owner,
                self.runner.lease_ttl,
            ));
            let results = match self.query(Purpose::Lock, statements).await {
                Ok(results) => results,
                Err(failure) if failure.kind == FailureKind::MissingTable && !create => {
                    create = true;
                    continue;
                }
                // Another runner created the table at the same moment, and
                // this one failed on its catalog rows: it exists now.
                Err(failure)
                    if failure.completed < creates
                        && failure.kind == FailureKind::Other
                        && creation_failures < CREATION_RETRIES =>
                {
                    creation_failures += 1;
                    self.back_off(&mut wait, Holder::Lease(None)).await?;
                    continue;
                }
                Err(failure) => return Err(database(ACTION, failure)),
            };
            let row = last_row(&results);
            // The table has no row: it was emptied by hand.
            if text(row, 1).is_none() && !create {
                create = true;
                continue;
            }
            create = false;
            match text(row, 0) {
                Some(_) => {
                    let token = dialect::integer(row, 0, ACTION)?;
                    // The lease table was found, so its schema exists, and
                    // so does the history's.
                    let lease_schema = text(row, 6).unwrap_or_default();
                    self.lease = Some(Lease {
                        table: table.in_schema(&lease_schema),
                        token,
                    });
                    let Some(schema) = text(row, 7) else {
                        let error = self.no_schema();
                        return self.release(&Lock::Lease, Err(error)).await;
                    };
                    self.sql = self.sql.with_table(self.given.in_schema(&schema))?;
                    self.trace.lock_taken("table", wait.waited, Some(token));
                    return Ok(Lock::Lease);
                }
                None => {
                    let holder = lease_holder(row);
                    self.back_off(&mut wait, Holder::Lease(holder)).await?;
                }
            }
        }
    }

    /// Sleeps before the next attempt, growing the pause, or fails with a
    /// lock timeout naming `holder` once the runner has waited long enough.
    async fn back_off(&mut self, wait: &mut Wait, holder: Holder) -> Result<()> {
        if wait.waited >= self.runner.lock_timeout {
            return Err(self.lock_timeout(holder, wait.waited).await);
        }
        if !wait.announced {
            wait.announced = true;
            if self.trace.wants_holder() {
                let holder = self.find_holder(&holder).await.ok().flatten();
                self.trace.waiting(self.strategy, holder.as_ref());
            }
        }
        let nap = with_jitter(wait.pause, self.seed).min(self.runner.lock_timeout - wait.waited);
        self.sleep(nap).await;
        wait.waited += nap;
        wait.pause = (wait.pause * 2).min(LONGEST_RETRY);
        Ok(())
    }

    /// Reads the fingerprint and the history under the lock, creating the
    /// history table (when `create`) and its companion when missing. Inside
    /// the transaction of an advisory lock, a savepoint keeps a read that
    /// fails on a missing table from aborting it; under the session lock,
    /// what is created is committed at once, in the same message, so that a
    /// migration that fails later leaves the history table in place, as it
    /// does under the other strategies.
    async fn read_under_lock(&mut self, create: bool, missing: bool) -> Result<Snapshot> {
        let savepoint = self.open;
        let companion_and_history = || {
            vec![
                self.sql.read_fingerprint(),
                self.sql.read_history(Columns::ForPlan),
            ]
        };
        if !missing {
            let mut statements = companion_and_history();
            if savepoint {
                statements.insert(0, format!("SAVEPOINT {READ}"));
            }
            match self.query(Purpose::Lock, statements).await {
                Ok(results) => return self.snapshot_of(&results),
                Err(failure) if failure.kind == FailureKind::MissingTable => {}
                Err(failure) => return Err(database(self.reading_history(), failure)),
            }
        }
        let mut statements = Vec::new();
        if savepoint && !missing {
            statements.push(format!("ROLLBACK TO SAVEPOINT {READ}"));
        }
        statements.extend(self.sql.create(&self.given, create));
        statements.extend(companion_and_history());
        let reads = statements.len();
        if self.pinned {
            statements.extend([super::cx::COMMIT.to_owned(), self.sql.begin().to_owned()]);
        }
        match self.query(Purpose::Lock, statements).await {
            Ok(results) => self.snapshot_of(&results[..reads.min(results.len())]),
            // The history table does not exist, and was not to be created.
            // The failed read aborted the open transaction: going back to
            // the savepoint keeps it usable for what follows (an adoption
            // reads another tool's table in it).
            Err(failure) if failure.kind == FailureKind::MissingTable && !create => {
                if savepoint && !missing {
                    let back = vec![format!("ROLLBACK TO SAVEPOINT {READ}")];
                    self.query(Purpose::Lock, back)
                        .await
                        .map_err(|failure| database(self.reading_history(), failure))?;
                }
                Ok(Snapshot {
                    history: Vec::new(),
                    stored: Stored::Missing,
                    now: String::new(),
                })
            }
            Err(failure) => Err(database(
                format!("creating the history table {}", self.sql.table().plain()),
                failure,
            )),
        }
    }

    /// The snapshot from the last two results: the companion, the history.
    fn snapshot_of(&self, results: &[Vec<Row>]) -> Result<Snapshot> {
        let [.., companion, history] = results else {
            return Err(Error::unexpected(
                self.reading_history(),
                "the server returned fewer results than statements",
            ));
        };
        Ok(Snapshot {
            history: dialect::parse_history(history, &self.reading_history())?,
            stored: state::stored(companion),
            now: String::new(),
        })
    }

    async fn lock_timeout(&mut self, holder: Holder, waited: Duration) -> Error {
        let holder = match self.find_holder(&holder).await {
            Ok(holder) => holder.map(Box::new),
            Err(error) => return error,
        };
        Error::LockTimeout {
            table: self.given.plain().to_owned(),
            waited,
            holder,
        }
    }

    async fn find_holder(&self, holder: &Holder) -> Result<Option<LockHolder>> {
        match holder {
            Holder::Lease(holder) => Ok(holder.clone()),
            Holder::Advisory(key) => self
                .query(Purpose::LockHolder, vec![advisory::holder(*key)])
                .await
                .map(|results| last_row(&results).and_then(advisory_holder))
                .map_err(|failure| database("finding who holds the migration lock", failure)),
        }
    }

    /// Before statements that must run outside any transaction: under the
    /// session lock, refuses when the run has seen two server sessions,
    /// since a pooler could then move it while no transaction pins it, and
    /// otherwise stops ending messages inside a transaction until
    /// [`Cx::return_to_transactions`].
    pub(crate) fn leave_transactions(&mut self) -> Result<()> {
        if !self.pinned {
            return Ok(());
        }
        if let Some((before, after)) = self.sessions.moved {
            self.trace.pooling(before, after);
            return Err(self.lock_problem(LockProblem::TransactionPooling { before, after }));
        }
        self.pinned = false;
        Ok(())
    }

    /// After statements run outside any transaction: under the session
    /// lock, ends messages inside a transaction again.
    pub(crate) fn return_to_transactions(&mut self, lock: &Lock) {
        self.pinned = matches!(lock, Lock::Advisory { .. });
    }

    /// Refuses, before anything runs, a script that runs outside any
    /// transaction under the transaction strategy, whose lock lives only
    /// inside transactions.
    pub(crate) fn check_outside_transaction(
        &self,
        migration: &Migration,
        script: &Script,
    ) -> Result<()> {
        if self.dialect() == Dialect::Postgres && self.strategy == LockStrategy::Transaction {
            return Err(self.lock_problem(LockProblem::NoTransaction {
                version: migration.version(),
                file: script.file().to_owned(),
            }));
        }
        Ok(())
    }

    /// Under the session strategy, what the read of the history before the
    /// lock also asks: the server session's backend pid.
    pub(crate) fn session_probe(&self) -> Option<String> {
        (self.dialect() == Dialect::Postgres && self.strategy == LockStrategy::Session)
            .then(|| advisory::SESSION_PROBE.to_owned())
    }

    fn lock_problem(&self, problem: LockProblem) -> Error {
        Error::Lock {
            table: self.sql.table().plain().to_owned(),
            problem,
        }
    }

    fn no_schema(&self) -> Error {
        let problem =
            "no schema of the search_path exists; qualify the history table, or set search_path";
        Error::database(
            format!(
                "resolving the schema of the history table {}",
                self.given.plain()
            ),
            Box::new(Misconfigured {
                problem: problem.to_owned(),
            }),
        )
    }
}

/// Whether a release found the lock still this runner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Released {
    Held,
    /// The lease had been taken over.
    Lost,
}

fn last_row(results: &[Vec<Row>]) -> Option<&Row> {
    results.last().and_then(|rows| rows.first())
}

fn text(row: Option<&Row>, index: usize) -> Option<String> {
    row.and_then(|row| row.get(index).cloned().flatten())
}

fn is_true(row: Option<&Row>, index: usize) -> bool {
    flag(row, index) == Some(true)
}

/// A boolean column: `None` for `NULL`.
fn flag(row: Option<&Row>, index: usize) -> Option<bool> {
    text(row, index).map(|value| value == "t")
}

/// CockroachDB's `version()` starts with its name, as in `CockroachDB CCL
/// v23.2.0 (x86_64-pc-linux-gnu, ...)`.
fn is_cockroach(version: &str) -> bool {
    version.starts_with("CockroachDB")
}

fn advisory_holder(row: &Row) -> Option<LockHolder> {
    let text = |index: usize| row.get(index).cloned().flatten();
    Some(LockHolder {
        pid: text(0)?.parse().ok()?,
        application_name: text(1),
        client_addr: text(2),
        state: text(3),
        query_start: text(4),
        owner: None,
        expires_at: None,
    })
}

/// The lease's holder from the row of an attempt that did not take it.
fn lease_holder(row: Option<&Row>) -> Option<LockHolder> {
    Some(LockHolder {
        pid: text(row, 2).and_then(|pid| pid.parse().ok()).unwrap_or(0),
        application_name: text(row, 3),
        client_addr: text(row, 4),
        state: None,
        query_start: None,
        owner: Some(text(row, 1)?),
        expires_at: text(row, 5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_moved_between_server_sessions_is_noticed_once() {
        let mut sessions = Sessions::default();
        sessions.saw(10);
        sessions.saw(10);
        assert_eq!(sessions.moved, None);
        sessions.saw(11);
        sessions.saw(12);
        assert_eq!(sessions.moved, Some((10, 11)));
    }

    #[test]
    fn cockroachdb_is_told_apart_by_its_version() {
        assert!(is_cockroach(
            "CockroachDB CCL v23.2.0 (x86_64-pc-linux-gnu, built 2024/01/16)"
        ));
        assert!(!is_cockroach("PostgreSQL 15.6 (Debian 15.6-0+deb12u1)"));
    }
}
