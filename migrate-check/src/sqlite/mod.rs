//! The SQLite check: a dry run of every migration on an in-memory database,
//! with the real engine, in the environment that `migrate-core` gives them.
//!
//! What the dry run mirrors from the runtime:
//!
//! - The history table `_migrations` exists before the first migration runs,
//!   with one row per migration, so migrations that read or alter it work.
//! - Consecutive migrations run in one transaction (`BEGIN IMMEDIATE`), as
//!   the runtime's default `TransactionMode::Single` does; a migration marked
//!   `-- migrate:no-transaction` runs one statement at a time outside it,
//!   split exactly as the runtime splits it. So `VACUUM` in a transaction,
//!   or a `PRAGMA foreign_keys` that a transaction would ignore, behave as
//!   they will in production.
//! - `foreign_keys` is ON by default, as a connection of the SQLite that
//!   rusqlite's `bundled` feature compiles opens; [`SqliteOptions`] turns it
//!   off for connections that keep SQLite's stock default.
//! - A connection setting made by a migration lasts until the end of that
//!   migration (see [`migrate_format::session`]): after each migration the
//!   settings are put back, a migration that leaves a TEMP object or an
//!   attached database behind is refused, and so is one that leaves a
//!   foreign key violation for a deferred check at COMMIT. Each migration is
//!   checked as if it were applied on its own, in a later deploy, which is
//!   also what makes the checkpoints of the cache exact.
//!
//! The dry run stops at the first up migration that fails, as the runtime
//! would: everything after it would run against a schema that never exists.
//! It also stops any statement after a bounded number of steps of SQLite's
//! virtual machine ([`SqliteOptions::step_limit`]), so that a query that
//! never ends cannot hang the build.

mod cache;
mod ffi;

use std::ops::Range;
use std::path::Path;

use migrate_format::checksum;
use migrate_format::directive::SqliteFunction;
use migrate_format::history::{self, Dialect, Row, TableName};
use migrate_format::lexer::{self, Flavor};
use migrate_format::session;
use migrate_format::{Problem, SourceFile, SourceMigration};

use cache::Cache;
use ffi::{Db, Failure};

/// The savepoint that undoes a down migration after its check.
const DOWN_SAVEPOINT: &str = "migrate_check_down";

/// How the dry run sets up its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// `PRAGMA foreign_keys` at the start. `true` by default: the bundled
    /// SQLite of `libsqlite3-sys` (rusqlite's `bundled` feature) is compiled
    /// with `SQLITE_DEFAULT_FOREIGN_KEYS=1`. A system SQLite usually starts
    /// with them off.
    pub foreign_keys: bool,
    /// The runtime's history table, `_migrations` unless the macro is told
    /// the name the runner uses.
    pub history_table: TableName,
    /// How many steps of SQLite's virtual machine one statement may take
    /// before the dry run stops it and reports it, [`DEFAULT_STEP_LIMIT`]
    /// unless told otherwise; 0 for no limit. Steps, not time, so that the
    /// verdict does not depend on the build machine's speed.
    pub step_limit: u64,
}

/// The default [`SqliteOptions::step_limit`]: about 10 to 30 seconds of a
/// statement in a default (unoptimized) build, and far more than any
/// migration of a real project needs on the few rows that a dry run holds.
pub const DEFAULT_STEP_LIMIT: u64 = 500_000_000;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            foreign_keys: true,
            history_table: TableName::default(),
            step_limit: DEFAULT_STEP_LIMIT,
        }
    }
}

/// Dry-runs the migrations, in order, on an in-memory SQLite database, with
/// the default [`SqliteOptions`].
///
/// Every up migration runs, and each down migration runs right after its up
/// migration and is then undone, so it is checked against the schema it
/// will meet. Returns the problems, with the file, line and column of each.
pub fn check_sqlite(migrations: &[SourceMigration]) -> Vec<Problem> {
    check_sqlite_with(migrations, SqliteOptions::default())
}

/// [`check_sqlite`] with explicit options.
pub fn check_sqlite_with(migrations: &[SourceMigration], options: SqliteOptions) -> Vec<Problem> {
    dry_run(migrations, options, None)
}

