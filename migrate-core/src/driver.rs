//! How a database connection plugs into the engine.
//!
//! Every operation of a [`Runner`](crate::Runner) is decided once, by an
//! engine that does no I/O: it says what to do next as an [`Action`] (read
//! the history, take the lock, run this batch, sleep) and decides the next
//! step from what the driver reports. A driver performs the actions on one
//! connection. The SQLite driver (rusqlite) and the PostgreSQL driver
//! (tokio-postgres) are about a hundred lines each; a driver for another
//! client of the same engines implements [`Driver`] or [`AsyncDriver`] and
//! runs an operation with [`Runner::perform`](crate::Runner::perform) or
//! [`Runner::perform_async`](crate::Runner::perform_async).
//!
//! A driver never decides anything; it is told the [`Purpose`] of each
//! action only to log or trace it. Its whole contract:
//!
//! - [`query`](Driver::query) runs a list of statements, in order, stopping
//!   at the first that fails, and returns the rows of each one, every column
//!   as text. A driver that talks to a server sends them in one message.
//! - [`execute`](Driver::execute) runs a batch of [`Piece`]s, which may hold
//!   many statements each (a migration's SQL), in order, stopping at the
//!   first failure, and returns only the rows of the pieces marked
//!   [`Piece::marker`], with how long each marker took since the one before.
//!   It sends the whole batch in one message when it can: a batch holds its
//!   own `BEGIN` and `COMMIT`.
//! - [`sleep`](Driver::sleep) waits, so the engine can poll a lock.
//! - Failures are reported with their [`FailureKind`], so that the engine
//!   can tell a history table that does not exist yet from a real error.

use std::fmt;
use std::time::Duration;

pub use migrate_format::history::Dialect;

use crate::DriverError;

/// One row of a query's result, every column as text (`None` for `NULL`).
pub type Row = Vec<Option<String>>;

/// What the engine asks a driver to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Run `statements` in order and return the rows of each, in one result
    /// per statement. See [`Driver::query`].
    Query {
        /// Why, for logs and tests.
        purpose: Purpose,
        /// One SQL statement each, without a terminating `;`.
        statements: Vec<String>,
    },
    /// Run `pieces` in order and return the rows of the marker pieces. See
    /// [`Driver::execute`].
    Execute {
        /// Why, for logs and tests.
        purpose: Purpose,
        /// The batch.
        pieces: Vec<Piece>,
    },
    /// Wait this long, then report back.
    Sleep(Duration),
    /// SQLite: show, withdraw or look for the mark of a runner that is
    /// running a `no-transaction` migration. See [`Driver::running`].
    Running(Running),
}

/// What the engine asks of the mark that says a process is running a
/// `no-transaction` migration on SQLite.
///
/// SQLite's lock is a transaction, and a `no-transaction` migration runs
/// outside one, so another runner that finds its history row unfinished
/// cannot tell from the database whether a live process is running it or
/// one died part-way. The mark tells: a lock the operating system keeps on
/// a file beside the database (`<database>-migrating`) for as long as the
/// process that took it lives, so that a kill or a crash removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Running {
    /// Show the mark, before the migration's unfinished row is committed.
    Start,
    /// Withdraw it, after its finished row is committed or it failed.
    Stop,
    /// Whether another runner shows the mark.
    Probe,
}

/// Why the engine asks for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Read the history's stored fingerprint, to skip reading the history.
    ReadFingerprint,
    /// Read the history table.
    ReadHistory,
    /// Take the migration lock (or try to), and read the history under it.
    Lock,
    /// Release the migration lock, rolling back what failed.
    Unlock,
    /// Find who holds the lock, for the error of a lock timeout.
    LockHolder,
    /// Apply or revert migrations in one transaction, with their history rows.
    Batch,
    /// Run one statement of a `no-transaction` migration.
    Statement,
    /// Record in the history where a `no-transaction` migration stands, or
    /// change the history for a baseline, repair, resolve or adoption.
    Record,
    /// Read another tool's history table, to adopt it.
    Adopt,
    /// Check the database's integrity: `migrate verify`, and the foreign
    /// key check after a SQLite migration that turned foreign keys off.
    Verify,
    /// Read, save or restore the connection settings that a migration
    /// changes, which last until the end of that migration.
    Settings,
}

/// Part of a batch: SQL that may hold many statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The SQL, run as it is. It may end without a `;`, or in a comment.
    pub sql: String,
    /// Whether it is one statement whose rows the driver returns. Marker
    /// pieces are migrate's own statements that say a migration completed.
    pub marker: bool,
}

