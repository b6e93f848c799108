//! What happened to the members of a fleet: the [`FleetReport`], its
//! [`Member`]s in the order given, and its [`Summary`].

use std::fmt;
use std::time::Duration;

use crate::Error;

use super::outcome::plural;
use super::{Outcome, Verdict};

/// What happened to the members of a fleet, in the order they were given.
#[derive(Debug)]
pub struct FleetReport<T> {
    pub(super) members: Vec<Member<T>>,
    pub(super) elapsed: Duration,
}

/// One member of a fleet and what happened to it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Member<T> {
    /// The target, as given.
    pub target: T,
    /// What happened.
    pub outcome: Outcome,
    /// How long the member took, from its start (not the fleet's).
    pub elapsed: Duration,
}

impl<T> FleetReport<T> {
    /// Every member, in the order the targets were given.
    pub fn members(&self) -> &[Member<T>] {
        &self.members
    }

    /// Every member, by value.
    pub fn into_members(self) -> Vec<Member<T>> {
        self.members
    }

    /// How long the whole fleet took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many members have this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.members
            .iter()
            .filter(|member| member.outcome.verdict() == verdict)
            .count()
    }

    /// The failed members, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&T, &Error)> {
        self.members
            .iter()
            .filter_map(|member| Some((&member.target, member.outcome.error()?)))
    }

    /// Whether every member was migrated or read: none failed and none was
    /// skipped.
    pub fn is_success(&self) -> bool {
        self.count(Verdict::Failed) == 0 && self.count(Verdict::Skipped) == 0
    }
}

/// The counts of a [`FleetReport`], as [`FleetReport::summary`] shows them.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'r> {
    counts: [(Verdict, usize); Verdict::ALL.len()],
    members: usize,
    elapsed: Duration,
    _report: std::marker::PhantomData<&'r ()>,
}

impl<T> FleetReport<T> {
    /// The counts, which display as `40 members in 1.2s: 38 applied, 2
    /// failed`. Name the members yourself, from [`members`](Self::members):
    /// only you know how to show a target without its password.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            counts: Verdict::ALL.map(|verdict| (verdict, self.count(verdict))),
            members: self.members.len(),
            elapsed: self.elapsed,
            _report: std::marker::PhantomData,
        }
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(verdict, count)| format!("{count} {verdict}"))
            .collect();
        write!(
            f,
            "{} member{} in {:.1?}: {}",
            self.members,
            plural(self.members),
            self.elapsed,
            counts.join(", ")
        )
    }
}
