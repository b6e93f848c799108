//! The PostgreSQL driver, on tokio-postgres: performs the engine's actions
//! with the simple query protocol, each action one message, so a batch of
//! migrations with their history rows and `COMMIT` is one round trip, and no
//! named prepared statement is ever created (which PgBouncer in transaction
//! mode before 1.21 refuses).

use std::pin::pin;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};

use crate::driver::{
    AsyncDriver, Dialect, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row,
};

pub(crate) struct PostgresDriver<'c>(pub(crate) &'c Client);

/// The column that tells migrate's marker rows apart from the rows that a
/// migration's own statements return in the same batch.
const MARKER_COLUMN: &str = "migrate_marker";

impl AsyncDriver for PostgresDriver<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn query(&mut self, _: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let mut results = Vec::with_capacity(statements.len());
        let mut rows = Vec::new();
        let outcome = self
            .stream(&statements.join(";\n"), |message| match message {
                SimpleQueryMessage::Row(row) => rows.push(text(&row)),
                SimpleQueryMessage::CommandComplete(_) => results.push(std::mem::take(&mut rows)),
                _ => {}
            })
            .await;
        let completed = results.len();
        outcome.map_err(|error| failure(error).after_statements(completed))?;
        Ok(results)
    }

    async fn execute(&mut self, _: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        let started = Instant::now();
        let sql: Vec<&str> = pieces.iter().map(|piece| piece.sql.as_str()).collect();
        let mut markers = Vec::new();
        let outcome = self
            .stream(&sql.join("\n;\n"), |message| {
                if let SimpleQueryMessage::Row(row) = message
                    && row.columns().first().map(|c| c.name()) == Some(MARKER_COLUMN)
                {
                    markers.push(Marker {
                        rows: vec![text(&row)],
                        elapsed: None,
                    });
                }
            })
            .await;
        match outcome {
            Ok(()) => Ok(Executed {
                markers,
                elapsed: started.elapsed(),
            }),
            Err(error) => Err(failure(error).after_markers(markers)),
        }
    }

    async fn sleep(&mut self, pause: Duration) {
        tokio::time::sleep(pause).await;
    }
}

impl PostgresDriver<'_> {
    /// Sends `sql` as one simple query and hands each message to `each` as
    /// it arrives, so that what came before an error is known.
    async fn stream(
        &self,
        sql: &str,
        mut each: impl FnMut(SimpleQueryMessage),
    ) -> Result<(), tokio_postgres::Error> {
        let mut stream = pin!(self.0.simple_query_raw(sql).await?);
        while let Some(message) = stream.next().await {
            each(message?);
        }
        Ok(())
    }
}

fn text(row: &SimpleQueryRow) -> Row {
    (0..row.len())
        .map(|index| row.get(index).map(str::to_owned))
        .collect()
}

fn failure(error: tokio_postgres::Error) -> Failure {
    let missing = [SqlState::UNDEFINED_TABLE, SqlState::INVALID_SCHEMA_NAME];
    let kind = match error.code() {
        _ if error.is_closed() => FailureKind::ConnectionClosed,
        Some(code) if missing.contains(code) => FailureKind::MissingTable,
        _ => FailureKind::Other,
    };
    Failure::new(kind, error)
}
