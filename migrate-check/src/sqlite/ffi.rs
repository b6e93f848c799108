//! A minimal safe wrapper over the SQLite C API, just what the dry run needs.
//!
//! The dry run calls `libsqlite3-sys` directly instead of going through
//! rusqlite: rusqlite pins one libsqlite3-sys, whose `links = "sqlite3"`
//! would then clash with the user's own rusqlite or diesel. The raw bindings
//! take a wide version range instead: 0.30 (rusqlite 0.32, SQLite 3.46) to
//! 0.40 (rusqlite 0.42 and 0.43). Every function and constant used here is in
//! the bundled bindings of each of those releases (each minor release's
//! bindings were searched for them); CI runs the dry run at both ends
//! (`.ci/user-crates`). `sqlite3_error_offset`, the newest function used,
//! dates from SQLite 3.38.

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::Path;
use std::ptr;

use libsqlite3_sys as sys;

/// An open in-memory database, closed on drop.
pub(crate) struct Db {
    handle: *mut sys::sqlite3,
    /// The authorizer's state. Boxed so that its address, given to SQLite,
    /// stays valid when the `Db` moves.
    guard: Box<Guard>,
}

/// What the authorizer and the progress handler read and write.
#[derive(Default)]
struct Guard {
    /// Why the authorizer or the progress handler last stopped something,
    /// to replace SQLite's bare "not authorized" or "interrupted".
    denied: Cell<Option<String>>,
    /// Whether a migration is running inside the transaction that migrate
    /// opens for it, where its own `COMMIT` or `ROLLBACK` would end that
    /// transaction early.
    in_migration_transaction: Cell<bool>,
    /// Whether a `PRAGMA` with an argument was prepared since the last
    /// [`Db::take_touched`]: only then can a connection setting have changed.
    pragma_set: Cell<bool>,
    /// Whether a temporary object or an attached database may have been
    /// created since the last [`Db::take_touched`].
    connection_objects: Cell<bool>,
    /// How many calls of the progress handler a statement may take, each
    /// [`STEPS_PER_CALL`] steps of SQLite's virtual machine; 0 for no limit.
    calls_allowed: Cell<u64>,
    /// How many calls the running statement has left.
    calls_left: Cell<u64>,
    /// Whether a statement is being stepped. Preparing one can make SQLite
    /// read its schema again, which costs steps too, but how often it does
    /// depends on the connection's history (a checkpoint restored, a
    /// savepoint rolled back), not on the statement: those steps are not
    /// counted, so that the verdict never depends on the cache.
    counting: Cell<bool>,
}

/// How many steps of SQLite's virtual machine run between two calls of the
/// progress handler.
const STEPS_PER_CALL: u64 = 1000;

/// What a migration's statements may have changed on the connection beyond
/// the database, since the last look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Touched {
    /// A `PRAGMA` with an argument ran, which may have changed a setting.
    pub(crate) settings: bool,
    /// A temporary object or an attached database may have been created.
    pub(crate) connection_objects: bool,
}

/// A statement that failed: where, and SQLite's message.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The byte offset of the error in the script, when SQLite knows it.
    pub(crate) offset: Option<usize>,
    /// The byte range of the statement that failed.
    pub(crate) statement: std::ops::Range<usize>,
    pub(crate) message: String,
}

impl Db {
    /// Opens a private in-memory database that cannot touch the file system
    /// or load code.
    pub(crate) fn open() -> Result<Db, String> {
        let mut handle = ptr::null_mut();
        let flags = sys::SQLITE_OPEN_READWRITE | sys::SQLITE_OPEN_CREATE;
        // SAFETY: the name is a valid C string and `handle` a valid out-pointer.
        let code =
            unsafe { sys::sqlite3_open_v2(c":memory:".as_ptr(), &mut handle, flags, ptr::null()) };
        let db = Db {
            handle,
            guard: Box::default(),
        };
        if code != sys::SQLITE_OK {
            return Err(format!(
                "cannot open an in-memory SQLite database: {}",
                db.message()
            ));
        }
        db.lock_down().map_err(|message| {
            format!("cannot shut the dry run off from the file system: {message}")
        })?;
        Ok(db)
    }

