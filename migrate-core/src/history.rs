//! The history table's rows, as the runtime reads them, and its fingerprint.

use std::collections::BTreeMap;

use migrate_format::checksum::{self, Checksum};

pub(crate) use migrate_format::history::TableName;

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    pub(crate) version: i64,
    pub(crate) description: String,
    pub(crate) checksum: String,
    pub(crate) applied_at: String,
    /// False while a `no-transaction` migration runs, and after it failed.
    pub(crate) finished: bool,
    /// For an unfinished migration, how many statements completed.
    pub(crate) statements_done: Option<i64>,
}

/// What a history holds, as far as its fingerprint goes: each version's
/// checksum, or `None` for a migration that is unfinished or whose recorded
/// checksum is not one. It is read from the history and kept in step with
/// the changes a transaction makes, so that the fingerprint can be written
/// at the end of that transaction without reading the history again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger(BTreeMap<i64, Option<Checksum>>);

#[allow(dead_code)] // Some of it is used by the PostgreSQL backend only.
impl Ledger {
    pub(crate) fn of(history: &[HistoryRow]) -> Ledger {
        Ledger(
            history
                .iter()
                .map(|row| {
                    let sum = checksum::from_hex(&row.checksum).filter(|_| row.finished);
                    (row.version, sum)
                })
                .collect(),
        )
    }

    /// Records a migration as applied and finished with `checksum`.
    pub(crate) fn finished(&mut self, version: i64, checksum: &Checksum) {
        self.0.insert(version, Some(*checksum));
    }

    /// Records a migration as started and not finished.
    pub(crate) fn unfinished(&mut self, version: i64) {
        self.0.insert(version, None);
    }

    pub(crate) fn remove(&mut self, version: i64) {
        self.0.remove(&version);
    }

    /// The history's fingerprint: the set checksum of its versions and
    /// checksums, computed as [`Migrations::checksum`](crate::Migrations::checksum)
    /// is for the binary's migrations, so the two are equal exactly when the
    /// history holds the binary's migrations, all finished. `None` while a
    /// migration is unfinished or a checksum unreadable: no start-up may then
    /// skip reading the history.
    pub(crate) fn fingerprint(&self) -> Option<Checksum> {
        let mut entries = Vec::with_capacity(self.0.len());
        for (version, sum) in &self.0 {
            entries.push((*version, sum.as_ref()?));
        }
        Some(checksum::set_checksum(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: i64, sum: &Checksum, finished: bool) -> HistoryRow {
        HistoryRow {
            version,
            description: String::new(),
            checksum: checksum::to_hex(sum),
            applied_at: String::new(),
            finished,
            statements_done: None,
        }
    }

    #[test]
    fn the_ledger_fingerprint_is_the_set_checksum_of_what_the_history_holds() {
        let (a, b) = (
            checksum::checksum("SELECT 1;"),
            checksum::checksum("SELECT 2;"),
        );
        let both = checksum::set_checksum([(1, &a), (2, &b)]);
        let mut ledger = Ledger::of(&[row(1, &a, true)]);
        assert_eq!(
            ledger.fingerprint(),
            Some(checksum::set_checksum([(1, &a)]))
        );
        ledger.unfinished(2);
        assert_eq!(ledger.fingerprint(), None, "an unfinished migration");
        ledger.finished(2, &b);
        assert_eq!(ledger.fingerprint(), Some(both));
        assert_eq!(
            Ledger::of(&[row(2, &b, true), row(1, &a, true)]).fingerprint(),
            Some(both),
            "rows in any order"
        );
        ledger.remove(2);
        assert_eq!(
            ledger.fingerprint(),
            Some(checksum::set_checksum([(1, &a)]))
        );
        assert_eq!(Ledger::of(&[row(1, &a, false)]).fingerprint(), None);
        let mut garbled = row(1, &a, true);
        garbled.checksum = "edited by hand".into();
        assert_eq!(Ledger::of(&[garbled]).fingerprint(), None);
        assert_eq!(
            Ledger::default().fingerprint(),
            Some(checksum::set_checksum([]))
        );
    }
}