/// [`check_sqlite_with`], resuming from the checkpoint of the longest
/// unchanged prefix of the migrations saved in the folder `cache`, and
/// saving checkpoints: one for all migrations but the newest, and one every
/// 25 migrations among the newest hundred. A folder that passed is
/// remembered, and passes again without running.
///
/// The result is always the same as without a cache: between two
/// migrations the connection holds nothing that a checkpoint lacks (see the
/// module's documentation). A failing cache is ignored.
pub fn check_sqlite_cached(
    migrations: &[SourceMigration],
    options: SqliteOptions,
    cache: &Path,
) -> Vec<Problem> {
    dry_run(migrations, options, Some(cache))
}

fn dry_run(
    migrations: &[SourceMigration],
    options: SqliteOptions,
    cache: Option<&Path>,
) -> Vec<Problem> {
    let functions = declared_functions(migrations);
    let cache = cache.map(|folder| Cache::new(folder, migrations, &options, &functions));
    let mut run = match DryRun::new(options, functions) {
        Ok(run) => run,
        Err(message) => {
            let file = migrations.first().map_or("", |m| m.up.display.as_str());
            return vec![problem_in(file, message)];
        }
    };
    if cache.as_ref().is_some_and(Cache::passed) {
        return Vec::new();
    }
    let start = cache
        .as_ref()
        .and_then(|cache| run.resume(cache))
        .unwrap_or(0);
    run.apply(migrations, start, cache.as_ref());
    // After a failure, views would only repeat it.
    if run.problems.is_empty() {
        run.check_views(migrations);
    }
    if let Some(cache) = cache {
        if run.problems.is_empty() {
            cache.remember_passed();
        }
        cache.prune();
    }
    run.problems
}

/// Every function stub that any migration declares. They are registered for
/// the whole dry run, as an application registers its functions on every
/// connection, so a view or trigger that uses one keeps working.
fn declared_functions(migrations: &[SourceMigration]) -> Vec<SqliteFunction> {
    let files = migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down));
    let mut functions: Vec<SqliteFunction> = Vec::new();
    for function in files.flat_map(|file| &file.directives.sqlite_functions) {
        if !functions.contains(function) {
            functions.push(function.clone());
        }
    }
    functions
}

struct DryRun {
    db: Db,
    options: SqliteOptions,
    functions: Vec<SqliteFunction>,
    /// The connection's settings before any migration, as
    /// [`session::sqlite_read`] reads them: what each migration's settings
    /// are put back to.
    settings: Vec<i64>,
    problems: Vec<Problem>,
}

impl DryRun {
    fn new(options: SqliteOptions, functions: Vec<SqliteFunction>) -> Result<DryRun, String> {
        let db = open(&options, &functions)?;
        let settings = db.integers(&session::sqlite_read())?;
        Ok(DryRun {
            db,
            options,
            functions,
            settings,
            problems: Vec::new(),
        })
    }

    /// Continues from the cache's longest saved prefix, if any. Returns how
    /// many migrations it holds.
    fn resume(&mut self, cache: &Cache) -> Option<usize> {
        let (count, db) = cache.restore()?;
        configure(&db, &self.options, &self.functions).ok()?;
        // A new connection starts with the same settings as the first one;
        // should it not, the checkpoint is not used.
        if db.integers(&session::sqlite_read()).ok()? != self.settings {
            return None;
        }
        self.db = db;
        Some(count)
    }

    /// Applies the migrations from index `start` on, each followed by the
    /// check of its down migration, saving checkpoints on the way.
    fn apply(&mut self, migrations: &[SourceMigration], start: usize, cache: Option<&Cache>) {
        let mut last = None;
        for (index, migration) in migrations.iter().enumerate().skip(start) {
            if let (Some(cache), Some(previous)) = (cache, last)
                && cache.is_checkpoint(index)
            {
                self.checkpoint(cache, previous, index);
            }
            last = Some(&migration.up);
            if !self.up(migration) {
                self.hint_at_settings(&migrations[..index]);
                break;
            }
            if let Some(down) = &migration.down
                && !self.down(down)
            {
                break;
            }
        }
        // Each migration was checked for deferred foreign key violations on
        // its own, so this commit only ends the run; after a failure there is
        // nothing left worth committing.
        if let Some(file) = last {
            if self.problems.is_empty() {
                self.end_transaction(file);
            } else if !self.db.autocommit() {
                self.internal(file, "ROLLBACK");
            }
        }
    }

