//! The one error type of the crate.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::{AdoptProblem, Applied, ForeignKeyViolation, Tool, Verification};

/// The error of a database driver, boxed so that this enum does not depend on
/// which drivers are enabled. From the built-in drivers it is a
/// `rusqlite::Error` or a `tokio_postgres::Error`, which `downcast_ref` gets
/// back; from a driver of your own (see [`driver`](crate::driver)), its
/// own error type; and a [`Misconfigured`] when the database is set up in a
/// way migrate cannot work with. Nothing else is ever boxed into it: when
/// the database answers something migrate cannot read, the error is
/// [`Error::UnexpectedAnswer`].
pub type DriverError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while checking or applying migrations.
///
/// Every variant names the migration it is about and what was expected and
/// found. The text of [`Display`](std::fmt::Display) is for people and may
/// change between releases; match on the variants instead. The underlying
/// database error, where there is one, is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A folder read at run time breaks the folder format.
    #[error("invalid migrations folder {}:\n{}", folder.display(), problems.join("\n"))]
    InvalidFolder {
        /// The folder.
        folder: PathBuf,
        /// One line per problem, as `file:line:column: message`.
        problems: Vec<String>,
    },

    /// The history table name is not a plain identifier.
    #[error("invalid history table name `{name}`: {reason}")]
    InvalidTableName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// An applied migration's file was edited: its checksum in the binary
    /// differs from the one recorded when it was applied.
    #[error(
        "migration {version} ({file}) was edited after it was applied: the database recorded checksum {recorded}, the binary has {embedded}; revert the edit, or re-stamp the checksum deliberately if the change is intended"
    )]
    Drift {
        /// The migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// The checksum recorded in the history table when it was applied.
        recorded: String,
        /// The checksum of the file compiled into this binary.
        embedded: String,
    },

    /// The database has an applied migration that this binary does not have:
    /// the database is newer than the binary.
    #[error(
        "migration {version} ({description}) is applied in the database but missing from this binary, so the database is newer than the binary; deploy the binary that has it, or allow it with `Runner::allow_missing(true)`"
    )]
    Missing {
        /// The version recorded in the history table.
        version: i64,
        /// The description recorded with it.
        description: String,
    },

    /// A pending migration has a version below one already applied, typically
    /// from a branch merged after a later migration was deployed.
    #[error(
        "migration {version} ({file}) is pending but migration {highest_applied} is already applied; give it a version above {highest_applied}, or allow it with `Runner::allow_out_of_order(true)`"
    )]
    OutOfOrder {
        /// The pending migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// The highest applied version.
        highest_applied: i64,
    },

    /// A `no-transaction` migration started and did not finish, so part of it
    /// may have been applied. It is never re-run blindly.
    ///
    /// Its statements run one at a time, and each one's completion is
    /// recorded before the next is sent: the first `statements_done`
    /// completed, and the one after them was started and may or may not
    /// have completed (the runner may have died while the database went on
    /// with it), so an operator checks it before resolving.
    #[error(
        "migration {version} ({file}) runs outside a transaction and did not finish: {}; check it, complete or undo the rest by hand, then record which with `migrate resolve {version} --as completed` or `--as rolled-back` (`Runner::resolve`; the history table is {table}){}",
        in_doubt(*statements_done),
        if *edited { edited_since_started(*version) } else { String::new() }
    )]
    Incomplete {
        /// The migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// How many of its statements are known to have completed. The next
        /// one, statement `statements_done + 1`, was started and may or may
        /// not have completed.
        statements_done: i64,
        /// The history table.
        table: String,
        /// Whether its file changed since it started: the binary's checksum
        /// is not the one recorded when it started. Reported as incomplete
        /// first, since the half-applied state is what needs a person.
        edited: bool,
    },

    /// A rollback would revert a migration that cannot be reverted. Nothing
    /// was reverted.
    #[error("migration {version}{} cannot be rolled back: {reason}; nothing was reverted", file.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Irreversible {
        /// The migration's version.
        version: i64,
        /// Its up file, when the binary has it.
        file: Option<String>,
        /// Why it cannot be reverted.
        reason: Irreversibility,
    },

    /// A `no-transaction` script cannot be split into statements with the
    /// database's rules (a string or comment that never ends), so running it
    /// one statement at a time would drop what follows. Nothing was run.
    #[error(
        "migration {version} ({file}) line {line}, column {column}: {reason}, so it cannot be split into statements to run outside a transaction; nothing was run"
    )]
    Unsplittable {
        /// The migration's version.
        version: i64,
        /// The script's file.
        file: String,
        /// The 1-based line where the unterminated token starts.
        line: usize,
        /// The 1-based column where it starts.
        column: usize,
        /// What never ends.
        reason: String,
    },

    /// A version was named that this binary has no migration for.
    #[error("there is no migration {version} in this binary")]
    UnknownVersion {
        /// The version named.
        version: i64,
    },

    /// A version was named that the database has not applied.
    #[error("migration {version} is not applied in the database")]
    NotApplied {
        /// The version named.
        version: i64,
    },

    /// `resolve` was asked about a migration that finished normally.
    #[error("migration {version} is not incomplete: it finished, so there is nothing to resolve")]
    NotIncomplete {
        /// The version named.
        version: i64,
    },

    /// A migration that runs in a transaction contains a statement that
    /// PostgreSQL refuses inside a transaction block. Nothing was run.
    #[error(
        "migration {version} ({file}) line {line}: PostgreSQL refuses {command} inside a transaction block, and this migration runs in one; move the statement to its own migration whose file starts with `-- migrate:no-transaction`"
    )]
    RefusedInTransaction {
        /// The migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// The 1-based line where the statement starts.
        line: usize,
        /// The command, such as `CREATE INDEX CONCURRENTLY`.
        command: &'static str,
    },

    /// Another runner held the migration lock for longer than
    /// [`Runner::lock_timeout`](crate::Runner::lock_timeout).
    #[error(
        "timed out after {waited:?} waiting for the migration lock of the history table {table}: {}",
        holder.as_ref().map_or_else(|| "PostgreSQL did not say which session holds it".to_owned(), |h| format!("it is held by {h}"))
    )]
    LockTimeout {
        /// The history table whose lock was awaited.
        table: String,
        /// How long the runner waited.
        waited: Duration,
        /// The session holding the lock, when PostgreSQL can tell. Boxed to
        /// keep every `Result` of the crate small.
        holder: Option<Box<LockHolder>>,
    },

    /// A migration's SQL failed. Transactional migrations were rolled back.
    #[error("migration {version} ({file}) failed{}", statement.map(|n| format!(" at statement {n}")).unwrap_or_default())]
    Migration {
        /// The migration's version.
        version: i64,
        /// The file that failed: the up file, or the down file when rolling back.
        file: String,
        /// The 1-based statement that failed, for migrations run one statement at a time.
        statement: Option<usize>,
        /// The database's error.
        #[source]
        source: DriverError,
    },

    /// The database failed outside any migration's SQL.
    #[error("database error while {action}")]
    Database {
        /// What the runner was doing.
        action: String,
        /// The database's error.
        #[source]
        source: DriverError,
    },

    /// An adoption of another tool's history was refused: its table
    /// records a failed or dirty state, names a migration the folder lacks,
    /// or disagrees with migrate's own history. Nothing was written.
    #[error("cannot adopt {tool}'s history from its table {table}: {problem}; nothing was written")]
    Adopt {
        /// The tool.
        tool: Tool,
        /// Its table, as named.
        table: String,
        /// What is wrong.
        problem: AdoptProblem,
    },

    /// A SQLite `no-transaction` migration turned foreign keys off (as the
    /// twelve-step table rebuild does) and left rows that break them. Its
    /// statements ran; its history row stays unfinished, so the next run
    /// stops at it.
    #[error(
        "migration {version} ({file}) turned foreign keys off and left rows that break them: {}; repair or delete those rows, then record the migration with `migrate resolve {version} --as completed` (`Runner::resolve`; the history table is {table})",
        listed(violations)
    )]
    ForeignKeyViolation {
        /// The migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// The rows, as `PRAGMA foreign_key_check` reports them (at most
        /// a thousand).
        violations: Vec<ForeignKeyViolation>,
        /// The history table.
        table: String,
    },

    /// The checks that [`Runner::verify_after`](crate::Runner::verify_after)
    /// runs after a run found problems. The migrations the run applied
    /// committed before the checks.
    #[error(
        "{}, then {verification}",
        match applied.len() { 0 => "the run applied nothing".to_owned(), 1 => "the run applied 1 migration".to_owned(), n => format!("the run applied {n} migrations") }
    )]
    Unverified {
        /// The migrations the run applied, which stay applied.
        applied: Vec<Applied>,
        /// What the checks found. Boxed to keep every `Result` of the crate
        /// small.
        verification: Box<Verification>,
    },

    /// The database answered something migrate cannot read: a history row
    /// edited into another shape, or a driver that breaks its contract.
    #[error("unexpected answer from the database while {action}: {found}")]
    UnexpectedAnswer {
        /// What the runner was doing.
        action: String,
        /// What it found.
        found: String,
    },
}

