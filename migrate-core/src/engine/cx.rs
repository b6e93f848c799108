//! What an operation works with: the runner's settings, the SQL of the
//! connection's engine, and the actions it may ask for.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use migrate_format::history::TableName;

use super::{Io, Outcome};
use crate::dialect::{self, Columns, Sql};
use crate::driver::{
    Action, Dialect, Executed, Failure, FailureKind, Piece, Purpose, Row, Running,
};
use crate::history::HistoryRow;
use crate::{Error, Migration, Progress, Result, Runner};

/// The context of one operation.
pub(crate) struct Cx<'r, 'm> {
    pub(crate) runner: &'r Runner<'m>,
    /// The history table as the runner names it.
    pub(crate) given: TableName,
    /// The engine's SQL, for the history table as the lock resolved it.
    pub(crate) sql: Sql,
    io: Arc<Io>,
    /// Whether a transaction is open that a batch continues rather than
    /// begins: on SQLite the lock is the write transaction.
    pub(crate) open: bool,
    /// Varies the pauses between attempts to take a lock from one runner to
    /// the next.
    pub(crate) seed: u32,
}

impl<'r, 'm> Cx<'r, 'm> {
    pub(crate) fn new(runner: &'r Runner<'m>, dialect: Dialect, io: Arc<Io>) -> Result<Self> {
        let given = runner.table()?.clone();
        let sql = Sql::new(dialect, given.clone())?;
        // The clock's nanoseconds differ between runners that start
        // together, which is all the jitter needs.
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        Ok(Cx {
            runner,
            given,
            sql,
            io,
            open: false,
            seed,
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
    /// open; one that fails may have left one open, which the unlock rolls
    /// back.
    pub(crate) async fn execute(
        &mut self,
        purpose: Purpose,
        pieces: Vec<Piece>,
    ) -> std::result::Result<Executed, Failure> {
        let commits = pieces.last().is_some_and(|piece| piece.sql == COMMIT);
        let opens = pieces
            .first()
            .is_some_and(|piece| piece.sql == self.sql.begin());
        let result = match self.io.act(Action::Execute { purpose, pieces }).await {
            Outcome::Executed(result) => result,
            other => unreachable!("a batch answered with {other:?}"),
        };
        self.open = match &result {
            Ok(_) => self.open && !commits,
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

    pub(crate) fn progress(&self, event: Progress<'_>) {
        self.runner.notify(event);
    }

    /// `body` as one transaction: begun unless one is open, committed at
    /// the end.
    pub(crate) fn transaction(&self, body: Vec<Piece>) -> Vec<Piece> {
        let mut pieces = Vec::with_capacity(body.len() + 2);
        if !self.open {
            pieces.push(Piece::plain(self.sql.begin()));
        }
        pieces.extend(body);
        pieces.push(Piece::plain(COMMIT));
        pieces
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
