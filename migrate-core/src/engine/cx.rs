//! What an operation works with: the runner's settings, the SQL of the
//! connection's engine, and the actions it may ask for.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use migrate_format::history::TableName;

use super::lock::{Lease, Sessions};
use super::trace::Trace;
use super::{Io, Outcome};
use crate::dialect::postgres::lease;
use crate::dialect::{self, Columns, Sql};
use crate::driver::{
    Action, Dialect, Executed, Failure, FailureKind, Piece, Purpose, Row, Running,
};
use crate::history::HistoryRow;
use crate::{Error, LockStrategy, Migration, Progress, Result, Runner};

/// The context of one operation.
pub(crate) struct Cx<'r, 'm> {
    pub(crate) runner: &'r Runner<'m>,
    /// The history table as the runner names it.
    pub(crate) given: &'r TableName,
    /// The engine's SQL, for the history table as the lock resolved it.
    pub(crate) sql: Sql,
    io: &'r Io,
    /// Whether a transaction is open that a batch continues rather than
    /// begins: on SQLite the lock is the write transaction.
    pub(crate) open: bool,
    /// Varies the pauses between attempts to take a lock from one runner to
    /// the next; read from the clock when first needed, which an up-to-date
    /// start-up never is.
    seed: OnceLock<u32>,
    /// PostgreSQL: the lock strategy, as asked for or, by default, chosen.
    pub(crate) strategy: LockStrategy,
    /// Whether the runner asked for `strategy`, rather than left the choice
    /// to the default, which may change it (on CockroachDB).
    pub(crate) strategy_asked: bool,
    /// The session strategy's lock is held, and every message must end
    /// inside a transaction, so that a pooler keeps the run on its server
    /// session.
    pub(crate) pinned: bool,
    /// The table strategy's lease, while this run holds it: every
    /// transaction that writes the history checks and renews it.
    pub(crate) lease: Option<Lease>,
    /// How this runner names itself as the owner of a lease, made when a
    /// lease first needs it: reading the host and the process id would
    /// otherwise cost every up-to-date start-up a system call.
    owner: OnceLock<String>,
    /// The server sessions the run has seen, by backend pid.
    pub(crate) sessions: Sessions,
    /// Spans and events, with the `tracing` feature.
    pub(crate) trace: Trace,
}

impl<'r, 'm> Cx<'r, 'm> {
    pub(crate) fn new(runner: &'r Runner<'m>, dialect: Dialect, io: &'r Io) -> Result<Self> {
        let given = runner.table()?;
        let sql = Sql::new(dialect, given.clone())?;
        Ok(Cx {
            trace: Trace::new(runner, dialect, given),
            runner,
            given,
            sql,
            io,
            open: false,
            seed: OnceLock::new(),
            strategy: runner.lock_strategy.unwrap_or(LockStrategy::Session),
            strategy_asked: runner.lock_strategy.is_some(),
            pinned: false,
            lease: None,
            owner: OnceLock::new(),
            sessions: Sessions::default(),
        })
    }

    /// How this runner names itself as the owner of a lease.
    pub(crate) fn owner(&self) -> &str {
        self.owner.get_or_init(|| owner_name(self.seed()))
    }

