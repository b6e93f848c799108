//! `double-quoted-string`: a string written in double quotes.
//!
//! SQLite reads `"text"` as a name, and only when no column has that name,
//! as a string. Which one it is depends on the schema, so only SQLite can
//! tell: the folder's schema is rebuilt on a scratch in-memory database (its
//! `CREATE`, `ALTER` and `DROP` statements run; nothing else does), and each
//! statement with a double-quoted token is prepared twice, with SQLite's
//! double-quoted strings turned off and on (`SQLITE_DBCONFIG_DQS_DML` and
//! `_DDL`). A statement that fails only when they are off relies on one.
//!
//! The scratch database touches no file (it refuses `ATTACH`), loads no
//! code, and is interrupted after [`BOUND`]: a lint is not worth a long
//! build. Schema statements are checked by running them inside a savepoint
//! that is rolled back, since SQLite checks most of them only when they
//! run; a trigger's body and a view's query are only checked when they are
//! used, so double-quoted strings inside them are not found.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;
use std::time::{Duration, Instant};

use libsqlite3_sys as sys;
use migrate_format::directive::SqliteFunction;
use migrate_format::{SourceFile, SourceMigration};

use super::tokens::{Kind, Token};
use super::{Lint, lint, statements};

/// How long the lint may take on a folder.
const BOUND: Duration = Duration::from_secs(10);

/// The double-quoted strings in the `targets`, which are up files of
/// `migrations`. The whole folder's schema is replayed, targets or not.
pub(super) fn double_quoted_strings(
    migrations: &[SourceMigration],
    targets: &[&SourceFile],
) -> Vec<Lint> {
    let candidates = |file: &SourceFile| {
        statements(file)
            .iter()
            .any(|s| s.tokens.iter().any(|t| t.kind == Kind::DoubleQuoted))
    };
    if !targets.iter().any(|file| candidates(file)) {
        return Vec::new();
    }
    // Without a scratch database there is no lint; the dry run still runs.
    let Ok(scratch) = Scratch::open(Instant::now() + BOUND) else {
        return Vec::new();
    };
    for function in migrations
        .iter()
        .flat_map(|m| &m.up.directives.sqlite_functions)
    {
        scratch.stub_function(function);
    }
    let mut lints = Vec::new();
    for file in migrations.iter().map(|m| &m.up) {
        let is_target = targets.iter().any(|target| ptr::eq(*target, file));
        for statement in statements(file) {
            let end = statement
                .tokens
                .last()
                .map_or(statement.start, |t| t.offset + t.text.len());
            let sql = &file.sql[statement.start..end];
            let schema = is_schema_change(&statement.tokens);
            let quoted: Vec<&Token<'_>> = statement
                .tokens
                .iter()
                .filter(|t| t.kind == Kind::DoubleQuoted)
                .collect();
            if is_target && !quoted.is_empty() {
                lints.extend(check_statement(&scratch, file, sql, schema, &quoted));
            }
            if schema {
                // Errors are the dry run's to report.
                let _ = scratch.execute(sql);
            }
        }
    }
    lints
}

