//! Directives: `-- migrate:<name>` comment lines before a migration's first
//! statement, which change how the migration runs or is checked.

use crate::lexer::Lexed;

/// The directives of one migration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Directives {
    /// `-- migrate:no-transaction`: run the statements one at a time outside a
    /// transaction, for SQL that refuses to run inside one (`VACUUM`,
    /// `CREATE INDEX CONCURRENTLY`, `PRAGMA foreign_keys`).
    pub no_transaction: bool,
    /// `-- migrate:no-check`: leave this file out of the compile-time engine
    /// check (the SQLite dry run reports none of its errors, the PostgreSQL
    /// parse skips it). It is still embedded and run.
    pub no_check: bool,
    /// `-- migrate:sqlite-function name/arity …`: functions that the
    /// application or an extension registers on its connection, which the
    /// SQLite dry run replaces with stubs returning `NULL`.
    pub sqlite_functions: Vec<SqliteFunction>,
}

/// A function named by `-- migrate:sqlite-function`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SqliteFunction {
    /// The function's name, as SQL calls it (SQLite matches it without case).
    pub name: String,
    /// How many arguments it takes; `None` (written `*`) for any number.
    pub arity: Option<u8>,
}

/// Every directive this version understands, as written after `migrate:`.
pub const KNOWN: &[&str] = &["no-transaction", "no-check", "sqlite-function"];

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
        if let Some(message) = section_marker(text) {
            fail(message);
        } else if let Some(directive) = text.strip_prefix("migrate:") {
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
        "no-transaction" => set_flag(name, argument, &mut directives.no_transaction),
        "no-check" => set_flag(name, argument, &mut directives.no_check),
        "sqlite-function" => add_functions(argument, &mut directives.sqlite_functions),
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

/// Sets a directive that is a plain switch, refusing arguments and repeats.
fn set_flag(name: &str, argument: &str, flag: &mut bool) -> Result<(), String> {
    if !argument.is_empty() {
        return Err(format!(
            "the directive `migrate:{name}` takes no argument, found `{argument}`"
        ));
    }
    if *flag {
        return Err(format!("the directive `migrate:{name}` is repeated"));
    }
    *flag = true;
    Ok(())
}

/// Reads the `name/arity` list of `-- migrate:sqlite-function`.
fn add_functions(argument: &str, functions: &mut Vec<SqliteFunction>) -> Result<(), String> {
    if argument.is_empty() {
        return Err("the directive `migrate:sqlite-function` needs functions, as in `-- migrate:sqlite-function bin2hex/1 my_agg/*`".to_owned());
    }
    for item in argument.split_whitespace() {
        let function = parse_function(item)?;
        if !functions.contains(&function) {
            functions.push(function);
        }
    }
    Ok(())
}

fn parse_function(item: &str) -> Result<SqliteFunction, String> {
    let bad = |why: &str| {
        format!(
            "`{item}` in `migrate:sqlite-function` {why}; write `name/arity`, as in `bin2hex/1`, or `name/*` for any number of arguments"
        )
    };
    let (name, arity) = item.split_once('/').ok_or_else(|| bad("has no arity"))?;
    let mut chars = name.chars();
    let is_identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !is_identifier {
        return Err(bad("is not a function name"));
    }
    // SQLite's own limit on arguments is 127 in its default build.
    let arity = match arity {
        "*" => None,
        digits => Some(
            digits
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= 127)
                .ok_or_else(|| bad("has an arity that is not `*` or 0 to 127"))?,
        ),
    };
    Ok(SqliteFunction {
        name: name.to_owned(),
        arity,
    })
}

/// Other tools' spellings of a directive we have. Left alone they would be
/// plain comments, and the migration would silently run in a transaction.
fn foreign_directive_hint(text: &str) -> Option<String> {
    let is_foreign = text == "no-transaction" || text == "transaction:no";
    is_foreign.then(|| {
        format!("`-- {text}` is another tool's directive and would be ignored here; write `-- migrate:no-transaction`")
    })
}

