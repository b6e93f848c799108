//! Statements that PostgreSQL refuses inside a transaction block.
//!
//! A migration without `-- migrate:no-transaction` runs inside a transaction,
//! so one of these statements would make it fail at deploy time with
//! "cannot run inside a transaction block". Finding them from the first
//! keywords of each statement lets the macro and the runner report them
//! before anything runs.
//!
//! The check is lexical and deliberately conservative: it only flags
//! statements that PostgreSQL always refuses in a transaction, whatever their
//! options, so that it can be an error rather than a warning:
//!
//! - `CREATE [UNIQUE] INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
//!   `REINDEX … CONCURRENTLY`, and `REINDEX SCHEMA | DATABASE | SYSTEM`;
//! - `CREATE DATABASE`, `DROP DATABASE`, `CREATE TABLESPACE`, `DROP TABLESPACE`;
//! - `VACUUM`, `ALTER SYSTEM`, `DISCARD ALL`.
//!
//! `ALTER TYPE … ADD VALUE` is allowed in a transaction since PostgreSQL 12
//! and is not listed. Statements whose refusal depends on their options
//! (`CREATE SUBSCRIPTION` with a slot) or that hide the keyword deep inside
//! (`ALTER TABLE … DETACH PARTITION … CONCURRENTLY`) are not detected.

use std::ops::Range;

use crate::lexer::Lexed;

/// How many leading keywords a rule can need: `REINDEX (VERBOSE) TABLE CONCURRENTLY`.
const KEYWORDS_NEEDED: usize = 4;

/// The statements of `sql` that PostgreSQL refuses inside a transaction
/// block, as byte ranges of `sql` taken from `lexed.statements`.
///
/// `lexed` must be the result of [`lex`](crate::lexer::lex) on `sql`
/// (with [`Flavor::Postgres`](crate::Flavor::Postgres) or
/// [`Flavor::Generic`](crate::Flavor::Generic)). The function is pure: it reads
/// the first keywords of each statement, skipping comments and
/// parenthesised option lists, and never looks inside strings or bodies.
pub fn statements_refused_in_transaction(sql: &str, lexed: &Lexed) -> Vec<Range<usize>> {
    lexed
        .statements
        .iter()
        .filter(|range| refused_in_transaction(&sql[(*range).clone()]).is_some())
        .cloned()
        .collect()
}

/// If PostgreSQL refuses this one statement inside a transaction block, the
/// name of the command as it should appear in a message, such as
/// `CREATE INDEX CONCURRENTLY`.
pub fn refused_in_transaction(statement: &str) -> Option<&'static str> {
    let words = leading_keywords(statement, KEYWORDS_NEEDED);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..] => Some("CREATE INDEX CONCURRENTLY"),
        ["DROP", "INDEX", "CONCURRENTLY", ..] => Some("DROP INDEX CONCURRENTLY"),
        ["REINDEX", _, "CONCURRENTLY", ..] => Some("REINDEX CONCURRENTLY"),
        ["REINDEX", "SCHEMA" | "DATABASE" | "SYSTEM", ..] => {
            Some("REINDEX SCHEMA, DATABASE or SYSTEM")
        }
        ["CREATE", "DATABASE", ..] => Some("CREATE DATABASE"),
        ["DROP", "DATABASE", ..] => Some("DROP DATABASE"),
        ["CREATE", "TABLESPACE", ..] => Some("CREATE TABLESPACE"),
        ["DROP", "TABLESPACE", ..] => Some("DROP TABLESPACE"),
        ["VACUUM", ..] => Some("VACUUM"),
        ["ALTER", "SYSTEM", ..] => Some("ALTER SYSTEM"),
        ["DISCARD", "ALL", ..] => Some("DISCARD ALL"),
        _ => None,
    }
}