    /// Keeps temporary data in memory, turns extension loading off, and
    /// installs the authorizer and the progress handler. Fails rather than
    /// run a connection that could reach the file system.
    fn lock_down(&self) -> Result<(), String> {
        // Before the authorizer, which ignores later changes of `temp_store`:
        // temporary tables, attached `''` databases, sorts and statement
        // journals then never spill to files.
        self.execute("PRAGMA temp_store = MEMORY")?;
        if self.integers("PRAGMA temp_store")? != [2] {
            return Err("`PRAGMA temp_store = MEMORY` did not take effect".to_owned());
        }
        let mut loading: c_int = -1;
        // SAFETY: the handle is open; this option takes an int and an int
        // out-pointer, which outlives the call.
        let code = unsafe {
            sys::sqlite3_db_config(
                self.handle,
                sys::SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                0 as c_int,
                &raw mut loading,
            )
        };
        self.check(code)?;
        if loading != 0 {
            return Err("extension loading could not be turned off".to_owned());
        }
        let guard: *const Guard = &*self.guard;
        // SAFETY: the callbacks only read their arguments and the guard,
        // which lives as long as the connection (it is dropped after the
        // close).
        let code = unsafe {
            sys::sqlite3_set_authorizer(self.handle, Some(authorize), guard.cast_mut().cast())
        };
        self.check(code)?;
        // SAFETY: as above; this function has no return code.
        unsafe {
            sys::sqlite3_progress_handler(
                self.handle,
                c_int::try_from(STEPS_PER_CALL).unwrap_or(c_int::MAX),
                Some(progress),
                guard.cast_mut().cast(),
            );
        }
        Ok(())
    }

    /// Stops any statement after about `steps` steps of SQLite's virtual
    /// machine (rounded up to a multiple of [`STEPS_PER_CALL`]); 0 for no
    /// limit. Steps are counted, not time, so that the verdict does not
    /// depend on the machine's speed.
    pub(crate) fn limit_steps(&self, steps: u64) {
        self.guard.calls_allowed.set(steps.div_ceil(STEPS_PER_CALL));
    }

    /// What the statements since the last call may have changed on the
    /// connection, and forgets it.
    pub(crate) fn take_touched(&self) -> Touched {
        Touched {
            settings: self.guard.pragma_set.take(),
            connection_objects: self.guard.connection_objects.take(),
        }
    }

    /// What the statements since the last [`Db::take_touched`] may have
    /// changed on the connection, without forgetting it.
    pub(crate) fn peek_touched(&self) -> Touched {
        Touched {
            settings: self.guard.pragma_set.get(),
            connection_objects: self.guard.connection_objects.get(),
        }
    }

    /// How many foreign key violations wait for the end of the transaction
    /// (deferred constraints, or `PRAGMA defer_foreign_keys`).
    pub(crate) fn deferred_violations(&self) -> Result<i64, String> {
        let (mut current, mut highest): (c_int, c_int) = (0, 0);
        // SAFETY: the handle is open and both out-pointers are valid.
        let code = unsafe {
            sys::sqlite3_db_status(
                self.handle,
                sys::SQLITE_DBSTATUS_DEFERRED_FKS,
                &raw mut current,
                &raw mut highest,
                0,
            )
        };
        self.check(code)?;
        Ok(i64::from(current))
    }

    /// Registers a scalar function that returns `NULL`, standing in for one
    /// that the application or an extension registers at run time.
    pub(crate) fn stub_function(&self, name: &str, arity: Option<u8>) -> Result<(), String> {
        let c_name = CString::new(name).map_err(|_| format!("bad function name `{name}`"))?;
        let arguments = arity.map_or(-1, c_int::from);
        // Deterministic, so that the stub is also allowed in indexes,
        // generated columns and CHECK constraints, as a real one may be.
        let flags = sys::SQLITE_UTF8 | sys::SQLITE_DETERMINISTIC;
        // SAFETY: the name outlives the call (SQLite copies it), and the
        // callback ignores its arguments.
        let code = unsafe {
            sys::sqlite3_create_function_v2(
                self.handle,
                c_name.as_ptr(),
                arguments,
                flags,
                ptr::null_mut(),
                Some(return_null),
                None,
                None,
                None,
            )
        };
        self.check(code)
    }

