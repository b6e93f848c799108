//! Where a member stands against the binary's migrations, from its status.

use std::fmt;

use super::Verdict;
use crate::{State, Status};

/// Where a database stands against the binary's migrations: the versions
/// in each state that is not plain "applied". Read from a [`Status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Standing {
    /// Pending migrations a run would apply, in order.
    pub pending: Vec<i64>,
    /// Pending migrations below the highest applied one.
    pub out_of_order: Vec<i64>,
    /// Applied migrations that the binary does not have.
    pub missing: Vec<i64>,
    /// Applied migrations edited since.
    pub drifted: Vec<i64>,
    /// `no-transaction` migrations that stopped part-way.
    pub incomplete: Vec<i64>,
}

impl Standing {
    /// The standing of a database whose status is `status`.
    pub fn of(status: &Status) -> Standing {
        let mut standing = Standing::default();
        for entry in status.entries() {
            let list = match entry.state {
                State::Applied => continue,
                State::Pending => &mut standing.pending,
                State::OutOfOrder => &mut standing.out_of_order,
                State::Missing => &mut standing.missing,
                State::Drifted { .. } => &mut standing.drifted,
                State::Incomplete { .. } => &mut standing.incomplete,
            };
            list.push(entry.version);
        }
        standing
    }

    /// The standing in one word: what is wrong comes before what is
    /// pending, since a run refuses to start until it is settled.
    pub fn verdict(&self) -> Verdict {
        if !self.drifted.is_empty() || !self.incomplete.is_empty() || !self.out_of_order.is_empty()
        {
            Verdict::Diverged
        } else if !self.missing.is_empty() {
            Verdict::Ahead
        } else if !self.pending.is_empty() {
            Verdict::Behind
        } else {
            Verdict::AtHead
        }
    }
}

/// `behind by 2 (3, 4); drifted: 1`, or `at head`.
impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [
            ("behind by", &self.pending),
            ("out of order", &self.out_of_order),
            ("ahead by", &self.missing),
            ("drifted", &self.drifted),
            ("incomplete", &self.incomplete),
        ]
        .into_iter()
        .filter(|(_, versions)| !versions.is_empty())
        .map(|(label, versions)| {
            let list: Vec<String> = versions.iter().map(i64::to_string).collect();
            format!("{label} {} ({})", versions.len(), list.join(", "))
        })
        .collect();
        if parts.is_empty() {
            return f.write_str("at head");
        }
        f.write_str(&parts.join("; "))
    }
}

// The tests embed the crate's test folder, which needs the macro.
#[cfg(all(test, feature = "macros"))]
mod tests {
    use super::*;
    use crate::history::HistoryRow;
    use crate::{Migration, Migrations};

    static MIGRATIONS: Migrations = crate::embed_migrations!("migrations");

    fn row(migration: &Migration, checksum: Option<&str>) -> HistoryRow {
        HistoryRow {
            version: migration.version(),
            description: migration.description().to_owned(),
            checksum: checksum.map_or_else(|| migration.checksum_hex(), str::to_owned),
            applied_at: String::new(),
            finished: true,
            statements_done: None,
        }
    }

    fn standing(history: &[HistoryRow]) -> Standing {
        Standing::of(&Status::new(MIGRATIONS.as_slice(), history))
    }

    #[test]
    fn a_member_is_at_head_behind_ahead_or_diverged() {
        let [first, second] = MIGRATIONS.as_slice() else {
            panic!("the crate's example folder has two migrations");
        };
        let at_head = standing(&[row(first, None), row(second, None)]);
        assert_eq!(at_head.verdict(), Verdict::AtHead);
        assert_eq!(at_head.to_string(), "at head");

        let behind = standing(&[row(first, None)]);
        assert_eq!(behind.pending, [second.version()]);
        assert_eq!(behind.verdict(), Verdict::Behind);
        assert_eq!(behind.to_string(), "behind by 1 (2)");

        let mut newer = row(second, None);
        newer.version = 7;
        let ahead = standing(&[row(first, None), row(second, None), newer]);
        assert_eq!(ahead.missing, [7]);
        assert_eq!(ahead.verdict(), Verdict::Ahead);
        assert_eq!(ahead.to_string(), "ahead by 1 (7)");

        // Edited and behind: what is wrong comes first.
        let drifted = standing(&[row(first, Some("00"))]);
        assert_eq!(drifted.verdict(), Verdict::Diverged);
        assert_eq!(drifted.to_string(), "behind by 1 (2); drifted 1 (1)");

        let mut stopped = row(second, None);
        stopped.finished = false;
        let incomplete = standing(&[row(first, None), stopped]);
        assert_eq!(incomplete.incomplete, [second.version()]);
        assert_eq!(incomplete.verdict(), Verdict::Diverged);

        let out_of_order = standing(&[row(second, None)]);
        assert_eq!(out_of_order.out_of_order, [first.version()]);
        assert_eq!(out_of_order.verdict(), Verdict::Diverged);
    }
}
