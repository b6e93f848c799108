//! Transaction control inside a migration that migrate runs in a transaction.
//!
//! migrate runs a migration, its history row and the `COMMIT` in one
//! transaction, so that the two are applied together or not at all. A
//! `COMMIT` of the migration's own would end that transaction early: what
//! comes before it stays applied without a history row, and what comes after
//! runs outside any transaction. These statements are therefore refused in a
//! migration without `-- migrate:no-transaction`, in both engines' spellings:
//!
//! - statements that end the transaction: `COMMIT`, `END`, `ROLLBACK` (but
//!   not `ROLLBACK TO`), PostgreSQL's `ABORT` and `PREPARE TRANSACTION`, with
//!   any of their options (`WORK`, `TRANSACTION`, `AND CHAIN`);
//! - statements that open one: `BEGIN` (with `DEFERRED`, `IMMEDIATE`,
//!   `EXCLUSIVE`, `WORK`, `TRANSACTION` or PostgreSQL's modes) and `START
//!   TRANSACTION`. SQLite refuses them inside a transaction, and PostgreSQL
//!   ignores them with a warning, so that a later `COMMIT` looks legitimate;
//! - PostgreSQL's `COMMIT PREPARED` and `ROLLBACK PREPARED`, which it refuses
//!   inside a transaction block;
//! - savepoint statements that escape the migration: a `RELEASE x` or
//!   `ROLLBACK TO x` where no `SAVEPOINT x` of the same file is open at that
//!   point. Such a statement fails at run time (no such savepoint), or acts
//!   on a savepoint that is not the migration's. `SAVEPOINT x` … `RELEASE x`
//!   and `ROLLBACK TO x` inside the migration are fine, and so is a savepoint
//!   left open: migrate's `COMMIT` ends it.
//!
//! The check reads the first words of each statement as the lexer splits
//! them, so a trigger body (`BEGIN … END` inside `CREATE TRIGGER`) or an
//! SQL-standard function body (`BEGIN ATOMIC … END`) is part of its
//! statement and never mistaken for transaction control. It does not look
//! inside strings or dollar-quoted bodies: PostgreSQL itself refuses a
//! `COMMIT` run from a `DO` block inside a transaction, so that one fails
//! and is rolled back instead of escaping.
//!
//! Savepoint names are compared without their quotes and without case, as
//! SQLite compares them. PostgreSQL distinguishes `"A"` from `a`, so a file
//! relying on that difference could pass this check and fail at run time;
//! it cannot escape either way.

use crate::lexer::{Flavor, Lexed};

/// A statement of a transactional migration that controls the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    /// Byte offset of the statement in the script.
    pub offset: usize,
    /// What is wrong, and how to fix it.
    pub message: String,
}