    /// Runs a script of one or more statements, stopping at the first error.
    ///
    /// Returns the byte offset where each statement ends, as SQLite splits
    /// the script. Offsets are relative to `script`.
    pub(crate) fn run(&self, script: &str) -> Result<Vec<usize>, Failure> {
        let script = Script::new(script);
        let mut ends = Vec::new();
        let mut start = 0;
        while start < script.len() {
            let (statement, end) = self.prepare(&script, start)?;
            if let Some(statement) = statement {
                ends.push(end);
                self.step(&statement, start..end)?;
            }
            // SQLite always consumes something; never loop in place if not.
            if end <= start {
                break;
            }
            start = end;
        }
        Ok(ends)
    }

    /// Runs one query of our own and returns the first two columns of its
    /// rows as text (`NULL` as empty).
    pub(crate) fn pairs(&self, sql: &str) -> Result<Vec<(String, String)>, String> {
        self.rows(sql, |statement| (statement.text(0), statement.text(1)))
    }

    /// Runs one query of our own and returns the columns of its first row
    /// as integers.
    pub(crate) fn integers(&self, sql: &str) -> Result<Vec<i64>, String> {
        let mut rows = self.rows(sql, |statement| {
            // SAFETY: the statement has a current row.
            let columns = unsafe { sys::sqlite3_column_count(statement.0) };
            (0..columns)
                // SAFETY: the column index is in range.
                .map(|column| unsafe { sys::sqlite3_column_int64(statement.0, column) })
                .collect::<Vec<i64>>()
        })?;
        Ok(if rows.is_empty() {
            Vec::new()
        } else {
            rows.swap_remove(0)
        })
    }

    /// Runs one query of our own and turns each row into a value with `read`.
    fn rows<T>(&self, sql: &str, mut read: impl FnMut(&Statement) -> T) -> Result<Vec<T>, String> {
        let script = Script::new(sql);
        let (statement, _) = self
            .prepare(&script, 0)
            .map_err(|failure| failure.message)?;
        let Some(statement) = statement else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        self.guard.start_counting();
        let result = loop {
            // SAFETY: the statement is prepared and not finalized.
            match unsafe { sys::sqlite3_step(statement.0) } {
                sys::SQLITE_ROW => rows.push(read(&statement)),
                sys::SQLITE_DONE => break Ok(rows),
                _ => break Err(self.message()),
            }
        };
        self.guard.counting.set(false);
        result
    }

    /// Runs SQL of our own, which cannot fail unless SQLite itself does.
    pub(crate) fn execute(&self, sql: &str) -> Result<(), String> {
        self.run(sql).map(drop).map_err(|failure| failure.message)
    }

    /// Makes the authorizer refuse `COMMIT`, `END` and `ROLLBACK` while a
    /// migration runs inside migrate's transaction.
    pub(crate) fn guard_transaction(&self, on: bool) {
        self.guard.in_migration_transaction.set(on);
    }

    /// Whether no transaction is open.
    pub(crate) fn autocommit(&self) -> bool {
        // SAFETY: the handle is open.
        unsafe { sys::sqlite3_get_autocommit(self.handle) != 0 }
    }

    /// Copies this database into a new one, for a check that must not change it.
    /// No write transaction may be open.
    pub(crate) fn copy(&self) -> Result<Db, String> {
        let copy = Db::open()?;
        self.backup_to(&copy)?;
        Ok(copy)
    }

