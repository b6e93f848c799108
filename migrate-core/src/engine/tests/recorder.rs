//! A driver that records the engine's actions and answers them from a
//! history it keeps in memory. It reads only the few statements that change
//! the history, by their first words, and nothing of the migrations' SQL.

use std::collections::VecDeque;
use std::time::Duration;

use migrate_format::checksum;
use migrate_format::history::TableName;

use crate::Migrations;
use crate::dialect::sqlite::fingerprint;
use crate::driver::{
    Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row, Running,
};
use crate::history::{HistoryRow, Ledger};

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
            rolled_back: false,
            slept: Duration::ZERO,
            sleeps: 0,
            tool_rows: None,
            adopt_statements: Vec::new(),
            verify_answers: VecDeque::new(),
            marks: Vec::new(),
            probe: None,
        }
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
        if self.dialect == Dialect::Sqlite {
            self.locked = false;
        }
    }

    fn rollback(&mut self) {
        self.staged = None;
        self.staged_fingerprint = None;
        self.staged_pragmas = None;
        self.rolled_back = true;
        if self.dialect == Dialect::Sqlite {
            self.locked = false;
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

    fn lock(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        if self.dialect == Dialect::Sqlite {
            self.history.get_or_insert_with(Vec::new);
            self.begin();
            self.locked = true;
            let (user_version, application_id) = self.pragmas;
            let clock = vec![
                Some("2026-12-01T00:00:00.000Z".to_owned()),
                Some(application_id.to_string()),
                Some(user_version.to_string()),
            ];
            return Ok(vec![Vec::new(), Vec::new(), vec![clock], self.rows()]);
        }
        let first = &statements[0];
        if first.starts_with("SELECT k.key") || first.starts_with("SELECT pg_try_advisory_lock") {
            self.attempts += 1;
            self.locked = self.attempts > self.free_after;
            let taken = Some(if self.locked { "t" } else { "f" }.to_owned());
            let row = match first.starts_with("SELECT k.key") {
                true => vec![Some("42".to_owned()), taken, Some("public".to_owned())],
                false => vec![taken],
            };
            return Ok(vec![vec![row]]);
        }
        let mut results = Vec::new();
        for statement in &statements[..statements.len() - 2] {
            if statement.starts_with("CREATE TABLE") {
                self.history.get_or_insert_with(Vec::new);
            } else if statement.starts_with("DO $migrate$") && self.history.is_some() {
                self.companion = true;
            }
            results.push(Vec::new());
        }
        if self.history.is_none() || !self.companion {
            return Err(Recorder::missing().after_statements(results.len()));
        }
        let stored = vec![
            self.stored_fingerprint.clone(),
            Some("1".to_owned()),
            Some("1".to_owned()),
        ];
        results.push(vec![stored]);
        results.push(self.rows());
        Ok(results)
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

impl Driver for Recorder<'_> {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn query(&mut self, purpose: Purpose, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        self.log.push(purpose);
        match purpose {
            Purpose::ReadFingerprint => match self.dialect {
                Dialect::Sqlite => Ok(vec![vec![vec![Some(self.pragmas.0.to_string())]]]),
                Dialect::Postgres if self.companion && self.history.is_some() => {
                    let stored = vec![
                        self.stored_fingerprint.clone(),
                        Some("1".into()),
                        Some("1".into()),
                    ];
                    Ok(vec![vec![stored]])
                }
                Dialect::Postgres => Err(Recorder::missing()),
            },
            Purpose::ReadHistory if self.history.is_none() => Err(Recorder::missing()),
            Purpose::ReadHistory => {
                let mut results = vec![self.rows()];
                if statements.len() == 2 {
                    results.push(vec![vec![Some(self.pragmas.1.to_string())]]);
                }
                Ok(results)
            }
            Purpose::Lock => self.lock(statements),
            Purpose::Adopt => {
                self.adopt_statements.extend(statements.iter().cloned());
                match &self.tool_rows {
                    Some(rows) => Ok(vec![rows.clone()]),
                    None => Err(Recorder::missing()),
                }
            }
            Purpose::Verify => match self.verify_answers.pop_front() {
                Some(Some(results)) => Ok(results),
                Some(None) => Err(Failure::new(
                    FailureKind::Other,
                    "database disk image is malformed",
                )),
                None => Ok(statements.iter().map(|_| Vec::new()).collect()),
            },
            Purpose::Settings if statements[0].starts_with("SELECT (SELECT") => {
                let settings = migrate_format::session::SQLITE_SETTINGS.len();
                Ok(vec![vec![vec![Some("0".to_owned()); settings]]])
            }
            Purpose::LockHolder => Ok(vec![vec![vec![
                Some("4242".to_owned()),
                Some("other runner".to_owned()),
                None,
                Some("active".to_owned()),
                Some("2026-12-01T00:00:00.000Z".to_owned()),
            ]]]),
            _ => {
                for statement in statements {
                    match statement.as_str() {
                        "ROLLBACK" => self.rollback(),
                        "COMMIT" => self.commit(),
                        unlock if unlock.starts_with("SELECT pg_advisory_unlock") => {
                            self.locked = false
                        }
                        _ => {}
                    }
                }
                Ok(statements.iter().map(|_| Vec::new()).collect())
            }
        }
    }

    fn execute(&mut self, purpose: Purpose, pieces: &[Piece]) -> Result<Executed, Failure> {
        self.log.push(purpose);
        let mut markers = Vec::new();
        if purpose == Purpose::Batch {
            self.batch_sql
                .extend(pieces.iter().map(|piece| piece.sql.clone()));
        }
        for piece in pieces {
            if purpose == Purpose::Statement {
                self.statements.push(piece.sql.clone());
                if self.fail_statement == Some(self.statements.len()) {
                    return Err(Failure::new(FailureKind::Other, "the statement failed"));
                }
            } else if piece.marker {
                if self.fail_after == Some(markers.len()) {
                    return Err(Failure::new(FailureKind::Other, "the migration failed")
                        .after_markers(markers));
                }
                let row = self.marker(&piece.sql);
                markers.push(Marker {
                    rows: vec![row],
                    elapsed: Some(Duration::from_micros(1)),
                });
            } else {
                self.plain(&piece.sql);
            }
        }
        if purpose == Purpose::Batch {
            let versions = markers.iter().map(|m| number(&m.rows[0])).collect();
            match pieces
                .iter()
                .any(|p| p.marker && p.sql.starts_with("DELETE"))
            {
                true => self.reverted.push(versions),
                false => self.batches.push(versions),
            }
        }
        if self.drop_markers {
            markers.clear();
        }
        Ok(Executed {
            markers,
            elapsed: Duration::from_micros(3),
        })
    }

    fn sleep(&mut self, pause: Duration) {
        self.slept += pause;
        self.sleeps += 1;
    }

    fn running(&mut self, request: Running) -> Option<bool> {
        self.marks.push((request, self.log.len()));
        (request == Running::Probe).then_some(self.probe).flatten()
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
