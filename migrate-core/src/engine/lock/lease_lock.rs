//! The table strategy's lease: taken by one conditional `UPDATE` of the lease
//! table (created when missing), released with the run's last transaction.

use migrate_format::history::TableName;

use crate::Result;
use crate::dialect;
use crate::dialect::postgres::lease;
use crate::driver::{FailureKind, Purpose, Row};
use crate::error::LockHolder;

use super::super::cx::{COMMIT, Cx, database};
use super::wait::{Holder, Wait};
use super::{Lock, last_row, text};

/// How often the table strategy tries again to create the lease table after
/// another runner created it at the same moment.
const CREATION_RETRIES: usize = 3;

/// The table strategy's lease, as its holder knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The lease table, qualified by its schema.
    pub(crate) table: TableName,
    /// The fencing token this runner got when it took the lease.
    pub(crate) token: i64,
}

impl Cx<'_, '_> {
    pub(super) fn lease_release(&self, failed: bool) -> Vec<String> {
        let mut statements = Vec::with_capacity(2);
        if self.open {
            statements.push(if failed { "ROLLBACK" } else { COMMIT }.to_owned());
        }
        if let Some(held) = &self.lease {
            statements.push(lease::release(&held.table, self.owner(), held.token));
        }
        statements
    }

    /// Polls the lease with growing pauses until this runner takes it or the
    /// lock timeout passes. The lease table is created first when a read
    /// found the history missing, or when it turns out missing.
    pub(super) async fn take_lease(&mut self, missing: bool) -> Result<Lock> {
        const ACTION: &str = "taking the migration lease";
        let table = lease::table_of(self.given)?;
        let (mut create, mut creation_failures) = (missing, 0);
        let mut wait = Wait::new();
        loop {
            let mut statements = if create {
                lease::create(&table)
            } else {
                Vec::new()
            };
            let creates = statements.len();
            statements.push(lease::take(
                &table,
                self.given,
                self.owner(),
                self.runner.lease_ttl,
            ));
            let results = match self.query(Purpose::Lock, statements).await {
                Ok(results) => results,
                Err(failure) if failure.kind == FailureKind::MissingTable && !create => {
                    create = true;
                    continue;
                }
                // Another runner created the table at the same moment, and
                // this one failed on its catalog rows: it exists now.
                Err(failure)
                    if failure.completed < creates
                        && failure.kind == FailureKind::Other
                        && creation_failures < CREATION_RETRIES =>
                {
                    creation_failures += 1;
                    self.back_off(&mut wait, Holder::Lease(None)).await?;
                    continue;
                }
                Err(failure) => return Err(database(ACTION, failure)),
            };
            let row = last_row(&results);
            // The table has no row: it was emptied by hand.
            if text(row, 1).is_none() && !create {
                create = true;
                continue;
            }
            create = false;
            match text(row, 0) {
                Some(_) => {
                    let token = dialect::integer(row, 0, ACTION)?;
                    // The lease table was found, so its schema exists, and
                    // so does the history's.
                    let lease_schema = text(row, 6).unwrap_or_default();
                    self.lease = Some(Lease {
                        table: table.in_schema(&lease_schema),
                        token,
                    });
                    let Some(schema) = text(row, 7) else {
                        let error = self.no_schema();
                        return self.release(&Lock::Lease, Err(error)).await;
                    };
                    self.sql = self.sql.with_table(self.given.in_schema(&schema))?;
                    self.trace.lock_taken("table", wait.waited, Some(token));
                    return Ok(Lock::Lease);
                }
                None => {
                    let holder = lease_holder(row);
                    self.back_off(&mut wait, Holder::Lease(holder)).await?;
                }
            }
        }
    }
}

/// The lease's holder from the row of an attempt that did not take it.
fn lease_holder(row: Option<&Row>) -> Option<LockHolder> {
    Some(LockHolder {
        pid: text(row, 2).and_then(|pid| pid.parse().ok()).unwrap_or(0),
        application_name: text(row, 3),
        client_addr: text(row, 4),
        state: None,
        query_start: None,
        owner: Some(text(row, 1)?),
        expires_at: text(row, 5),
    })
}
