//! The session settings a migration changes on PostgreSQL, found in its
//! statements, and the SQL that saves them before it and restores them
//! after it.
//!
//! A connection setting made by a migration lasts until the end of that
//! migration (see [`migrate_format::session`] for SQLite's side of the
//! rule): otherwise `SET search_path = s3` in migration 3 would move
//! migration 4's tables into `s3` when both run in one process, and not when
//! migration 4 runs in a later deploy, and the application's own connection
//! would keep the setting.
//!
//! A top-level `SET`, `SET LOCAL`, `SET SESSION` or `RESET` of a named
//! setting is found, with the special forms (`SET TIME ZONE`, `SET SCHEMA`,
//! `SET NAMES`, `SET ROLE`, `SET SESSION AUTHORIZATION`, `SET XML OPTION`,
//! `SET SESSION CHARACTERISTICS AS TRANSACTION`). Not covered: a setting
//! changed by `set_config()` or inside a function or `DO` block, `RESET ALL`
//! and `DISCARD`, which reset every setting, and `SET TRANSACTION` and `SET
//! CONSTRAINTS`, which last until the end of the transaction.
//!
//! Each saved value is kept in a setting of migrate's own,
//! `migrate.saved_<n>`, so that saving and restoring are statements of the
//! same message as the migration: a batch stays one round trip.

use migrate_format::history::{Dialect, quote_literal};

/// The settings that the top-level statements of `sql` change, lower-cased
/// (a quoted name keeps its case), each once, in order.
pub(crate) fn settings_changed(sql: &str, statements: &[std::ops::Range<usize>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for range in statements {
        for name in changed_by(&sql[range.clone()]) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// Saves the current value of each setting of `names` before the migration
/// that changes them: in a transaction-local setting when it runs in a
/// transaction, or in a session setting, cleared by [`restore`], when its
/// statements run one by one.
pub(crate) fn save(names: &[String], in_transaction: bool) -> String {
    let calls: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            format!(
                "set_config('{}', coalesce(current_setting({}, true), ''), {in_transaction})",
                slot(index),
                quote_literal(Dialect::Postgres, name)
            )
        })
        .collect();
    format!("SELECT {}", calls.join(", "))
}

/// Restores each setting of `names` to the value [`save`] kept, as a
/// session setting, so that it also undoes a `SET LOCAL`; and clears the
/// saved values that outlive the transaction.
pub(crate) fn restore(names: &[String], in_transaction: bool) -> String {
    let mut calls: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            format!(
                "set_config({}, current_setting('{}'), false)",
                quote_literal(Dialect::Postgres, name),
                slot(index)
            )
        })
        .collect();
    if !in_transaction {
        calls.extend(
            (0..names.len()).map(|index| format!("set_config('{}', '', false)", slot(index))),
        );
    }
    format!("SELECT {}", calls.join(", "))
}

fn slot(index: usize) -> String {
    format!("migrate.saved_{}", index + 1)
}

/// The settings one statement changes.
fn changed_by(statement: &str) -> Vec<String> {
    let words = Words::new(statement);
    let mut words = words.peekable();
    let Some(first) = words.next() else {
        return Vec::new();
    };
    let is = |word: Option<&Word>, keyword: &str| {
        word.is_some_and(|word| !word.quoted && word.text.eq_ignore_ascii_case(keyword))
    };
    let reset = if is(Some(&first), "SET") {
        false
    } else if is(Some(&first), "RESET") {
        true
    } else {
        return Vec::new();
    };
    let mut rest: Vec<Word> = words.collect();
    // SET SESSION AUTHORIZATION and SET SESSION CHARACTERISTICS start with
    // the word that is otherwise the optional scope.
    let special_session = rest.len() >= 2
        && is(rest.first(), "SESSION")
        && (is(rest.get(1), "AUTHORIZATION") || is(rest.get(1), "CHARACTERISTICS"));
    if !reset && !special_session && (is(rest.first(), "SESSION") || is(rest.first(), "LOCAL")) {
        rest.remove(0);
    }
    let named = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    match rest.first() {
        None => Vec::new(),
        Some(_) if is(rest.first(), "TIME") && is(rest.get(1), "ZONE") => named(&["timezone"]),
        Some(_) if is(rest.first(), "SESSION") && is(rest.get(1), "AUTHORIZATION") => {
            named(&["session_authorization"])
        }
        Some(_) if is(rest.first(), "SESSION") && is(rest.get(1), "CHARACTERISTICS") => named(&[
            "default_transaction_isolation",
            "default_transaction_read_only",
            "default_transaction_deferrable",
        ]),
        Some(_) if is(rest.first(), "XML") && is(rest.get(1), "OPTION") => named(&["xmloption"]),
        Some(_) if !reset && is(rest.first(), "SCHEMA") => named(&["search_path"]),
        Some(_) if !reset && is(rest.first(), "NAMES") => named(&["client_encoding"]),
        Some(_) if is(rest.first(), "ROLE") && (reset || rest.len() > 1) => named(&["role"]),
        // Until the end of the transaction, or every setting: not covered.
        Some(_)
            if is(rest.first(), "TRANSACTION")
                || is(rest.first(), "CONSTRAINTS")
                || (reset && is(rest.first(), "ALL")) =>
        {
            Vec::new()
        }
        Some(name) => {
            let mut full = name.name();
            if rest.get(1).is_some_and(|w| w.text == ".")
                && let Some(second) = rest.get(2)
            {
                full = format!("{full}.{}", second.name());
            }
            vec![full]
        }
    }
}

