//! Applying what is pending, and the two reads that change nothing: what
//! would be applied, and the state of every migration.

use std::time::Duration;

use migrate_format::lexer;

use super::cx::{Cx, database, script_failed};
use super::lock::{Lock, Scope, Snapshot};
use super::no_transaction;
use super::session::Settings;
use crate::dialect::{self, Columns, Since, Stored};
use crate::driver::{FailureKind, Marker, Piece, Purpose, Running};
use crate::history::{HistoryRow, Ledger};
use crate::plan::plan;
use crate::report::{Applied, Status};
use crate::{Error, Migration, Progress, Result, Script, TransactionMode};

/// How often to look again, under a lock of the transaction scope, while
/// another process runs a `no-transaction` migration outside it.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Applies the pending migrations.
///
/// When the stored fingerprint vouches for the binary's migrations, this is
/// one read. Otherwise the history is read and checked without the lock,
/// and only a run with something to do takes the lock, reads again and
/// applies.
pub(super) async fn apply(cx: &mut Cx<'_, '_>) -> Result<Vec<Applied>> {
    let stored = read_stored(cx).await?;
    let set = cx.runner.migrations.checksum();
    if stored
        .as_ref()
        .is_some_and(|stored| cx.sql.vouches(stored, Some(set)))
    {
        return Ok(Vec::new());
    }
    let (history, stored) = read_history_and_owner(cx, stored).await?;
    let missing = history.is_none() || stored == Some(Stored::Missing);
    let history = history.unwrap_or_default();
    if nothing_to_do(cx, &history, stored.as_ref())? {
        return Ok(Vec::new());
    }
    let (lock, snapshot) = cx.lock(true, missing).await?;
    let result = apply_locked(cx, &lock, snapshot).await;
    cx.release(&lock, result).await
}

/// The migrations a run would apply now, or the error it would fail with.
pub(super) async fn pending<'m>(cx: &mut Cx<'_, 'm>) -> Result<Vec<&'m Migration>> {
    let history = cx.read_history(Columns::ForPlan).await?.unwrap_or_default();
    plan(cx.runner, cx.sql.table(), &history)
}

/// Every migration's state.
pub(super) async fn status(cx: &mut Cx<'_, '_>) -> Result<Status> {
    let history = cx.read_history(Columns::All).await?.unwrap_or_default();
    Ok(Status::new(cx.migrations(), &history))
}

/// The stored fingerprint, or `None` when this run keeps none (SQLite with
/// `track_user_version(false)`).
async fn read_stored(cx: &Cx<'_, '_>) -> Result<Option<Stored>> {
    if !cx.keeps_fingerprint() {
        return Ok(None);
    }
    let read = cx.query(Purpose::ReadFingerprint, vec![cx.sql.read_fingerprint()]);
    match read.await {
        Ok(results) => cx
            .sql
            .stored(results.first().map_or(&[], Vec::as_slice))
            .map(Some),
        Err(failure) if failure.kind == FailureKind::MissingTable => Ok(Some(Stored::Missing)),
        Err(failure) => Err(database("reading the history's fingerprint", failure)),
    }
}

/// Reads the history without the lock and, on SQLite, who owns the pragmas
/// of the fingerprint, in one action.
async fn read_history_and_owner(
    cx: &Cx<'_, '_>,
    stored: Option<Stored>,
) -> Result<(Option<Vec<HistoryRow>>, Option<Stored>)> {
    let (Some(stored), Some(owner)) = (stored.clone(), cx.sql.read_owner()) else {
        return Ok((cx.read_history(Columns::ForPlan).await?, stored));
    };
    let statements = vec![cx.sql.read_history(Columns::ForPlan), owner.to_owned()];
    match cx.query(Purpose::ReadHistory, statements).await {
        Ok(results) => {
            let history = dialect::parse_history(&results[0], &cx.reading_history())?;
            let stored = cx
                .sql
                .with_owner(stored, results.get(1).map_or(&[], Vec::as_slice))?;
            Ok((Some(history), Some(stored)))
        }
        Err(failure) if failure.kind == FailureKind::MissingTable => Ok((None, Some(stored))),
        Err(failure) => Err(database(cx.reading_history(), failure)),
    }
}

