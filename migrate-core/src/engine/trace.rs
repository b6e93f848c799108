//! What the engine tells `tracing` (feature `tracing`): a span per
//! operation, a span per migration it runs, and events for the lock and for
//! drift. Without the feature every function here is empty.
//!
//! Spans are created with explicit parents rather than entered, because the
//! engine is a coroutine that a driver loop polls: entering a span across
//! its awaits would leak it into the driver's own code.
//!
//! | Name | Kind | Fields |
//! |---|---|---|
//! | `migrate` | span, one per operation | `operation`, `table`, `dialect`, `lock` (`write` on SQLite, `default` when not chosen), `transaction_mode`, `duration_ms`, `outcome` |
//! | `migration` | span, one per migration run or reverted | `version`, `description`, `checksum` (its first 12 hex digits), `mode` (`transaction` or `no-transaction`), `direction` (`up` or `down`), `duration_ms` |
//! | event | `lock taken` | `strategy` (`write` on SQLite), `waited_ms`, `token` (a lease's fencing token) |
//! | event | `waiting for the migration lock` | `strategy`, `holder` |
//! | event | `drift found` | `version`, `file`, `recorded`, `embedded` |
//! | event | `statement done` | `done`, `of` (a `no-transaction` migration) |
//!
//! and warnings when the default strategy meets CockroachDB, when a pooler
//! in transaction mode shows itself, and when a lock is lost or left behind.
//! Every span and event has the target `migrate`.

use std::time::Duration;

use migrate_format::history::TableName;

use super::Operation;
use crate::driver::Dialect;
use crate::error::LockHolder;
use crate::{LockStrategy, Output, Progress, Result, Runner};

#[cfg(feature = "tracing")]
pub(crate) use enabled::Trace;

#[cfg(not(feature = "tracing"))]
pub(crate) use disabled::Trace;

#[cfg(feature = "tracing")]
mod enabled {
    use std::time::Instant;

    use tracing::field::Empty;
    use tracing::{Level, Span, debug, info, info_span, warn};

    use super::*;
    use crate::report::State;
    use crate::{Error, Migration, TransactionMode};

    /// The spans of one operation.
    #[derive(Debug)]
    pub(crate) struct Trace {
        run: Span,
        /// The migrations started and not yet finished, with their spans.
        migrations: Vec<(i64, Span)>,
        down: bool,
        started: Instant,
    }

    impl Trace {
        pub(crate) fn new(runner: &Runner<'_>, dialect: Dialect, table: &TableName) -> Trace {
            let lock = match (dialect, runner.lock_strategy) {
                (Dialect::Sqlite, _) => "write".to_owned(),
                (Dialect::Postgres, Some(strategy)) => strategy.to_string(),
                (Dialect::Postgres, None) => "default".to_owned(),
            };
            let run = info_span!(
                target: "migrate",
                "migrate",
                operation = Empty,
                table = table.plain(),
                dialect = match dialect {
                    Dialect::Sqlite => "sqlite",
                    Dialect::Postgres => "postgres",
                },
                lock = lock.as_str(),
                transaction_mode = match runner.transaction_mode {
                    TransactionMode::Single => "single",
                    TransactionMode::PerMigration => "per-migration",
                },
                duration_ms = Empty,
                outcome = Empty,
            );
            Trace {
                run,
                migrations: Vec::new(),
                down: false,
                started: Instant::now(),
            }
        }

        pub(crate) fn start(&mut self, operation: &Operation) {
            let name = match operation {
                Operation::Apply => "apply",
                Operation::Pending => "pending",
                Operation::Status => "status",
                Operation::Rollback(_) => "rollback",
                Operation::Baseline(_) => "baseline",
                Operation::Repair(_) => "repair",
                Operation::Resolve(..) => "resolve",
                Operation::Adopt(_) => "adopt",
                Operation::Verify => "verify",
            };
            self.down = matches!(operation, Operation::Rollback(_));
            self.run.record("operation", name);
        }

        pub(crate) fn end(&mut self, result: &Result<Output<'_>>) {
            self.run
                .record("duration_ms", millis(self.started.elapsed()));
            self.run.record(
                "outcome",
                match result {
                    Ok(_) => "ok",
                    Err(_) => "error",
                },
            );
            match result {
                Err(Error::Drift {
                    version,
                    file,
                    recorded,
                    embedded,
                }) => self.drift(*version, Some(file), recorded, embedded),
                Ok(Output::Status(status)) => {
                    for entry in status.entries() {
                        if let State::Drifted { recorded, embedded } = &entry.state {
                            self.drift(entry.version, entry.file.as_ref(), recorded, embedded);
                        }
                    }
                }
                _ => {}
            }
            // Spans of migrations that never finished close with the run.
            self.migrations.clear();
        }