    /// Opens a database file of the dry run's cache. It never runs
    /// migrations' SQL, only backups, so it needs no authorizer.
    pub(crate) fn open_file(path: &Path, create: bool) -> Result<Db, String> {
        let name = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("bad cache path {}", path.display()))?;
        let flags = if create {
            sys::SQLITE_OPEN_READWRITE | sys::SQLITE_OPEN_CREATE
        } else {
            sys::SQLITE_OPEN_READONLY
        };
        let mut handle = ptr::null_mut();
        // SAFETY: the name is a valid C string and `handle` a valid out-pointer.
        let code = unsafe { sys::sqlite3_open_v2(name.as_ptr(), &mut handle, flags, ptr::null()) };
        let db = Db {
            handle,
            guard: Box::default(),
        };
        db.check(code)?;
        Ok(db)
    }

    /// Replaces the content of `dest` with this database's. No write
    /// transaction may be open on this one.
    pub(crate) fn backup_to(&self, dest: &Db) -> Result<(), String> {
        // SAFETY: both handles are open, and the backup is finished before
        // either can be closed.
        let code = unsafe {
            let backup = sys::sqlite3_backup_init(
                dest.handle,
                c"main".as_ptr(),
                self.handle,
                c"main".as_ptr(),
            );
            if backup.is_null() {
                return Err(dest.message());
            }
            sys::sqlite3_backup_step(backup, -1);
            sys::sqlite3_backup_finish(backup)
        };
        dest.check(code)
    }

    /// Prepares the statement starting at byte `start`. Returns it (none
    /// when only comments or spaces remain) and where it ends.
    fn prepare(
        &self,
        script: &Script,
        start: usize,
    ) -> Result<(Option<Statement>, usize), Failure> {
        // From `start` to the end, terminating NUL included: SQLite then
        // parses the text where it is. Given a length without the NUL, it
        // would copy the whole rest of the script for every statement, which
        // made a migration of many statements take quadratic time.
        let rest = &script.bytes[start..];
        let length = c_int::try_from(rest.len()).unwrap_or(c_int::MAX);
        let mut statement = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        // SAFETY: `rest` is valid for `length` bytes and ends with a NUL;
        // `tail` points into it.
        let code = unsafe {
            sys::sqlite3_prepare_v2(
                self.handle,
                rest.as_ptr().cast(),
                length,
                &mut statement,
                &mut tail,
            )
        };
        if code != sys::SQLITE_OK {
            // SAFETY: the handle is open.
            let offset = unsafe { sys::sqlite3_error_offset(self.handle) };
            return Err(Failure {
                offset: usize::try_from(offset).ok().map(|offset| start + offset),
                statement: start..script.len(),
                message: self.message(),
            });
        }
        let text = script.len() - start;
        // SAFETY: SQLite sets the tail inside the input it was given.
        let consumed = if tail.is_null() {
            text
        } else {
            usize::try_from(unsafe { tail.offset_from(rest.as_ptr().cast()) })
                .map_or(text, |consumed| consumed.min(text))
        };
        let statement = (!statement.is_null()).then_some(Statement(statement));
        Ok((statement, start + consumed))
    }

    /// Runs a prepared statement to completion, reading and dropping its rows.
    fn step(&self, statement: &Statement, range: std::ops::Range<usize>) -> Result<(), Failure> {
        self.guard.start_counting();
        let result = loop {
            // SAFETY: the statement is prepared and not finalized.
            let code = unsafe { sys::sqlite3_step(statement.0) };
            match code {
                sys::SQLITE_ROW => continue,
                sys::SQLITE_DONE => break Ok(()),
                _ => {
                    break Err(Failure {
                        offset: None,
                        statement: range,
                        message: self.message(),
                    });
                }
            }
        };
        self.guard.counting.set(false);
        result
    }

    fn check(&self, code: c_int) -> Result<(), String> {
        if code == sys::SQLITE_OK {
            Ok(())
        } else {
            Err(self.message())
        }
    }

    /// SQLite's message for the last error, or the authorizer's reason
    /// when the authorizer caused it.
    fn message(&self) -> String {
        // SAFETY: the handle is open; the message is copied before the next call.
        let message = unsafe { CStr::from_ptr(sys::sqlite3_errmsg(self.handle)) }
            .to_string_lossy()
            .into_owned();
        // SQLite words a refusal "not authorized" at prepare time and
        // "authorization denied" at run time (`VACUUM INTO` attaches its
        // target while it runs); the authorizer's reason says more.
        self.guard.denied.take().unwrap_or(message)
    }
}

