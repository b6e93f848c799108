//! Adopting another tool's history: under the migration lock, the tool's
//! table is read, [`plan_adopt`] decides, and the rows are written in one
//! transaction with the history's fingerprint.

use migrate_format::history::TableName;

use super::apply::fingerprint;
use super::cx::{Cx, database};
use super::lock::Snapshot;
use crate::adopt::{AdoptProblem, Adoption, Source, plan_adopt};
use crate::dialect::{Stored, adopt as tool_sql};
use crate::driver::{FailureKind, Piece, Purpose};
use crate::history::Ledger;
use crate::report::Applied;
use crate::{Error, Result};

/// Records in migrate's history every migration that `source`'s tool
/// recorded as applied. Idempotent: what is recorded already is left alone.
pub(super) async fn adopt(cx: &mut Cx<'_, '_>, source: &Source) -> Result<Adoption> {
    let table =
        TableName::parse(source.table_name()).map_err(|invalid| Error::InvalidTableName {
            name: invalid.name,
            reason: invalid.reason,
        })?;
    // The history table is created in the transaction that fills it, so
    // that a refused adoption leaves the database as it was.
    let (lock, snapshot) = cx.lock(false, false).await?;
    let result = adopt_locked(cx, source, &table, &snapshot).await;
    cx.release(&lock, result).await
}

async fn adopt_locked(
    cx: &mut Cx<'_, '_>,
    source: &Source,
    table: &TableName,
    snapshot: &Snapshot,
) -> Result<Adoption> {
    let tool = source.tool();
    let refused = |problem| Error::Adopt {
        tool,
        table: table.plain().to_owned(),
        problem,
    };
    let rows = match cx
        .query(Purpose::Adopt, vec![tool_sql::read(tool, table)])
        .await
    {
        Ok(results) => results.into_iter().next().unwrap_or_default(),
        Err(failure) if failure.kind == FailureKind::MissingTable => {
            return Err(refused(AdoptProblem::NoTable));
        }
        Err(failure) => {
            return Err(database(
                format!("reading {tool}'s history table {}", table.plain()),
                failure,
            ));
        }
    };
    let tool_history = tool_sql::parse(tool, &rows).map_err(refused)?;
    let plan =
        plan_adopt(cx.runner.migrations, &snapshot.history, &tool_history).map_err(refused)?;
    let adoption = Adoption {
        tool,
        table: table.plain().to_owned(),
        history_table: cx.given.plain().to_owned(),
        recorded: plan
            .record
            .iter()
            .map(|m| Applied::new(m, Default::default()))
            .collect(),
        already: plan.already,
        drop_statement: format!("DROP TABLE {table}"),
    };
    if plan.record.is_empty() {
        return Ok(adoption);
    }
    let mut body: Vec<Piece> = Vec::new();
    if snapshot.stored == Stored::Missing {
        body.extend(cx.sql.create(cx.given, true).into_iter().map(Piece::plain));
    }
    let mut ledger = Ledger::of(&snapshot.history);
    for migration in &plan.record {
        ledger.finished(migration.version(), migration.checksum());
    }
    body.push(Piece::plain(cx.sql.insert(&plan.record, true)));
    body.extend(fingerprint(cx, &snapshot.stored, &ledger));
    let action = format!(
        "recording {tool}'s applied migrations in {}",
        cx.sql.table().plain()
    );
    cx.record(body, action).await?;
    Ok(adoption)
}
