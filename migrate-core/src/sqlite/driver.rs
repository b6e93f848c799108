//! The SQLite driver, on rusqlite: performs the engine's actions on one
//! connection, in process, so a batch runs piece by piece and times each
//! migration by the clock.

use std::thread;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Statement};

use crate::driver::{Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row};

pub(crate) struct SqliteDriver<'c>(pub(crate) &'c Connection);

impl Driver for SqliteDriver<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, _: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let mut results = Vec::with_capacity(statements.len());
        for (completed, sql) in statements.iter().enumerate() {
            let rows = self
                .0
                .prepare_cached(sql)
                .and_then(|mut statement| rows(&mut statement));
            results.push(rows.map_err(|error| failure(error).after_statements(completed))?);
        }
        Ok(results)
    }

    fn execute(&mut self, _: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        let started = Instant::now();
        let mut last = started;
        let mut markers = Vec::new();
        for piece in pieces {
            if !piece.marker {
                self.0.execute_batch(&piece.sql)
            } else {
                self.0.prepare(&piece.sql).and_then(|mut statement| {
                    let rows = rows(&mut statement)?;
                    let now = Instant::now();
                    markers.push(Marker {
                        rows,
                        elapsed: Some(now - last),
                    });
                    last = now;
                    Ok(())
                })
            }
            .map_err(|error| failure(error).after_markers(std::mem::take(&mut markers)))?;
        }
        Ok(Executed {
            markers,
            elapsed: started.elapsed(),
        })
    }

    fn sleep(&mut self, pause: Duration) {
        thread::sleep(pause);
    }
}

/// Every row of a statement, every column as text.
fn rows(statement: &mut Statement<'_>) -> rusqlite::Result<Vec<Row>> {
    let columns = statement.column_count();
    let mut rows = statement.query([])?;
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(
            (0..columns)
                .map(|index| row.get_ref(index).map(text))
                .collect::<rusqlite::Result<Row>>()?,
        );
    }
    Ok(all)
}

fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(integer) => Some(integer.to_string()),
        ValueRef::Real(real) => Some(real.to_string()),
        ValueRef::Text(text) | ValueRef::Blob(text) => {
            Some(String::from_utf8_lossy(text).into_owned())
        }
    }
}

fn failure(error: rusqlite::Error) -> Failure {
    let kind = match &error {
        rusqlite::Error::SqliteFailure(_, Some(message))
            if message.starts_with("no such table") =>
        {
            FailureKind::MissingTable
        }
        _ => FailureKind::Other,
    };
    Failure::new(kind, error)
}
