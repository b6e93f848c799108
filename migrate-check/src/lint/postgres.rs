//! The PostgreSQL rules: squawk's linter, with the rules of [`RULES`].
//!
//! squawk's default set, less what does not fit migrate:
//! `ban-concurrent-index-creation-in-transaction` is a compile error here
//! (see [`migrate_format::transaction`]); `transaction-nesting` and
//! `ban-uncommitted-transaction` are about `BEGIN` and `COMMIT` in a
//! migration, which migrate refuses on its own; `prefer-robust-stmts`
//! assumes a tool that re-runs a failed migration blindly, while migrate
//! records how far a `no-transaction` migration got and asks a person
//! (`migrate resolve`); `require-timeout-settings` would warn on every
//! migration that changes a table; `prefer-repack` only applies to
//! PostgreSQL 19, which no build could test yet; and the type preferences
//! (`prefer-bigint-over-int`, `prefer-identity`, `prefer-text-field`,
//! `prefer-timestamptz`, `ban-char-field`, …) and
//! `require-enum-value-ordering` are schema style, not deploy safety.

use migrate_format::history::Dialect;
use migrate_format::lexer::{self, Flavor};
use migrate_format::{SourceFile, SourceMigration};
use squawk_linter::{Linter, Version, Violation};
use squawk_syntax::SourceFile as Parsed;

use super::{Lint, LintOptions, RULES, Rule, allowed, linted};

/// Lints the up migrations that are not released, with squawk. Each file is
/// linted as the runtime will run it: in a transaction, unless it is marked
/// `-- migrate:no-transaction`.
pub fn lint_postgres(migrations: &[SourceMigration], options: &LintOptions) -> Vec<Lint> {
    let version = options.server_version_num.and_then(squawk_version);
    linted(migrations, options)
        .flat_map(|file| lint_file(file, version))
        .collect()
}

fn lint_file(file: &SourceFile, version: Option<Version>) -> Vec<Lint> {
    let rules: Vec<(Rule, squawk_linter::Rule)> = RULES
        .iter()
        .filter(|rule| rule.dialect == Dialect::Postgres)
        .filter_map(|rule| Some((*rule, squawk_linter::Rule::try_from(rule.name).ok()?)))
        .collect();
    let mut linter = Linter::from(rules.iter().map(|(_, squawk)| *squawk));
    linter.settings.assume_in_transaction = !file.directives.no_transaction;
    if let Some(version) = version {
        linter.settings.pg_version = version;
    }
    let parsed = Parsed::parse(&file.sql);
    let violations = linter.lint(&parsed, &file.sql);
    let statements = lexer::lex(&file.sql, Flavor::Postgres).statements;
    let mut reported: Vec<(Rule, Option<usize>)> = Vec::new();
    let mut lints = Vec::new();
    for violation in violations.iter().filter(|v| !is_redundant(v, &violations)) {
        let Some((rule, _)) = rules.iter().find(|(_, squawk)| *squawk == violation.code) else {
            continue;
        };
        let offset = file
            .sql
            .floor_char_boundary(usize::from(violation.text_range.start()));
        // One lint per rule and statement: the statement is what gets fixed.
        let statement = statements.iter().position(|s| s.contains(&offset));
        if allowed(file, *rule) || reported.contains(&(*rule, statement)) {
            continue;
        }
        reported.push((*rule, statement));
        lints.push(Lint {
            rule: *rule,
            file: file.display.clone(),
            position: lexer::line_col(&file.sql, offset),
            message: message(*rule, &violation.message),
        });
    }
    lints
}

/// squawk reports a `UNIQUE` or `PRIMARY KEY` constraint added to a table
/// twice: under its own rule, and under `constraint-missing-not-valid`,
/// whose advice (`NOT VALID`) PostgreSQL does not accept for those. The
/// second is dropped.
fn is_redundant(violation: &Violation, all: &[Violation]) -> bool {
    violation.code == squawk_linter::Rule::ConstraintMissingNotValid
        && all.iter().any(|other| {
            matches!(
                other.code,
                squawk_linter::Rule::DisallowedUniqueConstraint
                    | squawk_linter::Rule::AddingSerialPrimaryKeyField
            ) && violation.text_range.contains_range(other.text_range)
        })
}

/// squawk's message, except where it says something else than the rule
/// catches: `adding-field-with-default` speaks of a generated column for a
/// volatile default too.
fn message(rule: Rule, squawk: &str) -> String {
    match (rule.name, super::entry(rule)) {
        ("adding-field-with-default", Some(entry)) => entry.catches.to_owned(),
        _ => squawk.to_owned(),
    }
}

