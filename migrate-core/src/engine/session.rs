//! Connection settings: **a connection setting made by a migration lasts
//! until the end of that migration.** After each migration that changes
//! one (a `SET` or `RESET` on PostgreSQL, a connection `PRAGMA` on SQLite,
//! found in its statements), the engine puts it back as it was before the
//! migration. So a migration sees the same settings whether the ones before
//! it ran in the same process or in an earlier deploy, and the
//! application's connection keeps its own settings.
//!
//! - PostgreSQL, in a batch: each value is saved in the batch, just before
//!   the migration, into a transaction-local setting of migrate's, and set
//!   back as a session setting right after it, before its history row. The
//!   batch stays one message. A batch that fails is rolled back, which
//!   undoes its `SET`s too.
//! - SQLite, in a batch: the settings are read before the batch, and those
//!   a migration sets are written back right after it. A failed batch has
//!   them written back too, since a rollback does not undo a `PRAGMA`.
//! - A `no-transaction` script: saved (PostgreSQL) or read (SQLite) before
//!   its first statement, restored after its last, or after the one that
//!   failed.

use super::cx::{Cx, database};
use crate::driver::{Dialect, Piece, Purpose};
use crate::{Migration, Result, Script};

/// The settings each script of a batch changes, and on SQLite their values
/// before the batch.
#[derive(Debug, Default)]
pub(super) struct Settings {
    changed: Vec<Vec<String>>,
    saved: Vec<i64>,
}

impl Settings {
    /// Finds the settings `scripts` change, and on SQLite reads their
    /// values when any does.
    pub(super) async fn before(cx: &Cx<'_, '_>, scripts: &[&Script]) -> Result<Settings> {
        let changed: Vec<Vec<String>> = scripts
            .iter()
            .map(|script| cx.sql.settings_changed(script.sql()))
            .collect();
        let saved = match cx.sql.read_settings() {
            Some(read) if changed.iter().any(|names| !names.is_empty()) => {
                read_values(cx, read).await?
            }
            _ => Vec::new(),
        };
        Ok(Settings { changed, saved })
    }

    /// The piece that saves what script `index` changes, before it.
    pub(super) fn save(&self, cx: &Cx<'_, '_>, index: usize) -> Option<Piece> {
        let names = self.changed.get(index).filter(|names| !names.is_empty())?;
        cx.sql.save_settings(names, true).map(Piece::plain)
    }

    /// The piece that restores what script `index` changed, after it.
    pub(super) fn restore(&self, cx: &Cx<'_, '_>, index: usize) -> Option<Piece> {
        let names = self.changed.get(index).filter(|names| !names.is_empty())?;
        Some(Piece::plain(cx.sql.restore_settings(
            names,
            &self.saved,
            true,
        )))
    }

    /// After a failed batch on SQLite, whose rollback leaves the pragmas as
    /// the migrations set them: writes back every setting the batch's
    /// scripts change. Its own failure is not reported over the batch's.
    pub(super) async fn restore_after_failure(&self, cx: &mut Cx<'_, '_>) {
        if cx.dialect() != Dialect::Sqlite {
            return;
        }
        let mut names: Vec<String> = self.changed.iter().flatten().cloned().collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return;
        }
        let restore = cx.sql.restore_settings(&names, &self.saved, true);
        let _ = cx
            .execute(Purpose::Settings, vec![Piece::plain(restore)])
            .await;
    }
}

/// What a `no-transaction` script changes, saved before its first statement.
pub(super) struct Saved {
    names: Vec<String>,
    values: Vec<i64>,
}

/// Saves (PostgreSQL) or reads (SQLite) the settings a `no-transaction`
/// script changes, before its first statement.
pub(super) async fn save_outside_transaction(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    script: &Script,
) -> Result<Option<Saved>> {
    let names = cx.sql.settings_changed(script.sql());
    if names.is_empty() {
        return Ok(None);
    }
    let mut values = Vec::new();
    if let Some(save) = cx.sql.save_settings(&names, false) {
        cx.execute(Purpose::Settings, vec![Piece::plain(save)])
            .await
            .map_err(|failure| database(saving(migration), failure))?;
    }
    if let Some(read) = cx.sql.read_settings() {
        values = read_values(cx, read).await?;
    }
    Ok(Some(Saved { names, values }))
}

/// Puts back what [`save_outside_transaction`] saved, after the script's
/// last statement or the one that failed. On SQLite, only the settings that
/// differ are written: some cannot be written inside a transaction that the
/// script may have left open.
pub(super) async fn restore_outside_transaction(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    saved: Option<Saved>,
) -> Result<()> {
    let Some(saved) = saved else {
        return Ok(());
    };
    let restore = match cx.sql.read_settings() {
        Some(read) => {
            let current = read_values(cx, read).await?;
            migrate_format::session::sqlite_restore(&saved.values, &current)
        }
        None => cx.sql.restore_settings(&saved.names, &saved.values, false),
    };
    if restore.is_empty() {
        return Ok(());
    }
    cx.execute(Purpose::Settings, vec![Piece::plain(restore)])
        .await
        .map(drop)
        .map_err(|failure| {
            database(
                format!(
                    "restoring the connection settings that migration {} changed",
                    migration.version()
                ),
                failure,
            )
        })
}

fn saving(migration: &Migration) -> String {
    format!(
        "saving the connection settings that migration {} changes",
        migration.version()
    )
}

/// Reads SQLite's settings: one row of integers, one per setting of
/// [`SQLITE_SETTINGS`](migrate_format::session::SQLITE_SETTINGS).
async fn read_values(cx: &Cx<'_, '_>, read: String) -> Result<Vec<i64>> {
    const ACTION: &str = "reading the connection settings";
    let results = cx
        .query(Purpose::Settings, vec![read])
        .await
        .map_err(|failure| database(ACTION, failure))?;
    let row = results.first().and_then(|rows| rows.first());
    (0..migrate_format::session::SQLITE_SETTINGS.len())
        .map(|index| crate::dialect::integer(row, index, ACTION))
        .collect()
}