    /// Applies an up migration and records it. Returns whether it applied.
    fn up(&mut self, migration: &SourceMigration) -> bool {
        let file = &migration.up;
        if file.directives.no_transaction {
            self.end_transaction(file);
            self.begin(file);
            self.record(migration, false);
            self.end_transaction(file);
            let applied = statement_by_statement(&self.db, file);
            let applied = self.collect(applied) && self.settle(file);
            if applied {
                self.finish_record(migration);
            }
            applied
        } else {
            if self.db.autocommit() {
                self.begin(file);
            }
            let applied = self.in_transaction(file) && self.settle(file);
            if applied {
                self.record(migration, true);
            }
            applied
        }
    }

    /// Ends the migration's hold on the connection, so that the next one
    /// meets the connection as a later deploy would give it: the settings
    /// put back, no TEMP object nor attached database left (removed, and
    /// refused unless the file is not checked), and no foreign key
    /// violation left for COMMIT. Returns whether the migration left none
    /// of these.
    fn settle(&mut self, file: &SourceFile) -> bool {
        let settled = settle(&self.db, &self.settings, file);
        self.collect(settled)
    }

    /// When an up migration failed after earlier ones changed connection
    /// settings that may explain its message, says that those settings no
    /// longer hold. Read from the files, not from the run, so that the
    /// message is the same whether or not the earlier migrations ran from a
    /// checkpoint.
    fn hint_at_settings(&mut self, earlier: &[SourceMigration]) {
        let Some(problem) = self.problems.last_mut() else {
            return;
        };
        if let Some(hint) = settings_hint(earlier, &problem.file, &problem.message) {
            problem.message.push_str(&hint);
        }
    }

    /// Runs a down migration on the state its up migration left, then
    /// undoes it. Returns whether that state is still there to go on from.
    fn down(&mut self, file: &SourceFile) -> bool {
        if file.directives.no_check {
            return true;
        }
        if file.directives.no_transaction {
            // A backup cannot read a database with a write transaction open,
            // so the migrations so far are committed first. Only deferred
            // foreign keys could tell the difference, and they are checked
            // at this commit instead of a later one.
            self.end_transaction(file);
            let settings = &self.settings;
            let checked = self
                .copy()
                .map_err(|message| problem_in(&file.display, message))
                .and_then(|copy| {
                    statement_by_statement(&copy, file)?;
                    settle(&copy, settings, file)
                });
            self.collect(checked);
            return true;
        }
        let nested = !self.db.autocommit();
        let (open, undo) = if nested {
            (
                format!("SAVEPOINT {DOWN_SAVEPOINT}"),
                format!("ROLLBACK TO {DOWN_SAVEPOINT}; RELEASE {DOWN_SAVEPOINT}"),
            )
        } else {
            ("BEGIN".to_owned(), "ROLLBACK".to_owned())
        };
        self.internal(file, &open);
        if self.in_transaction(file) {
            self.settle(file);
        }
        // An error such as a RAISE(ROLLBACK) in a trigger may already have
        // rolled the whole transaction back. Then there is nothing to undo,
        // but the migrations of that transaction are gone too, and going on
        // would only report errors that they would have prevented.
        if self.db.autocommit() {
            self.restore_settings(file);
            return !nested;
        }
        self.internal(file, &undo);
        // Rolling back undoes the down migration's changes to the database,
        // not to the connection's settings.
        self.restore_settings(file);
        true
    }

    /// Puts the settings back after a down migration that failed part-way,
    /// or whose savepoint was rolled back.
    fn restore_settings(&mut self, file: &SourceFile) {
        let restored = restore_settings(&self.db, &self.settings)
            .map_err(|message| internal_problem(file, "restoring the settings", &message));
        self.collect(restored);
    }

