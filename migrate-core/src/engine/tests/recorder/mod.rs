//! A driver that records the engine's actions and answers them from a
//! history it keeps in memory. It reads only the few statements that change
//! the history, by their first words, and nothing of the migrations' SQL.
//!
//! `server.rs` answers the locks (SQLite's write lock; PostgreSQL's server
//! sessions behind a pooler, advisory locks, lease, and CockroachDB);
//! `driver.rs` answers each action; `knobs.rs` holds what a test sets up
//! and reads back.

mod driver;
mod knobs;
mod server;

use std::collections::VecDeque;
use std::time::Duration;

use crate::Migrations;
use crate::driver::{Dialect, Failure, FailureKind, Purpose, Row, Running};
use crate::history::HistoryRow;

/// One history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    version: i64,
    checksum: String,
    finished: bool,
    done: Option<i64>,
}

impl Entry {
    /// A migration of `migrations`, applied as it is.
    pub(crate) fn of(migrations: &Migrations, version: i64) -> Entry {
        Entry::applied(
            version,
            &migrations.get(version).expect("a version").checksum_hex(),
        )
    }

    /// A version applied with `checksum`: edited since, or unknown to the binary.
    pub(crate) fn applied(version: i64, checksum: &str) -> Entry {
        Entry {
            version,
            checksum: checksum.to_owned(),
            finished: true,
            done: None,
        }
    }

    /// A `no-transaction` migration that stopped after `done` statements.
    pub(crate) fn unfinished(migrations: &Migrations, version: i64, done: i64) -> Entry {
        Entry {
            finished: false,
            done: Some(done),
            ..Entry::of(migrations, version)
        }
    }

    /// The same, started from a file whose checksum was `checksum`: the
    /// binary's file was edited since.
    pub(crate) fn unfinished_edited(version: i64, checksum: &str, done: i64) -> Entry {
        Entry {
            finished: false,
            done: Some(done),
            ..Entry::applied(version, checksum)
        }
    }
}

pub(crate) struct Recorder<'m> {
    dialect: Dialect,
    migrations: &'m Migrations,
    /// The committed history; `None` before the table exists.
    history: Option<Vec<Entry>>,
    /// What the open transaction changed, committed at its `COMMIT`.
    staged: Option<Vec<Entry>>,
    /// PostgreSQL: whether the companion table exists, and its fingerprint.
    companion: bool,
    stored_fingerprint: Option<String>,
    staged_fingerprint: Option<Option<String>>,
    /// SQLite: `user_version` and `application_id`.
    pragmas: (i32, i32),
    staged_pragmas: Option<(i32, i32)>,
    log: Vec<Purpose>,
    batches: Vec<Vec<i64>>,
    reverted: Vec<Vec<i64>>,
    statements: Vec<String>,
    /// The pieces of every batch, in order.
    batch_sql: Vec<String>,
    progress: Vec<i64>,
    fail_after: Option<usize>,
    fail_statement: Option<usize>,
    drop_markers: bool,
    free_after: usize,
    attempts: usize,
    locked: bool,
    /// PostgreSQL: the advisory lock held is transaction-level, and ends with
    /// the transaction.
    transaction_lock: bool,
    rolled_back: bool,
    slept: Duration,
    sleeps: usize,
    /// Another tool's history table, for an adoption; `None` when missing.
    tool_rows: Option<Vec<Row>>,
    adopt_statements: Vec<String>,
    /// The answers to the checks, in order; `None` answers with an error.
    verify_answers: VecDeque<Option<Vec<Vec<Row>>>>,
    /// The requests about the mark of a running migration, each with the
    /// number of actions logged before it.
    marks: Vec<(Running, usize)>,
    /// The answer to a probe of the mark.
    probe: Option<bool>,
    /// PostgreSQL: the server session's backend pid, the one that holds the
    /// session lock, and whether a pooler in transaction mode moves the run
    /// to another server session at every message outside a transaction.
    pid: i32,
    lock_pid: i32,
    moving: bool,
    /// The pooler starts moving the run after this many actions.
    moving_after: usize,
    actions: usize,
    /// PostgreSQL: this server session holds the session lock for another
    /// client of a pooler.
    shared: bool,
    /// What `version()` says; CockroachDB's advisory locks always succeed.
    version: String,
    /// The lease table exists, and its lease: owner, token, whether held.
    lease_table: bool,
    lease_owner: String,
    lease_token: i64,
    leased: bool,
    /// Another runner takes the lease over at this guard (1-based).
    steal_at_guard: Option<usize>,
    guards: usize,
    /// Every statement and piece, as sent.
    sent: Vec<Vec<String>>,
}