/// goose (`-- +goose Up`, `-- +goose Down`) and sql-migrate (`-- +migrate
/// Up`, `-- +migrate Down`) keep both directions in one file, between
/// markers. migrate would read the markers as comments and run the whole
/// file, the down section right after the up one, so a marker is an error
/// wherever it is, with the way to split the file.
fn section_marker(text: &str) -> Option<String> {
    let (tool, rest) = ["goose", "migrate"].into_iter().find_map(|tool| {
        let rest = text.strip_prefix('+')?;
        let head = rest.get(..tool.len())?;
        let after = &rest[tool.len()..];
        let ends = after.is_empty() || after.starts_with(char::is_whitespace);
        (head.eq_ignore_ascii_case(tool) && ends).then_some((tool, after.trim()))
    })?;
    let marker = format!("-- +{tool} {rest}");
    let tool_name = if tool == "migrate" {
        "sql-migrate"
    } else {
        tool
    };
    let marker = marker.trim_end();
    let section = rest.split_whitespace().next().unwrap_or_default();
    let split = format!(
        "split the file in two without the markers: the SQL under `-- +{tool} Up` into `<version>_<description>.up.sql`, and the SQL under `-- +{tool} Down` into `<version>_<description>.down.sql`"
    );
    let message = if section.eq_ignore_ascii_case("up") || section.eq_ignore_ascii_case("down") {
        let no_transaction = if rest.to_ascii_lowercase().contains("notransaction") {
            ", and start the up file with `-- migrate:no-transaction`"
        } else {
            ""
        };
        format!(
            "`{marker}` marks a section of a {tool_name} file, and migrate would run the whole file, the down section right after the up one; {split}{no_transaction}"
        )
    } else if rest.eq_ignore_ascii_case("NO TRANSACTION") {
        format!(
            "`{marker}` is {tool_name}'s directive and would be ignored here; write `-- migrate:no-transaction`"
        )
    } else {
        format!(
            "`{marker}` is a {tool_name} marker, which migrate would ignore (it finds statement boundaries itself); remove it, and if the file has `-- +{tool} Down`, {split}"
        )
    };
    Some(message)
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
    fn check_directives_are_read() {
        let sql = "-- migrate:no-check\n-- migrate:sqlite-function bin2b64/1 Agg_2/*\n-- migrate:sqlite-function bin2b64/1 f/0\nSELECT 1;";
        let read = directives(sql).unwrap();
        assert!(read.no_check && !read.no_transaction);
        let functions: Vec<(&str, Option<u8>)> = read
            .sqlite_functions
            .iter()
            .map(|f| (f.name.as_str(), f.arity))
            .collect();
        assert_eq!(
            functions,
            [("bin2b64", Some(1)), ("Agg_2", None), ("f", Some(0))]
        );
    }

    #[test]
    fn check_directive_mistakes_are_errors() {
        let cases = [
            (
                "-- migrate:no-check\n-- migrate:no-check\nSELECT 1;",
                "is repeated",
            ),
            ("-- migrate:no-check all\nSELECT 1;", "takes no argument"),
            ("-- migrate:sqlite-function\nSELECT 1;", "needs functions"),
            ("-- migrate:sqlite-function f\nSELECT 1;", "has no arity"),
            (
                "-- migrate:sqlite-function f/x\nSELECT 1;",
                "not `*` or 0 to 127",
            ),
            (
                "-- migrate:sqlite-function f/128\nSELECT 1;",
                "not `*` or 0 to 127",
            ),
            (
                "-- migrate:sqlite-function 9f/1\nSELECT 1;",
                "not a function name",
            ),
        ];
        for (sql, expected) in cases {
            let errors = directives(sql).unwrap_err();
            assert!(errors[0].contains(expected), "{sql}: {errors:?}");
        }
    }

    #[test]
    fn other_tools_section_markers_are_refused_wherever_they_are() {
        let goose = "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE t (a INT);\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE t;\n";
        let errors = directives(goose).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors[0].starts_with("`-- +goose Up` marks a section of a goose file"),
            "{errors:#?}"
        );
        assert!(errors[0].contains(
            "the SQL under `-- +goose Up` into `<version>_<description>.up.sql`, and the SQL under `-- +goose Down` into `<version>_<description>.down.sql`"
        ));
        assert!(errors[1].contains("which migrate would ignore"));
        assert!(errors[3].starts_with("`-- +goose Down` marks a section"));
        let sql_migrate = "-- +migrate Up notransaction\nCREATE TABLE t (a INT);\n-- +migrate Down\nDROP TABLE t;";
        let errors = directives(sql_migrate).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].contains("`-- +migrate Up`"), "{errors:#?}");
        assert!(
            errors[0].contains("a section of a sql-migrate file"),
            "{errors:#?}"
        );
        assert!(errors[0].ends_with("start the up file with `-- migrate:no-transaction`"));
        let no_transaction = directives("-- +goose NO TRANSACTION\nVACUUM;").unwrap_err();
        assert!(no_transaction[0].contains("write `-- migrate:no-transaction`"));
        // Look-alikes are ordinary comments.
        assert!(directives("-- +migrated from v1\n-- goose Up\nSELECT 1;").is_ok());
    }

    #[test]
    fn directives_inside_strings_are_not_directives() {
        assert!(directives("SELECT '\n-- migrate:bogus\n';").is_ok());
    }
}