    /// Runs a whole file inside the open transaction, as one script.
    /// The caller settles the connection afterwards.
    fn in_transaction(&mut self, file: &SourceFile) -> bool {
        self.db.guard_transaction(true);
        let result = if file.directives.no_check {
            ignoring_errors(&self.db, file);
            Ok(())
        } else {
            self.db
                .run(&file.sql)
                .map(drop)
                .map_err(|failure| locate(file, &failure))
        };
        self.db.guard_transaction(false);
        self.collect(result)
    }

    /// Keeps the problem, if any. Returns whether there was none.
    fn collect(&mut self, result: Result<(), Problem>) -> bool {
        match result {
            Ok(()) => true,
            Err(problem) => {
                self.problems.push(problem);
                false
            }
        }
    }

    /// Opens a transaction as the runtime does, creating the history table.
    fn begin(&mut self, file: &SourceFile) {
        self.internal(file, "BEGIN IMMEDIATE");
        let create = history::create_table(Dialect::Sqlite, &self.options.history_table);
        self.internal(file, &create);
    }

    fn end_transaction(&mut self, file: &SourceFile) {
        if !self.db.autocommit() {
            self.internal(file, "COMMIT");
        }
    }

    /// SQLite accepts a view over a table or function that does not exist,
    /// and fails only when the view is used, or when a later `ALTER TABLE`
    /// re-checks the schema. So every view of the final schema is queried
    /// once; a view whose table a later migration creates is fine.
    fn check_views(&mut self, migrations: &[SourceMigration]) {
        let views = match self
            .db
            .pairs("SELECT name, sql FROM sqlite_schema WHERE type = 'view'")
        {
            Ok(views) => views,
            Err(message) => {
                let file = migrations.last().map_or("", |m| m.up.display.as_str());
                self.problems.push(problem_in(file, message));
                return;
            }
        };
        for (name, sql) in views {
            let query = format!("SELECT * FROM \"{}\" LIMIT 0", name.replace('"', "\"\""));
            if let Err(failure) = self.db.run(&query) {
                let message = format!("the view {name} cannot be used: {}", failure.message);
                self.problems.push(view_problem(migrations, &sql, message));
            }
        }
    }

    /// Commits the first `count` migrations and saves them, if they ran
    /// without a problem. `last` is the newest of them.
    fn checkpoint(&mut self, cache: &Cache, last: &SourceFile, count: usize) {
        self.end_transaction(last);
        if self.problems.is_empty() {
            cache.save(&self.db, count);
        }
    }

    /// Inserts the migration's history row, as the runtime does.
    fn record(&mut self, migration: &SourceMigration, finished: bool) {
        let checksum = checksum::to_hex(&migration.checksum);
        let row = Row {
            version: migration.version,
            description: &migration.description,
            checksum: &checksum,
            execution_ms: "0",
            finished,
            statements_done: (!finished).then_some(0),
        };
        let insert = history::insert(Dialect::Sqlite, &self.options.history_table, &[row]);
        self.internal(&migration.up, &insert);
    }

    /// Marks a `no-transaction` migration finished, as the runtime does.
    fn finish_record(&mut self, migration: &SourceMigration) {
        let update = format!(
            "UPDATE {} SET finished = 1, statements_done = NULL WHERE version = {}",
            self.options.history_table, migration.version
        );
        self.internal(&migration.up, &update);
    }

    /// Runs SQL of the dry run itself. It fails only when a migration broke
    /// what the runtime relies on (say, dropped the history table), which
    /// fails at run time too, so it is reported on the migration.
    fn internal(&mut self, file: &SourceFile, sql: &str) {
        if let Err(message) = self.db.execute(sql) {
            self.problems
                .push(internal_problem(file, &format!("`{sql}`"), &message));
        }
    }

    fn copy(&self) -> Result<Db, String> {
        let copy = self.db.copy()?;
        configure(&copy, &self.options, &self.functions)?;
        Ok(copy)
    }
}

