//! What happened to one member of a fleet: its [`Outcome`], the [`Skip`]
//! reasons, the [`Verdict`] that sums it up, and the sorting of a member's
//! result into an outcome.

use std::fmt;
use std::time::Duration;

use crate::engine::Output;
use crate::{Error, Report, Result, Status};

use super::Standing;

/// What the fleet does to every member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Task {
    Apply,
    Status,
}

impl Task {
    pub(super) fn operation(self) -> crate::Operation {
        match self {
            Task::Apply => crate::Operation::Apply,
            Task::Status => crate::Operation::Status,
        }
    }

    fn outcome(self, output: Output<'_>) -> Outcome {
        match self {
            Task::Apply => Outcome::Applied(output.into_report()),
            Task::Status => Outcome::Status(output.into_status()),
        }
    }
}

/// What a member's operation ended with, sorted: a lock not obtained in
/// time is a skip, any other error a failure. `gave_up` says the driver saw
/// a wait for another connection's lock time out before anything changed.
pub(super) fn classify(task: Task, result: Result<Output<'_>>, gave_up: bool) -> Outcome {
    match result {
        Ok(output) => task.outcome(output),
        Err(error @ Error::LockTimeout { .. }) => Outcome::Skipped(Skip::Waiting { error }),
        Err(error) if gave_up => Outcome::Skipped(Skip::Waiting { error }),
        Err(error) => Outcome::Failed(error),
    }
}

/// What happened to one member.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The migrations were applied
    /// (`Fleet::apply_sqlite`,
    /// `Fleet::apply_postgres`); an empty
    /// report means the member was at head already.
    Applied(Report),
    /// The state of every migration
    /// (`Fleet::status_sqlite`,
    /// `Fleet::status_postgres`).
    Status(Status),
    /// The member failed: its database could not be opened or read, it
    /// disagrees with the migrations (an edited migration, say), or a
    /// migration failed. It was left as the runner leaves a database after
    /// that error: a failed transactional migration was rolled back.
    Failed(Error),
    /// The member was not migrated, and nothing was changed.
    Skipped(Skip),
}

/// Why a member was skipped. Nothing was changed in it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Skip {
    /// The member timeout passed before its connection opened.
    Connecting {
        /// The member timeout.
        timeout: Duration,
    },
    /// The member gave up waiting for another runner's lock before it
    /// changed anything: the member timeout passed, or the runner's lock
    /// timeout (PostgreSQL) or busy timeout (SQLite) if that was shorter.
    /// The error names the lock and, on PostgreSQL, the session holding it.
    Waiting {
        /// The runner's error.
        error: Error,
    },
    /// Not started, because [`Fleet::max_failures`](super::Fleet::max_failures)
    /// members had failed.
    AfterFailures {
        /// How many members had failed when this one was to start.
        failures: usize,
    },
}

/// A member's outcome in one word, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing to apply: every migration is applied, and nothing is wrong.
    AtHead,
    /// The run applied at least one migration.
    Applied,
    /// Status: migrations are pending, and nothing is wrong.
    Behind,
    /// Status: the database has applied migrations that the binary does not
    /// have (it is newer than the binary); a run refuses to start.
    Ahead,
    /// Status: an applied migration was edited since, or a
    /// `no-transaction` migration stopped part-way, or a pending one is
    /// below the highest applied; a run refuses to start.
    Diverged,
    /// The member failed.
    Failed,
    /// The member was skipped.
    Skipped,
}

impl Verdict {
    /// Every verdict, in the order of a summary.
    pub const ALL: [Verdict; 7] = [
        Verdict::AtHead,
        Verdict::Applied,
        Verdict::Behind,
        Verdict::Ahead,
        Verdict::Diverged,
        Verdict::Failed,
        Verdict::Skipped,
    ];

    /// How the verdict is written: `at head`, `applied`, `behind`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::AtHead => "at head",
            Verdict::Applied => "applied",
            Verdict::Behind => "behind",
            Verdict::Ahead => "ahead",
            Verdict::Diverged => "diverged",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// The outcome in one word.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Applied(report) if report.was_up_to_date() => Verdict::AtHead,
            Outcome::Applied(_) => Verdict::Applied,
            Outcome::Status(status) => Standing::of(status).verdict(),
            Outcome::Failed(_) => Verdict::Failed,
            Outcome::Skipped(_) => Verdict::Skipped,
        }
    }

    /// The error of a failed member.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Connecting { timeout } => {
                write!(f, "timed out after {timeout:?} opening the connection")
            }
            Skip::Waiting { error } => write!(f, "gave up waiting: {}", chain(error)),
            Skip::AfterFailures { failures } => {
                write!(
                    f,
                    "not started: {failures} member{} had failed",
                    plural(*failures)
                )
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Applied(report) => write!(f, "{}", report_line(report)),
            Outcome::Status(status) => Standing::of(status).fmt(f),
            Outcome::Failed(error) => write!(f, "failed: {}", chain(error)),
            Outcome::Skipped(skip) => write!(f, "skipped: {skip}"),
        }
    }
}

fn report_line(report: &Report) -> String {
    match report.applied() {
        [] => "at head".to_owned(),
        [one] => format!("applied {} {}", one.version, one.description),
        many => format!(
            "applied {} migrations, {} to {}",
            many.len(),
            many[0].version,
            many[many.len() - 1].version
        ),
    }
}

/// An error and its causes, as `error: cause: cause`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
