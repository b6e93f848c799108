//! The SQLite rules, migrate's own. Three read the statements of a file;
//! `double-quoted-string` asks SQLite itself ([`strings`]).

mod strings;
mod tokens;

use migrate_format::lexer::{self, Flavor};
use migrate_format::{SourceFile, SourceMigration};

use super::{Lint, LintOptions, allowed, linted};
use tokens::{Kind, Token, tokens};

/// Lints the up migrations that are not released.
pub fn lint_sqlite(migrations: &[SourceMigration], options: &LintOptions) -> Vec<Lint> {
    let mut lints: Vec<Lint> = linted(migrations, options)
        .flat_map(|file| {
            let statements = statements(file);
            let mut lints = foreign_keys_in_transaction(file, &statements);
            lints.extend(rename_under_legacy_alter_table(file, &statements));
            if options.foreign_keys {
                lints.extend(rebuild_without_foreign_key_check(file, &statements));
            }
            lints
        })
        .collect();
    let strings = migrate_format::lint::find("double-quoted-string");
    let targets: Vec<&SourceFile> = linted(migrations, options)
        .filter(|file| !strings.is_some_and(|rule| allowed(file, rule)))
        .collect();
    lints.extend(strings::double_quoted_strings(migrations, &targets));
    lints.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
    lints
}

/// A statement of a file: where it starts, and its tokens.
struct Statement<'a> {
    start: usize,
    tokens: Vec<Token<'a>>,
}

fn statements(file: &SourceFile) -> Vec<Statement<'_>> {
    lexer::lex(&file.sql, Flavor::Sqlite)
        .statements
        .into_iter()
        .map(|range| Statement {
            start: range.start,
            tokens: tokens(&file.sql[range.clone()], range.start),
        })
        .collect()
}

/// The lint of rule `name` at `offset`, unless the file allows the rule.
fn lint(file: &SourceFile, name: &str, offset: usize, message: String) -> Option<Lint> {
    let rule = migrate_format::lint::find(name)?;
    (!allowed(file, rule)).then(|| Lint {
        rule,
        file: file.display.clone(),
        position: lexer::line_col(&file.sql, offset),
        message,
    })
}

/// `PRAGMA [schema.]name`, and what follows it.
fn pragma<'s, 'a>(statement: &'s Statement<'a>) -> Option<(String, &'s [Token<'a>])> {
    let tokens = &statement.tokens;
    if !tokens.first()?.is_word("PRAGMA") {
        return None;
    }
    let (name, after) = match tokens.get(2) {
        Some(dot) if dot.kind == Kind::Punct('.') => (tokens.get(3)?, 4),
        _ => (tokens.get(1)?, 2),
    };
    Some((name.name(), &tokens[after..]))
}

/// The value a `PRAGMA` statement sets, in `= value` or `(value)` form.
fn assigned<'s, 'a>(rest: &'s [Token<'a>]) -> Option<&'s Token<'a>> {
    match rest.first()?.kind {
        Kind::Punct('=') | Kind::Punct('(') => rest.get(1),
        _ => None,
    }
}