    /// What varies this runner's pauses from those of runners that started
    /// together: the clock's nanoseconds, which differ between them.
    pub(crate) fn seed(&self) -> u32 {
        *self.seed.get_or_init(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |since| since.subsec_nanos())
        })
    }

    pub(crate) fn migrations(&self) -> &'m [Migration] {
        self.runner.migrations.as_slice()
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.sql.dialect()
    }

    /// Whether this run reads and writes the history's fingerprint: always
    /// on PostgreSQL, on SQLite unless `track_user_version(false)`.
    pub(crate) fn keeps_fingerprint(&self) -> bool {
        self.dialect() == Dialect::Postgres || self.runner.track_user_version
    }

    /// Runs statements and returns each one's rows.
    pub(crate) async fn query(
        &self,
        purpose: Purpose,
        statements: Vec<String>,
    ) -> std::result::Result<Vec<Vec<Row>>, Failure> {
        match self
            .io
            .act(Action::Query {
                purpose,
                statements,
            })
            .await
        {
            Outcome::Rows(result) => result,
            other => unreachable!("a query answered with {other:?}"),
        }
    }

    /// Runs a batch. A batch that ends with `COMMIT` leaves no transaction
    /// open, unless it begins another one after it (see [`Cx::pinned`]); one
    /// that fails may have left one open, which the unlock rolls back.
    pub(crate) async fn execute(
        &mut self,
        purpose: Purpose,
        pieces: Vec<Piece>,
    ) -> std::result::Result<Executed, Failure> {
        let begin = self.sql.begin();
        let ends_open = pieces.last().is_some_and(|piece| piece.sql == begin);
        let commits = pieces.last().is_some_and(|piece| piece.sql == COMMIT);
        let opens = pieces.first().is_some_and(|piece| piece.sql == begin);
        let result = match self.io.act(Action::Execute { purpose, pieces }).await {
            Outcome::Executed(result) => result,
            other => unreachable!("a batch answered with {other:?}"),
        };
        self.open = match &result {
            Ok(_) => ends_open || ((self.open || opens) && !commits),
            Err(_) => self.open || opens,
        };
        result
    }

    pub(crate) async fn sleep(&self, pause: Duration) {
        match self.io.act(Action::Sleep(pause)).await {
            Outcome::Slept => {}
            other => unreachable!("a sleep answered with {other:?}"),
        }
    }

    /// Shows, withdraws or looks for the mark of a runner running a
    /// `no-transaction` migration; see [`Running`].
    pub(crate) async fn running(&self, request: Running) -> Option<bool> {
        match self.io.act(Action::Running(request)).await {
            Outcome::Running(answer) => answer,
            other => unreachable!("a mark answered with {other:?}"),
        }
    }

    pub(crate) fn progress(&mut self, event: Progress<'_>) {
        self.trace.progress(&event);
        self.runner.notify(event);
    }

    /// `body` as one transaction: begun unless one is open, committed at
    /// the end. Under a lease, it first checks and renews the lease, and
    /// renews it again last. While the session lock is pinned, another
    /// transaction is begun after the `COMMIT`, in the same message.
    pub(crate) fn transaction(&self, body: Vec<Piece>) -> Vec<Piece> {
        let mut pieces = Vec::with_capacity(body.len() + 5);
        if !self.open {
            pieces.push(Piece::plain(self.sql.begin()));
        }
        let ttl = self.runner.lease_ttl;
        if let Some(held) = &self.lease {
            pieces.push(Piece::plain(lease::guard(
                &held.table,
                self.owner(),
                held.token,
                ttl,
            )));
        }
        pieces.extend(body);
        if let Some(held) = &self.lease {
            pieces.push(Piece::plain(lease::renew(
                &held.table,
                self.owner(),
                held.token,
                ttl,
            )));
        }
        pieces.push(Piece::plain(COMMIT));
        if self.pinned {
            pieces.push(Piece::plain(self.sql.begin()));
        }
        pieces
    }

    /// A write to the history outside migrate's transactions (the progress
    /// of a `no-transaction` migration): under a lease, preceded by its
    /// check in the same message, which then runs as one transaction.
    pub(crate) fn fenced(&self, write: Piece) -> Vec<Piece> {
        match &self.lease {
            Some(held) => vec![
                Piece::plain(lease::guard(
                    &held.table,
                    self.owner(),
                    held.token,
                    self.runner.lease_ttl,
                )),
                write,
            ],
            None => vec![write],
        }
    }

    /// Runs `body` as one transaction that changes the history; `action`
    /// names it in an error.
    pub(crate) async fn record(&mut self, body: Vec<Piece>, action: String) -> Result<()> {
        let pieces = self.transaction(body);
        self.execute(Purpose::Record, pieces)
            .await
            .map(drop)
            .map_err(|failure| database(action, failure))
    }

    /// Reads the history without the lock, or `None` when the table does
    /// not exist yet.
    pub(crate) async fn read_history(&self, columns: Columns) -> Result<Option<Vec<HistoryRow>>> {
        let action = self.reading_history();
        match self
            .query(Purpose::ReadHistory, vec![self.sql.read_history(columns)])
            .await
        {
            Ok(results) => {
                let rows = results.into_iter().next().unwrap_or_default();
                dialect::parse_history(&rows, &action).map(Some)
            }
            Err(failure) if failure.kind == FailureKind::MissingTable => Ok(None),
            Err(failure) => Err(database(action, failure)),
        }
    }

    pub(crate) fn reading_history(&self) -> String {
        format!("reading the history table {}", self.sql.table().plain())
    }
}

/// The statement that ends every transaction of migrate's.
pub(crate) const COMMIT: &str = "COMMIT";

/// How a runner names itself as the owner of a lease: where it runs, which
/// process, and a part that differs between runs, for the people who read
/// the lease table.
fn owner_name(seed: u32) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let host = if host.is_empty() {
        "unknown-host"
    } else {
        &host
    };
    format!("{host}:{}:{seed:08x}", std::process::id())
}

/// A failure outside any migration's SQL.
pub(crate) fn database(action: impl Into<String>, failure: Failure) -> Error {
    Error::database(action, failure.error)
}

/// A failure of a migration's script.
pub(crate) fn script_failed(
    migration: &Migration,
    file: &str,
    statement: Option<usize>,
    failure: Failure,
) -> Error {
    Error::Migration {
        version: migration.version(),
        file: file.to_owned(),
        statement,
        source: failure.error,
    }
}
