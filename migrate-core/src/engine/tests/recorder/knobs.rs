//! What a test sets up in the recorder, and what it reads back after a run.

use std::time::Duration;

use migrate_format::checksum;
use migrate_format::history::TableName;

use crate::dialect::sqlite::fingerprint;
use crate::driver::{Dialect, Purpose, Row, Running};
use crate::history::{HistoryRow, Ledger};

use super::{Entry, Recorder, row_of};

impl Recorder<'_> {
    /// Every action's statements or pieces, as sent.
    pub(crate) fn sent(&self) -> Vec<Vec<String>> {
        self.sent.clone()
    }

    /// Another tool's history table holds these rows, as its read selects them.
    pub(crate) fn set_tool_rows(&mut self, rows: &[&[&str]]) {
        self.tool_rows = Some(
            rows.iter()
                .map(|row| row.iter().map(|v| Some((*v).to_owned())).collect())
                .collect(),
        );
    }

    /// The statements that read another tool's table.
    pub(crate) fn adopt_statements(&self) -> Vec<String> {
        self.adopt_statements.clone()
    }

    /// The next check answers these results, one per statement, or fails
    /// as a corrupt database does (`None`).
    pub(crate) fn answer_check(&mut self, results: Option<Vec<Vec<Row>>>) {
        self.verify_answers.push_back(results);
    }

    /// A database with this history, and a companion with no fingerprint.
    pub(crate) fn set_history(&mut self, entries: &[Entry]) {
        self.history = Some(entries.to_vec());
        self.companion = true;
    }

    pub(crate) fn set_pragmas(&mut self, user_version: i32, application_id: i32) {
        self.pragmas = (user_version, application_id);
    }

    /// The batch fails after this many of its migrations completed.
    pub(crate) fn fail_batch_after(&mut self, markers: usize) {
        self.fail_after = Some(markers);
    }

    /// The `n`th statement run one at a time fails.
    pub(crate) fn fail_statement(&mut self, n: usize) {
        self.fail_statement = Some(n);
    }

    /// The driver breaks its contract: it returns no markers.
    pub(crate) fn drop_markers(&mut self) {
        self.drop_markers = true;
    }

    /// PostgreSQL: the advisory lock is held elsewhere for this many attempts.
    pub(crate) fn lock_free_after(&mut self, attempts: usize) {
        self.free_after = attempts;
    }

    /// What a probe of the mark of a running migration answers.
    pub(crate) fn probe_answers(&mut self, answer: Option<bool>) {
        self.probe = answer;
    }

    pub(crate) fn marks(&self) -> Vec<(Running, usize)> {
        self.marks.clone()
    }

    pub(crate) fn clear_log(&mut self) {
        self.log.clear();
    }

    pub(crate) fn purposes(&self) -> Vec<Purpose> {
        self.log.clone()
    }

    pub(crate) fn batches(&self) -> Vec<Vec<i64>> {
        self.batches.clone()
    }

    pub(crate) fn reverted_batches(&self) -> Vec<Vec<i64>> {
        self.reverted.clone()
    }

    pub(crate) fn statements(&self) -> Vec<String> {
        self.statements.clone()
    }

    pub(crate) fn batch_sql(&self) -> Vec<String> {
        self.batch_sql.clone()
    }

    pub(crate) fn progress_records(&self) -> Vec<i64> {
        self.progress.clone()
    }

    pub(crate) fn locked(&self) -> bool {
        self.locked
    }

    pub(crate) fn rolled_back(&self) -> bool {
        self.rolled_back
    }

    pub(crate) fn slept(&self) -> Duration {
        self.slept
    }

    pub(crate) fn sleeps(&self) -> usize {
        self.sleeps
    }

    pub(crate) fn pragmas(&self) -> (i32, i32) {
        self.pragmas
    }

    pub(crate) fn finished(&self) -> Vec<i64> {
        self.entries()
            .filter(|e| e.finished)
            .map(|e| e.version)
            .collect()
    }

    pub(crate) fn unfinished(&self) -> Vec<(i64, Option<i64>)> {
        self.entries()
            .filter(|e| !e.finished)
            .map(|e| (e.version, e.done))
            .collect()
    }

    pub(crate) fn checksum_of(&self, version: i64) -> Option<String> {
        self.entries()
            .find(|e| e.version == version)
            .map(|e| e.checksum.clone())
    }

    /// Whether the stored fingerprint is that of the committed history.
    pub(crate) fn fingerprint_is_current(&self) -> bool {
        let history: Vec<HistoryRow> = self.entries().map(row_of).collect();
        let Some(set) = Ledger::of(&history).fingerprint() else {
            return false;
        };
        match self.dialect {
            Dialect::Sqlite => self.pragmas.0 == fingerprint(&set, &TableName::default()),
            Dialect::Postgres => self.stored_fingerprint == Some(checksum::to_hex(&set)),
        }
    }
}
