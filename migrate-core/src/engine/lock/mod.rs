//! Taking and releasing the migration lock, and reading the history under it.
//!
//! SQLite's lock is its write transaction (`BEGIN IMMEDIATE`), which ends at
//! every `COMMIT`. On PostgreSQL the [`LockStrategy`] decides: the session
//! strategy's advisory lock and the table strategy's lease are held across
//! transactions until released; the transaction strategy's advisory lock,
//! like SQLite's, ends at every `COMMIT`, so the engine takes it again, and
//! reads the history again under it, before it decides anything more. The
//! engine cares about that difference only through [`Lock::scope`].
//!
//! `write_lock.rs` takes SQLite's lock; `advisory_lock.rs` the advisory locks
//! of the session and transaction strategies (and tells CockroachDB apart);
//! `lease_lock.rs` the table strategy's lease; `wait.rs` paces the attempts
//! and names the holder at the lock timeout; `sessions.rs` keeps the session
//! lock pinned to one server session behind a pooler.

mod advisory_lock;
mod lease_lock;
mod sessions;
mod wait;
mod write_lock;

use crate::dialect::postgres::lock::{self as advisory, Level};
use crate::dialect::postgres::state;
use crate::dialect::{self, Columns, Stored};
use crate::driver::{Dialect, FailureKind, Purpose, Row};
use crate::error::{LockProblem, Misconfigured};
use crate::history::HistoryRow;
use crate::{Error, LockStrategy, Result};

use super::cx::{Cx, database};

pub(crate) use lease_lock::Lease;
pub(crate) use sessions::Sessions;

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
        statements.extend(self.sql.create(self.given, create));
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
