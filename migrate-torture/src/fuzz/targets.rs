//! The fuzz targets and their invariants.

use std::ops::Range;

use migrate_format::checksum;
use migrate_format::lexer::{self, Flavor, Lexed};
use migrate_format::lock::{Lock, LockedMigration};
use migrate_format::name::{self, Entry, Kind};
use migrate_format::{control, directive, transaction};
use rusqlite::Connection;

use super::generate;
use super::input::Input;
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The lexer, each flavor, and what reads its output: directives,
    /// transaction control, statements refused in a transaction.
    Lexer,
    /// The file-name grammar.
    Names,
    /// Lock files: what `render` writes, `parse` reads back the same; and
    /// no text makes `parse` panic.
    LockFile,
    /// The macro's arguments.
    MacroArguments,
    /// SQLite's lexer splits where SQLite's own prepare loop does.
    SqliteSplit,
    /// PostgreSQL's lexer splits where the PostgreSQL grammar does.
    PostgresSplit,
}

impl Target {
    pub(crate) const ALL: [Target; 6] = [
        Target::Lexer,
        Target::Names,
        Target::LockFile,
        Target::MacroArguments,
        Target::SqliteSplit,
        Target::PostgresSplit,
    ];

    pub(crate) fn generate(self, rng: &mut Rng) -> String {
        let sql = |rng: &mut Rng| match rng.below(4) {
            0 => generate::sqlite_script(rng),
            1 => generate::postgres_script(rng),
            2 => generate::soup(rng),
            _ => {
                let base = match rng.one_in(2) {
                    true => generate::sqlite_script(rng),
                    false => generate::postgres_script(rng),
                };
                generate::mutate(rng, &base)
            }
        };
        match self {
            Target::Lexer => sql(rng),
            Target::Names => generate::file_name(rng),
            Target::LockFile => lock_text(rng),
            Target::MacroArguments => generate::macro_arguments(rng),
            Target::SqliteSplit => match rng.one_in(4) {
                true => {
                    let base = generate::sqlite_script(rng);
                    generate::mutate(rng, &base)
                }
                false => generate::sqlite_script(rng),
            },
            Target::PostgresSplit => match rng.one_in(4) {
                true => {
                    let base = generate::postgres_script(rng);
                    generate::mutate(rng, &base)
                }
                false => generate::postgres_script(rng),
            },
        }
    }
}

/// A lock file: rendered from random migrations (prefixed `render:`), or
/// such a text mutated.
fn lock_text(rng: &mut Rng) -> String {
    let mut lock = Lock::default();
    for _ in 0..rng.below(6) {
        let version = i64::try_from(rng.next() >> 1).unwrap_or(1) % 1_000_000;
        // The up file's path inside the folder, as a valid folder has them.
        let description = *rng.pick(&["create_users", "a-b", "x", "add_index_2"]);
        let file_name = match rng.below(3) {
            0 => format!("{version:04}_{description}.sql"),
            1 => format!("{version}_{description}.up.sql"),
            _ => format!("{version:04}_{description}/migration.sql"),
        };
        lock.migrations.insert(
            version,
            LockedMigration {
                version,
                checksum: checksum::checksum(&file_name),
                file_name,
            },
        );
    }
    let text = lock.render();
    match rng.one_in(2) {
        true => format!("render:{text}"),
        false => generate::mutate(rng, &text),
    }
}

/// The text as the folder loader hands it to the engines: without a leading
/// byte-order mark. One further in is not whitespace to either engine, and
/// the grammar's leniency about it is not a split, so such input is left
/// out (as empty).
fn as_loaded(input: &str) -> &str {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    if text.contains('\u{feff}') { "" } else { text }
}

/// What the targets share: an in-memory SQLite for the prepare loop.
pub(crate) struct Checker {
    sqlite: Connection,
}

impl Checker {
    pub(crate) fn new() -> rusqlite::Result<Checker> {
        Ok(Checker {
            sqlite: Connection::open_in_memory()?,
        })
    }

    pub(crate) fn check(&mut self, target: Target, input: &str) -> Result<(), String> {
        match target {
            Target::Lexer => lexer_invariants(input),
            Target::Names => names(input),
            Target::LockFile => lock_file(input),
            Target::MacroArguments => {
                // Any answer but a panic is fine: an error is a compile error.
                let _ = syn::parse_str::<Input>(input);
                Ok(())
            }
            Target::SqliteSplit => self.sqlite_split(as_loaded(input)),
            Target::PostgresSplit => postgres_split(as_loaded(input)),
        }
    }