impl<'m> Recorder<'m> {
    pub(crate) fn new(dialect: Dialect, migrations: &'m Migrations) -> Recorder<'m> {
        Recorder {
            dialect,
            migrations,
            history: None,
            staged: None,
            companion: false,
            stored_fingerprint: None,
            staged_fingerprint: None,
            pragmas: (0, 0),
            staged_pragmas: None,
            log: Vec::new(),
            batches: Vec::new(),
            reverted: Vec::new(),
            statements: Vec::new(),
            batch_sql: Vec::new(),
            progress: Vec::new(),
            fail_after: None,
            fail_statement: None,
            drop_markers: false,
            free_after: 0,
            attempts: 0,
            locked: false,
            transaction_lock: false,
            rolled_back: false,
            slept: Duration::ZERO,
            sleeps: 0,
            tool_rows: None,
            adopt_statements: Vec::new(),
            verify_answers: VecDeque::new(),
            marks: Vec::new(),
            probe: None,
            pid: 100,
            lock_pid: 0,
            moving: false,
            moving_after: 0,
            actions: 0,
            shared: false,
            version: "PostgreSQL 15.6 (Debian 15.6-0+deb12u1)".to_owned(),
            lease_table: false,
            lease_owner: String::new(),
            lease_token: 0,
            leased: false,
            steal_at_guard: None,
            guards: 0,
            sent: Vec::new(),
        }
    }
}

impl Recorder<'_> {
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.history.iter().flatten()
    }

    fn rows(&self) -> Vec<Row> {
        let boolean = |b: bool| match (self.dialect, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (Dialect::Postgres, true) => "t",
            (Dialect::Postgres, false) => "f",
        };
        self.entries()
            .map(|e| {
                vec![
                    Some(e.version.to_string()),
                    Some(e.checksum.clone()),
                    Some(boolean(e.finished).to_owned()),
                    e.done.map(|d| d.to_string()),
                    Some(format!("migration {}", e.version)),
                ]
            })
            .collect()
    }

    fn missing() -> Failure {
        Failure::new(FailureKind::MissingTable, "no such table")
    }

    fn in_transaction(&self) -> bool {
        self.staged.is_some()
    }

    fn begin(&mut self) {
        self.staged = Some(self.history.clone().unwrap_or_default());
        self.staged_fingerprint = None;
        self.staged_pragmas = None;
    }

    fn commit(&mut self) {
        if let Some(staged) = self.staged.take() {
            self.history = Some(staged);
        }
        if let Some(fingerprint) = self.staged_fingerprint.take() {
            self.stored_fingerprint = fingerprint;
        }
        if let Some(pragmas) = self.staged_pragmas.take() {
            self.pragmas = pragmas;
        }
        self.end_transaction();
    }

    fn rollback(&mut self) {
        self.staged = None;
        self.staged_fingerprint = None;
        self.staged_pragmas = None;
        self.rolled_back = true;
        self.end_transaction();
    }

    fn end_transaction(&mut self) {
        if self.dialect == Dialect::Sqlite || self.transaction_lock {
            self.locked = false;
            self.transaction_lock = false;
        }
    }

    /// Applies a change to the open transaction, or commits it at once.
    fn change(&mut self, change: impl FnOnce(&mut Vec<Entry>)) {
        let autocommit = !self.in_transaction();
        if autocommit {
            self.begin();
        }
        change(self.staged.as_mut().expect("a transaction"));
        if autocommit {
            self.commit();
        }
    }

    /// A marker: a history row inserted, or a reverted one removed.
    fn marker(&mut self, sql: &str) -> Row {
        let version = number_after(
            sql,
            if sql.starts_with("INSERT") {
                "VALUES ("
            } else {
                "version = "
            },
        );
        let checksum = self.migrations.get(version).map(|m| m.checksum_hex());
        if sql.starts_with("INSERT") {
            let entry = Entry::applied(version, &checksum.unwrap_or_default());
            self.change(|history| insert(history, entry));
        } else {
            self.change(|history| history.retain(|e| e.version != version));
        }
        vec![Some(version.to_string()), Some("10".to_owned())]
    }

    /// One of migrate's own statements, or a migration's SQL, which changes
    /// nothing here.
    fn plain(&mut self, sql: &str) {
        if sql == "BEGIN" || sql == "BEGIN IMMEDIATE" {
            self.begin();
        } else if sql.starts_with("DO $migrate$") {
            self.companion = true;
        } else if sql == "COMMIT" {
            self.commit();
        } else if let Some(value) = sql.strip_prefix("PRAGMA user_version = ") {
            let value = value.parse().expect("a number");
            let pragmas = self.staged_pragmas.get_or_insert(self.pragmas);
            pragmas.0 = value;
        } else if let Some(value) = sql.strip_prefix("PRAGMA application_id = ") {
            let value = value.parse().expect("a number");
            let pragmas = self.staged_pragmas.get_or_insert(self.pragmas);
            pragmas.1 = value;
        } else if sql.contains("_state\" (history, fingerprint)") {
            let fingerprint = sql.rsplit('\'').nth(1).filter(|_| !sql.ends_with("NULL)"));
            self.staged_fingerprint = Some(fingerprint.map(str::to_owned));
            if !self.in_transaction() {
                self.stored_fingerprint = fingerprint.map(str::to_owned);
            }
        } else if sql.starts_with("INSERT INTO") && !sql.contains("_state\"") {
            let entries: Vec<Entry> = rows_of_insert(sql);
            self.change(|history| entries.into_iter().for_each(|e| insert(history, e)));
        } else if sql.contains("SET statements_done = ") {
            let (done, version) = (
                number_after(sql, "statements_done = "),
                number_after(sql, "version = "),
            );
            self.progress.push(done);
            self.change(|history| update(history, version, |e| e.done = Some(done)));
        } else if sql.contains("SET finished = ") {
            let version = number_after(sql, "WHERE version = ");
            self.change(|history| {
                update(history, version, |e| (e.finished, e.done) = (true, None))
            });
        } else if sql.contains("SET checksum = ") {
            let version = number_after(sql, "WHERE version = ");
            let checksum = sql.split('\'').nth(1).unwrap_or_default().to_owned();
            self.change(|history| update(history, version, |e| e.checksum = checksum));
        } else if sql.starts_with("DELETE FROM") && !sql.contains("_state\"") {
            let version = number_after(sql, "version = ");
            self.change(|history| history.retain(|e| e.version != version));
        }
    }
}