/// Whether a statement changes the schema, and is replayed.
fn is_schema_change(tokens: &[Token<'_>]) -> bool {
    tokens
        .first()
        .is_some_and(|t| t.is_word("CREATE") || t.is_word("ALTER") || t.is_word("DROP"))
}

/// The lint of one statement, if it needs double-quoted strings.
fn check_statement(
    scratch: &Scratch,
    file: &SourceFile,
    sql: &str,
    schema: bool,
    quoted: &[&Token<'_>],
) -> Option<Lint> {
    let strict = scratch.attempt(sql, schema, false).err()?;
    scratch.attempt(sql, schema, true).ok()?;
    // SQLite names the token it could not resolve: `no such column: x`, or
    // since 3.41 `no such column: "x" - should this be a string literal in
    // single-quotes?`.
    let named = strict.strip_prefix("no such column: ").map(|rest| {
        let name = rest.split(" - ").next().unwrap_or(rest);
        Token {
            kind: Kind::Word,
            text: name,
            offset: 0,
        }
        .name()
        .trim_matches('"')
        .to_owned()
    });
    let token = quoted
        .iter()
        .find(|t| named.as_deref().is_some_and(|name| t.name() == name))
        .or(quoted.first())?;
    lint(
        file,
        "double-quoted-string",
        token.offset,
        format!(
            "SQLite reads {} as a string only because no column is called that; once one is, this statement means something else.",
            token.text
        ),
    )
}

/// The scratch database.
struct Scratch {
    handle: *mut sys::sqlite3,
    /// When the progress handler interrupts. Boxed, so that the address
    /// given to SQLite stays valid when the `Scratch` moves.
    deadline: Box<Instant>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: the handle is open, and every statement was finalized.
        unsafe {
            sys::sqlite3_close(self.handle);
        }
    }
}

impl Scratch {
    fn open(deadline: Instant) -> Result<Scratch, String> {
        let mut handle = ptr::null_mut();
        let flags = sys::SQLITE_OPEN_READWRITE | sys::SQLITE_OPEN_CREATE;
        // SAFETY: the name is a valid C string and `handle` a valid out-pointer.
        let code =
            unsafe { sys::sqlite3_open_v2(c":memory:".as_ptr(), &mut handle, flags, ptr::null()) };
        let scratch = Scratch {
            handle,
            deadline: Box::new(deadline),
        };
        if code != sys::SQLITE_OK {
            return Err(scratch.message());
        }
        let deadline: *const Instant = &*scratch.deadline;
        // SAFETY: the callbacks read only their arguments and the deadline,
        // which lives as long as the connection.
        let codes = unsafe {
            sys::sqlite3_progress_handler(
                handle,
                1000,
                Some(past_deadline),
                deadline.cast_mut().cast(),
            );
            [
                sys::sqlite3_set_authorizer(handle, Some(refuse_attach), ptr::null_mut()),
                sys::sqlite3_db_config(
                    handle,
                    sys::SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                    0 as c_int,
                    ptr::null_mut::<c_int>(),
                ),
            ]
        };
        if codes.iter().any(|code| *code != sys::SQLITE_OK) {
            return Err(scratch.message());
        }
        Ok(scratch)
    }

    /// Turns SQLite's double-quoted strings on or off, in every statement.
    fn double_quoted_strings(&self, on: bool) {
        for option in [sys::SQLITE_DBCONFIG_DQS_DML, sys::SQLITE_DBCONFIG_DQS_DDL] {
            // SAFETY: a documented option, with an int and a null out-pointer.
            unsafe {
                sys::sqlite3_db_config(
                    self.handle,
                    option,
                    c_int::from(on),
                    ptr::null_mut::<c_int>(),
                );
            }
        }
    }

    /// Prepares a statement with double-quoted strings `on` or off, and
    /// runs a schema change inside a savepoint that is rolled back.
    fn attempt(&self, sql: &str, schema: bool, on: bool) -> Result<(), String> {
        self.double_quoted_strings(on);
        let result = if schema {
            self.execute("SAVEPOINT migrate_lint")?;
            let result = self.execute(sql);
            self.execute("ROLLBACK TO migrate_lint; RELEASE migrate_lint")?;
            result
        } else {
            self.prepare(sql, |_| Ok(())).map(drop)
        };
        self.double_quoted_strings(true);
        result
    }

    /// Runs every statement of `sql` to its end.
    fn execute(&self, sql: &str) -> Result<(), String> {
        let mut rest = sql;
        while !rest.trim().is_empty() {
            let tail = self.prepare(rest, |statement| self.step(statement))?;
            rest = &rest[tail..];
        }
        Ok(())
    }

    /// Prepares the first statement of `sql`, hands it to `use_it`, and
    /// finalizes it. Returns where the statement ends in `sql`.
    fn prepare(
        &self,
        sql: &str,
        use_it: impl FnOnce(*mut sys::sqlite3_stmt) -> Result<(), String>,
    ) -> Result<usize, String> {
        let length =
            c_int::try_from(sql.len()).map_err(|_| "the statement is too long".to_owned())?;
        let mut statement = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        // SAFETY: `sql` is valid for `length` bytes, and the out-pointers are valid.
        let code = unsafe {
            sys::sqlite3_prepare_v2(
                self.handle,
                sql.as_ptr().cast(),
                length,
                &mut statement,
                &mut tail,
            )
        };
        if code != sys::SQLITE_OK {
            return Err(self.message());
        }
        // SAFETY: `tail` points into `sql`, at or after its start.
        let consumed =
            usize::try_from(unsafe { tail.offset_from(sql.as_ptr().cast()) }).unwrap_or(sql.len());
        let result = if statement.is_null() {
            Ok(())
        } else {
            use_it(statement)
        };
        // SAFETY: the statement was prepared here and is finalized once.
        unsafe {
            sys::sqlite3_finalize(statement);
        }
        result.map(|()| consumed.min(sql.len()))
    }

    fn step(&self, statement: *mut sys::sqlite3_stmt) -> Result<(), String> {
        loop {
            // SAFETY: the statement is prepared and not finalized.
            match unsafe { sys::sqlite3_step(statement) } {
                sys::SQLITE_ROW => {}
                sys::SQLITE_DONE => return Ok(()),
                _ => return Err(self.message()),
            }
        }
    }

    /// Registers a function that returns `NULL`, for one that the
    /// application registers (`-- migrate:sqlite-function`), so that a
    /// statement calling it can be prepared.
    fn stub_function(&self, function: &SqliteFunction) {
        let Ok(name) = CString::new(function.name.as_str()) else {
            return;
        };
        let arguments = function.arity.map_or(-1, c_int::from);
        // SAFETY: SQLite copies the name; the callback ignores its arguments.
        unsafe {
            sys::sqlite3_create_function_v2(
                self.handle,
                name.as_ptr(),
                arguments,
                sys::SQLITE_UTF8 | sys::SQLITE_DETERMINISTIC,
                ptr::null_mut(),
                Some(return_null),
                None,
                None,
                None,
            );
        }
    }

    fn message(&self) -> String {
        // SAFETY: SQLite returns a valid C string for any handle, null included.
        unsafe { CStr::from_ptr(sys::sqlite3_errmsg(self.handle)) }
            .to_string_lossy()
            .into_owned()
    }
}

/// The progress handler: interrupts once the deadline has passed.
extern "C" fn past_deadline(deadline: *mut c_void) -> c_int {
    // SAFETY: SQLite passes back the pointer to the boxed deadline.
    let deadline = unsafe { &*deadline.cast::<Instant>() };
    c_int::from(Instant::now() > *deadline)
}

/// The authorizer: the scratch database stays in memory.
extern "C" fn refuse_attach(
    _: *mut c_void,
    action: c_int,
    _: *const c_char,
    _: *const c_char,
    _: *const c_char,
    _: *const c_char,
) -> c_int {
    if action == sys::SQLITE_ATTACH {
        sys::SQLITE_DENY
    } else {
        sys::SQLITE_OK
    }
}

extern "C" fn return_null(
    context: *mut sys::sqlite3_context,
    _: c_int,
    _: *mut *mut sys::sqlite3_value,
) {
    // SAFETY: SQLite calls this with a valid context.
    unsafe { sys::sqlite3_result_null(context) }
}

#[cfg(test)]
mod tests {
    use super::super::LintOptions;
    use super::super::lint_sqlite;
    use super::super::tests::migrations;

    fn found(files: &[&str]) -> Vec<String> {
        let migrations = migrations(files);
        lint_sqlite(&migrations, &LintOptions::default())
            .iter()
            .map(|lint| {
                format!(
                    "{}:{}:{} {}",
                    lint.file, lint.position.0, lint.position.1, lint.message
                )
            })
            .collect()
    }

    #[test]
    fn strings_in_double_quotes_are_found_where_they_are() {
        let tables = "CREATE TABLE \"users\" (id INTEGER PRIMARY KEY, \"name\" TEXT, status TEXT CHECK (status IN ('on', 'off')));";
        let seed = "INSERT INTO users (name, status) VALUES (\"ada\", 'on');\nUPDATE users SET status = 'off' WHERE \"name\" = \"bob\";";
        assert_eq!(
            found(&[tables, seed]),
            [
                "migrations/2_x.sql:1:42 SQLite reads \"ada\" as a string only because no column is called that; once one is, this statement means something else.",
                "migrations/2_x.sql:2:48 SQLite reads \"bob\" as a string only because no column is called that; once one is, this statement means something else.",
            ]
        );
    }

    #[test]
    fn schema_statements_are_checked_too() {
        let check = "CREATE TABLE t (status TEXT CHECK (status IN (\"on\", 'off')));";
        let lints = found(&[check]);
        assert_eq!(lints.len(), 1, "{lints:?}");
        assert!(
            lints[0].starts_with("migrations/1_x.sql:1:47 "),
            "{lints:?}"
        );
        // Quoted names are names: nothing to say.
        assert!(found(&["CREATE TABLE \"t\" (\"a\" TEXT);\nCREATE INDEX \"i\" ON \"t\" (\"a\");\nSELECT \"a\" FROM \"t\";"]).is_empty());
    }

    #[test]
    fn released_migrations_build_the_schema_but_are_not_linted() {
        let files = [
            "CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES (\"x\");",
            "INSERT INTO t VALUES (\"y\");",
        ];
        let migrations = migrations(&files);
        let options = LintOptions {
            released: Some(1),
            ..LintOptions::default()
        };
        let lints = lint_sqlite(&migrations, &options);
        assert_eq!(lints.len(), 1);
        assert_eq!(lints[0].file, "migrations/2_x.sql");
    }
}