        fn drift(&self, version: i64, file: Option<&String>, recorded: &str, embedded: &str) {
            warn!(
                target: "migrate",
                parent: &self.run,
                version,
                file = file.map(String::as_str),
                recorded,
                embedded,
                "drift found"
            );
        }

        pub(crate) fn progress(&mut self, event: &Progress<'_>) {
            match event {
                Progress::Started(migrations) => {
                    for migration in *migrations {
                        let span = self.migration_span(migration);
                        self.migrations.push((migration.version(), span));
                    }
                }
                Progress::Statement {
                    migration,
                    done,
                    of,
                } => {
                    let span = self.span_of(migration.version());
                    debug!(target: "migrate", parent: span, done, of, "statement done");
                }
                Progress::Finished(applied) => {
                    for applied in *applied {
                        self.span_of(applied.version)
                            .record("duration_ms", millis(applied.duration));
                        self.migrations
                            .retain(|(version, _)| *version != applied.version);
                    }
                }
            }
        }

        fn migration_span(&self, migration: &Migration) -> Span {
            let no_transaction = match self.down {
                true => migration.down().is_some_and(|down| down.no_transaction()),
                false => migration.no_transaction(),
            };
            let checksum = migration.checksum_hex();
            info_span!(
                target: "migrate",
                parent: &self.run,
                "migration",
                version = migration.version(),
                description = migration.description(),
                checksum = &checksum[..12],
                mode = if no_transaction { "no-transaction" } else { "transaction" },
                direction = if self.down { "down" } else { "up" },
                duration_ms = Empty,
            )
        }

        fn span_of(&self, version: i64) -> &Span {
            self.migrations
                .iter()
                .find(|(v, _)| *v == version)
                .map_or(&self.run, |(_, span)| span)
        }

        pub(crate) fn lock_taken(&self, strategy: &str, waited: Duration, token: Option<i64>) {
            info!(
                target: "migrate",
                parent: &self.run,
                strategy,
                waited_ms = millis(waited),
                token,
                "lock taken"
            );
        }

        /// Whether anyone listens for whom a runner waits, which costs a
        /// query for an advisory lock.
        pub(crate) fn wants_holder(&self) -> bool {
            tracing::enabled!(target: "migrate", Level::INFO)
        }

        pub(crate) fn waiting(&self, strategy: LockStrategy, holder: Option<&LockHolder>) {
            info!(
                target: "migrate",
                parent: &self.run,
                strategy = %strategy,
                holder = holder.map(ToString::to_string).as_deref().unwrap_or("unknown"),
                "waiting for the migration lock"
            );
        }

        pub(crate) fn cockroach(&self, version: &str) {
            warn!(
                target: "migrate",
                parent: &self.run,
                version,
                "CockroachDB's advisory locks lock nothing: the default strategy uses the table strategy's lease"
            );
        }

        pub(crate) fn pooling(&self, before: i32, after: i32) {
            warn!(
                target: "migrate",
                parent: &self.run,
                before,
                after,
                "the run moved between server sessions: a pooler in transaction mode"
            );
        }

        pub(crate) fn lock_left_behind(&self, holder: i32, now: i32) {
            warn!(
                target: "migrate",
                parent: &self.run,
                holder,
                now,
                "the session lock was left on another server session"
            );
        }

        pub(crate) fn lease_lost(&self, token: i64) {
            warn!(
                target: "migrate",
                parent: &self.run,
                token,
                "the lease was taken over by another runner"
            );
        }
    }

    /// Milliseconds with their fraction: a migration often takes less than one.
    fn millis(duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0
    }
}

#[cfg(not(feature = "tracing"))]
mod disabled {
    use super::*;

    /// Nothing, without the `tracing` feature.
    #[derive(Debug)]
    pub(crate) struct Trace;

    impl Trace {
        pub(crate) fn new(_: &Runner<'_>, _: Dialect, _: &TableName) -> Trace {
            Trace
        }
        pub(crate) fn start(&mut self, _: &Operation) {}
        pub(crate) fn end(&mut self, _: &Result<Output<'_>>) {}
        pub(crate) fn progress(&mut self, _: &Progress<'_>) {}
        pub(crate) fn lock_taken(&self, _: &str, _: Duration, _: Option<i64>) {}
        pub(crate) fn wants_holder(&self) -> bool {
            false
        }
        pub(crate) fn waiting(&self, _: LockStrategy, _: Option<&LockHolder>) {}
        pub(crate) fn cockroach(&self, _: &str) {}
        pub(crate) fn pooling(&self, _: i32, _: i32) {}
        pub(crate) fn lock_left_behind(&self, _: i32, _: i32) {}
        pub(crate) fn lease_lost(&self, _: i64) {}
    }
}
