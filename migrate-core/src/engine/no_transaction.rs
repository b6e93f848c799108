//! The `no-transaction` protocol: a migration that runs one statement at a
//! time outside a transaction, for SQL that refuses to run inside one.
//!
//! The engine cannot undo the statements that completed before one that
//! failed (an index built concurrently stays built; a failed `CREATE INDEX
//! CONCURRENTLY` leaves an invalid index behind). So the migration's history
//! row is written first, unfinished, and counts the statements done; a run
//! that finds such a row stops with [`Error::Incomplete`](crate::Error::Incomplete)
//! and applies nothing until an operator resolves it.

use std::slice;
use std::time::Duration;

use migrate_format::lexer::{self, Flavor};

use super::apply::fingerprint;
use super::cx::{Cx, database, script_failed};
use super::lock::Snapshot;
use super::session;
use crate::driver::{Dialect, Piece, Purpose, Running};
use crate::history::Ledger;
use crate::report::Applied;
use crate::{Error, Migration, Progress, Result, Script};

/// Applies a `no-transaction` migration: its unfinished row, its
/// statements with their progress, then its row finished.
///
/// On SQLite the runner shows the mark of a runner running it (see
/// [`Running`]) from before its unfinished row commits until after its
/// finished row does, or it fails: another runner that finds the row
/// unfinished under the lock then knows whether to wait for it.
pub(super) async fn apply(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    snapshot: &Snapshot,
) -> Result<Applied> {
    let statements = split(cx, migration, migration.up())?;
    let marked = cx.dialect() == Dialect::Sqlite;
    if marked {
        cx.running(Running::Start).await;
    }
    let result = apply_split(cx, migration, snapshot, &statements).await;
    if marked {
        cx.running(Running::Stop).await;
    }
    result
}

async fn apply_split(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    snapshot: &Snapshot,
    statements: &[&str],
) -> Result<Applied> {
    let version = migration.version();
    let mut ledger = Ledger::of(&snapshot.history);
    ledger.unfinished(version);
    let mut start = vec![Piece::plain(cx.sql.insert(&[migration], false))];
    start.extend(fingerprint(cx, &snapshot.stored, &ledger));
    cx.record(start, recording("the start", version)).await?;
    cx.progress(Progress::Started(slice::from_ref(&migration)));
    let elapsed = run_statements(cx, migration, migration.up(), statements, true).await?;
    super::verify::foreign_keys_after(cx, migration, statements).await?;
    ledger.finished(version, migration.checksum());
    let mut finish = vec![Piece::plain(
        cx.sql.record_finished(version, millis(elapsed)),
    )];
    finish.extend(fingerprint(cx, &snapshot.stored, &ledger));
    cx.record(finish, recording("the end", version)).await?;
    let applied = Applied::new(migration, elapsed);
    cx.progress(Progress::Finished(slice::from_ref(&applied)));
    Ok(applied)
}

/// The statements of `script` as the engine splits them, or an error before
/// anything runs when the engine's rules cannot lex it (an unterminated
/// string, say), since running the statements before that point and
/// dropping the rest would be worse.
pub(super) fn split<'s>(
    cx: &Cx<'_, '_>,
    migration: &Migration,
    script: &'s Script,
) -> Result<Vec<&'s str>> {
    let sql = script.sql();
    let flavor = match cx.dialect() {
        Dialect::Sqlite => Flavor::Sqlite,
        Dialect::Postgres => Flavor::Postgres,
    };
    let lexed = lexer::lex(sql, flavor);
    if let Some(error) = lexed.error {
        let (line, column) = lexer::line_col(sql, error.offset);
        return Err(Error::Unsplittable {
            version: migration.version(),
            file: script.file().to_owned(),
            line,
            column,
            reason: error.to_string(),
        });
    }
    Ok(lexed
        .statements
        .into_iter()
        .map(|range| &sql[range])
        .collect())
}

/// Runs statements one at a time, and puts back the connection settings
/// they change at the end. For an up migration (`progress`), each statement
/// done but the last is recorded in the history.
pub(super) async fn run_statements(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    script: &Script,
    statements: &[&str],
    progress: bool,
) -> Result<Duration> {
    let saved = session::save_outside_transaction(cx, migration, script).await?;
    let result = run_each(cx, migration, script, statements, progress).await;
    let restored = session::restore_outside_transaction(cx, migration, saved).await;
    let elapsed = result?;
    restored?;
    Ok(elapsed)
}

async fn run_each(
    cx: &mut Cx<'_, '_>,
    migration: &Migration,
    script: &Script,
    statements: &[&str],
    progress: bool,
) -> Result<Duration> {
    let mut elapsed = Duration::ZERO;
    for (index, statement) in statements.iter().enumerate() {
        let executed = cx
            .execute(Purpose::Statement, vec![Piece::plain(*statement)])
            .await
            .map_err(|failure| script_failed(migration, script.file(), Some(index + 1), failure))?;
        elapsed += executed.elapsed;
        let done = index + 1;
        cx.progress(Progress::Statement {
            migration,
            done,
            of: statements.len(),
        });
        if progress && done < statements.len() {
            let update = Piece::plain(cx.sql.record_progress(migration.version(), done));
            cx.execute(Purpose::Record, vec![update])
                .await
                .map_err(|failure| {
                    database(recording("the progress", migration.version()), failure)
                })?;
        }
    }
    Ok(elapsed)
}

fn recording(what: &str, version: i64) -> String {
    format!("recording {what} of migration {version}")
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
