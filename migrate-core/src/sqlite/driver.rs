//! The SQLite driver, on rusqlite: performs the engine's actions on one
//! connection, in process, so a batch runs piece by piece and times each
//! migration by the clock.

use std::fs::{File, OpenOptions, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, Statement};

use crate::driver::{
    Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row, Running,
};

pub(crate) struct SqliteDriver<'c> {
    conn: &'c Connection,
    /// The file whose lock is the mark of a running `no-transaction`
    /// migration, while this runner shows it.
    mark: Option<File>,
}

impl<'c> SqliteDriver<'c> {
    pub(crate) fn new(conn: &'c Connection) -> SqliteDriver<'c> {
        SqliteDriver { conn, mark: None }
    }

    /// The connection the actions run on.
    pub(crate) fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// `<database>-migrating`, beside the database file; `None` for an
    /// in-memory or temporary database, which no other process can open.
    fn mark_path(&self) -> Option<String> {
        self.conn
            .path()
            .filter(|path| !path.is_empty())
            .map(|path| format!("{path}-migrating"))
    }

    /// Takes the mark's lock. A runner that cannot (the file cannot be
    /// created, or another history table's runner holds it) goes on without
    /// it: others then cannot tell it is dead, and wait for it as before.
    fn show_mark(&mut self) {
        let Some(path) = self.mark_path() else {
            return;
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path);
        self.mark = file.ok().filter(|file| file.try_lock().is_ok());
    }

    /// Whether another runner holds the mark. Only a mark file that exists
    /// and can be locked says that none does: a missing or unreadable file
    /// may belong to a runner that could not create or open it.
    fn probe_mark(&self) -> Option<bool> {
        let file = File::open(self.mark_path()?).ok()?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                Some(false)
            }
            Err(TryLockError::WouldBlock) => Some(true),
            Err(TryLockError::Error(_)) => None,
        }
    }
}

impl Driver for SqliteDriver<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn query(&mut self, _: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let mut results = Vec::with_capacity(statements.len());
        for (completed, sql) in statements.iter().enumerate() {
            // Not `prepare_cached`: a run reads each statement once, and
            // most runs are the first on their connection, where the cache
            // costs more (an allocation and a map insert) than it saves.
            let rows = self
                .conn
                .prepare(sql)
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
                self.conn.execute_batch(&piece.sql)
            } else {
                self.conn.prepare(&piece.sql).and_then(|mut statement| {
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

    fn running(&mut self, request: Running) -> Option<bool> {
        match request {
            Running::Start => self.show_mark(),
            // Closing the file releases its lock; the file stays, since
            // removing it could race with a runner that just opened it.
            Running::Stop => self.mark = None,
            Running::Probe => return self.probe_mark(),
        }
        None
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

/// Whether SQLite gave up waiting for another connection's lock.
pub(crate) fn is_busy(failure: &Failure) -> bool {
    failure
        .error
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code)
        == Some(ErrorCode::DatabaseBusy)
}
