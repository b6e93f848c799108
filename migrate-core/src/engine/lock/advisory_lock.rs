//! The advisory locks of the session and transaction strategies, polled in a
//! transaction of their own, and CockroachDB told apart on the first attempt.

use crate::dialect::postgres::lock::{self as advisory, Level};
use crate::dialect::{self, Columns};
use crate::driver::{Purpose, Row};
use crate::error::{LockHolder, LockProblem};
use crate::{LockStrategy, Result};

use super::super::cx::{Cx, database};
use super::wait::{Holder, Wait};
use super::{Lock, Snapshot, flag, last_row, text};

impl Cx<'_, '_> {
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

    /// Polls `pg_try_advisory_lock` (or, at the transaction level,
    /// `pg_try_advisory_xact_lock`) with growing pauses until it succeeds or
    /// the lock timeout passes, each attempt in a transaction that is left
    /// open when it succeeds. The first attempt also resolves the history
    /// table's schema, which the rest of the operation uses, and tells
    /// CockroachDB apart.
    pub(super) async fn take_advisory_lock(&mut self, level: Level, missing: bool) -> Result<Lock> {
        const ACTION: &str = "taking the migration lock";
        let first = self
            .attempt(advisory::first_attempt(self.given, level))
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
    pub(super) async fn retake_transaction_lock(&mut self, key: i64) -> Result<Snapshot> {
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
}

/// CockroachDB's `version()` starts with its name, as in `CockroachDB CCL
/// v23.2.0 (x86_64-pc-linux-gnu, ...)`.
fn is_cockroach(version: &str) -> bool {
    version.starts_with("CockroachDB")
}

pub(super) fn advisory_holder(row: &Row) -> Option<LockHolder> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cockroachdb_is_told_apart_by_its_version() {
        assert!(is_cockroach(
            "CockroachDB CCL v23.2.0 (x86_64-pc-linux-gnu, built 2024/01/16)"
        ));
        assert!(!is_cockroach("PostgreSQL 15.6 (Debian 15.6-0+deb12u1)"));
    }
}
