//! What a run did, and the state of each migration.

use std::fmt;
use std::time::Duration;

use crate::Migration;
use crate::history::HistoryRow;
use crate::plan::{Reconciled, is_drifted, reconcile};

/// What a run did: which migrations it applied, reverted or recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    action: Action,
    migrations: Vec<Applied>,
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

/// One migration that a run acted on, and how long its script took.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// Its version.
    pub version: i64,
    /// Its description.
    pub description: String,
    /// Its up file.
    pub file: String,
    /// How long its script took: as the database measured it where it can
    /// (PostgreSQL), else as the runner did. Zero for a baseline.
    pub duration: Duration,
}

impl Applied {
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
    pub(crate) fn new(applied: Vec<Applied>) -> Report {
        Report::of(Action::Apply, applied)
    }

    pub(crate) fn of(action: Action, migrations: Vec<Applied>) -> Report {
        Report {
            action,
            migrations,
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn with_elapsed(mut self, elapsed: Duration) -> Report {
        self.elapsed = elapsed;
        self
    }

    /// What kind of run this was.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Every migration the run acted on, in the order it did: applied
    /// oldest first, reverted newest first, or recorded by a baseline.
    pub fn migrations(&self) -> &[Applied] {
        &self.migrations
    }

    /// The migrations the run applied, in order; empty for a rollback or a
    /// baseline.
    pub fn applied(&self) -> &[Applied] {
        self.of_action(Action::Apply)
    }

    /// The migrations a rollback reverted, newest first.
    pub fn reverted(&self) -> &[Applied] {
        self.of_action(Action::Rollback)
    }

    /// The migrations a baseline recorded as applied without running them.
    pub fn recorded(&self) -> &[Applied] {
        self.of_action(Action::Baseline)
    }

    fn of_action(&self, action: Action) -> &[Applied] {
        if self.action == action {
            &self.migrations
        } else {
            &[]
        }
    }

    /// Whether a run found the database up to date and applied nothing.
    /// False for a rollback or a baseline, which are not runs.
    pub fn was_up_to_date(&self) -> bool {
        self.action == Action::Apply && self.migrations.is_empty()
    }

    /// Whether the operation changed nothing.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// How long the whole operation took, checks included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = Took(self.elapsed);
        if self.migrations.is_empty() {
            return match self.action {
                Action::Apply => write!(f, "the database is up to date ({elapsed})"),
                Action::Rollback => write!(f, "nothing to roll back ({elapsed})"),
                Action::Baseline => write!(f, "nothing to baseline ({elapsed})"),
            };
        }
        let verb = match self.action {
            Action::Apply => "applied",
            Action::Rollback => "rolled back",
            Action::Baseline => "baselined",
        };
        let count = self.migrations.len();
        let plural = if count == 1 { "" } else { "s" };
        write!(f, "{verb} {count} migration{plural} in {elapsed}")?;
        for applied in &self.migrations {
            write!(f, "\n  {} {}", applied.version, applied.description)?;
            // A baseline records migrations without running them.
            if self.action != Action::Baseline {
                write!(f, " ({})", Took(applied.duration))?;
            }
        }
        Ok(())
    }
}

/// How long something that ran took, in the unit that suits it: `<1 µs`,
/// `340 µs`, `12.3 ms`, `4.56 s`, `2 min 5 s`. Never zero: a step faster
/// than the clock's resolution still ran.
struct Took(Duration);

impl fmt::Display for Took {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        let micros = nanos / 1_000;
        if micros == 0 {
            return f.write_str("<1 µs");
        }
        if micros < 1_000 {
            return write!(f, "{micros} µs");
        }
        let tenths_of_ms = (nanos + 50_000) / 100_000;
        if tenths_of_ms < 10_000 {
            return write!(f, "{}.{} ms", tenths_of_ms / 10, tenths_of_ms % 10);
        }
        let hundredths_of_s = (nanos + 5_000_000) / 10_000_000;
        if hundredths_of_s < 6_000 {
            return write!(
                f,
                "{}.{:02} s",
                hundredths_of_s / 100,
                hundredths_of_s % 100
            );
        }
        let seconds = (nanos + 500_000_000) / 1_000_000_000;
        write!(f, "{} min {} s", seconds / 60, seconds % 60)
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
#[non_exhaustive]
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
        /// How many statements are known to have completed; the next one
        /// was started and may or may not have completed.
        statements_done: i64,
    },
}

