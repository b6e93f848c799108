//! Rolling back, baselining, repairing and resolving: each under the lock,
//! decided by [`crate::lifecycle`] before anything changes.

use std::slice;

use migrate_format::checksum::{self, Checksum};

use super::apply::{batch_body, batch_len, fingerprint, run_batch};
use super::cx::Cx;
use super::lock::Snapshot;
use super::no_transaction::{run_statements, split};
use super::session::Settings;
use crate::driver::Piece;
use crate::history::{HistoryRow, Ledger};
use crate::lifecycle::{plan_baseline, plan_repair, plan_resolve, plan_rollback};
use crate::report::{Action, Applied, Report};
use crate::{Error, Migration, Progress, Resolution, Result, Rollback, Script};

/// Reverts applied migrations with their down scripts, newest first.
pub(super) async fn rollback(cx: &mut Cx<'_, '_>, rollback: Rollback) -> Result<Report> {
    let (lock, snapshot) = cx.lock(false, false).await?;
    let result = revert(cx, &snapshot, rollback).await;
    let reverted = cx.release(&lock, result).await?;
    Ok(Report::of(Action::Rollback, reverted))
}

async fn revert(
    cx: &mut Cx<'_, '_>,
    snapshot: &Snapshot,
    rollback: Rollback,
) -> Result<Vec<Applied>> {
    let reverts = plan_rollback(cx.runner, cx.sql.table(), &snapshot.history, rollback)?;
    let mut ledger = Ledger::of(&snapshot.history);
    let mut reverted = Vec::with_capacity(reverts.len());
    let mut rest = reverts.as_slice();
    while let Some(&(migration, down)) = rest.first() {
        if down.no_transaction() {
            reverted.push(
                revert_outside_transaction(cx, snapshot, &mut ledger, migration, down).await?,
            );
            rest = &rest[1..];
            continue;
        }
        let count = batch_len(rest, cx.runner.transaction_mode, |(_, down)| {
            down.no_transaction()
        });
        reverted.extend(revert_batch(cx, snapshot, &mut ledger, &rest[..count]).await?);
        rest = &rest[count..];
    }
    Ok(reverted)
}

/// Reverts migrations in one transaction, sent as one batch: each down
/// script followed by the removal of its row, which is the marker.
async fn revert_batch(
    cx: &mut Cx<'_, '_>,
    snapshot: &Snapshot,
    ledger: &mut Ledger,
    batch: &[(&Migration, &Script)],
) -> Result<Vec<Applied>> {
    let downs: Vec<&Script> = batch.iter().map(|(_, down)| *down).collect();
    let settings = Settings::before(cx, &downs).await?;
    let body = batch_body(cx, batch, &settings, |index| {
        let version = batch[index].0.version();
        ledger.remove(version);
        cx.sql.delete_reverted(version)
    });
    let body = [body, fingerprint(cx, &snapshot.stored, ledger)].concat();
    run_batch(cx, batch, &settings, body).await
}

/// Runs a `no-transaction` down script statement by statement, then removes
/// the migration's row. A transaction left open by the lock is committed
/// first, since the statements must run outside it.
async fn revert_outside_transaction(
    cx: &mut Cx<'_, '_>,
    snapshot: &Snapshot,
    ledger: &mut Ledger,
    migration: &Migration,
    down: &Script,
) -> Result<Applied> {
    let statements = split(cx, migration, down)?;
    if cx.open {
        let commit = fingerprint(cx, &snapshot.stored, ledger);
        cx.record(commit, "committing".to_owned()).await?;
    }
    cx.progress(Progress::Started(slice::from_ref(&migration)));
    let elapsed = run_statements(cx, migration, down, &statements, false).await?;
    ledger.remove(migration.version());
    let mut body = vec![Piece::plain(cx.sql.delete(migration.version()))];
    body.extend(fingerprint(cx, &snapshot.stored, ledger));
    let action = format!(
        "removing migration {} from {}",
        migration.version(),
        cx.sql.table().plain()
    );
    cx.record(body, action).await?;
    let reverted = Applied::new(migration, elapsed);
    cx.progress(Progress::Finished(slice::from_ref(&reverted)));
    Ok(reverted)
}

/// Records the migrations up to `version` as applied, running nothing.
pub(super) async fn baseline(cx: &mut Cx<'_, '_>, version: i64) -> Result<Report> {
    let (lock, snapshot) = cx.lock(true, false).await?;
    let result = async {
        let baseline = plan_baseline(cx.runner, cx.sql.table(), &snapshot.history, version)?;
        if baseline.is_empty() {
            return Ok(Vec::new());
        }
        let mut ledger = Ledger::of(&snapshot.history);
        for migration in &baseline {
            ledger.finished(migration.version(), migration.checksum());
        }
        let mut body = vec![Piece::plain(cx.sql.insert(&baseline, true))];
        body.extend(fingerprint(cx, &snapshot.stored, &ledger));
        let action = format!("recording the baseline in {}", cx.sql.table().plain());
        cx.record(body, action).await?;
        Ok(baseline
            .iter()
            .map(|m| Applied::new(m, Default::default()))
            .collect())
    }
    .await;
    let recorded = cx.release(&lock, result).await?;
    Ok(Report::of(Action::Baseline, recorded))
}

/// Records the binary's checksum of one applied migration. Returns whether
/// the record changed.
pub(super) async fn repair(cx: &mut Cx<'_, '_>, version: i64) -> Result<bool> {
    let (lock, snapshot) = cx.lock(false, false).await?;
    let result = async {
        let Some(migration) = plan_repair(cx.runner, &snapshot.history, version)? else {
            return Ok(false);
        };
        let mut ledger = Ledger::of(&snapshot.history);
        ledger.finished(version, migration.checksum());
        let mut body = vec![Piece::plain(
            cx.sql.restamp(version, &migration.checksum_hex()),
        )];
        body.extend(fingerprint(cx, &snapshot.stored, &ledger));
        cx.record(body, format!("re-stamping migration {version}"))
            .await?;
        Ok(true)
    }
    .await;
    cx.release(&lock, result).await
}

/// Settles a `no-transaction` migration that stopped part-way.
pub(super) async fn resolve(
    cx: &mut Cx<'_, '_>,
    version: i64,
    resolution: Resolution,
) -> Result<()> {
    let (lock, snapshot) = cx.lock(false, false).await?;
    let result = async {
        plan_resolve(&snapshot.history, version)?;
        let mut ledger = Ledger::of(&snapshot.history);
        let change = match resolution {
            Resolution::Completed => {
                ledger.finished(version, &recorded_checksum(&snapshot.history, version)?);
                cx.sql.record_resolved(version)
            }
            Resolution::RolledBack => {
                ledger.remove(version);
                cx.sql.delete(version)
            }
        };
        let mut body = vec![Piece::plain(change)];
        body.extend(fingerprint(cx, &snapshot.stored, &ledger));
        cx.record(body, format!("resolving migration {version}"))
            .await
    }
    .await;
    cx.release(&lock, result).await
}

/// The checksum recorded for `version`, which a resolved migration keeps.
fn recorded_checksum(history: &[HistoryRow], version: i64) -> Result<Checksum> {
    let row = history.iter().find(|row| row.version == version);
    row.and_then(|row| checksum::from_hex(&row.checksum))
        .ok_or_else(|| {
            Error::unexpected(
                format!("resolving migration {version}"),
                "its recorded checksum is not a SHA-256 in hexadecimal",
            )
        })
}
