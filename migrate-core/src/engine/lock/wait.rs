//! Waiting for the lock: the growing pauses between attempts, and the lock
//! timeout that names the holder.

use std::time::Duration;

use crate::dialect::postgres::lock as advisory;
use crate::driver::Purpose;
use crate::error::LockHolder;
use crate::{Error, Result};

use super::super::cx::{Cx, database};
use super::super::with_jitter;

use super::advisory_lock::advisory_holder;
use super::last_row;

/// The first pause between two attempts to take the lock.
const FIRST_RETRY: Duration = Duration::from_millis(10);
/// The longest pause between two attempts, so a freed lock is noticed quickly.
const LONGEST_RETRY: Duration = Duration::from_millis(250);

/// Whom a runner waits for.
#[derive(Debug, Clone)]
pub(super) enum Holder {
    /// The session holding the advisory lock with this key: asked of
    /// `pg_locks` when needed.
    Advisory(i64),
    /// The lease's owner, as the last attempt read it.
    Lease(Option<LockHolder>),
}

/// How long a runner has waited for the lock, and how long it pauses next.
#[derive(Debug)]
pub(super) struct Wait {
    pub(super) waited: Duration,
    pause: Duration,
    announced: bool,
}

impl Wait {
    pub(super) fn new() -> Wait {
        Wait {
            waited: Duration::ZERO,
            pause: FIRST_RETRY,
            announced: false,
        }
    }
}

impl Cx<'_, '_> {
    /// Sleeps before the next attempt, growing the pause, or fails with a
    /// lock timeout naming `holder` once the runner has waited long enough.
    pub(super) async fn back_off(&mut self, wait: &mut Wait, holder: Holder) -> Result<()> {
        if wait.waited >= self.runner.lock_timeout {
            return Err(self.lock_timeout(holder, wait.waited).await);
        }
        if !wait.announced {
            wait.announced = true;
            if self.trace.wants_holder() {
                let holder = self.find_holder(&holder).await.ok().flatten();
                self.trace.waiting(self.strategy, holder.as_ref());
            }
        }
        let nap = with_jitter(wait.pause, self.seed()).min(self.runner.lock_timeout - wait.waited);
        self.sleep(nap).await;
        wait.waited += nap;
        wait.pause = (wait.pause * 2).min(LONGEST_RETRY);
        Ok(())
    }

    async fn lock_timeout(&mut self, holder: Holder, waited: Duration) -> Error {
        let holder = match self.find_holder(&holder).await {
            Ok(holder) => holder.map(Box::new),
            Err(error) => return error,
        };
        Error::LockTimeout {
            table: self.given.plain().to_owned(),
            waited,
            holder,
        }
    }

    async fn find_holder(&self, holder: &Holder) -> Result<Option<LockHolder>> {
        match holder {
            Holder::Lease(holder) => Ok(holder.clone()),
            Holder::Advisory(key) => self
                .query(Purpose::LockHolder, vec![advisory::holder(*key)])
                .await
                .map(|results| last_row(&results).and_then(advisory_holder))
                .map_err(|failure| database("finding who holds the migration lock", failure)),
        }
    }
}
