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
//! - `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`;
//! - `CREATE DATABASE`, `DROP DATABASE`, `CREATE TABLESPACE`, `DROP TABLESPACE`;
//! - `VACUUM`, `ALTER SYSTEM`, `DISCARD ALL`;
//! - `ALTER TYPE … ADD VALUE`, only on a server older than PostgreSQL 12.
//!
//! # The server's version
//!
//! `ALTER TYPE … ADD VALUE` is allowed in a transaction since PostgreSQL 12.
//! [`statements_refused_in_transaction`] takes the server's
//! `server_version_num` when the caller knows it (the build-time dry run on
//! a server); when it is unknown (the build without a server, and the
//! runtime, which does not ask the server its version before it applies),
//! a server of version 12 or later is assumed, since every older release is
//! past its end of life (11 in November 2023) and flagging the statement
//! would reject valid migrations for everyone else. On an older server the
//! runtime then meets the server's own refusal, and rolls the batch back.
//!
//! Statements whose refusal depends on their options (`CREATE SUBSCRIPTION`
//! with a slot), or that hide the command inside a string or a function body
//! (`DO $$ … EXECUTE 'VACUUM' … $$`), are not detected.

use std::ops::Range;

use crate::lexer::Lexed;

/// How many leading keywords a rule can need: `REINDEX (VERBOSE) TABLE CONCURRENTLY`.
const KEYWORDS_NEEDED: usize = 4;

/// A statement that PostgreSQL refuses inside a transaction block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The statement, as a byte range of the migration's SQL.
    pub range: Range<usize>,
    /// The command as a message names it, such as `CREATE INDEX CONCURRENTLY`.
    pub command: &'static str,
}

/// The statements of `sql` that PostgreSQL refuses inside a transaction
/// block, in order, on a server whose `server_version_num` is
/// `server_version_num` (or, when it is `None`, on PostgreSQL 12 or later;
/// see [`refused_in_transaction_on`]).
///
/// The one place where they are found: the runtime (`migrate-core`, before
/// it applies a transactional migration), the build-time grammar check and
/// the build-time dry run on a server (`migrate-check`) all call it.
///
/// `lexed` must be the result of [`lex`](crate::lexer::lex) on `sql`
/// (with [`Flavor::Postgres`](crate::Flavor::Postgres) or
/// [`Flavor::Generic`](crate::Flavor::Generic)). The function is pure: it reads
/// the first keywords of each statement, skipping comments and
/// parenthesised option lists, and never looks inside strings or bodies.
pub fn statements_refused_in_transaction(
    sql: &str,
    lexed: &Lexed,
    server_version_num: Option<u32>,
) -> Vec<Refusal> {
    lexed
        .statements
        .iter()
        .filter_map(|range| {
            let command = refused_in_transaction_on(&sql[range.clone()], server_version_num)?;
            Some(Refusal {
                range: range.clone(),
                command,
            })
        })
        .collect()
}

/// If PostgreSQL refuses this one statement inside a transaction block, the
/// name of the command as it should appear in a message, such as
/// `CREATE INDEX CONCURRENTLY`. The server is assumed to be PostgreSQL 12 or
/// later; see [`refused_in_transaction_on`].
pub fn refused_in_transaction(statement: &str) -> Option<&'static str> {
    refused_in_transaction_on(statement, None)
}

/// The words of which every statement that [`refused_in_transaction_on`]
/// refuses contains at least one, whatever its case: `ADD VALUE` is refused
/// only before PostgreSQL 12.
const REFUSED_WORDS: [&str; 7] = [
    "concurrently",
    "reindex",
    "database",
    "system",
    "tablespace",
    "vacuum",
    "discard",
];

/// Whether `sql` may hold a statement that [`refused_in_transaction_on`]
/// refuses: false when it contains none of the words such a statement needs,
/// which is cheap to see without lexing. The runtime asks this first, since
/// it checks every pending migration before each run.
pub fn may_refuse_in_transaction(sql: &str, server_version_num: Option<u32>) -> bool {
    let bytes = sql.as_bytes();
    let contains = |word: &str| {
        bytes
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
    };
    let before_12 = server_version_num.is_some_and(|v| v < ADD_VALUE_IN_TRANSACTION);
    REFUSED_WORDS.into_iter().any(contains) || (before_12 && contains("value"))
}

/// The first PostgreSQL release that accepts `ALTER TYPE … ADD VALUE` in a
/// transaction, as `server_version_num` writes it.
const ADD_VALUE_IN_TRANSACTION: u32 = 120_000;

