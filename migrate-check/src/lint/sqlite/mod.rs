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
                lints.extend(rebuild_with_foreign_keys_on(file, &statements));
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
/// whose `DROP` runs with foreign keys on: in a migration that runs in a
/// transaction, where `PRAGMA foreign_keys` changes nothing, or in a
/// `no-transaction` one that has not turned them off before it.
///
/// With foreign keys on, `DROP TABLE` first deletes every row of the
/// table, which applies the `ON DELETE` action of each foreign key that
/// references it: rows of other tables deleted (`CASCADE`) or cleared
/// (`SET NULL`), or the deploy failing on the first row that references
/// one. The dry run cannot see it, since its tables hold only the
/// migrations' own rows. With foreign keys off, the runtime checks them
/// itself after the migration (`PRAGMA foreign_key_check`), so a rebuild
/// done that way is not linted.
fn rebuild_with_foreign_keys_on(file: &SourceFile, statements: &[Statement<'_>]) -> Vec<Lint> {
    // Only a `no-transaction` migration can turn them off.
    let mut foreign_keys = true;
    let mut dropped: Vec<(usize, String)> = Vec::new();
    let mut rebuilt: Vec<(usize, String)> = Vec::new();
    for statement in statements {
        let tokens = &statement.tokens;
        if let Some((name, rest)) = pragma(statement) {
            if name == "foreign_keys"
                && file.directives.no_transaction
                && let Some(value) = assigned(rest)
            {
                foreign_keys = is_on(value);
            }
        } else if tokens.first().is_some_and(|t| t.is_word("DROP"))
            && tokens.get(1).is_some_and(|t| t.is_word("TABLE"))
        {
            let at = if tokens.get(2).is_some_and(|t| t.is_word("IF")) {
                4
            } else {
                2
            };
            if let (Some((table, _)), true) = (qualified_name(tokens, at), foreign_keys) {
                dropped.push((statement.start, table));
            }
        } else if let Some((_, Some(new_name))) = alter_rename(statement)
            && let Some(at) = dropped.iter().position(|(_, table)| *table == new_name)
        {
            rebuilt.push(dropped.remove(at));
        }
    }
    rebuilt.sort_unstable();
    rebuilt
        .into_iter()
        .filter_map(|(offset, table)| {
            lint(
                file,
                "table-rebuild-with-foreign-keys-on",
                offset,
                format!("This migration rebuilds the table {table} (it drops it, then renames another table to its name) with foreign keys on, so dropping it first deletes its rows: the foreign keys that reference it delete or clear rows of other tables, or fail the deploy."),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::{Flavor, checksum, folder};

    /// One migration per SQL text, as the folder loader reads it.
    pub(super) fn migrations(files: &[&str]) -> Vec<SourceMigration> {
        files
            .iter()
            .zip(1..)
            .map(|(sql, version)| SourceMigration {
                version,
                version_text: version.to_string(),
                description: "x".to_owned(),
                checksum: checksum::checksum(sql),
                up: SourceFile {
                    path: "x".into(),
                    display: format!("migrations/{version}_x.sql"),
                    name: format!("{version}_x.sql"),
                    sql: (*sql).to_owned(),
                    directives: folder::check_sql("x", sql, Flavor::Sqlite).unwrap(),
                },
                down: None,
                metadata: None,
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
    fn table_rebuilds_need_foreign_keys_off() {
        let steps = "CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO new_users SELECT id, name FROM users;\nDROP TABLE users;\nALTER TABLE new_users RENAME TO users;\n";
        // In a transaction, foreign keys stay on whatever the file says.
        let in_transaction = format!("PRAGMA foreign_keys = OFF;\n{steps}");
        assert_eq!(
            found(&[&in_transaction]),
            [
                "migrations/1_x.sql:1:1 foreign-keys-pragma-in-transaction",
                "migrations/1_x.sql:4:1 table-rebuild-with-foreign-keys-on",
            ]
        );
        let not_turned_off = format!("-- migrate:no-transaction\n{steps}");
        assert_eq!(
            found(&[&not_turned_off]),
            ["migrations/1_x.sql:4:1 table-rebuild-with-foreign-keys-on"]
        );
        // SQLite's own procedure: the runtime checks the foreign keys after it.
        let turned_off = format!(
            "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\n{steps}PRAGMA foreign_keys = ON;\n"
        );
        assert!(found(&[&turned_off]).is_empty());
        let turned_on_again = format!(
            "-- migrate:no-transaction\nPRAGMA foreign_keys = 0;\nPRAGMA foreign_keys = 1;\n{steps}"
        );
        assert_eq!(
            found(&[&turned_on_again]),
            ["migrations/1_x.sql:6:1 table-rebuild-with-foreign-keys-on"]
        );
        let quoted = "DROP TABLE IF EXISTS main.\"Users\";\nALTER TABLE [new] RENAME TO `users`;";
        assert_eq!(
            found(&[quoted]),
            ["migrations/1_x.sql:1:1 table-rebuild-with-foreign-keys-on"]
        );
        // Without foreign keys on in the application, there is nothing to apply.
        let off = LintOptions {
            foreign_keys: false,
            ..LintOptions::default()
        };
        assert!(lint_sqlite(&migrations(&[steps]), &off).is_empty());
        // A plain rename, or a plain drop, is no rebuild.
        assert!(found(&["CREATE TABLE a (x);\nALTER TABLE a RENAME TO b;"]).is_empty());
        assert!(found(&["DROP TABLE a;\nALTER TABLE b RENAME TO c;"]).is_empty());
    }

    #[test]
    fn allowed_rules_are_silent() {
        let sql = "-- migrate:allow foreign-keys-pragma-in-transaction\nPRAGMA foreign_keys = OFF;";
        assert!(found(&[sql]).is_empty());
    }
}