/// squawk's version of a `server_version_num`: `150004` is 15.4.
fn squawk_version(server_version_num: u32) -> Option<Version> {
    let major = server_version_num / 10_000;
    let minor = server_version_num % 10_000;
    format!("{major}.{minor}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::{Directives, checksum};

    fn migrations(files: &[(&str, bool)]) -> Vec<SourceMigration> {
        files
            .iter()
            .zip(1..)
            .map(|((sql, no_transaction), version)| {
                let directives =
                    migrate_format::folder::check_sql("x", sql, migrate_format::Flavor::Postgres)
                        .unwrap_or_default();
                SourceMigration {
                    version,
                    version_text: version.to_string(),
                    description: "x".to_owned(),
                    checksum: checksum::checksum(sql),
                    up: SourceFile {
                        path: "x".into(),
                        display: format!("migrations/{version}_x.sql"),
                        name: format!("{version}_x.sql"),
                        sql: (*sql).to_owned(),
                        directives: Directives {
                            no_transaction: *no_transaction,
                            ..directives
                        },
                    },
                    down: None,
                    metadata: None,
                }
            })
            .collect()
    }

    fn names(lints: &[Lint]) -> Vec<String> {
        lints
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
    fn every_rule_is_one_of_squawks() {
        for rule in RULES
            .iter()
            .filter(|rule| rule.dialect == Dialect::Postgres)
        {
            let squawk = squawk_linter::Rule::try_from(rule.name)
                .unwrap_or_else(|_| panic!("{} is not a squawk rule", rule.name));
            assert_eq!(squawk.to_string(), rule.name);
            assert!(!squawk.is_opt_in(), "{} is opt-in in squawk", rule.name);
        }
    }

    #[test]
    fn hazards_are_found_at_their_statement() {
        let lints = lint_postgres(
            &migrations(&[
                (
                    "CREATE TABLE users (id bigint PRIMARY KEY, name text);\nCREATE INDEX users_name ON users (name);",
                    false,
                ),
                (
                    "\nCREATE INDEX users_name2 ON users (name);\nALTER TABLE users DROP COLUMN name;",
                    false,
                ),
            ]),
            &LintOptions::default(),
        );
        assert_eq!(
            names(&lints),
            [
                "migrations/2_x.sql:2:1 require-concurrent-index-creation",
                "migrations/2_x.sql:3:19 ban-drop-column",
            ]
        );
    }

    #[test]
    fn allowed_released_and_unchecked_files_are_not_linted() {
        let drop = "ALTER TABLE users DROP COLUMN name;";
        let found = |files: &[(&str, bool)], released| {
            names(&lint_postgres(
                &migrations(files),
                &LintOptions {
                    released,
                    ..LintOptions::default()
                },
            ))
        };
        assert_eq!(found(&[(drop, false)], None).len(), 1);
        assert_eq!(found(&[(drop, false)], Some(1)), Vec::<String>::new());
        let allowed = "-- migrate:allow ban-drop-column\nALTER TABLE users DROP COLUMN name;";
        assert_eq!(found(&[(allowed, false)], None), Vec::<String>::new());
        let unchecked = "-- migrate:no-check\nALTER TABLE users DROP COLUMN name;";
        assert_eq!(found(&[(unchecked, false)], None), Vec::<String>::new());
    }

    #[test]
    fn concurrently_in_a_transaction_is_not_a_lint_but_an_error_elsewhere() {
        let sql = "CREATE INDEX CONCURRENTLY i ON t (a);";
        assert!(lint_postgres(&migrations(&[(sql, false)]), &LintOptions::default()).is_empty());
    }

    #[test]
    fn one_mistake_is_one_lint() {
        // squawk also calls a UNIQUE constraint `constraint-missing-not-valid`,
        // and each repeated assignment a duplicate.
        let sql = "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\nUPDATE users SET name = 'a', name = 'b', name = 'c';";
        assert_eq!(
            names(&lint_postgres(
                &migrations(&[(sql, false)]),
                &LintOptions::default()
            )),
            [
                "migrations/1_x.sql:1:23 disallowed-unique-constraint",
                "migrations/1_x.sql:2:18 ban-duplicate-column-assignments",
            ]
        );
        // Allowing the rule that applies does not bring the other back.
        let allowed = format!("-- migrate:allow disallowed-unique-constraint\n{sql}");
        assert_eq!(
            names(&lint_postgres(
                &migrations(&[(&allowed, false)]),
                &LintOptions::default()
            )),
            ["migrations/1_x.sql:3:18 ban-duplicate-column-assignments"]
        );
    }

    #[test]
    fn the_server_version_is_given_to_squawk() {
        // A constant default rewrites the table before PostgreSQL 11 only.
        let sql = "ALTER TABLE t ADD COLUMN c int DEFAULT 10;";
        let on = |server_version_num| {
            names(&lint_postgres(
                &migrations(&[(sql, false)]),
                &LintOptions {
                    server_version_num,
                    ..LintOptions::default()
                },
            ))
        };
        assert_eq!(
            on(Some(100_023)),
            ["migrations/1_x.sql:1:40 adding-field-with-default"]
        );
        assert_eq!(on(Some(150_004)), Vec::<String>::new());
        assert_eq!(on(None), Vec::<String>::new());
    }
}
