//! Taking and releasing the migration lock, and reading the history under it.
//!
//! SQLite's lock is its write transaction (`BEGIN IMMEDIATE`), which ends at
//! every `COMMIT`; PostgreSQL's is a session-level advisory lock, held
//! across transactions until it is released. The engine cares about that
//! difference only through [`Lock::scope`].

use std::time::Duration;

use crate::dialect::postgres::{lock as advisory, state};
use crate::dialect::{self, Columns, Stored, sqlite};
use crate::driver::{Dialect, FailureKind, Purpose, Row};
use crate::error::{LockHolder, Misconfigured};
use crate::history::HistoryRow;
use crate::{Error, Result};

use super::cx::{Cx, database};
use super::with_jitter;

/// The first pause between two attempts to take the lock.
const FIRST_RETRY: Duration = Duration::from_millis(10);
/// The longest pause between two attempts, so a freed lock is noticed quickly.
const LONGEST_RETRY: Duration = Duration::from_millis(250);

/// A lock this runner holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lock {
    /// SQLite's write transaction.
    Write,
    /// PostgreSQL's session-level advisory lock with this key.
    Advisory { key: i64 },
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
            Lock::Write => Scope::Transaction,
            Lock::Advisory { .. } => Scope::Session,
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
        match self.dialect() {
            Dialect::Sqlite => Ok((Lock::Write, self.take_write_lock().await?)),
            Dialect::Postgres => {
                let lock = self.take_advisory_lock().await?;
                match self.read_under_advisory_lock(create, missing).await {
                    Ok(snapshot) => Ok((lock, snapshot)),
                    Err(error) => self.release(&lock, Err(error)).await,
                }
            }
        }
    }

    /// Takes a lock of the transaction scope again, after a commit ended it,
    /// and reads the history again under it.
    pub(crate) async fn relock(&mut self, lock: &Lock) -> Result<Snapshot> {
        match lock {
            Lock::Write => self.take_write_lock().await,
            Lock::Advisory { .. } => self.read_under_advisory_lock(false, false).await,
        }
    }

    /// Releases the lock after `result`, which it returns unless releasing
    /// failed after a success.
    pub(crate) async fn release<T>(&mut self, lock: &Lock, result: Result<T>) -> Result<T> {
        let released = self.unlock(lock, result.is_err()).await;
        let value = result?;
        released?;
        Ok(value)
    }

    async fn unlock(&mut self, lock: &Lock, failed: bool) -> Result<()> {
        let statements = match lock {
            Lock::Write if !self.open => return Ok(()),
            Lock::Write if failed => vec!["ROLLBACK".to_owned()],
            Lock::Write => vec![super::cx::COMMIT.to_owned()],
            Lock::Advisory { key } => advisory::release(*key, failed),
        };
        let result = self.query(Purpose::Unlock, statements).await;
        self.open = false;
        match result {
            Ok(_) => Ok(()),
            // A closed session took its lock with it.
            Err(failure) if failure.kind == FailureKind::ConnectionClosed => Ok(()),
            // SQLite may have rolled back by itself after the error.
            Err(_) if failed && *lock == Lock::Write => Ok(()),
            Err(failure) => Err(database("releasing the migration lock", failure)),
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

    /// Polls `pg_try_advisory_lock` with growing pauses until it succeeds or
    /// the lock timeout passes. The first attempt also resolves the history
    /// table's schema, which the rest of the operation uses.
    async fn take_advisory_lock(&mut self) -> Result<Lock> {
        const ACTION: &str = "taking the migration lock";
        let first = self
            .query(Purpose::Lock, vec![advisory::first_attempt(&self.given)])
            .await
            .map_err(|failure| database(ACTION, failure))?;
        let row = first_row(&first);
        // Without a schema the key is NULL and no lock was taken.
        let Some(schema) = row.and_then(|row| row.get(2).cloned().flatten()) else {
            return Err(self.no_schema());
        };
        let key: i64 = dialect::integer(row, 0, ACTION)?;
        self.sql = self.sql.with_table(self.given.in_schema(&schema))?;
        let mut locked = is_true(row, 1);
        let (mut waited, mut pause) = (Duration::ZERO, FIRST_RETRY);
        while !locked {
            if waited >= self.runner.lock_timeout {
                return Err(self.lock_timeout(key, waited).await);
            }
            let nap = with_jitter(pause, self.seed).min(self.runner.lock_timeout - waited);
            self.sleep(nap).await;
            (waited, pause) = (waited + nap, (pause * 2).min(LONGEST_RETRY));
            let attempt = self
                .query(Purpose::Lock, vec![advisory::attempt(key)])
                .await
                .map_err(|failure| database(ACTION, failure))?;
            locked = is_true(first_row(&attempt), 0);
        }
        Ok(Lock::Advisory { key })
    }

    /// Reads the fingerprint and the history under the lock, creating the
    /// history table (when `create`) and its companion when missing.
    async fn read_under_advisory_lock(&mut self, create: bool, missing: bool) -> Result<Snapshot> {
        let companion_and_history = || {
            vec![
                self.sql.read_fingerprint(),
                self.sql.read_history(Columns::ForPlan),
            ]
        };
        if !missing {
            match self.query(Purpose::Lock, companion_and_history()).await {
                Ok(results) => return self.advisory_snapshot(&results),
                Err(failure) if failure.kind == FailureKind::MissingTable => {}
                Err(failure) => return Err(database(self.reading_history(), failure)),
            }
        }
        let mut statements = self.sql.create(&self.given, create);
        statements.extend(companion_and_history());
        match self.query(Purpose::Lock, statements).await {
            Ok(results) => self.advisory_snapshot(&results),
            // The history table does not exist, and was not to be created.
            Err(failure) if failure.kind == FailureKind::MissingTable && !create => Ok(Snapshot {
                history: Vec::new(),
                stored: Stored::Missing,
                now: String::new(),
            }),
            Err(failure) => Err(database(
                format!("creating the history table {}", self.sql.table().plain()),
                failure,
            )),
        }
    }

    /// The snapshot from the last two results: the companion, the history.
    fn advisory_snapshot(&self, results: &[Vec<Row>]) -> Result<Snapshot> {
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

    async fn lock_timeout(&self, key: i64, waited: Duration) -> Error {
        let holder = match self
            .query(Purpose::LockHolder, vec![advisory::holder(key)])
            .await
        {
            Ok(results) => first_row(&results).and_then(lock_holder).map(Box::new),
            Err(failure) => return database("finding who holds the migration lock", failure),
        };
        Error::LockTimeout {
            table: self.given.plain().to_owned(),
            waited,
            holder,
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

fn first_row(results: &[Vec<Row>]) -> Option<&Row> {
    results.first().and_then(|rows| rows.first())
}

fn is_true(row: Option<&Row>, index: usize) -> bool {
    row.and_then(|row| row.get(index))
        .is_some_and(|value| value.as_deref() == Some("t"))
}

fn lock_holder(row: &Row) -> Option<LockHolder> {
    let text = |index: usize| row.get(index).cloned().flatten();
    Some(LockHolder {
        pid: text(0)?.parse().ok()?,
        application_name: text(1),
        client_addr: text(2),
        state: text(3),
        query_start: text(4),
    })
}
