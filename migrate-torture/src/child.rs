//! One run of a kill trial, in a process of its own that the trial may kill.
//! The exit code tells the trial what happened: 0 applied, [`INCOMPLETE`] a
//! `no-transaction` migration is incomplete (its version and statements done
//! on stdout), 1 any other error (on stderr).

use std::path::Path;
use std::process::ExitCode;

use migrate_core::{Error, Migrations, TransactionMode};

use crate::Engine;

/// The exit code of a run that found an incomplete migration.
pub(crate) const INCOMPLETE: u8 = 10;

pub(crate) fn run(engine: Engine, database: &str, folder: &Path, per_migration: bool) -> ExitCode {
    let migrations = match Migrations::from_folder(folder) {
        Ok(migrations) => migrations,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let mode = match per_migration {
        true => TransactionMode::PerMigration,
        false => TransactionMode::Single,
    };
    let runner = migrations.runner().transaction_mode(mode);
    let result = match engine {
        Engine::Sqlite => migrate_core::rusqlite::Connection::open(database)
            .map_err(|error| error.to_string())
            .and_then(|mut conn| runner.run(&mut conn).map_err(describe)),
        Engine::Postgres => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())
            .and_then(|runtime| {
                runtime.block_on(async {
                    let (mut client, connection) =
                        tokio_postgres::connect(database, tokio_postgres::NoTls)
                            .await
                            .map_err(|error| error.to_string())?;
                    tokio::spawn(connection);
                    runner.run_async(&mut client).await.map_err(describe)
                })
            }),
    };
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) if message.starts_with("incomplete ") => {
            println!("{message}");
            ExitCode::from(INCOMPLETE)
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// An error as the trial reads it: `incomplete <version> <statements done>`
/// for an incomplete migration, its message for anything else.
fn describe(error: Error) -> String {
    match error {
        Error::Incomplete {
            version,
            statements_done,
            ..
        } => format!("incomplete {version} {statements_done}"),
        other => {
            let mut message = other.to_string();
            let mut source = std::error::Error::source(&other);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message
        }
    }
}
