//! Verifying a migrated database, and the foreign key check that follows a
//! SQLite migration that turned foreign keys off.

use super::cx::{Cx, database};
use crate::dialect::{self, Columns, verify as checks};
use crate::driver::{Dialect, Failure, FailureKind, Piece, Purpose, Row};
use crate::verify::{Finding, ForeignKeyViolation, Verification};
use crate::{Error, Migration, Result};

/// Runs every check of the connection's engine, and reads the history for
/// unfinished migrations. Changes nothing and takes no lock.
pub(super) async fn verify(cx: &Cx<'_, '_>) -> Result<Verification> {
    let mut findings = match cx.dialect() {
        Dialect::Sqlite => sqlite_checks(cx).await,
        Dialect::Postgres => postgres_checks(cx).await?,
    };
    findings.extend(incomplete(cx).await?);
    Ok(Verification { findings })
}

/// SQLite's two checks. A check that SQLite stops with an error (a corrupt
/// page stops `integrity_check` part-way) is itself a finding: on a file
/// that opened, nothing but its state makes a read fail.
async fn sqlite_checks(cx: &Cx<'_, '_>) -> Vec<Finding> {
    let mut findings = match run_one(cx, checks::SQLITE_INTEGRITY.to_owned()).await {
        Ok(rows) => checks::sqlite_integrity(&rows),
        Err(failure) => {
            let mut findings = vec![stopped(checks::SQLITE_INTEGRITY, &failure)];
            findings.extend(table_by_table(cx).await);
            findings
        }
    };
    findings.extend(match run_one(cx, checks::sqlite_foreign_keys()).await {
        Ok(rows) => checks::sqlite_foreign_key_findings(&rows),
        Err(failure) => vec![stopped("PRAGMA foreign_key_check", &failure)],
    });
    findings
}

/// The integrity of each table on its own, after the whole check stopped:
/// SQLite stops at the first page it cannot read, and its error does not
/// say whose page it was. Nothing more is found when even the schema
/// cannot be read.
async fn table_by_table(cx: &Cx<'_, '_>) -> Vec<Finding> {
    let Ok(tables) = run_one(cx, checks::SQLITE_TABLES.to_owned()).await else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for table in tables
        .iter()
        .filter_map(|row| row.first().cloned().flatten())
    {
        let check = checks::sqlite_table_integrity(&table);
        match run_one(cx, check).await {
            Ok(rows) => {
                findings.extend(checks::sqlite_integrity(&rows).into_iter().map(|finding| {
                    match finding {
                        Finding::Integrity { message } => Finding::Integrity {
                            message: format!("table {table}: {message}"),
                        },
                        other => other,
                    }
                }))
            }
            Err(failure) => findings.push(Finding::Integrity {
                message: format!("table {table} cannot be read: {}", failure.error),
            }),
        }
    }
    findings
}

async fn postgres_checks(cx: &Cx<'_, '_>) -> Result<Vec<Finding>> {
    let statements = vec![
        checks::POSTGRES_INVALID_INDEXES.to_owned(),
        checks::POSTGRES_NOT_VALID.to_owned(),
        checks::POSTGRES_SEQUENCES.to_owned(),
    ];
    let results = cx
        .query(Purpose::Verify, statements)
        .await
        .map_err(|failure| database("checking indexes, constraints and sequences", failure))?;
    Ok(checks::postgres_findings(&results))
}

/// The migrations the history records as unfinished. A database without a
/// history table has none. On SQLite a read that fails is a finding, as
/// the checks' failures are.
async fn incomplete(cx: &Cx<'_, '_>) -> Result<Vec<Finding>> {
    let read = cx
        .query(
            Purpose::ReadHistory,
            vec![cx.sql.read_history(Columns::All)],
        )
        .await;
    let rows = match read {
        Ok(results) => results.into_iter().next().unwrap_or_default(),
        Err(failure) if failure.kind == FailureKind::MissingTable => return Ok(Vec::new()),
        Err(failure) if cx.dialect() == Dialect::Sqlite => {
            return Ok(vec![stopped(&cx.reading_history(), &failure)]);
        }
        Err(failure) => return Err(database(cx.reading_history(), failure)),
    };
    let history = dialect::parse_history(&rows, &cx.reading_history())?;
    Ok(history
        .into_iter()
        .filter(|row| !row.finished)
        .map(|row| Finding::Incomplete {
            version: row.version,
            description: row.description,
            statements_done: row.statements_done.unwrap_or(0),
        })
        .collect())
}

async fn run_one(cx: &Cx<'_, '_>, statement: String) -> Result<Vec<Row>, Failure> {
    let results = cx.query(Purpose::Verify, vec![statement]).await?;
    Ok(results.into_iter().next().unwrap_or_default())
}

fn stopped(check: &str, failure: &Failure) -> Finding {
    Finding::Integrity {
        message: format!("{check} could not finish: {}", failure.error),
    }
}

/// After a SQLite `no-transaction` migration whose statements turned
/// foreign key enforcement off (SQLite's twelve-step table rebuild), checks
/// every foreign key before the run goes on, as that procedure requires:
/// with enforcement off, the migration's own changes were never checked.
///
/// A violation fails the run, naming the tables, and leaves the
/// migration's row unfinished with every statement counted, so that the
/// next run stops at it until an operator has repaired the rows and
/// resolved it.
pub(super) async fn foreign_keys_after(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    statements: &[&str],
) -> Result<()> {
    if cx.dialect() != Dialect::Sqlite
        || !statements
            .iter()
            .any(|statement| checks::turns_foreign_keys_off(statement))
    {
        return Ok(());
    }
    let action = format!(
        "checking foreign keys after migration {}, which turned them off",
        migration.version()
    );
    let rows = run_one(cx, checks::sqlite_foreign_keys())
        .await
        .map_err(|failure| database(action.as_str(), failure))?;
    let findings = checks::sqlite_foreign_key_findings(&rows);
    if findings.is_empty() {
        return Ok(());
    }
    let progress = Piece::plain(
        cx.sql
            .record_progress(migration.version(), statements.len()),
    );
    cx.execute(Purpose::Record, vec![progress])
        .await
        .map_err(|failure| database(action.as_str(), failure))?;
    let violations: Vec<ForeignKeyViolation> = findings
        .into_iter()
        .filter_map(|finding| match finding {
            Finding::ForeignKey(violation) => Some(violation),
            _ => None,
        })
        .collect();
    Err(Error::ForeignKeyViolation {
        version: migration.version(),
        file: migration.file().to_owned(),
        violations,
        table: cx.sql.table().plain().to_owned(),
    })
}

/// Whether a run's checks found anything, as the error of `verify_after`.
pub(super) fn unverified(
    applied: Vec<crate::Applied>,
    verification: Verification,
) -> Result<Vec<crate::Applied>> {
    if verification.is_clean() {
        return Ok(applied);
    }
    Err(Error::Unverified {
        applied,
        verification: Box::new(verification),
    })
}
