//! Directives: `-- migrate:<name>` comment lines before a migration's first
//! statement, which change how the migration runs or is checked.

use crate::lexer::Lexed;

/// The directives of one migration file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Directives {
    /// `-- migrate:no-transaction`: run the statements one at a time outside a
    /// transaction, for SQL that refuses to run inside one (`VACUUM`,
    /// `CREATE INDEX CONCURRENTLY`, `PRAGMA foreign_keys`).
    pub no_transaction: bool,
}

/// Every directive this version understands, as written after `migrate:`.
pub const KNOWN: &[&str] = &["no-transaction"];

/// A directive that is unknown, misplaced or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveError {
    /// Byte offset of the comment in the file.
    pub offset: usize,
    /// What is wrong, and how to fix it.
    pub message: String,
}

/// Reads the directives of a lexed file.
///
/// Directives are `--` comments that come before the first statement. A
/// `-- migrate:` comment after it would silently do nothing, so it is an
/// error, and so is every name that is not in [`KNOWN`].
pub fn parse(sql: &str, lexed: &Lexed) -> Result<Directives, Vec<DirectiveError>> {
    let first_statement = lexed.statements.first().map_or(sql.len(), |s| s.start);
    let mut directives = Directives::default();
    let mut errors = Vec::new();
    for comment in &lexed.line_comments {
        let text = sql[comment.clone()].trim_start_matches('-').trim();
        let offset = comment.start;
        let leading = offset < first_statement;
        let mut fail = |message: String| errors.push(DirectiveError { offset, message });
        if let Some(directive) = text.strip_prefix("migrate:") {
            if !leading {
                fail(format!(
                    "the directive `-- migrate:{directive}` comes after the first statement, where it has no effect; move it to the top of the file"
                ));
                continue;
            }
            if let Err(message) = apply(directive.trim(), &mut directives) {
                fail(message);
            }
        } else if let Some(hint) = foreign_directive_hint(text).filter(|_| leading) {
            fail(hint);
        }
    }
    if errors.is_empty() {
        Ok(directives)
    } else {
        Err(errors)
    }
}

fn apply(directive: &str, directives: &mut Directives) -> Result<(), String> {
    let (name, argument) = directive
        .split_once(char::is_whitespace)
        .map_or((directive, ""), |(name, rest)| (name, rest.trim()));
    match name {
        "no-transaction" if argument.is_empty() => {
            if directives.no_transaction {
                return Err("the directive `migrate:no-transaction` is repeated".to_owned());
            }
            directives.no_transaction = true;
            Ok(())
        }
        "no-transaction" => Err(format!(
            "the directive `migrate:no-transaction` takes no argument, found `{argument}`"
        )),
        "up" | "down" => Err(format!(
            "unknown directive `migrate:{name}`: dbmate-style sections are not supported; put the up SQL in `<version>_<description>.up.sql` and the down SQL in `.down.sql`"
        )),
        "" => Err("empty directive: expected a name after `-- migrate:`".to_owned()),
        _ => Err(format!(
            "unknown directive `migrate:{name}`; known directives: {}",
            KNOWN
                .iter()
                .map(|k| format!("`migrate:{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Other tools' spellings of a directive we have. Left alone they would be
/// plain comments, and the migration would silently run in a transaction.
fn foreign_directive_hint(text: &str) -> Option<String> {
    let is_foreign = text == "no-transaction"
        || text.eq_ignore_ascii_case("+goose NO TRANSACTION")
        || text == "transaction:no";
    is_foreign.then(|| {
        format!("`-- {text}` is another tool's directive and would be ignored here; write `-- migrate:no-transaction`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{Flavor, lex};

    fn directives(sql: &str) -> Result<Directives, Vec<String>> {
        parse(sql, &lex(sql, Flavor::Generic))
            .map_err(|errors| errors.into_iter().map(|e| e.message).collect())
    }

    #[test]
    fn leading_directives_are_read() {
        let sql = "-- Build the index without locking writes.\n--migrate:no-transaction\n\nCREATE INDEX CONCURRENTLY i ON t (a);";
        assert!(directives(sql).unwrap().no_transaction);
        assert!(!directives("SELECT 1;").unwrap().no_transaction);
    }

    #[test]
    fn mistakes_are_errors() {
        let unknown = directives("-- migrate:no-transactions\nSELECT 1;").unwrap_err();
        assert!(
            unknown[0].contains("unknown directive `migrate:no-transactions`"),
            "{unknown:?}"
        );
        let late = directives("SELECT 1;\n-- migrate:no-transaction\nSELECT 2;").unwrap_err();
        assert!(late[0].contains("after the first statement"), "{late:?}");
        let sqlx = directives("-- no-transaction\nVACUUM;").unwrap_err();
        assert!(sqlx[0].contains("another tool's directive"), "{sqlx:?}");
        let argument = directives("-- migrate:no-transaction please\nVACUUM;").unwrap_err();
        assert!(argument[0].contains("takes no argument"), "{argument:?}");
        let dbmate = directives("-- migrate:up\nSELECT 1;").unwrap_err();
        assert!(dbmate[0].contains("dbmate"), "{dbmate:?}");
    }

    #[test]
    fn directives_inside_strings_are_not_directives() {
        assert!(directives("SELECT '\n-- migrate:bogus\n';").is_ok());
    }
}