    /// Runs `sql` with SQLite's own loop (prepare, step, go on from the
    /// tail), on a fresh database, and compares where each statement ends
    /// with the lexer's statements, up to the first statement SQLite
    /// refuses.
    fn sqlite_split(&mut self, sql: &str) -> Result<(), String> {
        let lexed = lexer::lex(sql, Flavor::Sqlite);
        if lexed.error.is_some() || sql.contains('\0') {
            return Ok(());
        }
        // A fresh database for each input: an input may leave a
        // transaction open, or change the connection's settings.
        self.sqlite = Connection::open_in_memory().map_err(|e| format!("opening SQLite: {e}"))?;
        let ends = prepare_loop(&self.sqlite, sql);
        let lexer_ends = lexer_ends(sql, &lexed);
        let compared = ends.len().min(lexer_ends.len());
        let agreed = ends[..compared] == lexer_ends[..compared];
        // The lexer may split off more than SQLite runs only when SQLite
        // finds nothing to run in it (a stray byte-order mark, say).
        let extra_run_nothing = lexed.statements[compared..].iter().all(|range| {
            prepare_one(&self.sqlite, &sql[range.clone()]).is_some_and(|(_, prepared)| !prepared)
        });
        let complete = ends.len() == lexer_ends.len()
            || (ends.len() < lexer_ends.len() && extra_run_nothing)
            || !prepared_all(&self.sqlite, sql, &ends);
        if agreed && complete {
            Ok(())
        } else {
            Err(format!(
                "SQLite ends statements at {ends:?}, the lexer at {lexer_ends:?} ({:?})",
                lexed.statements
            ))
        }
    }
}

/// The end of each statement as SQLite's prepare loop finds it: the offset
/// of its tail, trimmed of the spaces and comments that end the script.
/// Stops at the first statement SQLite refuses to prepare.
fn prepare_loop(conn: &Connection, sql: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut offset = 0;
    while offset < sql.len() {
        let rest = &sql[offset..];
        let Some((tail, prepared)) = prepare_one(conn, rest) else {
            break;
        };
        if prepared {
            ends.push(statement_end(rest, tail).map_or(usize::MAX, |end| offset + end));
        }
        if tail == 0 {
            break;
        }
        offset += tail;
    }
    ends
}

/// Whether the prepare loop went through the whole script: the statements
/// after the last end are only spaces and comments.
fn prepared_all(conn: &Connection, sql: &str, ends: &[usize]) -> bool {
    let from = ends.last().copied().unwrap_or(0);
    let rest = &sql[from..];
    match prepare_one(conn, rest) {
        Some((_, prepared)) => !prepared,
        None => false,
    }
}

/// Prepares the first statement of `sql`, runs it, and returns the length of
/// what SQLite consumed and whether it was a statement (not only spaces and
/// comments); `None` when SQLite refuses it.
fn prepare_one(conn: &Connection, sql: &str) -> Option<(usize, bool)> {
    use rusqlite::ffi;
    let handle = unsafe { conn.handle() };
    let mut statement = std::ptr::null_mut();
    let mut tail = std::ptr::null();
    let length = std::os::raw::c_int::try_from(sql.len()).ok()?;
    // SAFETY: `sql` outlives the call, and its length is given, so SQLite
    // reads no further; the statement is finalized below.
    let code = unsafe {
        ffi::sqlite3_prepare_v2(
            handle,
            sql.as_ptr().cast(),
            length,
            &mut statement,
            &mut tail,
        )
    };
    if code != ffi::SQLITE_OK {
        // SAFETY: a failed prepare leaves a null statement, which finalize accepts.
        unsafe { ffi::sqlite3_finalize(statement) };
        return None;
    }
    // SAFETY: on success the tail points into `sql`.
    let consumed = usize::try_from(unsafe { tail.cast::<u8>().offset_from(sql.as_ptr()) }).ok()?;
    let prepared = !statement.is_null();
    if prepared {
        // SAFETY: a prepared statement, stepped to its end and finalized.
        unsafe {
            while ffi::sqlite3_step(statement) == ffi::SQLITE_ROW {}
            ffi::sqlite3_finalize(statement);
        }
    }
    Some((consumed, prepared))
}

/// Where a statement that SQLite consumed up to `tail` ends: after its
/// `;`, or `None` for the last one without, which the two splitters may
/// end differently (spaces and comments after it). SQLite stops right after
/// a terminating `;`, so a statement that ran to the end of the script was
/// terminated only when SQLite calls the text complete.
fn statement_end(rest: &str, tail: usize) -> Option<usize> {
    if tail < rest.len() {
        return Some(tail);
    }
    let consumed = &rest[..tail];
    let text = std::ffi::CString::new(consumed).ok()?;
    // SAFETY: a NUL-terminated string that outlives the call.
    let complete = unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) } != 0;
    (complete && consumed.trim_end().ends_with(';')).then(|| consumed.trim_end().len())
}

/// The ends of the lexer's statements as [`statement_end`] counts them,
/// `usize::MAX` for a last statement without `;` (one that ends in a line
/// comment's `;` has none).
fn lexer_ends(sql: &str, lexed: &Lexed) -> Vec<usize> {
    lexed
        .statements
        .iter()
        .map(|range| {
            let in_comment = lexed
                .line_comments
                .iter()
                .any(|comment| comment.contains(&(range.end - 1)));
            match sql[range.clone()].ends_with(';') && !in_comment {
                true => range.end,
                false => usize::MAX,
            }
        })
        .collect()
}

