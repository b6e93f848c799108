//! SQLite's lock: its write transaction, taken by `BEGIN IMMEDIATE` with the
//! history and the fingerprint's pragmas read under it.

use std::time::Duration;

use crate::Result;
use crate::dialect::{self, Columns, Stored, sqlite};
use crate::driver::{Purpose, Row};

use super::super::cx::{Cx, database};
use super::{Lock, Snapshot};

impl Cx<'_, '_> {
    /// `BEGIN IMMEDIATE`, which waits for other writers up to the busy
    /// timeout, then the history and the fingerprint's pragmas.
    pub(super) async fn take_write_lock(&mut self) -> Result<Snapshot> {
        let statements =
            sqlite::lock_and_read(self.sql.table(), self.sql.read_history(Columns::ForPlan));
        match self.query(Purpose::Lock, statements).await {
            Ok(results) => {
                self.open = true;
                self.trace.lock_taken("write", Duration::ZERO, None);
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
}