/// [`refused_in_transaction`] on a server whose `server_version_num` (such
/// as `150004` for 15.4) is `server_version_num`, or on an unknown server,
/// assumed to be PostgreSQL 12 or later, when it is `None`.
pub fn refused_in_transaction_on(
    statement: &str,
    server_version_num: Option<u32>,
) -> Option<&'static str> {
    let tokens = tokens(statement, TOKENS_NEEDED);
    let words: Vec<&str> = tokens
        .iter()
        .map_while(|token| match token {
            Token::Word(word) => Some(word.as_str()),
            _ => None,
        })
        .take(KEYWORDS_NEEDED)
        .collect();
    let before_12 = server_version_num.is_some_and(|v| v < ADD_VALUE_IN_TRANSACTION);
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
        ["ALTER", "TABLE", ..] if detaches_concurrently(&tokens) => {
            Some("DETACH PARTITION CONCURRENTLY")
        }
        ["ALTER", "TYPE", ..] if before_12 && adds_enum_value(&tokens) => {
            Some("ALTER TYPE … ADD VALUE (before PostgreSQL 12)")
        }
        _ => None,
    }
}

/// How many tokens the rules that look past the leading keywords need:
/// `ALTER TABLE IF EXISTS ONLY s . t DETACH PARTITION s . p CONCURRENTLY`.
const TOKENS_NEEDED: usize = 16;

/// A token of a statement, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word, upper-cased.
    Word(String),
    /// A double-quoted identifier.
    Quoted,
    /// `.`, between the parts of a qualified name.
    Dot,
    /// Anything else: a string, a number, an operator.
    Other,
}

/// `… DETACH PARTITION <name> CONCURRENTLY`: the option comes right after
/// the partition's name, which may itself be the word `concurrently`.
fn detaches_concurrently(tokens: &[Token]) -> bool {
    let Some(at) = find_words(tokens, &["DETACH", "PARTITION"]) else {
        return false;
    };
    let after_name = skip_name(tokens, at + 2);
    after_name > at + 2
        && matches!(tokens.get(after_name), Some(Token::Word(w)) if w == "CONCURRENTLY")
}

/// `ALTER TYPE <name> ADD VALUE …`, as opposed to `ADD ATTRIBUTE` of a
/// composite type.
fn adds_enum_value(tokens: &[Token]) -> bool {
    let after_name = skip_name(tokens, 2);
    after_name > 2 && find_words(&tokens[after_name..], &["ADD", "VALUE"]) == Some(0)
}

/// The index of the first place where `words` follow each other.
fn find_words(tokens: &[Token], words: &[&str]) -> Option<usize> {
    tokens.windows(words.len()).position(|window| {
        window
            .iter()
            .zip(words)
            .all(|(token, word)| matches!(token, Token::Word(w) if w == word))
    })
}

/// The index after a name, qualified or not, that starts at `start`.
fn skip_name(tokens: &[Token], start: usize) -> usize {
    let mut at = start;
    while matches!(tokens.get(at), Some(Token::Word(_) | Token::Quoted)) {
        at += 1;
        if tokens.get(at) != Some(&Token::Dot) {
            break;
        }
        at += 1;
    }
    at
}

/// The first `limit` tokens of a statement. Whitespace, comments and
/// parenthesised groups (option lists such as `(VERBOSE)`) are skipped.
fn tokens(statement: &str, limit: usize) -> Vec<Token> {
    let bytes = statement.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while tokens.len() < limit {
        pos = skip_blanks(bytes, pos);
        let Some(&byte) = bytes.get(pos) else { break };
        match byte {
            b if b.is_ascii_alphabetic() || b == b'_' || !b.is_ascii() => {
                let end = pos
                    + bytes[pos..]
                        .iter()
                        .take_while(|b| {
                            b.is_ascii_alphanumeric() || **b == b'_' || **b == b'$' || !b.is_ascii()
                        })
                        .count();
                tokens.push(Token::Word(statement[pos..end].to_ascii_uppercase()));
                pos = end;
            }
            b'(' => pos = skip_parenthesised(bytes, pos),
            b'"' => {
                pos = skip_quoted(bytes, pos, b'"');
                tokens.push(Token::Quoted);
            }
            b'\'' => {
                pos = skip_quoted(bytes, pos, b'\'');
                tokens.push(Token::Other);
            }
            b'.' => {
                pos += 1;
                tokens.push(Token::Dot);
            }
            _ => {
                pos += 1;
                tokens.push(Token::Other);
            }
        }
    }
    tokens
}

