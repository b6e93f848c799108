//! Running a database command.

use migrate_core::{
    Adoption, Error, Migration, Migrations, Operation, Output, Report, Resolution, Rollback,
    Runner, Source, Status, TransactionMode, Verification,
};

use crate::database::{self, Database};
use crate::output;
use crate::{DatabaseArgs, DatabaseCommand, ResolutionArg};

/// What a command produced.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// `status`.
    Status(Status),
    /// `up`, `down` and `baseline`.
    Report(Report),
    /// `up --dry-run`: the versions and descriptions that would be applied.
    Plan(Vec<(i64, String)>),
    /// `repair`: whether the recorded checksum changed.
    Repaired {
        /// The version.
        version: i64,
        /// False when the record already matched.
        changed: bool,
    },
    /// `resolve`.
    Resolved {
        /// The version.
        version: i64,
        /// How it was settled.
        resolution: ResolutionArg,
    },
    /// `adopt`.
    Adopted(Adoption),
    /// `verify`: exits with 5 when it found anything.
    Verified(Verification),
    /// A message for the folder commands of the `migrate` binary.
    Done(String),
}

/// Why a command failed, with its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// A short, stable name of the kind of failure, for `--json`.
    pub kind: &'static str,
    /// The error and its causes, as `error: cause: cause`.
    pub message: String,
}

impl Failure {
    /// A mistake on the command line (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            kind: "usage",
            message: message.into(),
        }
    }

    /// An invalid migrations folder (exit code 3).
    pub fn invalid_folder(message: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            kind: "invalid-folder",
            message: message.into(),
        }
    }

    pub(crate) fn database(context: String, error: &dyn std::error::Error) -> Failure {
        Failure {
            code: 1,
            kind: "database",
            message: format!("{context}: {}", chain(error)),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let (code, kind) = match &error {
            Error::InvalidFolder { .. } => (3, "invalid-folder"),
            Error::InvalidTableName { .. } => (2, "usage"),
            Error::Drift { .. } => (4, "drift"),
            Error::Missing { .. } => (4, "missing"),
            Error::OutOfOrder { .. } => (4, "out-of-order"),
            Error::Incomplete { .. } => (4, "incomplete"),
            Error::Irreversible { .. } => (4, "irreversible"),
            Error::UnknownVersion { .. } => (4, "unknown-version"),
            Error::NotApplied { .. } => (4, "not-applied"),
            Error::NotIncomplete { .. } => (4, "not-incomplete"),
            Error::Migration { .. } => (1, "migration-failed"),
            Error::RefusedInTransaction { .. } => (3, "refused-in-transaction"),
            Error::Unsplittable { .. } => (3, "unsplittable"),
            Error::LockTimeout { .. } => (1, "lock-timeout"),
            Error::Adopt { .. } => (4, "adopt-refused"),
            Error::ForeignKeyViolation { .. } => (1, "foreign-key-violation"),
            Error::Unverified { .. } => (5, "verify-found-problems"),
            _ => (1, "database"),
        };
        Failure {
            code,
            kind,
            message: chain(&error),
        }
    }
}

/// The error and its causes, as `error: cause: cause`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runs one database command over `migrations`.
pub fn execute(
    migrations: &Migrations,
    args: &DatabaseArgs,
    command: &DatabaseCommand,
) -> Result<Outcome, Failure> {
    let database = database::open(args.database_url.as_deref())?;
    let runner = configure(
        migrations
            .runner()
            .try_history_table(&args.table)?
            .on_progress(|event| output::progress(event, args.json)),
        command,
    );
    let operation = operation(command);
    let output = match database {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(conn) => runner.perform_sqlite(&conn, operation),
        #[cfg(feature = "postgres")]
        Database::Postgres(client, runtime) => {
            runtime.block_on(runner.perform_postgres(&client, operation))
        }
    };
    Ok(outcome(command, output?))
}

/// The settings of `up`.
fn configure<'a>(mut runner: Runner<'a>, command: &DatabaseCommand) -> Runner<'a> {
    if let DatabaseCommand::Up {
        to,
        allow_missing,
        allow_out_of_order,
        per_migration,
        ..
    } = command
    {
        runner = runner
            .allow_missing(*allow_missing)
            .allow_out_of_order(*allow_out_of_order);
        if let Some(to) = to {
            runner = runner.target(*to);
        }
        if *per_migration {
            runner = runner.transaction_mode(TransactionMode::PerMigration);
        }
    }
    runner
}

/// The engine's operation for a command.
fn operation(command: &DatabaseCommand) -> Operation {
    match command {
        DatabaseCommand::Status => Operation::Status,
        DatabaseCommand::Up { dry_run: true, .. } => Operation::Pending,
        DatabaseCommand::Up { .. } => Operation::Apply,
        DatabaseCommand::Down { to, steps } => Operation::Rollback(rollback(*to, *steps)),
        DatabaseCommand::Baseline { version } => Operation::Baseline(*version),
        DatabaseCommand::Repair { version } => Operation::Repair(*version),
        DatabaseCommand::Resolve {
            version,
            resolution,
        } => Operation::Resolve(*version, resolution.into()),
        DatabaseCommand::Adopt { from, from_table } => {
            let source = Source::new((*from).into());
            Operation::Adopt(match from_table {
                Some(table) => source.table(table),
                None => source,
            })
        }
        DatabaseCommand::Verify => Operation::Verify,
    }
}

/// What the command shows of its operation's output.
fn outcome(command: &DatabaseCommand, output: Output<'_>) -> Outcome {
    match (command, output) {
        (_, Output::Status(status)) => Outcome::Status(status),
        (_, Output::Report(report)) => Outcome::Report(report),
        (_, Output::Pending(pending)) => Outcome::Plan(plan(pending)),
        (_, Output::Adopted(adoption)) => Outcome::Adopted(adoption),
        (_, Output::Verified(verification)) => Outcome::Verified(verification),
        (DatabaseCommand::Repair { version }, Output::Repaired(changed)) => Outcome::Repaired {
            version: *version,
            changed,
        },
        (
            DatabaseCommand::Resolve {
                version,
                resolution,
            },
            _,
        ) => Outcome::Resolved {
            version: *version,
            resolution: *resolution,
        },
        (_, output) => Outcome::Done(format!("{output:?}")),
    }
}

fn plan(pending: Vec<&Migration>) -> Vec<(i64, String)> {
    pending
        .into_iter()
        .map(|m| (m.version(), m.description().to_owned()))
        .collect()
}

fn rollback(to: Option<i64>, steps: Option<usize>) -> Rollback {
    match (to, steps) {
        (Some(to), _) => Rollback::To(to),
        (None, Some(steps)) => Rollback::Steps(steps),
        // clap requires one of the two; rolling back nothing is the safe reading.
        (None, None) => Rollback::Steps(0),
    }
}

impl From<&ResolutionArg> for Resolution {
    fn from(resolution: &ResolutionArg) -> Resolution {
        match resolution {
            ResolutionArg::Completed => Resolution::Completed,
            ResolutionArg::RolledBack => Resolution::RolledBack,
        }
    }
}
