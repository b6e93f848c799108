//! Rolling back, baselining, repairing and resolving on PostgreSQL, each
//! under the migration lock, decided before anything changes.

use std::fmt::Write as _;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use migrate_format::checksum::{self, Checksum};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::state::{self, Companion};
use super::{
    APPLIED_COLUMN, STARTED_SETTING, acquire_lock, applied_duration, quote_literal, read_history,
    read_locked, release_lock,
};
use crate::history::{HistoryRow, Ledger, TableName};
use crate::lifecycle::{plan_baseline, plan_repair, plan_resolve, plan_rollback};
use crate::plan::plan;
use crate::report::{Action, Applied, Report};
use crate::{Error, Migration, Resolution, Result, Rollback, Runner, Script, TransactionMode};

impl Runner<'_> {
    /// The migrations a run would apply now, in order, or the error it would
    /// fail with; it changes nothing. This is a dry run of
    /// [`Runner::run_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn pending_async(&self, client: &Client) -> Result<Vec<&Migration>> {
        let table = TableName::parse(&self.table)?;
        let history = read_history(client, &table).await?.unwrap_or_default();
        plan(self, &table, &history)
    }

    /// Reverts applied migrations with their down scripts, newest first, each
    /// together with the removal of its history row, under the migration
    /// lock. The PostgreSQL twin of [`Runner::rollback`], with the same checks
    /// before anything runs.
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[`Runner::rollback`]: crate#features")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn rollback_async(&self, client: &mut Client, rollback: Rollback) -> Result<Report> {
        let started = Instant::now();
        let reverted = locked(self, client, false, async |held| {
            let reverts = plan_rollback(self, held.table, held.history, rollback)?;
            revert(self, client, held, &reverts).await
        })
        .await?;
        Ok(Report::of(Action::Rollback, reverted, started.elapsed()))
    }

    /// Records the migrations up to and including `version` as applied
    /// without running them. The PostgreSQL twin of [`Runner::baseline`].
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[`Runner::baseline`]: crate#features")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn baseline_async(&self, client: &mut Client, version: i64) -> Result<Report> {
        let started = Instant::now();
        let recorded = locked(self, client, true, async |held| {
            let table = held.table;
            let baseline = plan_baseline(self, table, held.history, version)?;
            if baseline.is_empty() {
                return Ok(Vec::new());
            }
            let mut ledger = held.ledger();
            let mut sql = String::from("BEGIN;\n");
            for migration in &baseline {
                ledger.finished(migration.version(), migration.checksum());
                let _ = writeln!(
                    sql,
                    "INSERT INTO {table} (version, description, checksum, applied_at, execution_ms, finished, statements_done) \
                     VALUES ({}, {}, {}, clock_timestamp(), 0, true, NULL);",
                    migration.version(),
                    quote_literal(migration.description()),
                    quote_literal(&migration.checksum_hex()),
                );
            }
            sql.push_str(&held.record(&ledger));
            sql.push_str("COMMIT;");
            execute(client, &sql, format!("recording the baseline in {}", table.plain())).await?;
            Ok(baseline.iter().map(|m| Applied::new(m, Duration::ZERO)).collect())
        })
        .await?;
        Ok(Report::of(Action::Baseline, recorded, started.elapsed()))
    }

    /// Replaces the recorded checksum of one applied migration with the
    /// binary's, after a deliberate edit. Returns whether the record changed.
    /// The PostgreSQL twin of [`Runner::repair`].
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[`Runner::repair`]: crate#features")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn repair_async(&self, client: &mut Client, version: i64) -> Result<bool> {
        locked(self, client, false, async |held| {
            let Some(migration) = plan_repair(self, held.history, version)? else {
                return Ok(false);
            };
            let mut ledger = held.ledger();
            ledger.finished(version, migration.checksum());
            let sql = format!(
                "UPDATE {} SET checksum = {} WHERE version = {version};\n{}",
                held.table,
                quote_literal(&migration.checksum_hex()),
                held.record(&ledger),
            );
            execute(client, &sql, format!("re-stamping migration {version}")).await?;
            Ok(true)
        })
        .await
    }

    /// Settles a `no-transaction` migration that stopped part-way. The
    /// PostgreSQL twin of [`Runner::resolve`].
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[`Runner::resolve`]: crate#features")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn resolve_async(
        &self,
        client: &mut Client,
        version: i64,
        resolution: Resolution,
    ) -> Result<()> {
        locked(self, client, false, async |held| {
            plan_resolve(held.history, version)?;
            let table = held.table;
            let mut ledger = held.ledger();
            let change = match resolution {
                Resolution::Completed => {
                    ledger.finished(version, &recorded_checksum(held.history, version)?);
                    format!("UPDATE {table} SET finished = true, statements_done = NULL WHERE version = {version}")
                }
                Resolution::RolledBack => {
                    ledger.remove(version);
                    format!("DELETE FROM {table} WHERE version = {version}")
                }
            };
            let sql = format!("{change};\n{}", held.record(&ledger));
            execute(client, &sql, format!("resolving migration {version}")).await
        })
        .await
    }
}