/// Skips a quoted identifier or string starting at `pos`, in which a
/// doubled quote stands for one.
fn skip_quoted(bytes: &[u8], mut pos: usize, quote: u8) -> usize {
    pos += 1;
    while pos < bytes.len() {
        if bytes[pos] == quote {
            if bytes.get(pos + 1) == Some(&quote) {
                pos += 2;
                continue;
            }
            return pos + 1;
        }
        pos += 1;
    }
    pos
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
        statements_refused_in_transaction(sql, &lexed, None)
            .into_iter()
            .map(|refusal| &sql[refusal.range])
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
                   DISCARD ALL;\n\
                   ALTER TABLE IF EXISTS app.\"Events\" DETACH PARTITION app.events_2026 CONCURRENTLY;\n\
                   alter table events detach partition concurrently concurrently;\n";
        let found = refused(sql);
        assert_eq!(found.len(), 13, "{found:#?}");
        assert!(found[1].contains("/* why */"));
    }

    #[test]
    fn every_refused_statement_passes_the_cheap_prescan() {
        let sql = "CREATE TABLE t (a int);\n\
                   create index concurrently t_a on t (a);\n\
                   REINDEX (VERBOSE) TABLE CONCURRENTLY t;\n\
                   REINDEX SCHEMA app;\n\
                   REINDEX DATABASE app;\n\
                   REINDEX SYSTEM app;\n\
                   VACUUM (ANALYZE) t;\n\
                   ALTER SYSTEM SET work_mem = '64MB';\n\
                   CREATE DATABASE other;\n\
                   DROP TABLESPACE ts;\n\
                   DISCARD ALL;\n\
                   ALTER TABLE events DETACH PARTITION e CONCURRENTLY;\n\
                   ALTER TYPE mood ADD VALUE 'meh';\n";
        let lexed = lex(sql, Flavor::Postgres);
        for version in [None, Some(110_000), Some(150_004)] {
            for refusal in statements_refused_in_transaction(sql, &lexed, version) {
                let statement = &sql[refusal.range];
                assert!(
                    may_refuse_in_transaction(statement, version),
                    "{statement} on {version:?}"
                );
            }
        }
        assert!(!may_refuse_in_transaction(
            "CREATE TABLE t (a int); INSERT INTO t VALUES (1);",
            None
        ));
        assert!(may_refuse_in_transaction(
            "ALTER TYPE m ADD VALUE 'x'",
            Some(110_000)
        ));
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
                   DISCARD PLANS;\n\
                   ALTER TABLE events DETACH PARTITION events_2026;\n\
                   ALTER TABLE events DETACH PARTITION concurrently;\n\
                   ALTER TABLE events DETACH PARTITION events_2026 FINALIZE;\n\
                   ALTER TABLE t ADD COLUMN concurrently int;\n";
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
        assert_eq!(
            refused_in_transaction("ALTER TABLE p DETACH PARTITION \"P 1\" CONCURRENTLY"),
            Some("DETACH PARTITION CONCURRENTLY")
        );
    }

    #[test]
    fn adding_an_enum_value_is_refused_before_postgresql_12_only() {
        let add = "ALTER TYPE app.\"Mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok'";
        let refusal = Some("ALTER TYPE … ADD VALUE (before PostgreSQL 12)");
        assert_eq!(refused_in_transaction_on(add, Some(110_022)), refusal);
        assert_eq!(refused_in_transaction_on(add, Some(120_000)), None);
        assert_eq!(refused_in_transaction_on(add, Some(150_004)), None);
        // An unknown server is assumed to be a supported one.
        assert_eq!(refused_in_transaction_on(add, None), None);
        assert_eq!(refused_in_transaction(add), None);
        let sql = format!("SELECT 1;\n{add};");
        let lexed = lex(&sql, Flavor::Postgres);
        let old = statements_refused_in_transaction(&sql, &lexed, Some(110_022));
        assert_eq!(
            old,
            [Refusal {
                range: 10..sql.len(),
                command: "ALTER TYPE … ADD VALUE (before PostgreSQL 12)"
            }]
        );
        assert!(statements_refused_in_transaction(&sql, &lexed, None).is_empty());
        let attribute = "ALTER TYPE address ADD ATTRIBUTE zip text";
        assert_eq!(refused_in_transaction_on(attribute, Some(110_022)), None);
        let rename = "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'";
        assert_eq!(refused_in_transaction_on(rename, Some(110_022)), None);
    }
}
