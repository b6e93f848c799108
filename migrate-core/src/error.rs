//! The one error type of the crate.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The error of a database driver, boxed so that this enum does not depend on
/// which backends are enabled. It is a [`rusqlite::Error`] or a
/// [`tokio_postgres::Error`]; `downcast_ref` gets it back.
///
#[cfg_attr(
    not(feature = "sqlite"),
    doc = "[`rusqlite::Error`]: https://docs.rs/rusqlite/latest/rusqlite/enum.Error.html"
)]
#[cfg_attr(
    not(feature = "postgres"),
    doc = "[`tokio_postgres::Error`]: https://docs.rs/tokio-postgres/latest/tokio_postgres/error/struct.Error.html"
)]
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
    #[error(
        "migration {version} ({file}) runs outside a transaction and did not finish: {statements_done} of its statements completed; complete or undo the rest by hand, then record which with `migrate resolve {version} --as completed` or `--as rolled-back` (`Runner::resolve`; the history table is {table})"
    )]
    Incomplete {
        /// The migration's version.
        version: i64,
        /// Its up file.
        file: String,
        /// How many of its statements completed.
        statements_done: i64,
        /// The history table.
        table: String,
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
        reason: &'static str,
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
}

impl Error {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn database(action: impl Into<String>, source: impl Into<DriverError>) -> Error {
        Error::Database {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// The database session that holds a lock, as `pg_stat_activity` shows it.
///
/// The fields other than `pid` are `None` when the role running the
/// migrations may not see other roles' sessions (it needs `pg_read_all_stats`
/// or to be the same role), or when the holder is not a client backend.
#[derive(Debug, Clone, PartialEq, Eq)]
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