/// What [`DryRun::settle`] does, on any connection of the dry run.
fn settle(db: &Db, settings: &[i64], file: &SourceFile) -> Result<(), Problem> {
    let touched = db.take_touched();
    let internal = |what: &str, message: String| internal_problem(file, what, &message);
    let mut problem = None;
    if touched.connection_objects {
        let leftovers = db
            .pairs(session::SQLITE_LEFTOVERS)
            .map_err(|message| internal("listing TEMP objects", message))?;
        for (kind, name) in &leftovers {
            db.execute(&session::sqlite_drop_leftover(kind, name))
                .map_err(|message| internal("removing a TEMP object", message))?;
        }
        // A file that is not checked reports nothing; what it left is
        // still removed, so that the migrations after it meet what they
        // would meet in a later deploy.
        if let Some((kind, name)) = leftovers.first().filter(|_| !file.directives.no_check) {
            problem = Some(leftover_problem(file, kind, name, leftovers.len()));
        }
    }
    if touched.settings {
        restore_settings(db, settings)
            .map_err(|message| internal("restoring the settings", message))?;
    }
    let deferred = db
        .deferred_violations()
        .map_err(|message| internal("counting deferred foreign key violations", message))?;
    if deferred > 0 && problem.is_none() {
        problem = Some(problem_in(
            &file.display,
            format!(
                "leaves {deferred} foreign key violation(s) for COMMIT (a DEFERRABLE INITIALLY DEFERRED constraint, or `PRAGMA defer_foreign_keys`): applied on its own, as in a deploy that brings only this migration, it would fail at COMMIT; fix the rows in this migration"
            ),
        ));
    }
    problem.map_or(Ok(()), Err)
}

/// Puts back the settings that differ from `settings`.
fn restore_settings(db: &Db, settings: &[i64]) -> Result<(), String> {
    let current = db.integers(&session::sqlite_read())?;
    let restore = session::sqlite_restore(settings, &current);
    if restore.is_empty() {
        return Ok(());
    }
    db.execute(&restore)
}

/// The problem of a migration that leaves a TEMP object or an attached
/// database behind, at the first place the file names it.
fn leftover_problem(file: &SourceFile, kind: &str, name: &str, count: usize) -> Problem {
    let what = session::sqlite_describe_leftover(kind, name);
    let more = match count {
        1 => String::new(),
        2 => " (and 1 more)".to_owned(),
        _ => format!(" (and {} more)", count - 1),
    };
    let fix = if kind == "database" {
        "DETACH it"
    } else {
        "drop it"
    };
    let message = format!(
        "leaves {what}{more} behind: it belongs to the connection, not the database, so a later migration would see it only when both run in one process; {fix} before the end of this migration"
    );
    match find_word(&file.sql, name) {
        Some(offset) => problem_at(file, offset, message),
        None => problem_in(&file.display, message),
    }
}

/// When migrate's own SQL fails after a migration.
fn internal_problem(file: &SourceFile, what: &str, message: &str) -> Problem {
    problem_in(
        &file.display,
        format!("migrate's own {what} fails after this migration: {message}"),
    )
}

/// The hint for a failure in `failed` with `message`, when an earlier
/// migration set a connection setting that could explain the message and
/// the failing migration does not set it again.
fn settings_hint(earlier: &[SourceMigration], failed: &str, message: &str) -> Option<String> {
    let sets = |sql: &str| -> Vec<&'static session::Setting> {
        session::pragmas_set(sql, &lexer::lex(sql, Flavor::Sqlite))
            .iter()
            .filter_map(|pragma| session::sqlite_setting(&pragma.name))
            .collect()
    };
    earlier.iter().rev().find_map(|migration| {
        let file = &migration.up;
        let setting = sets(&file.sql).into_iter().find(|setting| {
            setting.symptoms.iter().any(|symptom| message.contains(symptom))
        })?;
        Some(format!(
            "; note that the `PRAGMA {}` of {} held only until the end of that migration: a connection setting made by a migration does not carry over to the migrations after it, as it would not in a deploy that applies {failed} alone; set it in this migration{}",
            setting.name,
            file.display,
            if setting.name == "foreign_keys" {
                ", which must be `-- migrate:no-transaction` for foreign_keys"
            } else {
                ""
            }
        ))
    })
}