/// The history as read under the migration lock, and where to record its
/// fingerprint.
struct Held<'a> {
    /// The history table, qualified by the schema it resolved to.
    table: &'a TableName,
    /// `None` when the history table does not exist.
    companion: Option<&'a Companion>,
    history: &'a [HistoryRow],
}

impl Held<'_> {
    fn ledger(&self) -> Ledger {
        Ledger::of(self.history)
    }

    /// The statement that records `ledger`'s fingerprint at the end of the
    /// transaction that changed the history.
    fn record(&self, ledger: &Ledger) -> String {
        self.companion
            .map(|companion| state::write_sql(self.table, companion, ledger))
            .unwrap_or_default()
    }
}

/// Runs `f` on the history under the migration lock, which it releases on
/// every path. The history table is created first when `create` is set and
/// it is missing; otherwise a missing table reads as an empty history.
async fn locked<T>(
    runner: &Runner<'_>,
    client: &Client,
    create: bool,
    f: impl AsyncFnOnce(&Held<'_>) -> Result<T>,
) -> Result<T> {
    let given = TableName::parse(&runner.table)?;
    let lock = acquire_lock(client, &given, runner.lock_timeout).await?;
    let result = async {
        let read = read_locked(client, &given, &lock.table, create, false).await?;
        let held = Held {
            table: &lock.table,
            companion: read.as_ref().map(|(companion, _)| companion),
            history: read.as_ref().map_or(&[], |(_, snapshot)| &snapshot.history),
        };
        f(&held).await
    }
    .await;
    let released = release_lock(client, &lock, result.is_err()).await;
    let value = result?;
    released?;
    Ok(value)
}

/// The checksum recorded for `version`, which a resolved migration keeps.
fn recorded_checksum(history: &[HistoryRow], version: i64) -> Result<Checksum> {
    let row = history.iter().find(|row| row.version == version);
    row.and_then(|row| checksum::from_hex(&row.checksum))
        .ok_or_else(|| {
            Error::database(
                format!("resolving migration {version}"),
                "its recorded checksum is not a SHA-256 in hexadecimal",
            )
        })
}

async fn execute(client: &Client, sql: &str, action: String) -> Result<()> {
    client
        .batch_execute(sql)
        .await
        .map_err(|e| Error::database(action, e))
}

async fn revert(
    runner: &Runner<'_>,
    client: &Client,
    held: &Held<'_>,
    reverts: &[(&Migration, &Script)],
) -> Result<Vec<Applied>> {
    let table = held.table;
    let mut ledger = held.ledger();
    let mut reverted = Vec::with_capacity(reverts.len());
    let mut rest = reverts;
    while let Some(&(migration, down)) = rest.first() {
        if down.no_transaction() {
            runner.notify_started(migration);
            ledger.remove(migration.version());
            let finish = held.record(&ledger);
            let applied =
                revert_outside_transaction(client, table, migration, down, &finish).await?;
            runner.notify_finished(&applied);
            reverted.push(applied);
            rest = &rest[1..];
            continue;
        }
        let batch = match runner.transaction_mode {
            TransactionMode::Single => rest
                .iter()
                .take_while(|(_, down)| !down.no_transaction())
                .count(),
            TransactionMode::PerMigration => 1,
        };
        for (migration, _) in &rest[..batch] {
            ledger.remove(migration.version());
        }
        let finish = held.record(&ledger);
        for applied in revert_in_transaction(client, table, &rest[..batch], &finish).await? {
            runner.notify_started(migration_of(rest, &applied));
            runner.notify_finished(&applied);
            reverted.push(applied);
        }
        rest = &rest[batch..];
    }
    Ok(reverted)
}

fn migration_of<'m>(reverts: &[(&'m Migration, &Script)], applied: &Applied) -> &'m Migration {
    reverts
        .iter()
        .map(|(migration, _)| *migration)
        .find(|m| m.version() == applied.version)
        .unwrap_or(reverts[0].0)
}

