//! The driver on a connection the caller lends: the runner's busy timeout
//! replaces the connection's own for the run, and the connection's own is
//! put back afterwards.

use std::time::{Duration, Instant};

use super::driver::{SqliteDriver, is_busy};
use crate::driver::{
    Dialect, Driver, Executed, Failure, FailureKind, Piece, Purpose, Row, Running,
};

pub(crate) struct CallersDriver<'c> {
    inner: SqliteDriver<'c>,
    /// The runner's busy timeout.
    busy_timeout: Duration,
    /// The connection's own busy timeout, once the runner's replaced it.
    callers: Option<Duration>,
}

impl<'c> CallersDriver<'c> {
    pub(crate) fn new(inner: SqliteDriver<'c>, busy_timeout: Duration) -> CallersDriver<'c> {
        CallersDriver {
            inner,
            busy_timeout,
            callers: None,
        }
    }

    /// Puts the connection's own busy timeout back, if the run changed it.
    pub(crate) fn restore(self) -> rusqlite::Result<()> {
        match self.callers {
            Some(callers) => self.inner.connection().busy_timeout(callers),
            None => Ok(()),
        }
    }

    /// Sets the connection's busy timeout to `limit`, first keeping its own
    /// to put back. Only `PRAGMA busy_timeout` tells what it is.
    fn wait_up_to(&mut self, limit: Duration) -> Result<(), Failure> {
        let conn = self.inner.connection();
        if self.callers.is_none() {
            let own: i64 = conn
                .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
                .map_err(other)?;
            self.callers = Some(Duration::from_millis(u64::try_from(own).unwrap_or(0)));
        }
        conn.busy_timeout(limit).map_err(other)
    }

    fn with_runners_timeout(&mut self) -> Result<(), Failure> {
        match self.callers {
            Some(_) => Ok(()),
            None => self.wait_up_to(self.busy_timeout),
        }
    }

    /// The first read of a start-up, which runs under the connection's own
    /// busy timeout: when the database is up to date, that read is the whole
    /// run, and reading, setting and restoring the timeout around it would
    /// triple its statements. Only when another connection's lock made it
    /// give up is it read again, under the runner's timeout less the time
    /// already waited, so that the wait is at most the longer of the two.
    fn first_read(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let started = Instant::now();
        match self.inner.query(Purpose::ReadFingerprint, statements) {
            Err(failure) if is_busy(&failure) => {
                self.wait_up_to(self.busy_timeout.saturating_sub(started.elapsed()))?;
                let rows = self.inner.query(Purpose::ReadFingerprint, statements);
                self.wait_up_to(self.busy_timeout)?;
                rows
            }
            result => result,
        }
    }
}

fn other(error: rusqlite::Error) -> Failure {
    Failure::new(FailureKind::Other, error)
}

impl Driver for CallersDriver<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, purpose: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        if purpose == Purpose::ReadFingerprint && self.callers.is_none() {
            return self.first_read(statements);
        }
        self.with_runners_timeout()?;
        self.inner.query(purpose, statements)
    }

    fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        self.with_runners_timeout()?;
        self.inner.execute(purpose, pieces)
    }

    fn sleep(&mut self, pause: Duration) {
        self.inner.sleep(pause);
    }

    fn running(&mut self, request: Running) -> Option<bool> {
        self.inner.running(request)
    }
}