impl Guard {
    /// Gives the statement about to be stepped its whole allowance.
    fn start_counting(&self) {
        self.calls_left.set(self.calls_allowed.get());
        self.counting.set(true);
    }
}

/// A script as SQLite reads it: its bytes followed by a NUL.
struct Script {
    bytes: Vec<u8>,
}

impl Script {
    fn new(text: &str) -> Script {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        Script { bytes }
    }

    /// The length of the text, without the NUL.
    fn len(&self) -> usize {
        self.bytes.len() - 1
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: every statement is finalized when its wrapper drops, so
        // the handle can be closed.
        unsafe {
            sys::sqlite3_close(self.handle);
        }
    }
}

/// A database that may move to another thread, to be written to a file
/// there. Only made when SQLite was compiled thread-safe, where a connection
/// may be used from any thread as long as one thread uses it at a time,
/// which moving it guarantees.
pub(crate) struct Movable(Db);

// SAFETY: see `Movable`: `Db::movable` only wraps a connection of a
// thread-safe SQLite, and the wrapper moves the connection with the state
// its callbacks read (the boxed guard), so nothing is shared.
unsafe impl Send for Movable {}

impl Movable {
    pub(crate) fn into_inner(self) -> Db {
        self.0
    }
}

impl Db {
    /// This database, ready to move to another thread, or itself back when
    /// this SQLite was compiled without thread support.
    pub(crate) fn movable(self) -> Result<Movable, Db> {
        // SAFETY: a plain query of a compile-time option.
        if unsafe { sys::sqlite3_threadsafe() } == 0 {
            Err(self)
        } else {
            Ok(Movable(self))
        }
    }
}

/// The version of the SQLite that the dry run runs, as in `3.54.1`.
pub(crate) fn version() -> String {
    // SAFETY: SQLite returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(sys::sqlite3_libversion()) }
        .to_string_lossy()
        .into_owned()
}

/// A prepared statement, finalized on drop.
struct Statement(*mut sys::sqlite3_stmt);

impl Statement {
    /// A column of the current row as text.
    fn text(&self, column: c_int) -> String {
        // SAFETY: the statement has a current row; the text is copied before
        // the next step.
        let text = unsafe { sys::sqlite3_column_text(self.0, column) };
        if text.is_null() {
            return String::new();
        }
        // SAFETY: SQLite returns NUL-terminated UTF-8.
        unsafe { CStr::from_ptr(text.cast()) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: the statement is finalized exactly once.
        unsafe {
            sys::sqlite3_finalize(self.0);
        }
    }
}

/// The stub of `-- migrate:sqlite-function`.
unsafe extern "C" fn return_null(
    context: *mut sys::sqlite3_context,
    _: c_int,
    _: *mut *mut sys::sqlite3_value,
) {
    // SAFETY: SQLite passes a valid context.
    unsafe { sys::sqlite3_result_null(context) }
}

/// Decides what SQLite asks the authorizer, through [`decide`], and notes
/// what may change the connection beyond its database.
unsafe extern "C" fn authorize(
    guard: *mut c_void,
    action: c_int,
    first: *const c_char,
    second: *const c_char,
    database: *const c_char,
    _: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes NUL-terminated strings or null.
    let text = |pointer: *const c_char| {
        (!pointer.is_null()).then(|| unsafe { CStr::from_ptr(pointer) }.to_string_lossy())
    };
    // SAFETY: `guard` is the one installed by `lock_down`.
    let guard = unsafe { &*guard.cast::<Guard>() };
    let (first, second, database) = (text(first), text(second), text(database));
    let request = Request {
        action,
        first: first.as_deref(),
        second: second.as_deref(),
        database: database.as_deref(),
    };
    let touched = request.touches();
    if touched.settings {
        guard.pragma_set.set(true);
    }
    if touched.connection_objects {
        guard.connection_objects.set(true);
    }
    match request.decide(guard.in_migration_transaction.get()) {
        Verdict::Allow => sys::SQLITE_OK,
        Verdict::Ignore => sys::SQLITE_IGNORE,
        Verdict::Deny(reason) => {
            guard.denied.set(Some(reason));
            sys::SQLITE_DENY
        }
    }
}

/// Counts the steps of the running statement, and stops it when its
/// allowance is spent.
unsafe extern "C" fn progress(guard: *mut c_void) -> c_int {
    // SAFETY: `guard` is the one installed by `lock_down`.
    let guard = unsafe { &*guard.cast::<Guard>() };
    if !guard.counting.get() || guard.calls_allowed.get() == 0 {
        return 0;
    }
    let left = guard.calls_left.get().saturating_sub(1);
    guard.calls_left.set(left);
    if left > 0 {
        return 0;
    }
    let steps = guard.calls_allowed.get().saturating_mul(STEPS_PER_CALL);
    guard.denied.set(Some(format!(
        "the dry run stopped this statement after {steps} steps of SQLite's virtual machine: it may never end (a recursive query without a bound?); if it is only long, raise the limit with `check_limit = <steps>` in `embed_migrations!`, or mark the migration `-- migrate:no-check`"
    )));
    1
}

/// One question of SQLite's authorizer.
#[derive(Debug, Clone, Copy)]
struct Request<'a> {
    action: c_int,
    first: Option<&'a str>,
    second: Option<&'a str>,
    /// The database the action applies to, as in `temp`.
    database: Option<&'a str>,
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Allow,
    /// Do nothing, without an error.
    Ignore,
    /// Fail the statement, for this reason.
    Deny(String),
}