/// Compares the lexer's statements with squawk's, on scripts the grammar
/// accepts whole.
fn postgres_split(sql: &str) -> Result<(), String> {
    use squawk_syntax::ast::AstNode;
    let lexed = lexer::lex(sql, Flavor::Postgres);
    if lexed.error.is_some() {
        return Ok(());
    }
    let parsed = squawk_syntax::SourceFile::parse(sql);
    if !parsed.errors().is_empty() {
        return Ok(());
    }
    // An empty statement (a lone `;`) runs nothing; the lexer skips it.
    let grammar: Vec<Range<usize>> = parsed
        .tree()
        .stmts()
        .map(|statement| {
            let range = statement.syntax().text_range();
            usize::from(range.start())..usize::from(range.end())
        })
        .filter(|range| sql[range.clone()].trim() != ";")
        .collect();
    // Where each statement starts, and where each one with a `;` ends
    // (squawk's statements include their `;`).
    let grammar_split: Vec<(usize, usize)> = grammar
        .iter()
        .map(|range| match sql[range.clone()].ends_with(';') {
            true => (range.start, range.end),
            false => (range.start, usize::MAX),
        })
        .collect();
    let lexer_split: Vec<(usize, usize)> = lexed
        .statements
        .iter()
        .zip(lexer_ends(sql, &lexed))
        .map(|(range, end)| (range.start, end))
        .collect();
    if grammar_split == lexer_split {
        Ok(())
    } else {
        Err(format!(
            "the PostgreSQL grammar splits at {grammar_split:?}, the lexer at {lexer_split:?}"
        ))
    }
}

/// The lexer's output is well-formed for every flavor, and what reads it
/// does not panic.
fn lexer_invariants(sql: &str) -> Result<(), String> {
    for flavor in [Flavor::Sqlite, Flavor::Postgres, Flavor::Generic] {
        let lexed = lexer::lex(sql, flavor);
        ranges_ok(sql, &lexed.statements).map_err(|e| format!("{flavor:?} statements: {e}"))?;
        ranges_ok(sql, &lexed.line_comments).map_err(|e| format!("{flavor:?} comments: {e}"))?;
        if let Some(error) = &lexed.error {
            if error.offset > sql.len() || !sql.is_char_boundary(error.offset) {
                return Err(format!(
                    "{flavor:?}: an error offset {} off a character",
                    error.offset
                ));
            }
            let _ = lexer::line_col(sql, error.offset);
        }
        readers(sql, &lexed, flavor);
    }
    Ok(())
}

fn readers(sql: &str, lexed: &Lexed, flavor: Flavor) {
    let _ = directive::parse(sql, lexed);
    let _ = control::escapes(sql, lexed, flavor);
    let _ = transaction::statements_refused_in_transaction(sql, lexed);
    let _ = migrate_format::session::pragmas_set(sql, lexed);
    for range in &lexed.statements {
        let _ = control::classify(&sql[range.clone()], flavor);
    }
}

/// Ranges in order, apart, inside the text, on character boundaries, and
/// not empty.
fn ranges_ok(sql: &str, ranges: &[Range<usize>]) -> Result<(), String> {
    let mut previous = 0;
    for range in ranges {
        let bounded = range.start >= previous && range.start < range.end && range.end <= sql.len();
        if !bounded || !sql.is_char_boundary(range.start) || !sql.is_char_boundary(range.end) {
            return Err(format!(
                "range {range:?} after {previous} in {} bytes",
                sql.len()
            ));
        }
        previous = range.end;
    }
    Ok(())
}

/// A well-formed name writes back as it was read.
fn names(file_name: &str) -> Result<(), String> {
    if let Entry::Migration(parsed) = name::classify(file_name) {
        let suffix = match parsed.kind {
            Kind::Up => ".sql",
            Kind::PairedUp => ".up.sql",
            Kind::Down => ".down.sql",
        };
        let written = format!("{}_{}{suffix}", parsed.version_text, parsed.description);
        if written != file_name {
            return Err(format!("read as {parsed:?}, written back as {written:?}"));
        }
        if parsed
            .version_text
            .trim_start_matches('0')
            .parse::<i64>()
            .ok()
            .unwrap_or(0)
            != parsed.version
        {
            return Err(format!(
                "version {} read from {:?}",
                parsed.version, parsed.version_text
            ));
        }
    }
    let _ = migrate_format::layout::classify_flyway(file_name);
    Ok(())
}

/// A rendered lock reads back the same; any text reads without a panic.
fn lock_file(text: &str) -> Result<(), String> {
    let Some(rendered) = text.strip_prefix("render:") else {
        let _ = Lock::parse(text, "migrate.lock");
        return Ok(());
    };
    let lock = Lock::parse(rendered, "migrate.lock")
        .map_err(|p| format!("a rendered lock is refused: {}", p.message))?;
    if lock.render() != rendered {
        return Err("the lock does not render back to the same text".to_owned());
    }
    Ok(())
}
