//! The recorder's answers to each action, as the [`Driver`] trait asks them.

use std::time::Duration;

use crate::driver::{
    Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row, Running,
};

use super::{Recorder, number};

impl Driver for Recorder<'_> {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn query(&mut self, purpose: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        self.log.push(purpose);
        self.sent.push(statements.to_vec());
        self.next_session();
        match purpose {
            Purpose::ReadFingerprint => match self.dialect {
                Dialect::Sqlite => Ok(vec![vec![vec![Some(self.pragmas.0.to_string())]]]),
                Dialect::Postgres if self.companion && self.history.is_some() => {
                    let stored = vec![
                        self.stored_fingerprint.clone(),
                        Some("1".into()),
                        Some("1".into()),
                    ];
                    Ok(vec![vec![stored]])
                }
                Dialect::Postgres => Err(Recorder::missing()),
            },
            Purpose::ReadHistory if self.history.is_none() => Err(Recorder::missing()),
            Purpose::ReadHistory => {
                let mut results = vec![self.rows()];
                match statements.get(1).map(String::as_str) {
                    Some("SELECT pg_backend_pid()") => {
                        results.push(vec![vec![Some(self.pid.to_string())]]);
                    }
                    Some(_) => results.push(vec![vec![Some(self.pragmas.1.to_string())]]),
                    None => {}
                }
                Ok(results)
            }
            Purpose::Lock => self.lock(statements),
            Purpose::Adopt => {
                self.adopt_statements.extend(statements.iter().cloned());
                match &self.tool_rows {
                    Some(rows) => Ok(vec![rows.clone()]),
                    None => Err(Recorder::missing()),
                }
            }
            Purpose::Verify => match self.verify_answers.pop_front() {
                Some(Some(results)) => Ok(results),
                Some(None) => Err(Failure::new(
                    FailureKind::Other,
                    "database disk image is malformed",
                )),
                None => Ok(statements.iter().map(|_| Vec::new()).collect()),
            },
            Purpose::Settings if statements[0].starts_with("SELECT (SELECT") => {
                let settings = migrate_format::session::SQLITE_SETTINGS.len();
                Ok(vec![vec![vec![Some("0".to_owned()); settings]]])
            }
            Purpose::LockHolder => Ok(vec![vec![vec![
                Some("4242".to_owned()),
                Some("other runner".to_owned()),
                None,
                Some("active".to_owned()),
                Some("2026-12-01T00:00:00.000Z".to_owned()),
            ]]]),
            _ => {
                let mut results = Vec::new();
                for statement in statements {
                    let mut rows = Vec::new();
                    match statement.as_str() {
                        "ROLLBACK" => self.rollback(),
                        "COMMIT" => self.commit(),
                        unlock if unlock.starts_with("SELECT pg_advisory_unlock") => {
                            let held = self.locked && self.pid == self.lock_pid;
                            if held {
                                self.locked = false;
                            }
                            let held = if held { "t" } else { "f" };
                            rows.push(vec![Some(held.to_owned()), Some(self.pid.to_string())]);
                        }
                        release if release.ends_with("RETURNING token") => {
                            rows = self.release_lease(release);
                        }
                        _ => {}
                    }
                    results.push(rows);
                }
                Ok(results)
            }
        }
    }

    fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        self.log.push(purpose);
        self.sent
            .push(pieces.iter().map(|piece| piece.sql.clone()).collect());
        self.next_session();
        let mut markers = Vec::new();
        if purpose == Purpose::Batch {
            self.batch_sql
                .extend(pieces.iter().map(|piece| piece.sql.clone()));
        }
        for piece in pieces {
            if piece.sql.starts_with("DO $migrate$") && piece.sql.contains("_lock") {
                if let Err(failure) = self.guard(&piece.sql) {
                    return Err(failure.after_markers(markers));
                }
                continue;
            }
            if purpose == Purpose::Statement {
                self.statements.push(piece.sql.clone());
                if self.fail_statement == Some(self.statements.len()) {
                    return Err(Failure::new(FailureKind::Other, "the statement failed"));
                }
            } else if piece.marker {
                if self.fail_after == Some(markers.len()) {
                    return Err(Failure::new(FailureKind::Other, "the migration failed")
                        .after_markers(markers));
                }
                let row = self.marker(&piece.sql);
                markers.push(Marker {
                    rows: vec![row],
                    elapsed: Some(Duration::from_micros(1)),
                });
            } else {
                self.plain(&piece.sql);
            }
        }
        if purpose == Purpose::Batch {
            let versions = markers.iter().map(|m| number(&m.rows[0])).collect();
            match pieces
                .iter()
                .any(|p| p.marker && p.sql.starts_with("DELETE"))
            {
                true => self.reverted.push(versions),
                false => self.batches.push(versions),
            }
        }
        if self.drop_markers {
            markers.clear();
        }
        Ok(Executed {
            markers,
            elapsed: Duration::from_micros(3),
        })
    }

    fn sleep(&mut self, pause: Duration) {
        self.slept += pause;
        self.sleeps += 1;
    }

    fn running(&mut self, request: Running) -> Option<bool> {
        self.marks.push((request, self.log.len()));
        (request == Running::Probe).then_some(self.probe).flatten()
    }
}