fn row_of(entry: &Entry) -> HistoryRow {
    HistoryRow {
        version: entry.version,
        description: String::new(),
        checksum: entry.checksum.clone(),
        applied_at: String::new(),
        finished: entry.finished,
        statements_done: entry.done,
    }
}

fn insert(history: &mut Vec<Entry>, entry: Entry) {
    history.retain(|e| e.version != entry.version);
    let index = history.partition_point(|e| e.version < entry.version);
    history.insert(index, entry);
}

fn update(history: &mut [Entry], version: i64, change: impl FnOnce(&mut Entry)) {
    if let Some(entry) = history.iter_mut().find(|e| e.version == version) {
        change(entry);
    }
}

/// The text between `start` and the next `end` in `sql`.
fn between<'s>(sql: &'s str, start: &str, end: &str) -> &'s str {
    let rest = &sql[sql.find(start).expect("the start") + start.len()..];
    &rest[..rest.find(end).expect("the end")]
}

/// The integer right after `prefix` in `sql`.
fn number_after(sql: &str, prefix: &str) -> i64 {
    let rest = &sql[sql.find(prefix).expect("the prefix") + prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}

fn number(row: &Row) -> i64 {
    row[0]
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("a version")
}

/// The rows of migrate's `INSERT` into the history: each row's version
/// leads it, and its `finished` and `statements_done` end it.
fn rows_of_insert(sql: &str) -> Vec<Entry> {
    let values = &sql[sql.find("VALUES (").expect("values") + "VALUES (".len()..];
    values
        .split("),\n    (")
        .map(|row| {
            let row = row.trim_end_matches(')');
            let version: String = row.chars().take_while(char::is_ascii_digit).collect();
            let checksum = row.split('\'').nth(3).unwrap_or_default().to_owned();
            let mut tail = row.rsplit(", ");
            let done = tail.next().and_then(|d| d.parse().ok());
            let finished = matches!(tail.next(), Some("1" | "true"));
            Entry {
                version: version.parse().expect("a version"),
                checksum,
                finished,
                done,
            }
        })
        .collect()
}