/// A word of a statement: a keyword or identifier, a quoted identifier, or
/// one character of punctuation.
#[derive(Debug)]
struct Word {
    text: String,
    quoted: bool,
}

impl Word {
    /// The name it stands for: folded to lower case unless quoted.
    fn name(&self) -> String {
        match self.quoted {
            true => self.text.clone(),
            false => self.text.to_ascii_lowercase(),
        }
    }
}

/// The words of a statement, skipping spaces and comments. It stops at the
/// first string literal: the name of a setting comes before any.
struct Words<'s> {
    rest: &'s str,
}

impl<'s> Words<'s> {
    fn new(statement: &'s str) -> Words<'s> {
        Words { rest: statement }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            self.rest = self.rest.trim_start();
            if let Some(after) = self.rest.strip_prefix("--") {
                self.rest = after.find('\n').map_or("", |end| &after[end..]);
            } else if self.rest.starts_with("/*") {
                self.rest = after_block_comment(self.rest);
            } else {
                return;
            }
        }
    }
}

/// `text`, which starts with `/*`, after that comment, which nests.
fn after_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut index = 0;
    let bytes = text.as_bytes();
    while index + 1 < bytes.len() {
        match (bytes[index], bytes[index + 1]) {
            (b'/', b'*') => {
                depth += 1;
                index += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                index += 2;
                if depth == 0 {
                    return &text[index..];
                }
            }
            _ => index += 1,
        }
    }
    ""
}

impl Iterator for Words<'_> {
    type Item = Word;

    fn next(&mut self) -> Option<Word> {
        self.skip_space_and_comments();
        let first = self.rest.chars().next()?;
        if first == '"' {
            let mut text = String::new();
            let mut chars = self.rest[1..].char_indices();
            while let Some((index, c)) = chars.next() {
                if c != '"' {
                    text.push(c);
                    continue;
                }
                if self.rest[1 + index + 1..].starts_with('"') {
                    text.push('"');
                    chars.next();
                    continue;
                }
                self.rest = &self.rest[1 + index + 1..];
                return Some(Word { text, quoted: true });
            }
            return None;
        }
        if first == '\'' {
            return None;
        }
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(self.rest.len());
        let end = if end == 0 { first.len_utf8() } else { end };
        let text = self.rest[..end].to_owned();
        self.rest = &self.rest[end..];
        Some(Word {
            text,
            quoted: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(sql: &str) -> Vec<String> {
        let statements =
            migrate_format::lexer::lex(sql, migrate_format::lexer::Flavor::Postgres).statements;
        settings_changed(sql, &statements)
    }

    #[test]
    fn every_form_of_set_and_reset_is_found() {
        let sql = "SET search_path = s3;\nset local statement_timeout to '5s';\n\
                   SET SESSION work_mem = '64MB';\nRESET lock_timeout;\nSET TIME ZONE 'UTC';\n\
                   SET SCHEMA 'app';\nSET NAMES 'UTF8';\nSET ROLE admin;\nRESET ROLE;\n\
                   SET SESSION AUTHORIZATION DEFAULT;\n/* a comment */ SET myapp.tenant = '7';\n\
                   SET \"MyApp\".\"Mixed\" = 1;\nSET XML OPTION DOCUMENT;\nSET search_path TO public;";
        assert_eq!(
            changed(sql),
            [
                "search_path",
                "statement_timeout",
                "work_mem",
                "lock_timeout",
                "timezone",
                "client_encoding",
                "role",
                "session_authorization",
                "myapp.tenant",
                "MyApp.Mixed",
                "xmloption",
            ]
        );
        assert_eq!(
            changed("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;"),
            [
                "default_transaction_isolation",
                "default_transaction_read_only",
                "default_transaction_deferrable"
            ]
        );
    }

    #[test]
    fn other_statements_change_nothing() {
        for sql in [
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;",
            "SET CONSTRAINTS ALL DEFERRED;",
            "RESET ALL;",
            "SELECT set_config('search_path', 's', false);",
            "UPDATE t SET search_path = 1;",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = s AS 'SELECT 1';",
            "ALTER ROLE r SET search_path = s;",
            "-- SET search_path = s\nSELECT 1;",
        ] {
            assert!(changed(sql).is_empty(), "{sql}");
        }
    }

    #[test]
    fn saved_values_travel_in_migrate_s_own_settings() {
        let names = vec!["search_path".to_owned(), "it's".to_owned()];
        assert_eq!(
            save(&names, true),
            "SELECT set_config('migrate.saved_1', coalesce(current_setting('search_path', true), ''), true), \
             set_config('migrate.saved_2', coalesce(current_setting('it''s', true), ''), true)"
        );
        assert_eq!(
            restore(&names[..1], true),
            "SELECT set_config('search_path', current_setting('migrate.saved_1'), false)"
        );
        assert_eq!(
            restore(&names[..1], false),
            "SELECT set_config('search_path', current_setting('migrate.saved_1'), false), \
             set_config('migrate.saved_1', '', false)"
        );
    }
}