/// Pragmas that reach beyond the connection (the process's heap limits,
/// the folder of temporary files) or decide where temporary data goes:
/// setting them is a no-op in the dry run, which keeps everything in memory.
const IGNORED_PRAGMAS: &[&str] = &[
    "temp_store",
    "temp_store_directory",
    "data_store_directory",
    "soft_heap_limit",
    "hard_heap_limit",
];

impl Request<'_> {
    /// Refuses what would reach outside the in-memory database during a
    /// build (a file attached or written by `VACUUM INTO`, which creates it;
    /// an extension loaded), a setting that could not be restored after the
    /// migration, and ending migrate's transaction from inside a migration.
    fn decide(&self, in_migration_transaction: bool) -> Verdict {
        match self.action {
            // `VACUUM INTO` attaches its target too. SQLite passes the file
            // name only when it is a plain literal; an expression (`'a' ||
            // 'b.db'`) arrives as null and could name any file.
            sys::SQLITE_ATTACH => match self.first {
                Some(file) if is_memory(file) => Verdict::Allow,
                Some(file) => Verdict::Deny(format!(
                    "ATTACH of the file '{file}' is refused: the dry run would create it on the build machine; attach ':memory:' or '', or mark the migration `-- migrate:no-check`"
                )),
                None => Verdict::Deny(
                    "ATTACH of a file name computed by an expression is refused: the dry run cannot tell which file it would create on the build machine; attach the literal ':memory:' or '', or mark the migration `-- migrate:no-check`".to_owned(),
                ),
            },
            sys::SQLITE_FUNCTION
                if self
                    .second
                    .is_some_and(|name| name.eq_ignore_ascii_case("load_extension")) =>
            {
                Verdict::Deny("load_extension() is refused: the dry run loads no code; declare the extension's functions with `-- migrate:sqlite-function name/arity`, or mark the migration `-- migrate:no-check`".to_owned())
            }
            sys::SQLITE_PRAGMA if self.second.is_some() => {
                let name = self.first.unwrap_or_default();
                let is = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
                if is(IGNORED_PRAGMAS) {
                    Verdict::Ignore
                } else if is(migrate_format::session::SQLITE_UNRESTORABLE) {
                    Verdict::Deny(format!(
                        "PRAGMA {name} is refused: a setting lasts only until the end of the migration that makes it, and SQLite cannot report this one, so migrate could not set it back; it is deprecated: use GLOB, or LIKE with a COLLATE clause"
                    ))
                } else {
                    Verdict::Allow
                }
            }
            sys::SQLITE_TRANSACTION if in_migration_transaction => match self.first {
                Some(operation) if operation != "BEGIN" => Verdict::Deny(format!(
                    "{operation} would end the transaction that migrate runs this migration in; remove it, or run the migration outside a transaction with `-- migrate:no-transaction`"
                )),
                _ => Verdict::Allow,
            },
            _ => Verdict::Allow,
        }
    }

    /// What the action may change on the connection beyond its database.
    fn touches(&self) -> Touched {
        let in_temp = self
            .database
            .is_some_and(|database| database.eq_ignore_ascii_case("temp"));
        Touched {
            settings: self.action == sys::SQLITE_PRAGMA && self.second.is_some(),
            connection_objects: matches!(
                self.action,
                sys::SQLITE_ATTACH
                    | sys::SQLITE_CREATE_TEMP_TABLE
                    | sys::SQLITE_CREATE_TEMP_INDEX
                    | sys::SQLITE_CREATE_TEMP_TRIGGER
                    | sys::SQLITE_CREATE_TEMP_VIEW
            ) || (self.action == sys::SQLITE_CREATE_VTABLE && in_temp),
        }
    }
}