/// Reverts migrations in one transaction sent as one message: for each, a
/// timer, its down script and the deletion of its row, which returns the
/// version and the time taken.
async fn revert_in_transaction(
    client: &Client,
    table: &TableName,
    reverts: &[(&Migration, &Script)],
    finish: &str,
) -> Result<Vec<Applied>> {
    let mut sql = String::from("BEGIN;\n");
    for (migration, down) in reverts {
        let elapsed_us = format!(
            "((extract(epoch FROM clock_timestamp()) - current_setting('{STARTED_SETTING}')::numeric) * 1000000)::bigint"
        );
        let _ = write!(
            sql,
            "SELECT set_config('{STARTED_SETTING}', extract(epoch FROM clock_timestamp())::text, true);\n\
             {}\n;\n\
             DELETE FROM {table} WHERE version = {} RETURNING version AS {APPLIED_COLUMN}, {elapsed_us} AS elapsed_us;\n",
            down.sql(),
            migration.version(),
        );
    }
    sql.push_str(finish);
    sql.push_str("COMMIT;");
    let failed = |index: usize, error| {
        let (migration, down) = reverts[index.min(reverts.len() - 1)];
        script_failed(migration, down, None, error)
    };
    let mut reverted = Vec::with_capacity(reverts.len());
    let stream = client
        .simple_query_raw(&sql)
        .await
        .map_err(|e| failed(0, e))?;
    let mut stream = pin!(stream);
    while let Some(message) = stream.next().await {
        if let SimpleQueryMessage::Row(row) = message.map_err(|e| failed(reverted.len(), e))?
            && let Some(duration) = applied_duration(&row)
        {
            reverted.push(Applied::new(reverts[reverted.len()].0, duration));
        }
    }
    Ok(reverted)
}

/// Runs a `no-transaction` down script statement by statement, then removes
/// the migration's row.
async fn revert_outside_transaction(
    client: &Client,
    table: &TableName,
    migration: &Migration,
    down: &Script,
    finish: &str,
) -> Result<Applied> {
    let sql = down.sql();
    let started = Instant::now();
    for (index, range) in migrate_format::lexer::lex(sql, migrate_format::Flavor::Postgres)
        .statements
        .iter()
        .enumerate()
    {
        client
            .batch_execute(&sql[range.clone()])
            .await
            .map_err(|e| script_failed(migration, down, Some(index + 1), e))?;
    }
    let duration = started.elapsed();
    let delete = format!(
        "DELETE FROM {table} WHERE version = {};\n{finish}",
        migration.version()
    );
    execute(
        client,
        &delete,
        format!(
            "removing migration {} from {}",
            migration.version(),
            table.plain()
        ),
    )
    .await?;
    Ok(Applied::new(migration, duration))
}

fn script_failed(
    migration: &Migration,
    script: &Script,
    statement: Option<usize>,
    error: tokio_postgres::Error,
) -> Error {
    Error::Migration {
        version: migration.version(),
        file: script.file().to_owned(),
        statement,
        source: error.into(),
    }
}