/// Runs a file one statement at a time, split as the runtime splits a
/// `no-transaction` migration, each statement in its own implicit transaction.
fn statement_by_statement(db: &Db, file: &SourceFile) -> Result<(), Problem> {
    if file.directives.no_check {
        ignoring_errors(db, file);
        return Ok(());
    }
    for range in lexer::lex(&file.sql, Flavor::Sqlite).statements {
        run_one(db, file, range)?;
    }
    Ok(())
}

/// Runs each statement of a `no-check` file and ignores its errors, so that
/// what it can create still exists for the migrations after it.
fn ignoring_errors(db: &Db, file: &SourceFile) {
    for range in lexer::lex(&file.sql, Flavor::Sqlite).statements {
        // The file opted out of the check: its errors are not ours to report.
        let _ignored = db.run(&file.sql[range]);
    }
}

/// Places a problem with a view at its `CREATE VIEW`: SQLite keeps the
/// statement's text as written, so the newest file that contains it is the
/// one that created the view.
fn view_problem(migrations: &[SourceMigration], sql: &str, message: String) -> Problem {
    let found = migrations
        .iter()
        .rev()
        .find_map(|m| m.up.sql.find(sql).map(|offset| (&m.up, offset)));
    match found {
        Some((file, offset)) => problem_at(file, offset, message),
        None => {
            let file = migrations.last().map_or("", |m| m.up.display.as_str());
            problem_in(file, message)
        }
    }
}

/// Opens the dry run's database.
fn open(options: &SqliteOptions, functions: &[SqliteFunction]) -> Result<Db, String> {
    let db = Db::open()?;
    configure(&db, options, functions)?;
    Ok(db)
}

/// Sets the connection state that a copy does not inherit: pragmas,
/// functions and the step limit belong to the connection, not the database.
fn configure(db: &Db, options: &SqliteOptions, functions: &[SqliteFunction]) -> Result<(), String> {
    let foreign_keys = if options.foreign_keys { "ON" } else { "OFF" };
    db.execute(&format!("PRAGMA foreign_keys = {foreign_keys}"))?;
    for function in functions {
        db.stub_function(&function.name, function.arity)?;
    }
    db.limit_steps(options.step_limit);
    // What configuring did is the starting point, not a migration's change.
    db.take_touched();
    Ok(())
}

/// Runs one statement that migrate's splitter cut out of `file`.
fn run_one(db: &Db, file: &SourceFile, range: Range<usize>) -> Result<(), Problem> {
    let piece = &file.sql[range.clone()];
    match db.run(piece) {
        Ok(ends) if ends.len() <= 1 => Ok(()),
        Ok(ends) => {
            let second = range.start + ends[0];
            let message = "SQLite reads more than one statement in what migrate's splitter sees as one, so the runtime would run them as one; please report this as a bug in migrate";
            Err(problem_at(file, second, message.to_owned()))
        }
        Err(failure) => Err(locate(
            file,
            &Failure {
                offset: failure.offset.map(|offset| range.start + offset),
                statement: range.start + failure.statement.start
                    ..range.start + failure.statement.end,
                message: failure.message,
            },
        )),
    }
}

/// Turns a failure into a problem at the most precise position known: the
/// engine's own offset, else the table named by "no such table", else the
/// start of the statement.
fn locate(file: &SourceFile, failure: &Failure) -> Problem {
    let sql = &file.sql;
    let statement = first_token(sql, failure.statement.clone());
    let offset = failure
        .offset
        .or_else(|| named_table(sql, statement.clone(), &failure.message))
        .unwrap_or(statement.start);
    problem_at(file, offset, with_hint(&failure.message))
}

/// The statement without the spaces and comments before it.
fn first_token(sql: &str, range: Range<usize>) -> Range<usize> {
    let lexed = lexer::lex(&sql[range.clone()], Flavor::Sqlite);
    let start = lexed
        .statements
        .first()
        .map_or(range.start, |s| range.start + s.start);
    let end = lexed
        .statements
        .first()
        .map_or(range.end, |s| range.start + s.end);
    start..end
}

/// Where the statement names the table of a "no such table" message, for
/// the errors that SQLite reports without an offset.
fn named_table(sql: &str, statement: Range<usize>, message: &str) -> Option<usize> {
    let name = message.strip_prefix("no such table: ")?;
    let name = name
        .strip_prefix("main.")
        .or_else(|| name.strip_prefix("temp."))
        .unwrap_or(name);
    let text = &sql[statement.clone()];
    find_word(text, name).map(|offset| statement.start + offset)
}