/// What a statement does to the transaction, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// It ends the current transaction: `COMMIT`, `END`, `ROLLBACK`, `ABORT`,
    /// `PREPARE TRANSACTION`.
    Ends(&'static str),
    /// It opens a transaction: `BEGIN`, `START TRANSACTION`.
    Begins(&'static str),
    /// PostgreSQL refuses it inside a transaction block: `COMMIT PREPARED`,
    /// `ROLLBACK PREPARED`.
    RefusedInBlock(&'static str),
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackTo(String),
}

/// The statements of a transactional migration that would end, open or
/// escape the transaction migrate runs it in, in script order.
///
/// `lexed` must be the result of [`lex`](crate::lexer::lex) on `sql` with the
/// same `flavor`. Call it only for scripts without `-- migrate:no-transaction`,
/// which may control their own transactions.
pub fn escapes(sql: &str, lexed: &Lexed, flavor: Flavor) -> Vec<Escape> {
    let mut open: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for range in &lexed.statements {
        let Some(control) = classify(&sql[range.clone()], flavor) else {
            continue;
        };
        if let Some(message) = judge(&control, &mut open) {
            found.push(Escape {
                offset: range.start,
                message,
            });
        }
    }
    found
}

/// Applies one statement to the savepoints the migration has open, and says
/// why it is refused, if it is.
fn judge(control: &Control, open: &mut Vec<String>) -> Option<String> {
    const WAY_OUT: &str =
        "remove it, or run the migration outside a transaction with `-- migrate:no-transaction`";
    match control {
        Control::Ends(command) => Some(format!(
            "{command} would end the transaction that migrate runs this migration in; {WAY_OUT}"
        )),
        Control::Begins(command) => Some(format!(
            "{command} would open a transaction inside the one that migrate runs this migration in (SQLite refuses it, PostgreSQL ignores it); {WAY_OUT}"
        )),
        Control::RefusedInBlock(command) => Some(format!(
            "{command} cannot run inside the transaction that migrate runs this migration in; {WAY_OUT}"
        )),
        Control::Savepoint(name) => {
            open.push(name.clone());
            None
        }
        Control::Release(name) | Control::RollbackTo(name) => {
            let Some(index) = open.iter().rposition(|o| o == name) else {
                let command = match control {
                    Control::Release(_) => "RELEASE",
                    _ => "ROLLBACK TO",
                };
                return Some(format!(
                    "savepoint `{name}` is not open in this migration at this {command} (it was never opened here, or was already released), so the {command} would fail at run time or act on a savepoint outside the migration; open it with `SAVEPOINT {name}` earlier in this file, remove the {command}, or run the migration outside a transaction with `-- migrate:no-transaction`"
                ));
            };
            // RELEASE ends the savepoint and every later one; ROLLBACK TO
            // keeps the savepoint itself open.
            let keep = if matches!(control, Control::Release(_)) {
                index
            } else {
                index + 1
            };
            open.truncate(keep);
            None
        }
    }
}

/// What one statement does to the transaction, from its first words.
pub fn classify(statement: &str, flavor: Flavor) -> Option<Control> {
    let tokens = leading_tokens(statement, flavor, 6);
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    match (word(0)?, word(1)) {
        ("BEGIN", _) => Some(Control::Begins("BEGIN")),
        ("START", Some("TRANSACTION")) => Some(Control::Begins("START TRANSACTION")),
        ("COMMIT", Some("PREPARED")) => Some(Control::RefusedInBlock("COMMIT PREPARED")),
        ("ROLLBACK", Some("PREPARED")) => Some(Control::RefusedInBlock("ROLLBACK PREPARED")),
        ("COMMIT", _) => Some(Control::Ends("COMMIT")),
        ("END", _) => Some(Control::Ends("END")),
        ("ABORT", _) => Some(Control::Ends("ABORT")),
        ("PREPARE", Some("TRANSACTION")) => Some(Control::Ends("PREPARE TRANSACTION")),
        ("ROLLBACK", _) => rollback(&tokens[1..]),
        ("SAVEPOINT", _) => savepoint_name(&tokens[1..]).map(Control::Savepoint),
        ("RELEASE", _) => {
            savepoint_name(skip_savepoint_keyword(&tokens[1..])).map(Control::Release)
        }
        _ => None,
    }
}

/// `ROLLBACK` is `ROLLBACK TO` a savepoint when `TO` follows, after an
/// optional `WORK` or `TRANSACTION`. `ROLLBACK TO` without a name is a
/// syntax error, for the engine to report.
fn rollback(rest: &[Token]) -> Option<Control> {
    let rest = match rest.first() {
        Some(Token::Word(w)) if w == "WORK" || w == "TRANSACTION" => &rest[1..],
        _ => rest,
    };
    match rest.first() {
        Some(Token::Word(w)) if w == "TO" => {
            savepoint_name(skip_savepoint_keyword(&rest[1..])).map(Control::RollbackTo)
        }
        _ => Some(Control::Ends("ROLLBACK")),
    }
}

/// Skips the optional `SAVEPOINT` keyword, unless it is the name itself
/// (`RELEASE savepoint` releases a savepoint named "savepoint").
fn skip_savepoint_keyword(tokens: &[Token]) -> &[Token] {
    match tokens {
        [Token::Word(w), _, ..] if w == "SAVEPOINT" => &tokens[1..],
        _ => tokens,
    }
}

fn savepoint_name(tokens: &[Token]) -> Option<String> {
    match tokens.first()? {
        Token::Word(w) | Token::Quoted(w) => Some(w.to_lowercase()),
    }
}

/// A leading token of a statement: a bare word, upper-cased, or a quoted
/// identifier without its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
}

/// The first `limit` words and quoted identifiers of a statement, skipping
/// whitespace and comments. Anything else ends the list.
fn leading_tokens(statement: &str, flavor: Flavor, limit: usize) -> Vec<Token> {
    let bytes = statement.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while tokens.len() < limit {
        pos = skip_blanks(bytes, pos, flavor);
        let Some(&first) = bytes.get(pos) else { break };
        let closing = match first {
            b'"' => Some(b'"'),
            b'`' if flavor != Flavor::Postgres => Some(b'`'),
            b'[' if flavor != Flavor::Postgres => Some(b']'),
            _ => None,
        };
        if let Some(closing) = closing {
            let Some(length) = bytes[pos + 1..].iter().position(|&b| b == closing) else {
                break;
            };
            tokens.push(Token::Quoted(
                statement[pos + 1..pos + 1 + length].to_owned(),
            ));
            pos += length + 2;
        } else if first.is_ascii_alphabetic() || first == b'_' || first >= 0x80 {
            let length = bytes[pos..]
                .iter()
                .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
                .count();
            tokens.push(Token::Word(
                statement[pos..pos + length].to_ascii_uppercase(),
            ));
            pos += length;
        } else {
            break;
        }
    }
    tokens
}

/// Skips whitespace, `--` comments and block comments (nested, except in
/// SQLite).
fn skip_blanks(bytes: &[u8], mut pos: usize, flavor: Flavor) -> usize {
    loop {
        match (bytes.get(pos), bytes.get(pos + 1)) {
            (Some(b), _) if b.is_ascii_whitespace() => pos += 1,
            (Some(b'-'), Some(b'-')) => {
                pos += bytes[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(bytes.len() - pos);
            }
            (Some(b'/'), Some(b'*')) => pos = skip_block_comment(bytes, pos, flavor),
            _ => return pos,
        }
    }
}

fn skip_block_comment(bytes: &[u8], mut pos: usize, flavor: Flavor) -> usize {
    let nests = flavor != Flavor::Sqlite;
    let mut depth = 0usize;
    while pos < bytes.len() {
        match (bytes[pos], bytes.get(pos + 1)) {
            (b'/', Some(b'*')) if nests || depth == 0 => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    /// The refused statements of a script, as text, under every flavor that
    /// lexes it.
    fn refused(sql: &str, flavor: Flavor) -> Vec<&str> {
        let lexed = lex(sql, flavor);
        assert_eq!(lexed.error, None, "{sql}");
        escapes(sql, &lexed, flavor)
            .iter()
            .map(|escape| {
                let range = lexed
                    .statements
                    .iter()
                    .find(|range| range.start == escape.offset)
                    .expect("an escape is at a statement");
                sql[range.clone()].trim_end_matches(';').trim()
            })
            .collect()
    }

    const ALL: [Flavor; 3] = [Flavor::Generic, Flavor::Sqlite, Flavor::Postgres];

    #[test]
    fn statements_that_end_the_transaction_are_refused_in_every_spelling() {
        let sql = "CREATE TABLE c1 (id INT);\n\
                   COMMIT;\n commit work; COMMIT TRANSACTION; COMMIT AND CHAIN;\n\
                   END; END TRANSACTION; end work;\n\
                   ROLLBACK; ROLLBACK TRANSACTION; ROLLBACK WORK AND NO CHAIN;\n\
                   ABORT; ABORT TRANSACTION;\n\
                   PREPARE TRANSACTION 'x';\n\
                   /* why */ COMMIT -- now\n;\n\
                   CREATE TABLE c2 (id INT);";
        for flavor in ALL {
            let found = refused(sql, flavor);
            assert_eq!(found.len(), 14, "{flavor:?}: {found:#?}");
            assert_eq!(found[0], "COMMIT");
            // The statement starts at its first word, after the comment.
            assert_eq!(found[13], "COMMIT -- now");
        }
    }

    #[test]
    fn statements_that_open_a_transaction_are_refused() {
        let sql = "BEGIN; BEGIN TRANSACTION; BEGIN DEFERRED; BEGIN IMMEDIATE TRANSACTION;\n\
                   BEGIN EXCLUSIVE; begin work; BEGIN ISOLATION LEVEL SERIALIZABLE;\n\
                   START TRANSACTION; START TRANSACTION READ ONLY;\n\
                   COMMIT PREPARED 'x'; ROLLBACK PREPARED 'x';";
        for flavor in ALL {
            assert_eq!(refused(sql, flavor).len(), 11, "{flavor:?}");
        }
        let messages: Vec<String> = escapes(sql, &lex(sql, Flavor::Generic), Flavor::Generic)
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert!(messages[0].starts_with("BEGIN would open a transaction inside the one"));
        assert!(messages[7].starts_with("START TRANSACTION would open"));
        assert!(messages[9].starts_with("COMMIT PREPARED cannot run inside"));
        assert!(
            messages
                .iter()
                .all(|m| m.ends_with("`-- migrate:no-transaction`")),
            "{messages:#?}"
        );
    }

    #[test]
    fn bodies_and_look_alikes_stay_valid() {
        let sqlite = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET n = CASE WHEN n > 1 THEN 1 END;\n  DELETE FROM b;\nEND;\n\
                      INSERT INTO log VALUES ('COMMIT; BEGIN');\n\
                      CREATE TABLE \"commit\" (\"end\" INT);\n\
                      -- COMMIT;\n\
                      SELECT 1 AS \"BEGIN\";";
        for flavor in [Flavor::Generic, Flavor::Sqlite] {
            assert_eq!(refused(sqlite, flavor), Vec::<&str>::new(), "{flavor:?}");
        }
        let postgres = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;\n\
                        CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END; $$;\n\
                        DO $$ BEGIN PERFORM 1; END $$;\n\
                        PREPARE q AS SELECT 1;\n\
                        START_DATE;";
        for flavor in [Flavor::Generic, Flavor::Postgres] {
            assert_eq!(refused(postgres, flavor), Vec::<&str>::new(), "{flavor:?}");
        }
    }

    #[test]
    fn savepoints_the_migration_opens_are_its_own() {
        let sql = "SAVEPOINT a;\n\
                   SAVEPOINT \"B\";\n\
                   ROLLBACK TO b;\n\
                   ROLLBACK TRANSACTION TO SAVEPOINT b;\n\
                   RELEASE SAVEPOINT a;\n\
                   SAVEPOINT savepoint;\n\
                   RELEASE savepoint;\n\
                   SAVEPOINT left_open;";
        for flavor in ALL {
            assert_eq!(refused(sql, flavor), Vec::<&str>::new(), "{flavor:?}");
        }
    }

    #[test]
    fn savepoints_that_escape_are_refused() {
        // `b` was released together with `a`, which it came after.
        let sql = "RELEASE migrate_outer;\n\
                   ROLLBACK TO SAVEPOINT nowhere;\n\
                   SAVEPOINT a; SAVEPOINT b; RELEASE a;\n\
                   ROLLBACK TO b;\n\
                   RELEASE [a];";
        let found = refused(sql, Flavor::Sqlite);
        assert_eq!(
            found,
            [
                "RELEASE migrate_outer",
                "ROLLBACK TO SAVEPOINT nowhere",
                "ROLLBACK TO b",
                "RELEASE [a]"
            ]
        );
        let messages = escapes(sql, &lex(sql, Flavor::Sqlite), Flavor::Sqlite);
        assert!(
            messages[0].message.starts_with(
                "savepoint `migrate_outer` is not open in this migration at this RELEASE"
            ),
            "{messages:#?}"
        );
        assert!(
            messages[1].message.starts_with(
                "savepoint `nowhere` is not open in this migration at this ROLLBACK TO"
            )
        );
    }

    #[test]
    fn classifies_from_the_first_words() {
        assert_eq!(
            classify("rollback work to savepoint \"Sp\"", Flavor::Postgres),
            Some(Control::RollbackTo("sp".to_owned()))
        );
        assert_eq!(
            classify("ROLLBACK AND CHAIN", Flavor::Postgres),
            Some(Control::Ends("ROLLBACK"))
        );
        assert_eq!(classify("SELECT 1", Flavor::Generic), None);
        assert_eq!(classify("'COMMIT'", Flavor::Generic), None);
    }
}