impl Status {
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

fn entry(reconciled: Reconciled<'_, '_>) -> StatusEntry {
    match reconciled {
        Reconciled::Applied { migration, row } => {
            // Incomplete first, as a run reports it: the half-applied
            // state needs a person, whether or not the file was edited.
            let state = if !row.finished {
                State::Incomplete {
                    statements_done: row.statements_done.unwrap_or(0),
                }
            } else if is_drifted(migration, row) {
                State::Drifted {
                    recorded: row.checksum.clone(),
                    embedded: migration.checksum_hex(),
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
            State::Incomplete { statements_done: 1 } => {
                f.write_str("incomplete: 1 statement completed, the next may or may not have")
            }
            State::Incomplete { statements_done } => write!(
                f,
                "incomplete: {statements_done} statements completed, the next may or may not have"
            ),
        }
    }
}

impl fmt::Display for Status {
    /// A table: the columns are as wide as their longest value, so that
    /// long descriptions do not push the states out of line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<String> = self.entries.iter().map(|e| e.version.to_string()).collect();
        let version_width = column_width("version", versions.iter().map(String::as_str));
        let description_width = column_width(
            "description",
            self.entries.iter().map(|e| e.description.as_str()),
        );
        write!(
            f,
            "{:>version_width$}  {:<description_width$}  state",
            "version", "description"
        )?;
        for (entry, version) in self.entries.iter().zip(&versions) {
            write!(
                f,
                "\n{version:>version_width$}  {:<description_width$}  {}",
                entry.description, entry.state
            )?;
        }
        Ok(())
    }
}

/// The width of a column: its longest value or its heading, in characters.
fn column_width<'a>(heading: &str, values: impl Iterator<Item = &'a str>) -> usize {
    values
        .map(|value| value.chars().count())
        .chain([heading.chars().count()])
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn took(nanos: u64) -> String {
        Took(Duration::from_nanos(nanos)).to_string()
    }

    #[test]
    fn durations_read_in_the_unit_that_suits_them() {
        assert_eq!(took(0), "<1 µs", "something that ran never took 0");
        assert_eq!(took(999), "<1 µs");
        assert_eq!(took(1_000), "1 µs");
        assert_eq!(took(340_500), "340 µs");
        assert_eq!(took(999_999), "999 µs");
        assert_eq!(took(1_000_000), "1.0 ms");
        assert_eq!(took(12_345_678), "12.3 ms");
        assert_eq!(took(999_960_000), "1.00 s", "never 1000.0 ms");
        assert_eq!(took(4_561_000_000), "4.56 s");
        assert_eq!(took(59_996_000_000), "1 min 0 s", "never 60.00 s");
        assert_eq!(took(125_000_000_000), "2 min 5 s");
    }

    fn applied(version: i64, description: &str, micros: u64) -> Applied {
        Applied {
            version,
            description: description.to_owned(),
            file: format!("migrations/{version}_{description}.sql"),
            duration: Duration::from_micros(micros),
        }
    }

    #[test]
    fn reports_read_as_english() {
        let one = Report::of(Action::Apply, vec![applied(1, "create_users", 0)])
            .with_elapsed(Duration::from_micros(1_500));
        assert_eq!(
            one.to_string(),
            "applied 1 migration in 1.5 ms\n  1 create_users (<1 µs)"
        );
        let baseline = Report::of(
            Action::Baseline,
            vec![applied(1, "a", 0), applied(2, "b", 0)],
        )
        .with_elapsed(Duration::from_micros(700));
        assert_eq!(
            baseline.to_string(),
            "baselined 2 migrations in 700 µs\n  1 a\n  2 b",
            "nothing ran, so no durations"
        );
        let nothing =
            Report::of(Action::Rollback, Vec::new()).with_elapsed(Duration::from_micros(20));
        assert_eq!(nothing.to_string(), "nothing to roll back (20 µs)");
        let up_to_date = Report::of(Action::Apply, Vec::new());
        assert_eq!(up_to_date.to_string(), "the database is up to date (<1 µs)");
    }

    fn entry(version: i64, description: &str, state: State) -> StatusEntry {
        StatusEntry {
            version,
            description: description.to_owned(),
            file: None,
            applied_at: None,
            state,
        }
    }

    #[test]
    fn status_columns_fit_the_longest_value() {
        let status = Status {
            entries: vec![
                entry(1, "a", State::Applied),
                entry(
                    20240102150405,
                    "add_an_index_on_the_customers_email_and_name_columns",
                    State::Incomplete { statements_done: 1 },
                ),
                entry(3, "c", State::Incomplete { statements_done: 2 }),
            ],
        };
        let text = status.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "       version  description                                           state",
                "             1  a                                                     applied",
                "20240102150405  add_an_index_on_the_customers_email_and_name_columns  incomplete: 1 statement completed, the next may or may not have",
                "             3  c                                                     incomplete: 2 statements completed, the next may or may not have",
            ]
        );
    }
}