/// The first occurrence of `word` in `text` as a whole word, ignoring ASCII case.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let lower = text.to_ascii_lowercase();
    let word = word.to_ascii_lowercase();
    lower.match_indices(&word).map(|(i, _)| i).find(|&i| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Adds the escape hatch to the messages of what a dry run cannot model.
fn with_hint(message: &str) -> String {
    if let Some(name) = message.strip_prefix("no such function: ") {
        format!(
            "{message}; if the application or an extension registers it, declare it for the check with `-- migrate:sqlite-function {name}/<number of arguments>`"
        )
    } else if message.starts_with("no such module: ") {
        format!(
            "{message}; the dry run has only the modules built into SQLite (fts3, fts4, fts5, rtree, json); mark a migration that needs another with `-- migrate:no-check`"
        )
    } else {
        message.to_owned()
    }
}

fn problem_at(file: &SourceFile, offset: usize, message: String) -> Problem {
    // SQLite's offsets fall on token starts; flooring guards `line_col`'s
    // slicing should one ever fall inside a character.
    let offset = file.sql.floor_char_boundary(offset);
    Problem {
        file: file.display.clone(),
        position: Some(lexer::line_col(&file.sql, offset)),
        message,
    }
}

fn problem_in(file: &str, message: String) -> Problem {
    Problem {
        file: file.to_owned(),
        position: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus files, in version order, as the runtime would see them.
    fn corpus() -> Vec<SourceMigration> {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/sqlite");
        migrate_format::folder::load(&folder, "corpus", Flavor::Sqlite).expect("the corpus loads")
    }

    /// SQLite's own split (its prepare loop) and migrate's lexer must agree,
    /// or a `no-transaction` migration would run different statements than
    /// the ones SQLite sees.
    #[test]
    fn sqlite_splits_like_the_lexer() {
        let db = open(&SqliteOptions::default(), &declared_functions(&corpus())).unwrap();
        db.execute(&history::create_table(
            Dialect::Sqlite,
            &TableName::default(),
        ))
        .unwrap();
        for migration in corpus() {
            let file = &migration.up;
            if file.directives.no_check {
                ignoring_errors(&db, file);
                continue;
            }
            let engine = db
                .run(&file.sql)
                .unwrap_or_else(|f| panic!("{}: {f:?}", file.display));
            let lexer: Vec<usize> = lexer::lex(&file.sql, Flavor::Sqlite)
                .statements
                .iter()
                .map(|s| s.end)
                .collect();
            assert_eq!(engine, lexer, "{}", file.display);
        }
    }

    #[test]
    fn tricky_statements_split_alike() {
        let sql = "CREATE TABLE a (\"end\" TEXT, [x;y] TEXT, `b;c` TEXT DEFAULT 'a;b''c');\n\
                   /* a /* b; */ CREATE TRIGGER t AFTER INSERT ON a BEGIN\n\
                   UPDATE a SET \"end\" = CASE WHEN 1 THEN 'x' ELSE 'y' END;\n\
                   SELECT CASE 1 WHEN 1 THEN 2 END;\nEND;\n\
                   BEGIN TRANSACTION; INSERT INTO a (\"end\") VALUES ('e;nd'); COMMIT;\n\
                   SELECT 1 -- no semicolon at the end";
        let db = Db::open().unwrap();
        let engine = db.run(sql).unwrap();
        let lexer: Vec<usize> = lexer::lex(sql, Flavor::Sqlite)
            .statements
            .iter()
            .map(|s| s.end)
            .collect();
        assert_eq!(engine.len(), 6);
        assert_eq!(engine, lexer);
    }

    #[test]
    fn vacuum_into_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("copy.db");
        let db = open(&SqliteOptions::default(), &[]).unwrap();
        let failure = db
            .run(&format!("VACUUM INTO '{}'", target.display()))
            .unwrap_err();
        assert!(failure.message.contains("refused"), "{failure:?}");
        assert!(!target.exists());
    }
}
