//! Deciding what to apply: the history compared with the binary's migrations,
//! the same for every database.

use migrate_format::checksum;

use crate::history::{HistoryRow, TableName};
use crate::{Error, Migration, Result, Runner};

/// One version, as the binary and the history table see it.
#[derive(Debug)]
pub(crate) enum Reconciled<'m, 'h> {
    /// In the binary and in the history.
    Applied {
        migration: &'m Migration,
        row: &'h HistoryRow,
    },
    /// In the binary only.
    Pending {
        migration: &'m Migration,
        /// Its version is below the highest applied one.
        out_of_order: bool,
    },
    /// In the history only.
    Missing { row: &'h HistoryRow },
}

/// Walks both lists, each sorted by version, in one pass.
pub(crate) fn reconcile<'m, 'h>(
    migrations: &'m [Migration],
    history: &'h [HistoryRow],
) -> Vec<Reconciled<'m, 'h>> {
    let highest_applied = history.iter().map(|row| row.version).max();
    let mut rows = history.iter().peekable();
    let mut reconciled = Vec::with_capacity(migrations.len().max(history.len()));
    for migration in migrations {
        while let Some(row) = rows.next_if(|row| row.version < migration.version()) {
            reconciled.push(Reconciled::Missing { row });
        }
        match rows.next_if(|row| row.version == migration.version()) {
            Some(row) => reconciled.push(Reconciled::Applied { migration, row }),
            None => reconciled.push(Reconciled::Pending {
                migration,
                out_of_order: highest_applied.is_some_and(|highest| highest > migration.version()),
            }),
        }
    }
    reconciled.extend(rows.map(|row| Reconciled::Missing { row }));
    reconciled
}

pub(crate) fn drift_error(migration: &Migration, row: &HistoryRow) -> Error {
    Error::Drift {
        version: migration.version(),
        file: migration.file().to_owned(),
        recorded: row.checksum.clone(),
        embedded: migration.checksum_hex(),
    }
}

pub(crate) fn incomplete_error(
    migration: &Migration,
    row: &HistoryRow,
    table: &TableName,
) -> Error {
    Error::Incomplete {
        version: migration.version(),
        file: migration.file().to_owned(),
        statements_done: row.statements_done.unwrap_or(0),
        table: table.plain().to_owned(),
        edited: is_drifted(migration, row),
    }
}

/// Whether the recorded checksum is the binary's.
pub(crate) fn is_drifted(migration: &Migration, row: &HistoryRow) -> bool {
    !checksum::matches_hex(migration.checksum(), &row.checksum)
}

/// The migrations to apply, in order, or the reason not to apply any.
///
/// An incomplete migration is reported first, even when its file was edited
/// since it started (a fix after a failure, typically): its half-applied
/// state needs a person before anything else, and the error says what to
/// do about the edit too. Drift is checked next, for every applied
/// migration: nothing is applied to a database whose history disagrees with
/// the binary.
pub(crate) fn plan<'m>(
    runner: &Runner<'m>,
    table: &TableName,
    history: &[HistoryRow],
) -> Result<Vec<&'m Migration>> {
    let reconciled = reconcile(runner.migrations.as_slice(), history);
    let highest_applied = history
        .iter()
        .map(|row| row.version)
        .max()
        .unwrap_or(i64::MIN);
    for entry in &reconciled {
        if let Reconciled::Applied { migration, row } = entry
            && !row.finished
        {
            return Err(incomplete_error(migration, row, table));
        }
    }
    for entry in &reconciled {
        if let Reconciled::Applied { migration, row } = entry
            && is_drifted(migration, row)
        {
            return Err(drift_error(migration, row));
        }
    }
    let mut pending = Vec::new();
    for entry in reconciled {
        match entry {
            Reconciled::Applied { .. } => {}
            Reconciled::Missing { row } if !runner.allow_missing => {
                return Err(Error::Missing {
                    version: row.version,
                    description: row.description.clone(),
                });
            }
            Reconciled::Missing { .. } => {}
            Reconciled::Pending { migration, .. }
                if runner.target.is_some_and(|t| migration.version() > t) => {}
            Reconciled::Pending {
                migration,
                out_of_order: true,
            } if !runner.allow_out_of_order => {
                return Err(Error::OutOfOrder {
                    version: migration.version(),
                    file: migration.file().to_owned(),
                    highest_applied,
                });
            }
            Reconciled::Pending { migration, .. } => pending.push(migration),
        }
    }
    Ok(pending)
}
