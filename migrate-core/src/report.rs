//! What a run did, and the state of each migration.

use std::fmt;
use std::time::Duration;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::Migration;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::history::HistoryRow;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::plan::{Reconciled, is_drifted, reconcile};

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    action: Action,
    applied: Vec<Applied>,
    elapsed: Duration,
}

/// What kind of run a [`Report`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Pending migrations were applied.
    Apply,
    /// Applied migrations were reverted with their down scripts.
    Rollback,
    /// Migrations were recorded as applied without running them.
    Baseline,
}

/// One migration that a run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its version.
    pub version: i64,
    /// Its description.
    pub description: String,
    /// Its up file.
    pub file: String,
    /// How long its SQL took.
    pub duration: Duration,
}

impl Applied {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn new(migration: &Migration, duration: Duration) -> Applied {
        Applied {
            version: migration.version(),
            description: migration.description().to_owned(),
            file: migration.file().to_owned(),
            duration,
        }
    }
}

impl Report {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn new(applied: Vec<Applied>, elapsed: Duration) -> Report {
        Report::of(Action::Apply, applied, elapsed)
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn of(action: Action, applied: Vec<Applied>, elapsed: Duration) -> Report {
        Report {
            action,
            applied,
            elapsed,
        }
    }

    /// What kind of run this was.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The migrations the run applied, in order; for a rollback, the ones it
    /// reverted, newest first; for a baseline, the ones it recorded.
    pub fn applied(&self) -> &[Applied] {
        &self.applied
    }

    /// Whether the run had nothing to do.
    pub fn was_up_to_date(&self) -> bool {
        self.applied.is_empty()
    }

    /// How long the whole run took, checks included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.action {
            Action::Apply => "applied",
            Action::Rollback => "rolled back",
            Action::Baseline => "baselined",
        };
        if self.applied.is_empty() {
            return match self.action {
                Action::Apply => write!(f, "the database is up to date ({:.1?})", self.elapsed),
                _ => write!(
                    f,
                    "nothing to do: {verb} no migration ({:.1?})",
                    self.elapsed
                ),
            };
        }
        let plural = if self.applied.len() == 1 { "" } else { "s" };
        write!(
            f,
            "{verb} {} migration{plural} in {:.1?}",
            self.applied.len(),
            self.elapsed
        )?;
        for applied in &self.applied {
            write!(
                f,
                "\n  {} {} ({:.1?})",
                applied.version, applied.description, applied.duration
            )?;
        }
        Ok(())
    }
}

/// The state of every migration, in the binary or in the database, as read
/// by a status call, which changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    entries: Vec<StatusEntry>,
}

/// One migration's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The version.
    pub version: i64,
    /// The description, from the binary or else from the history table.
    pub description: String,
    /// The up file, when the binary has the migration.
    pub file: Option<String>,
    /// When it was applied, as the database recorded it.
    pub applied_at: Option<String>,
    /// Its state.
    pub state: State,
}

/// The state of one migration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Applied, with the checksum the binary has.
    Applied,
    /// Not applied yet.
    Pending,
    /// Not applied, and its version is below the highest applied one.
    OutOfOrder,
    /// Applied, but its file changed since.
    Drifted {
        /// The checksum recorded when it was applied.
        recorded: String,
        /// The checksum in the binary.
        embedded: String,
    },
    /// Applied, but not in the binary.
    Missing,
    /// A `no-transaction` migration that started and did not finish.
    Incomplete {
        /// How many statements completed.
        statements_done: i64,
    },
}

impl Status {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn new(migrations: &[Migration], history: &[HistoryRow]) -> Status {
        let entries = reconcile(migrations, history)
            .into_iter()
            .map(entry)
            .collect();
        Status { entries }
    }

    /// Every migration, by version.
    pub fn entries(&self) -> &[StatusEntry] {
        &self.entries
    }

    /// The migrations a run would apply, out-of-order ones included.
    pub fn pending(&self) -> impl Iterator<Item = &StatusEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, State::Pending | State::OutOfOrder))
    }

    /// Whether every migration is applied and nothing is wrong.
    pub fn is_up_to_date(&self) -> bool {
        self.entries.iter().all(|e| e.state == State::Applied)
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn entry(reconciled: Reconciled<'_, '_>) -> StatusEntry {
    match reconciled {
        Reconciled::Applied { migration, row } => {
            let state = if is_drifted(migration, row) {
                State::Drifted {
                    recorded: row.checksum.clone(),
                    embedded: migration.checksum_hex(),
                }
            } else if !row.finished {
                State::Incomplete {
                    statements_done: row.statements_done.unwrap_or(0),
                }
            } else {
                State::Applied
            };
            StatusEntry {
                applied_at: Some(row.applied_at.clone()),
                ..from_binary(migration, state)
            }
        }
        Reconciled::Pending {
            migration,
            out_of_order,
        } => from_binary(
            migration,
            if out_of_order {
                State::OutOfOrder
            } else {
                State::Pending
            },
        ),
        Reconciled::Missing { row } => StatusEntry {
            version: row.version,
            description: row.description.clone(),
            file: None,
            applied_at: Some(row.applied_at.clone()),
            state: State::Missing,
        },
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn from_binary(migration: &Migration, state: State) -> StatusEntry {
    StatusEntry {
        version: migration.version(),
        description: migration.description().to_owned(),
        file: Some(migration.file().to_owned()),
        applied_at: None,
        state,
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Applied => f.write_str("applied"),
            State::Pending => f.write_str("pending"),
            State::OutOfOrder => f.write_str("pending, out of order"),
            State::Drifted { .. } => f.write_str("edited after it was applied"),
            State::Missing => f.write_str("applied, missing from the binary"),
            State::Incomplete { statements_done } => {
                write!(f, "incomplete after {statements_done} statements")
            }
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .entries
            .iter()
            .map(|e| e.version.to_string().len())
            .max()
            .unwrap_or(7)
            .max(7);
        write!(f, "{:>width$}  {:<32}  state", "version", "description")?;
        for entry in &self.entries {
            write!(
                f,
                "\n{:>width$}  {:<32}  {}",
                entry.version, entry.description, entry.state
            )?;
        }
        Ok(())
    }
}