/// A database set up in a way migrate cannot work with, such as a
/// `search_path` naming no schema that exists. It is the
/// [`source`](std::error::Error::source) of an [`Error::Database`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misconfigured {
    /// What is wrong, and what to do.
    pub problem: String,
}

impl fmt::Display for Misconfigured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem)
    }
}

impl std::error::Error for Misconfigured {}

/// Why a migration cannot be rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Irreversibility {
    /// The migration has no `.down.sql` file.
    NoDownScript,
    /// The migration is applied but missing from this binary, so its down
    /// script is unknown.
    MissingFromBinary,
}

impl fmt::Display for Irreversibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Irreversibility::NoDownScript => "it has no .down.sql file",
            Irreversibility::MissingFromBinary => {
                "it is applied but missing from this binary, so its down script is unknown"
            }
        })
    }
}

/// Which statements of an incomplete migration completed, and which is in doubt.
fn in_doubt(statements_done: i64) -> String {
    let started = statements_done.saturating_add(1);
    // A migration whose statements all ran can stay unfinished too (a
    // foreign key check failed after it), hence "if there is one".
    match statements_done {
        0 => format!("statement {started} was started and may or may not have completed"),
        1 => format!(
            "statement 1 completed, and statement {started}, if there is one, was started and may or may not have completed"
        ),
        _ => format!(
            "statements 1 to {statements_done} completed, and statement {started}, if there is one, was started and may or may not have completed"
        ),
    }
}