/// SQLite ignores `PRAGMA foreign_keys` inside a transaction.
fn foreign_keys_in_transaction(file: &SourceFile, statements: &[Statement<'_>]) -> Vec<Lint> {
    if file.directives.no_transaction {
        return Vec::new();
    }
    statements
        .iter()
        .filter(|statement| {
            pragma(statement).is_some_and(|(name, rest)| name == "foreign_keys" && assigned(rest).is_some())
        })
        .filter_map(|statement| {
            lint(
                file,
                "foreign-keys-pragma-in-transaction",
                statement.start,
                "SQLite ignores `PRAGMA foreign_keys` inside a transaction, and this migration runs in one, so the setting does not change.".to_owned(),
            )
        })
        .collect()
}

/// `ALTER TABLE [schema.]name RENAME …`: the table, and whether it is the
/// table itself that is renamed (`RENAME TO new`), with the new name.
fn alter_rename<'s, 'a>(statement: &'s Statement<'a>) -> Option<(String, Option<String>)> {
    let tokens = &statement.tokens;
    if !(tokens.first()?.is_word("ALTER") && tokens.get(1)?.is_word("TABLE")) {
        return None;
    }
    let (table, after) = qualified_name(tokens, 2)?;
    if !tokens.get(after)?.is_word("RENAME") {
        return None;
    }
    let new_name = match tokens.get(after + 1) {
        Some(to) if to.is_word("TO") => Some(qualified_name(tokens, after + 2)?.0),
        _ => None,
    };
    Some((table, new_name))
}

/// A possibly schema-qualified name at `at`: the table part, normalized,
/// and the index after the name.
fn qualified_name(tokens: &[Token<'_>], at: usize) -> Option<(String, usize)> {
    let first = tokens.get(at).filter(|token| token.is_name())?;
    match tokens.get(at + 1) {
        Some(dot) if dot.kind == Kind::Punct('.') => {
            let table = tokens.get(at + 2).filter(|token| token.is_name())?;
            Some((table.name(), at + 3))
        }
        _ => Some((first.name(), at + 1)),
    }
}

/// Whether a pragma's value turns a switch on.
fn is_on(value: &Token<'_>) -> bool {
    matches!(value.name().as_str(), "on" | "true" | "yes" | "1")
}

/// `ALTER TABLE … RENAME` while `legacy_alter_table` is on. The setting
/// lasts until the end of the migration, so one file is the whole story.
fn rename_under_legacy_alter_table(file: &SourceFile, statements: &[Statement<'_>]) -> Vec<Lint> {
    let mut legacy = false;
    let mut lints = Vec::new();
    for statement in statements {
        if let Some((name, rest)) = pragma(statement)
            && name == "legacy_alter_table"
            && let Some(value) = assigned(rest)
        {
            legacy = is_on(value);
        } else if legacy && alter_rename(statement).is_some() {
            lints.extend(lint(
                file,
                "rename-under-legacy-alter-table",
                statement.start,
                "This rename runs with `legacy_alter_table` on, so SQLite leaves the triggers and views that name the table or column as they are.".to_owned(),
            ));
        }
    }
    lints
}

/// A table rebuild, `DROP TABLE old` then `ALTER TABLE new RENAME TO old`,
/// with no `PRAGMA foreign_key_check` after it in the migration.
fn rebuild_without_foreign_key_check(file: &SourceFile, statements: &[Statement<'_>]) -> Vec<Lint> {
    let mut dropped: Vec<String> = Vec::new();
    let mut unchecked: Vec<(usize, String)> = Vec::new();
    for statement in statements {
        let tokens = &statement.tokens;
        if let Some((name, _)) = pragma(statement) {
            if name == "foreign_key_check" {
                unchecked.clear();
            }
        } else if tokens.first().is_some_and(|t| t.is_word("DROP"))
            && tokens.get(1).is_some_and(|t| t.is_word("TABLE"))
        {
            let at = if tokens.get(2).is_some_and(|t| t.is_word("IF")) {
                4
            } else {
                2
            };
            if let Some((table, _)) = qualified_name(tokens, at) {
                dropped.push(table);
            }
        } else if let Some((_, Some(new_name))) = alter_rename(statement)
            && dropped.contains(&new_name)
        {
            unchecked.push((statement.start, new_name));
        }
    }
    unchecked
        .into_iter()
        .filter_map(|(offset, table)| {
            lint(
                file,
                "table-rebuild-without-foreign-key-check",
                offset,
                format!("This migration rebuilds the table {table} (it drops it, then renames another table to its name), and no `PRAGMA foreign_key_check` follows, so rows that violate a foreign key would go unnoticed."),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::{Flavor, checksum, folder};

    fn migrations(files: &[&str]) -> Vec<SourceMigration> {
        files
            .iter()
            .zip(1..)
            .map(|(sql, version)| SourceMigration {
                version,
                description: "x".to_owned(),
                checksum: checksum::checksum(sql),
                up: SourceFile {
                    path: "x".into(),
                    display: format!("migrations/{version}_x.sql"),
                    sql: (*sql).to_owned(),
                    directives: folder::check_sql("x", sql, Flavor::Sqlite).unwrap(),
                },
                down: None,
            })
            .collect()
    }

    fn found(files: &[&str]) -> Vec<String> {
        lint_sqlite(&migrations(files), &LintOptions::default())
            .iter()
            .map(|lint| {
                format!(
                    "{}:{}:{} {}",
                    lint.file, lint.position.0, lint.position.1, lint.rule.name
                )
            })
            .collect()
    }

    #[test]
    fn foreign_keys_pragma_in_a_transaction() {
        assert_eq!(
            found(&[
                "CREATE TABLE t (a);\nPRAGMA foreign_keys = OFF;\nPRAGMA main.foreign_keys(0);"
            ]),
            [
                "migrations/1_x.sql:2:1 foreign-keys-pragma-in-transaction",
                "migrations/1_x.sql:3:1 foreign-keys-pragma-in-transaction",
            ]
        );
        assert!(found(&["-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;"]).is_empty());
        // Reading the setting changes nothing.
        assert!(found(&["PRAGMA foreign_keys;"]).is_empty());
    }

    #[test]
    fn renames_under_legacy_alter_table() {
        let sql = "CREATE TABLE t (a);\nALTER TABLE t RENAME TO u;\nPRAGMA legacy_alter_table = ON;\nALTER TABLE u RENAME COLUMN a TO b;\nALTER TABLE \"u\" RENAME TO t;\nPRAGMA legacy_alter_table = off;\nALTER TABLE t RENAME TO v;";
        assert_eq!(
            found(&[sql]),
            [
                "migrations/1_x.sql:4:1 rename-under-legacy-alter-table",
                "migrations/1_x.sql:5:1 rename-under-legacy-alter-table",
            ]
        );
    }

    #[test]
    fn table_rebuilds_need_a_foreign_key_check() {
        let rebuild = "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\nCREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO new_users SELECT id, name FROM users;\nDROP TABLE users;\nALTER TABLE new_users RENAME TO users;\n";
        assert_eq!(
            found(&[rebuild]),
            ["migrations/1_x.sql:6:1 table-rebuild-without-foreign-key-check"]
        );
        let checked = format!("{rebuild}PRAGMA foreign_key_check;\n");
        assert!(found(&[&checked]).is_empty());
        let checked_one = format!("{rebuild}PRAGMA main.foreign_key_check(users);\n");
        assert!(found(&[&checked_one]).is_empty());
        let quoted = "DROP TABLE IF EXISTS main.\"Users\";\nALTER TABLE [new] RENAME TO `users`;";
        assert_eq!(
            found(&[quoted]),
            ["migrations/1_x.sql:2:1 table-rebuild-without-foreign-key-check"]
        );
        // Without foreign keys on, there is nothing to check.
        let off = LintOptions {
            foreign_keys: false,
            ..LintOptions::default()
        };
        assert!(lint_sqlite(&migrations(&[rebuild]), &off).is_empty());
        // A plain rename is no rebuild.
        assert!(found(&["CREATE TABLE a (x);\nALTER TABLE a RENAME TO b;"]).is_empty());
    }

    #[test]
    fn allowed_rules_are_silent() {
        let sql = "-- migrate:allow foreign-keys-pragma-in-transaction\nPRAGMA foreign_keys = OFF;";
        assert!(found(&[sql]).is_empty());
    }
}
