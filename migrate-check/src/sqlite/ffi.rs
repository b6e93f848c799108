//! A minimal safe wrapper over the SQLite C API, just what the dry run needs.
//!
//! The dry run calls `libsqlite3-sys` directly instead of going through
//! rusqlite: rusqlite pins one libsqlite3-sys, whose `links = "sqlite3"`
//! would then clash with the user's own rusqlite or diesel. The raw bindings
//! take a wide version range instead: 0.30 (rusqlite 0.32, SQLite 3.46) to
//! 0.40 (rusqlite 0.42 and 0.43). Every function and constant used here is in
//! the bundled bindings of each of those releases (this file compiled against
//! every minor release of the range); CI runs the dry run at both ends
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

/// What the authorizer reads and writes.
#[derive(Default)]
struct Guard {
    /// Why the authorizer last refused something, to replace SQLite's bare
    /// "not authorized".
    denied: Cell<Option<String>>,
    /// Whether a migration is running inside the transaction that migrate
    /// opens for it, where its own `COMMIT` or `ROLLBACK` would end that
    /// transaction early.
    in_migration_transaction: Cell<bool>,
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
        db.lock_down();
        Ok(db)
    }

    /// Installs the authorizer and turns extension loading off.
    fn lock_down(&self) {
        let guard: *const Guard = &*self.guard;
        // SAFETY: the callback only reads its arguments and the guard, which
        // lives as long as the connection (it is dropped after the close).
        unsafe {
            sys::sqlite3_set_authorizer(self.handle, Some(authorize), guard.cast_mut().cast());
            sys::sqlite3_db_config(
                self.handle,
                sys::SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                0 as c_int,
                ptr::null_mut::<c_int>(),
            );
        }
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
        let mut ends = Vec::new();
        let mut start = 0;
        while start < script.len() {
            let (statement, end) = self.prepare(script, start)?;
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
        let (statement, _) = self.prepare(sql, 0).map_err(|failure| failure.message)?;
        let Some(statement) = statement else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        loop {
            // SAFETY: the statement is prepared and not finalized.
            match unsafe { sys::sqlite3_step(statement.0) } {
                sys::SQLITE_ROW => rows.push((statement.text(0), statement.text(1))),
                sys::SQLITE_DONE => return Ok(rows),
                _ => return Err(self.message()),
            }
        }
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
    fn prepare(&self, script: &str, start: usize) -> Result<(Option<Statement>, usize), Failure> {
        let rest = &script[start..];
        let length = c_int::try_from(rest.len()).unwrap_or(c_int::MAX);
        let mut statement = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        // SAFETY: `rest` is valid for `length` bytes; `tail` points into it.
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
        // SAFETY: SQLite sets the tail inside the input it was given.
        let consumed = if tail.is_null() {
            rest.len()
        } else {
            usize::try_from(unsafe { tail.offset_from(rest.as_ptr().cast()) }).unwrap_or(rest.len())
        };
        let statement = (!statement.is_null()).then_some(Statement(statement));
        Ok((statement, start + consumed))
    }

    /// Runs a prepared statement to completion, reading and dropping its rows.
    fn step(&self, statement: &Statement, range: std::ops::Range<usize>) -> Result<(), Failure> {
        loop {
            // SAFETY: the statement is prepared and not finalized.
            let code = unsafe { sys::sqlite3_step(statement.0) };
            match code {
                sys::SQLITE_ROW => continue,
                sys::SQLITE_DONE => return Ok(()),
                _ => {
                    return Err(Failure {
                        offset: None,
                        statement: range,
                        message: self.message(),
                    });
                }
            }
        }
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

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: every statement is finalized when its wrapper drops, so
        // the handle can be closed.
        unsafe {
            sys::sqlite3_close(self.handle);
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

/// Refuses what would reach outside the in-memory database during a build:
/// attaching a file (which creates it) and loading an extension. Also refuses
/// ending migrate's transaction from inside a migration.
unsafe extern "C" fn authorize(
    guard: *mut c_void,
    action: c_int,
    first: *const c_char,
    second: *const c_char,
    _: *const c_char,
    _: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes NUL-terminated strings or null.
    let text = |pointer: *const c_char| {
        (!pointer.is_null()).then(|| {
            unsafe { CStr::from_ptr(pointer) }
                .to_string_lossy()
                .into_owned()
        })
    };
    // SAFETY: `guard` is the one installed by `lock_down`.
    let guard = unsafe { &*guard.cast::<Guard>() };
    let reason = match action {
        sys::SQLITE_ATTACH => text(first)
            .filter(|file| !is_memory(file))
            .map(|file| format!("ATTACH of the file '{file}' is refused: the dry run would create it on the build machine; mark the migration `-- migrate:no-check`")),
        sys::SQLITE_FUNCTION => text(second)
            .filter(|name| name.eq_ignore_ascii_case("load_extension"))
            .map(|_| "load_extension() is refused: the dry run loads no code; declare the extension's functions with `-- migrate:sqlite-function name/arity`, or mark the migration `-- migrate:no-check`".to_owned()),
        sys::SQLITE_TRANSACTION if guard.in_migration_transaction.get() => text(first)
            .filter(|operation| operation != "BEGIN")
            .map(|operation| format!("{operation} would end the transaction that migrate runs this migration in; remove it, or run the migration outside a transaction with `-- migrate:no-transaction`")),
        _ => None,
    };
    match reason {
        Some(reason) => {
            guard.denied.set(Some(reason));
            sys::SQLITE_DENY
        }
        None => sys::SQLITE_OK,
    }
}

/// Attaching a new in-memory or temporary database touches no file.
fn is_memory(file: &str) -> bool {
    file.is_empty() || file == ":memory:"
}