/// What to do when an incomplete migration's file was also edited.
fn edited_since_started(version: i64) -> String {
    format!(
        "; its file was also edited since it started: resolve it first, then `--as rolled-back` lets the next run apply the edited file, while `--as completed` keeps the checksum it started with (accept the edit afterwards with `migrate repair {version}`)"
    )
}

impl Error {
    pub(crate) fn database(action: impl Into<String>, source: DriverError) -> Error {
        Error::Database {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn unexpected(action: impl Into<String>, found: impl Into<String>) -> Error {
        Error::UnexpectedAnswer {
            action: action.into(),
            found: found.into(),
        }
    }
}

/// The first few of many violations, for a message.
fn listed(violations: &[ForeignKeyViolation]) -> String {
    const SHOWN: usize = 10;
    let mut text = violations
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > SHOWN {
        text.push_str(&format!("; and {} more", violations.len() - SHOWN));
    }
    text
}

/// The database session that holds a lock, as `pg_stat_activity` shows it.
///
/// The fields other than `pid` are `None` when the role running the
/// migrations may not see other roles' sessions (it needs `pg_read_all_stats`
/// or to be the same role), or when the holder is not a client backend.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// The backend's process id, for `pg_terminate_backend`.
    pub pid: i32,
    /// The `application_name` the holder connected with.
    pub application_name: Option<String>,
    /// The holder's client address; `None` for a unix socket.
    pub client_addr: Option<String>,
    /// What the session is doing: `active`, `idle`, `idle in transaction`…
    pub state: Option<String>,
    /// When its current or last query started.
    pub query_start: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unknown =
            |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".to_owned());
        write!(
            f,
            "pid {} (application_name `{}`, client {}, state {}, query started at {})",
            self.pid,
            unknown(&self.application_name),
            self.client_addr
                .clone()
                .unwrap_or_else(|| "local socket or unknown".to_owned()),
            unknown(&self.state),
            unknown(&self.query_start),
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