/// The checks made before taking the lock, on the history read without it:
/// errors that need no lock to be certain, and whether the run is already
/// complete. A stale fingerprint that this run could write is brought up to
/// date under the lock.
fn nothing_to_do(cx: &Cx<'_, '_>, history: &[HistoryRow], stored: Option<&Stored>) -> Result<bool> {
    match plan(cx.runner, cx.sql.table(), history) {
        Ok(pending) if pending.is_empty() => Ok(match stored {
            None => true,
            Some(stored) => !needs_fingerprint(cx, stored, &Ledger::of(history)),
        }),
        Ok(pending) => check_transactions(cx, &pending).map(|()| false),
        // Another runner may be running that migration: decide under the lock.
        Err(Error::Incomplete { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Whether the stored fingerprint is not `ledger`'s and this run may write it.
fn needs_fingerprint(cx: &Cx<'_, '_>, stored: &Stored, ledger: &Ledger) -> bool {
    !cx.sql.vouches(stored, ledger.fingerprint().as_ref())
        && (*stored == Stored::Missing || !cx.sql.write_fingerprint(stored, ledger).is_empty())
}

/// Everything done under the lock: read again, check, apply, batch after
/// batch, until nothing is pending.
async fn apply_locked(
    cx: &mut Cx<'_, '_>,
    lock: &Lock,
    mut snapshot: Snapshot,
) -> Result<Vec<Applied>> {
    let mut applied = Vec::new();
    let mut waited = Duration::ZERO;
    let mut current = false;
    loop {
        let pending = match plan(cx.runner, cx.sql.table(), &snapshot.history) {
            // Under SQLite's lock another process may be running that
            // migration outside it: wait for it, up to the busy timeout,
            // unless no runner shows the mark of one running.
            Err(incomplete @ Error::Incomplete { .. }) if lock.scope() == Scope::Transaction => {
                if waited >= cx.runner.busy_timeout
                    || cx.running(Running::Probe).await == Some(false)
                {
                    return Err(incomplete);
                }
                cx.release(lock, Ok(())).await?;
                cx.sleep(POLL_INTERVAL).await;
                waited += POLL_INTERVAL;
                snapshot = cx.relock(lock).await?;
                continue;
            }
            result => result?,
        };
        check_transactions(cx, &pending)?;
        let Some(&first) = pending.first() else {
            if !current {
                refresh_fingerprint(cx, &snapshot).await?;
            }
            return Ok(applied);
        };
        let done = if first.no_transaction() {
            vec![no_transaction::apply(cx, first, &snapshot).await?]
        } else {
            let count = batch_len(&pending, cx.runner.transaction_mode, |m| m.no_transaction());
            apply_batch(cx, &pending[..count], &snapshot).await?
        };
        for migration in &pending[..done.len()] {
            record(&mut snapshot.history, migration);
        }
        applied.extend(done);
        current = true;
        if lock.scope() == Scope::Transaction {
            snapshot = cx.relock(lock).await?;
        }
    }
}

/// How many migrations, from the first of `rest`, share one transaction.
pub(super) fn batch_len<T>(
    rest: &[T],
    mode: TransactionMode,
    no_transaction: impl Fn(&T) -> bool,
) -> usize {
    match mode {
        TransactionMode::Single => rest.iter().take_while(|item| !no_transaction(item)).count(),
        TransactionMode::PerMigration => 1,
    }
}

/// Applies transactional migrations in one transaction, sent as one batch:
/// each migration's SQL followed by its history row, which is the marker
/// that tells the engine how far a failed batch got, then the history's new
/// fingerprint and `COMMIT`.
async fn apply_batch(
    cx: &mut Cx<'_, '_>,
    batch: &[&Migration],
    snapshot: &Snapshot,
) -> Result<Vec<Applied>> {
    let mut ledger = Ledger::of(&snapshot.history);
    let scripts: Vec<(&Migration, &Script)> = batch.iter().map(|m| (*m, m.up())).collect();
    let settings = Settings::before(cx, &batch.iter().map(|m| m.up()).collect::<Vec<_>>()).await?;
    let body = batch_body(cx, &scripts, &settings, |index| {
        let migration = batch[index];
        ledger.finished(migration.version(), migration.checksum());
        let since = match index {
            0 => Since::Start(snapshot.now.clone()),
            _ => Since::Version(batch[index - 1].version()),
        };
        cx.sql.insert_applied(migration, &since)
    });
    let body = [body, fingerprint(cx, &snapshot.stored, &ledger)].concat();
    run_batch(cx, &scripts, &settings, body).await
}

/// The pieces of a batch: the clock, if the engine needs one, then each
/// script, between the saving and the restoring of the settings it changes,
/// followed by its marker.
pub(super) fn batch_body(
    cx: &Cx<'_, '_>,
    scripts: &[(&Migration, &Script)],
    settings: &Settings,
    mut marker: impl FnMut(usize) -> String,
) -> Vec<Piece> {
    let mut body: Vec<Piece> = cx.sql.start_clock().into_iter().map(Piece::plain).collect();
    for (index, (_, script)) in scripts.iter().enumerate() {
        body.extend(settings.save(cx, index));
        body.push(Piece::plain(script.sql()));
        body.extend(settings.restore(cx, index));
        body.push(Piece::marker(marker(index)));
    }
    body
}

/// Runs `body` as one transaction that runs `scripts`, and tells how long
/// each took. A failure names the script its marker had not yet passed.
pub(super) async fn run_batch(
    cx: &mut Cx<'_, '_>,
    scripts: &[(&Migration, &Script)],
    settings: &Settings,
    body: Vec<Piece>,
) -> Result<Vec<Applied>> {
    let pieces = cx.transaction(body);
    let migrations: Vec<&Migration> = scripts.iter().map(|(migration, _)| *migration).collect();
    cx.progress(Progress::Started(&migrations));
    let executed = match cx.execute(Purpose::Batch, pieces).await {
        Ok(executed) => executed,
        Err(failure) => {
            settings.restore_after_failure(cx).await;
            let (migration, script) = scripts[failure.markers.len().min(scripts.len() - 1)];
            return Err(script_failed(migration, script.file(), None, failure));
        }
    };
    let applied = completed(&migrations, &executed.markers)?;
    cx.progress(Progress::Finished(&applied));
    Ok(applied)
}

/// The migrations of a batch that completed, with how long each took.
pub(super) fn completed(batch: &[&Migration], markers: &[Marker]) -> Result<Vec<Applied>> {
    if markers.len() != batch.len() {
        return Err(Error::unexpected(
            "reading what the batch applied",
            format!(
                "the driver returned {} markers for {} migrations",
                markers.len(),
                batch.len()
            ),
        ));
    }
    Ok(batch
        .iter()
        .zip(markers)
        .map(|(migration, marker)| Applied::new(migration, duration(marker)))
        .collect())
}

/// A migration's duration: what the database measured, when its marker
/// says, else what the driver did.
fn duration(marker: &Marker) -> Duration {
    let measured = marker
        .rows
        .first()
        .and_then(|row| row.get(1).cloned().flatten())
        .and_then(|micros| micros.parse::<u64>().ok())
        .map(Duration::from_micros);
    measured.or(marker.elapsed).unwrap_or_default()
}

/// The statements that record `ledger`'s fingerprint, as pieces.
pub(super) fn fingerprint(cx: &Cx<'_, '_>, stored: &Stored, ledger: &Ledger) -> Vec<Piece> {
    cx.sql
        .write_fingerprint(stored, ledger)
        .into_iter()
        .map(Piece::plain)
        .collect()
}

/// Writes the fingerprint of the history as read, when it is stale: after an
/// edit by hand, or a run of a version of migrate that kept none.
async fn refresh_fingerprint(cx: &mut Cx<'_, '_>, snapshot: &Snapshot) -> Result<()> {
    let ledger = Ledger::of(&snapshot.history);
    if cx
        .sql
        .vouches(&snapshot.stored, ledger.fingerprint().as_ref())
    {
        return Ok(());
    }
    let writes = fingerprint(cx, &snapshot.stored, &ledger);
    if writes.is_empty() {
        return Ok(());
    }
    let pieces = cx.transaction(writes);
    cx.execute(Purpose::Record, pieces)
        .await
        .map(drop)
        .map_err(|failure| database("writing the history's fingerprint", failure))
}

/// Refuses, before anything runs, a transactional migration that contains a
/// statement the engine refuses inside a transaction.
fn check_transactions(cx: &Cx<'_, '_>, pending: &[&Migration]) -> Result<()> {
    for migration in pending.iter().filter(|m| !m.no_transaction()) {
        if let Some((offset, command)) = cx.sql.refused_in_transaction(migration.up().sql()) {
            return Err(Error::RefusedInTransaction {
                version: migration.version(),
                file: migration.file().to_owned(),
                line: lexer::line_col(migration.up().sql(), offset).0,
                command,
            });
        }
    }
    Ok(())
}

/// Adds a migration just applied to the history read before.
fn record(history: &mut Vec<HistoryRow>, migration: &Migration) {
    let row = HistoryRow {
        version: migration.version(),
        description: migration.description().to_owned(),
        checksum: migration.checksum_hex(),
        applied_at: String::new(),
        finished: true,
        statements_done: None,
    };
    let index = history.partition_point(|r| r.version < row.version);
    history.insert(index, row);
}
