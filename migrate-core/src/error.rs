//! The one error type of the crate.

use std::path::PathBuf;

/// The error of a database driver, boxed so that this enum does not depend on
/// which backends are enabled. It is a [`rusqlite::Error`] or a
/// [`tokio_postgres::Error`]; `downcast_ref` gets it back.
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
        "migration {version} ({file}) runs outside a transaction and did not finish: {statements_done} of its statements completed; complete or undo the rest by hand, then delete its row (version {version}) from the table {table} to let it run again"
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
    pub(crate) fn database(action: impl Into<String>, source: impl Into<DriverError>) -> Error {
        Error::Database {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