/// Attaching a new in-memory database, or a temporary one (kept in memory
/// by `temp_store`), touches no file. Nothing else is provably so: a URI
/// (`file:x?mode=memory`) is refused too rather than parsed.
fn is_memory(file: &str) -> bool {
    file.is_empty() || file == ":memory:"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        action: c_int,
        first: Option<&'static str>,
        second: Option<&'static str>,
    ) -> Request<'static> {
        Request {
            action,
            first,
            second,
            database: None,
        }
    }

    #[test]
    fn only_memory_databases_may_be_attached() {
        let attach = |file| request(sys::SQLITE_ATTACH, file, None).decide(false);
        assert_eq!(attach(Some(":memory:")), Verdict::Allow);
        assert_eq!(attach(Some("")), Verdict::Allow);
        for file in [
            Some("sandbox.db"),
            Some("file::memory:"),
            Some("file:x.db?mode=memory"),
            Some(":MEMORY:"),
            None,
        ] {
            assert!(matches!(attach(file), Verdict::Deny(_)), "{file:?}");
        }
    }

    #[test]
    fn process_wide_and_unrestorable_pragmas_are_kept_out() {
        let pragma = |name, value| request(sys::SQLITE_PRAGMA, Some(name), value).decide(false);
        assert_eq!(pragma("temp_store", Some("FILE")), Verdict::Ignore);
        assert_eq!(pragma("HARD_HEAP_LIMIT", Some("1000")), Verdict::Ignore);
        assert_eq!(pragma("temp_store", None), Verdict::Allow);
        assert!(matches!(
            pragma("case_sensitive_like", Some("1")),
            Verdict::Deny(_)
        ));
        assert_eq!(pragma("foreign_keys", Some("OFF")), Verdict::Allow);
    }

    #[test]
    fn only_migrate_ends_its_transaction() {
        let transaction = |operation, guarded| {
            request(sys::SQLITE_TRANSACTION, Some(operation), None).decide(guarded)
        };
        assert!(matches!(transaction("COMMIT", true), Verdict::Deny(_)));
        assert!(matches!(transaction("ROLLBACK", true), Verdict::Deny(_)));
        assert_eq!(transaction("BEGIN", true), Verdict::Allow);
        assert_eq!(transaction("COMMIT", false), Verdict::Allow);
    }

    #[test]
    fn connection_state_is_noticed() {
        let pragma = request(sys::SQLITE_PRAGMA, Some("foreign_keys"), Some("0"));
        assert!(pragma.touches().settings);
        assert!(
            !request(sys::SQLITE_PRAGMA, Some("foreign_keys"), None)
                .touches()
                .settings
        );
        let temp = request(sys::SQLITE_CREATE_TEMP_TABLE, Some("t"), None);
        assert!(temp.touches().connection_objects);
        let vtable = Request {
            database: Some("temp"),
            ..request(sys::SQLITE_CREATE_VTABLE, Some("v"), Some("fts5"))
        };
        assert!(vtable.touches().connection_objects);
        let main = request(sys::SQLITE_CREATE_TABLE, Some("t"), None);
        assert_eq!(main.touches(), Touched::default());
    }
}
