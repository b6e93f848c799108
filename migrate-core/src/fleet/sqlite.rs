//! A fleet of SQLite databases, on a scoped pool of threads.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::{Fleet, FleetReport, Outcome, Skip, Task, classify};
use crate::driver::{Dialect, Driver, Executed, Failure, Piece, Purpose, Row, Running};
use crate::error::Misconfigured;
use crate::sqlite::driver::{SqliteDriver, is_busy};
use crate::{DriverError, Error};

impl Fleet<'_> {
    /// Applies the pending migrations to every SQLite database of `targets`,
    /// each opened with `open`, at most [`parallel`](Fleet::parallel) at a
    /// time on threads of a scoped pool. Returns when every member is done.
    ///
    /// `open` is [`open_existing`] for paths, or your own function, to
    /// register functions or set pragmas on each connection.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn apply_sqlite<T, E>(
        &self,
        targets: impl IntoIterator<Item = T>,
        open: impl Fn(&T) -> Result<Connection, E> + Sync,
    ) -> FleetReport<T>
    where
        T: Sync,
        E: Into<DriverError>,
    {
        self.sqlite(Task::Apply, targets.into_iter().collect(), &open)
    }

    /// Reads the state of every migration in every SQLite database of
    /// `targets`, changing nothing. See [`Standing`](super::Standing) for
    /// which members are behind, ahead or diverged.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status_sqlite<T, E>(
        &self,
        targets: impl IntoIterator<Item = T>,
        open: impl Fn(&T) -> Result<Connection, E> + Sync,
    ) -> FleetReport<T>
    where
        T: Sync,
        E: Into<DriverError>,
    {
        self.sqlite(Task::Status, targets.into_iter().collect(), &open)
    }

    fn sqlite<T, E>(
        &self,
        task: Task,
        targets: Vec<T>,
        open: &(impl Fn(&T) -> Result<Connection, E> + Sync),
    ) -> FleetReport<T>
    where
        T: Sync,
        E: Into<DriverError>,
    {
        let board = self.board(targets.len());
        let results: Mutex<Vec<Option<(Outcome, Duration)>>> =
            Mutex::new((0..targets.len()).map(|_| None).collect());
        let next = AtomicUsize::new(0);
        let worker = || {
            while let Some(index) = claim(&next, targets.len()) {
                let started = Instant::now();
                let outcome = match board.refusal() {
                    Some(skip) => Outcome::Skipped(skip),
                    None => self.sqlite_member(task, &targets[index], open),
                };
                let elapsed = started.elapsed();
                board.finish(index, &outcome, elapsed);
                lock(&results)[index] = Some((outcome, elapsed));
            }
        };
        thread::scope(|scope| {
            for _ in 0..self.parallel.min(targets.len()) {
                scope.spawn(worker);
            }
        });
        let results = results
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .into_iter()
            // Every index below the length was claimed by a worker, which
            // filled it in before claiming another.
            .map(|result| result.expect("every member was run"))
            .collect();
        board.report(targets, results)
    }

    fn sqlite_member<T, E>(
        &self,
        task: Task,
        target: &T,
        open: &impl Fn(&T) -> Result<Connection, E>,
    ) -> Outcome
    where
        E: Into<DriverError>,
    {
        let deadline = self.member_timeout.map(|timeout| Instant::now() + timeout);
        let conn = match open(target) {
            Ok(conn) => conn,
            Err(error) => {
                return Outcome::Failed(Error::database("opening the database", error.into()));
            }
        };
        if let (Some(deadline), Some(timeout)) = (deadline, self.member_timeout)
            && Instant::now() >= deadline
        {
            return Outcome::Skipped(Skip::Connecting { timeout });
        }
        let runner = self.member_runner(deadline);
        let mut driver = Bounded {
            inner: SqliteDriver::new(&conn),
            deadline,
            busy_timeout: self.runner.busy_timeout,
            changing: false,
            gave_up: false,
        };
        let result = runner.perform(task.operation(), &mut driver);
        classify(task, result, driver.gave_up)
    }
}

