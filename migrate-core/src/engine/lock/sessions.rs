//! The server sessions a run has seen, and the session lock kept pinned to
//! one of them behind a transaction pooler.

use crate::dialect::postgres::lock as advisory;
use crate::driver::Dialect;
use crate::error::LockProblem;
use crate::{LockStrategy, Migration, Result, Script};

use super::super::cx::Cx;
use super::Lock;

/// The server sessions a run has seen, by backend pid: a pooler in
/// transaction mode shows itself by moving a run between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sessions {
    first: Option<i32>,
    /// The first session, and the first other one seen after it.
    pub(crate) moved: Option<(i32, i32)>,
}

impl Sessions {
    pub(crate) fn saw(&mut self, pid: i32) {
        match self.first {
            None => self.first = Some(pid),
            Some(first) if first != pid && self.moved.is_none() => self.moved = Some((first, pid)),
            Some(_) => {}
        }
    }
}

impl Cx<'_, '_> {
    /// Before statements that must run outside any transaction: under the
    /// session lock, refuses when the run has seen two server sessions,
    /// since a pooler could then move it while no transaction pins it, and
    /// otherwise stops ending messages inside a transaction until
    /// [`Cx::return_to_transactions`].
    pub(crate) fn leave_transactions(&mut self) -> Result<()> {
        if !self.pinned {
            return Ok(());
        }
        if let Some((before, after)) = self.sessions.moved {
            self.trace.pooling(before, after);
            return Err(self.lock_problem(LockProblem::TransactionPooling { before, after }));
        }
        self.pinned = false;
        Ok(())
    }

    /// After statements run outside any transaction: under the session
    /// lock, ends messages inside a transaction again.
    pub(crate) fn return_to_transactions(&mut self, lock: &Lock) {
        self.pinned = matches!(lock, Lock::Advisory { .. });
    }

    /// Refuses, before anything runs, a script that runs outside any
    /// transaction under the transaction strategy, whose lock lives only
    /// inside transactions.
    pub(crate) fn check_outside_transaction(
        &self,
        migration: &Migration,
        script: &Script,
    ) -> Result<()> {
        if self.dialect() == Dialect::Postgres && self.strategy == LockStrategy::Transaction {
            return Err(self.lock_problem(LockProblem::NoTransaction {
                version: migration.version(),
                file: script.file().to_owned(),
            }));
        }
        Ok(())
    }

    /// Under the session strategy, what the read of the history before the
    /// lock also asks: the server session's backend pid.
    pub(crate) fn session_probe(&self) -> Option<String> {
        (self.dialect() == Dialect::Postgres && self.strategy == LockStrategy::Session)
            .then(|| advisory::SESSION_PROBE.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_moved_between_server_sessions_is_noticed_once() {
        let mut sessions = Sessions::default();
        sessions.saw(10);
        sessions.saw(10);
        assert_eq!(sessions.moved, None);
        sessions.saw(11);
        sessions.saw(12);
        assert_eq!(sessions.moved, Some((10, 11)));
    }
}