impl Piece {
    /// SQL whose rows nobody reads.
    pub fn plain(sql: impl Into<String>) -> Piece {
        Piece {
            sql: sql.into(),
            marker: false,
        }
    }

    /// One statement whose rows the driver returns.
    pub fn marker(sql: impl Into<String>) -> Piece {
        Piece {
            sql: sql.into(),
            marker: true,
        }
    }
}

/// The rows of a marker piece, and how long the batch took to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Its rows, usually one.
    pub rows: Vec<Row>,
    /// The time since the previous marker, or since the batch started, by
    /// the driver's clock. A driver that cannot tell (it sends the batch in
    /// one message and hears back at the end) gives `None`, and the marker
    /// rows carry the database's own measure.
    pub elapsed: Option<Duration>,
}

/// What a batch did: its markers, and how long it took by the driver's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Executed {
    /// The marker pieces' rows, in order.
    pub markers: Vec<Marker>,
    /// The time the whole batch took, round trips included.
    pub elapsed: Duration,
}

/// What went wrong with an action.
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure {
    /// What kind of failure, for the engine's decisions.
    pub kind: FailureKind,
    /// The database's error.
    pub error: DriverError,
    /// For [`Driver::execute`], the markers reached before the failure,
    /// which tell the engine how far the batch got.
    pub markers: Vec<Marker>,
    /// For [`Driver::query`], how many statements completed before the one
    /// that failed.
    pub completed: usize,
}

impl Failure {
    /// A failure of the given kind, with nothing completed before it.
    pub fn new(kind: FailureKind, error: impl Into<DriverError>) -> Failure {
        Failure {
            kind,
            error: error.into(),
            markers: Vec::new(),
            completed: 0,
        }
    }

    /// The same failure, after `markers` were reached.
    pub fn after_markers(mut self, markers: Vec<Marker>) -> Failure {
        self.markers = markers;
        self
    }

    /// The same failure, after `completed` statements of a query succeeded.
    pub fn after_statements(mut self, completed: usize) -> Failure {
        self.completed = completed;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.error)
    }
}

/// Kinds of failure that the engine treats apart from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A table, or its schema, does not exist: the history table before the
    /// first run.
    MissingTable,
    /// The connection is closed: the session and its locks are gone.
    ConnectionClosed,
    /// Anything else.
    Other,
}

/// A connection the engine can run on, used synchronously.
pub trait Driver {
    /// The SQL dialect of the connection.
    fn dialect(&self) -> Dialect;

    /// Runs `statements` in order and returns the rows of each, one result
    /// per statement (empty for a statement that returns none). Stops at
    /// the first failure, whose [`Failure::completed`] says how many
    /// statements succeeded.
    fn query(&mut self, purpose: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure>;

    /// Runs `pieces` in order and returns the rows of the marker pieces,
    /// and how long it took. Stops at the first failure, whose [`Failure::markers`] holds the
    /// markers reached before it.
    fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure>;

    /// Waits before the engine tries again.
    fn sleep(&mut self, pause: Duration);

    /// Shows, withdraws or looks for the mark of a runner running a
    /// `no-transaction` migration (see [`Running`]). For
    /// [`Running::Probe`], `Some(true)` when another runner shows it,
    /// `Some(false)` when none does, `None` when the driver cannot tell;
    /// the other requests answer `None`. The engine asks only on SQLite, and
    /// waits for an unfinished migration, up to the busy timeout, unless the
    /// answer is `Some(false)`. The default keeps no mark and cannot tell.
    fn running(&mut self, request: Running) -> Option<bool> {
        let _ = request;
        None
    }
}

/// A connection the engine can run on, used asynchronously. The contract is
/// [`Driver`]'s.
#[allow(async_fn_in_trait)] // Implementors choose whether their futures are Send.
pub trait AsyncDriver {
    /// The SQL dialect of the connection.
    fn dialect(&self) -> Dialect;

    /// See [`Driver::query`].
    async fn query(
        &mut self,
        purpose: Purpose,
        statements: &[String],
    ) -> Result<Vec<Vec<Row>>, Failure>;

    /// See [`Driver::execute`].
    async fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure>;

    /// See [`Driver::sleep`].
    async fn sleep(&mut self, pause: Duration);

    /// See [`Driver::running`].
    async fn running(&mut self, request: Running) -> Option<bool> {
        let _ = request;
        None
    }
}
