//! The bookkeeping of one run of a fleet, shared by its workers: the members
//! finished and failed, the hook told, the report put together in order.

use std::sync::PoisonError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Event, Fleet, FleetReport, Member, MemberHook, Outcome, Skip};

impl<'a> Fleet<'a> {
    pub(super) fn board(&self, total: usize) -> Board<'_, 'a> {
        Board {
            fleet: self,
            total,
            started: Instant::now(),
            failed: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
        }
    }
}

/// The bookkeeping of one run of a fleet, shared by its workers.
pub(super) struct Board<'f, 'a> {
    fleet: &'f Fleet<'a>,
    total: usize,
    started: Instant,
    failed: AtomicUsize,
    finished: AtomicUsize,
}

impl Board<'_, '_> {
    /// Why a member must not start, if it must not.
    pub(super) fn refusal(&self) -> Option<Skip> {
        let failed = self.failed.load(Ordering::SeqCst);
        self.fleet
            .max_failures
            .filter(|max| failed >= *max)
            .map(|_| Skip::AfterFailures { failures: failed })
    }

    /// Records a member's end and tells the hook.
    pub(super) fn finish(&self, index: usize, outcome: &Outcome, elapsed: Duration) {
        if matches!(outcome, Outcome::Failed(_)) {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(MemberHook(hook)) = &self.fleet.hook {
            let mut hook = hook.lock().unwrap_or_else(PoisonError::into_inner);
            hook(&Event {
                index,
                finished,
                total: self.total,
                outcome,
                elapsed,
            });
        }
    }

    /// The report, the members in the order of `targets`.
    pub(super) fn report<T>(
        &self,
        targets: Vec<T>,
        results: Vec<(Outcome, Duration)>,
    ) -> FleetReport<T> {
        let members = targets
            .into_iter()
            .zip(results)
            .map(|(target, (outcome, elapsed))| Member {
                target,
                outcome,
                elapsed,
            })
            .collect();
        FleetReport {
            members,
            elapsed: self.started.elapsed(),
        }
    }
}