/// The first `limit` bare words of a statement, upper-cased. Whitespace,
/// comments and parenthesised groups (option lists such as `(VERBOSE)`) are
/// skipped; anything else, such as a quoted identifier or an operator, ends
/// the list, since no rule needs to look past it.
fn leading_keywords(statement: &str, limit: usize) -> Vec<String> {
    let bytes = statement.as_bytes();
    let mut words = Vec::new();
    let mut pos = 0;
    while words.len() < limit {
        pos = skip_blanks(bytes, pos);
        match bytes.get(pos) {
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
                let end = pos
                    + bytes[pos..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'$')
                        .count();
                words.push(statement[pos..end].to_ascii_uppercase());
                pos = end;
            }
            Some(b'(') => pos = skip_parenthesised(bytes, pos),
            _ => break,
        }
    }
    words
}

/// Skips whitespace, `--` comments and nested `/* */` comments.
fn skip_blanks(bytes: &[u8], mut pos: usize) -> usize {
    loop {
        match (bytes.get(pos), bytes.get(pos + 1)) {
            (Some(b), _) if b.is_ascii_whitespace() => pos += 1,
            (Some(b'-'), Some(b'-')) => {
                pos += bytes[pos..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .unwrap_or(bytes.len() - pos);
            }
            (Some(b'/'), Some(b'*')) => pos = skip_block_comment(bytes, pos),
            _ => return pos,
        }
    }
}

/// Skips a block comment starting at `pos`, nesting as PostgreSQL does.
fn skip_block_comment(bytes: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while pos < bytes.len() {
        match (bytes[pos], bytes.get(pos + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                pos += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                pos += 2;
                if depth == 0 {
                    return pos;
                }
            }
            _ => pos += 1,
        }
    }
    pos
}

/// Skips a parenthesised group starting at `pos`. Option lists contain no
/// strings with parentheses in the statements the rules look at, so counting
/// parentheses is enough; an unbalanced group runs to the end.
fn skip_parenthesised(bytes: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while pos < bytes.len() {
        match bytes[pos] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return pos + 1;
                }
            }
            _ => {}
        }
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{Flavor, lex};

    fn refused(sql: &str) -> Vec<&str> {
        let lexed = lex(sql, Flavor::Postgres);
        statements_refused_in_transaction(sql, &lexed)
            .into_iter()
            .map(|range| &sql[range])
            .collect()
    }

    #[test]
    fn refused_statements_are_found_whatever_their_case_and_comments() {
        let sql = "CREATE TABLE t (a int);\n\
                   create index concurrently t_a on t (a);\n\
                   CREATE /* why */ UNIQUE -- not now\n INDEX CONCURRENTLY IF NOT EXISTS u ON t (a);\n\
                   DROP INDEX CONCURRENTLY t_a;\n\
                   REINDEX (VERBOSE) TABLE CONCURRENTLY t;\n\
                   REINDEX DATABASE app;\n\
                   VACUUM (ANALYZE) t;\n\
                   ALTER SYSTEM SET work_mem = '64MB';\n\
                   CREATE DATABASE other;\n\
                   DROP DATABASE other;\n\
                   CREATE TABLESPACE ts LOCATION '/x';\n\
                   DISCARD ALL;\n";
        let found = refused(sql);
        assert_eq!(found.len(), 11, "{found:#?}");
        assert!(found[1].contains("/* why */"));
    }

    #[test]
    fn allowed_statements_and_look_alikes_are_not_flagged() {
        let sql = "CREATE INDEX t_a ON t (a);\n\
                   CREATE INDEX concurrently_named ON t (a);\n\
                   ALTER TYPE mood ADD VALUE 'meh';\n\
                   REINDEX TABLE t;\n\
                   ANALYZE t;\n\
                   INSERT INTO log VALUES ('VACUUM; CREATE DATABASE x');\n\
                   DO $$ BEGIN EXECUTE 'VACUUM'; END $$;\n\
                   -- CREATE INDEX CONCURRENTLY in a comment\n\
                   SELECT 1;\n\
                   DISCARD PLANS;\n";
        assert_eq!(refused(sql), Vec::<&str>::new());
    }

    #[test]
    fn names_the_command() {
        assert_eq!(
            refused_in_transaction("create unique index concurrently x on t (a)"),
            Some("CREATE INDEX CONCURRENTLY")
        );
        assert_eq!(refused_in_transaction("vacuum"), Some("VACUUM"));
        assert_eq!(refused_in_transaction("/* x */ select 1"), None);
    }
}