/// The next member a worker takes, if any is left.
fn claim(next: &AtomicUsize, total: usize) -> Option<usize> {
    let index = next.fetch_add(1, Ordering::SeqCst);
    (index < total).then_some(index)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens an existing SQLite database for a fleet: read and write, never
/// created. A path that names no file fails, so that a mistyped or removed
/// tenant is reported instead of migrated into a new, empty database.
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub fn open_existing<P: AsRef<Path> + ?Sized>(path: &P) -> Result<Connection, DriverError> {
    let path = path.as_ref();
    if !path.is_file() {
        return Err(Box::new(Misconfigured {
            problem: format!(
                "{} is not a file; a fleet migrates existing databases only",
                path.display()
            ),
        }));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Ok(Connection::open_with_flags(path, flags)?)
}

/// The SQLite driver of a fleet member: until the member's first change,
/// waits for other connections' locks end at the member's deadline, and a
/// wait that times out is noted, so that the member is reported as skipped
/// rather than failed.
struct Bounded<'c> {
    inner: SqliteDriver<'c>,
    deadline: Option<Instant>,
    /// The runner's busy timeout, which applies from the first change on.
    busy_timeout: Duration,
    changing: bool,
    gave_up: bool,
}

impl Driver for Bounded<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, purpose: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        if !self.changing {
            let limit = wait_limit(self.busy_timeout, self.deadline, false, Instant::now());
            self.set_busy_timeout(limit)?;
        }
        let result = self.inner.query(purpose, statements);
        if let Err(failure) = &result {
            self.gave_up |= !self.changing && is_busy(failure);
        }
        result
    }

    fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        if !self.changing {
            self.changing = true;
            self.set_busy_timeout(self.busy_timeout)?;
        }
        self.inner.execute(purpose, pieces)
    }

    fn sleep(&mut self, pause: Duration) {
        self.inner.sleep(pause);
    }

    // A member shows the mark of a running `no-transaction` migration as a
    // lone runner does, so that another process finds out it is alive.
    fn running(&mut self, request: Running) -> Option<bool> {
        self.inner.running(request)
    }
}

impl Bounded<'_> {
    fn set_busy_timeout(&self, limit: Duration) -> Result<(), Failure> {
        self.inner
            .connection()
            .busy_timeout(limit)
            .map_err(|error| Failure::new(crate::driver::FailureKind::Other, error))
    }
}

/// How long a statement may wait for another connection's lock: the
/// runner's busy timeout, cut at the member's deadline until the member
/// changes something.
fn wait_limit(
    busy_timeout: Duration,
    deadline: Option<Instant>,
    changing: bool,
    now: Instant,
) -> Duration {
    match deadline {
        Some(deadline) if !changing => busy_timeout.min(deadline.saturating_duration_since(now)),
        _ => busy_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_end_at_the_deadline_until_the_first_change() {
        let now = Instant::now();
        let busy = Duration::from_secs(30);
        let soon = Some(now + Duration::from_secs(2));
        assert_eq!(wait_limit(busy, soon, false, now), Duration::from_secs(2));
        assert_eq!(wait_limit(busy, soon, true, now), busy);
        assert_eq!(wait_limit(busy, None, false, now), busy);
        let past = Some(now - Duration::from_secs(1));
        assert_eq!(wait_limit(busy, past, false, now), Duration::ZERO);
        let short = Duration::from_millis(5);
        assert_eq!(wait_limit(short, soon, false, now), short);
    }

    #[test]
    fn workers_claim_each_member_once() {
        let next = AtomicUsize::new(0);
        let claimed: Vec<usize> = std::iter::from_fn(|| claim(&next, 3)).collect();
        assert_eq!(claimed, [0, 1, 2]);
        assert_eq!(claim(&next, 3), None);
    }

    #[test]
    fn only_a_busy_database_counts_as_a_wait_that_gave_up() -> Result<(), DriverError> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("held.db");
        let holder = Connection::open(&path)?;
        holder.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")?;
        let waiter = open_existing(&path)?;
        waiter.busy_timeout(Duration::ZERO)?;
        let error = waiter
            .execute_batch("BEGIN IMMEDIATE")
            .expect_err("the holder has the write lock");
        assert!(is_busy(&Failure::new(
            crate::driver::FailureKind::Other,
            error
        )));
        let other = waiter
            .execute_batch("SELECT * FROM nowhere")
            .expect_err("no such table");
        assert!(!is_busy(&Failure::new(
            crate::driver::FailureKind::Other,
            other
        )));
        Ok(())
    }

    #[test]
    fn a_fleet_opens_existing_files_only() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let missing = dir.path().join("gone.db");
        let error = open_existing(&missing).expect_err("no such file");
        assert!(
            error
                .to_string()
                .ends_with("gone.db is not a file; a fleet migrates existing databases only"),
            "{error}"
        );
        assert!(!missing.exists(), "nothing was created");
    }
}
