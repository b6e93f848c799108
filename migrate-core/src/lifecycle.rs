//! Rolling back, baselining, repairing and resolving: what each operation
//! would change, decided the same way for every database before anything runs.

use crate::error::Irreversibility;
use crate::history::{HistoryRow, TableName};
use crate::plan::{Reconciled, drift_error, incomplete_error, is_drifted, reconcile};
use crate::{Error, Migration, Result, Runner, Script};

/// How far to roll back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollback {
    /// Revert every applied migration above this version; it stays applied.
    To(i64),
    /// Revert this many of the most recently applied migrations.
    Steps(usize),
}

/// What an operator did about a `no-transaction` migration that stopped
/// part-way (see [`Error::Incomplete`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The rest of the migration was completed by hand: record it as applied.
    Completed,
    /// What it did was undone by hand: forget it, so the next run applies it again.
    RolledBack,
}

/// The applied migrations to revert, newest first, each with its down
/// script. Refuses before anything runs when one of them has no down script,
/// is missing from the binary, has drifted or is incomplete.
pub(crate) fn plan_rollback<'m>(
    runner: &Runner<'m>,
    table: &TableName,
    history: &[HistoryRow],
    rollback: Rollback,
) -> Result<Vec<(&'m Migration, &'m Script)>> {
    let mut applied: Vec<Reconciled<'m, '_>> = reconcile(runner.migrations.as_slice(), history)
        .into_iter()
        .filter(|entry| !matches!(entry, Reconciled::Pending { .. }))
        .collect();
    applied.reverse();
    let count = match rollback {
        Rollback::To(version) => applied
            .iter()
            .take_while(|entry| version_of(entry) > version)
            .count(),
        Rollback::Steps(steps) => steps.min(applied.len()),
    };
    applied.truncate(count);
    let mut reverts = Vec::with_capacity(count);
    for entry in applied {
        match entry {
            Reconciled::Missing { row } => {
                return Err(Error::Irreversible {
                    version: row.version,
                    file: None,
                    reason: Irreversibility::MissingFromBinary,
                });
            }
            Reconciled::Applied { migration, row } => {
                check_applied(migration, row, table)?;
                let down = migration.down().ok_or_else(|| Error::Irreversible {
                    version: migration.version(),
                    file: Some(migration.file().to_owned()),
                    reason: Irreversibility::NoDownScript,
                })?;
                reverts.push((migration, down));
            }
            Reconciled::Pending { .. } => {}
        }
    }
    Ok(reverts)
}

/// The migrations up to `version` to record as applied without running them.
pub(crate) fn plan_baseline<'m>(
    runner: &Runner<'m>,
    table: &TableName,
    history: &[HistoryRow],
    version: i64,
) -> Result<Vec<&'m Migration>> {
    if runner.migrations.get(version).is_none() {
        return Err(Error::UnknownVersion { version });
    }
    let mut baseline = Vec::new();
    for entry in reconcile(runner.migrations.as_slice(), history) {
        match entry {
            Reconciled::Applied { migration, row } => check_applied(migration, row, table)?,
            Reconciled::Pending { migration, .. } if migration.version() <= version => {
                baseline.push(migration)
            }
            Reconciled::Pending { .. } | Reconciled::Missing { .. } => {}
        }
    }
    Ok(baseline)
}

/// The applied migration whose recorded checksum `repair` replaces with the
/// binary's, or `None` when they already agree.
pub(crate) fn plan_repair<'m>(
    runner: &Runner<'m>,
    history: &[HistoryRow],
    version: i64,
) -> Result<Option<&'m Migration>> {
    let migration = runner
        .migrations
        .get(version)
        .ok_or(Error::UnknownVersion { version })?;
    let row = find_row(history, version).ok_or(Error::NotApplied { version })?;
    Ok(is_drifted(migration, row).then_some(migration))
}

/// Checks that `version` is an incomplete `no-transaction` migration.
pub(crate) fn plan_resolve(history: &[HistoryRow], version: i64) -> Result<()> {
    match find_row(history, version) {
        None => Err(Error::NotApplied { version }),
        Some(row) if row.finished => Err(Error::NotIncomplete { version }),
        Some(_) => Ok(()),
    }
}

/// An incomplete migration first, as [`plan`](crate::plan::plan) reports it.
fn check_applied(migration: &Migration, row: &HistoryRow, table: &TableName) -> Result<()> {
    if !row.finished {
        return Err(incomplete_error(migration, row, table));
    }
    if is_drifted(migration, row) {
        return Err(drift_error(migration, row));
    }
    Ok(())
}

fn version_of(entry: &Reconciled<'_, '_>) -> i64 {
    match entry {
        Reconciled::Applied { migration, .. } | Reconciled::Pending { migration, .. } => {
            migration.version()
        }
        Reconciled::Missing { row } => row.version,
    }
}

fn find_row(history: &[HistoryRow], version: i64) -> Option<&HistoryRow> {
    history
        .binary_search_by_key(&version, |row| row.version)
        .ok()
        .map(|index| &history[index])
}
