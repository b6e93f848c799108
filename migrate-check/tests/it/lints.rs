//! The safety lints on folders, as the macro runs them.

use migrate_check::lint::{LintOptions, lint_postgres, lint_sqlite, misplaced_allows};
use migrate_format::Flavor;
use migrate_format::history::Dialect;

use crate::{folder, messages};

fn found(lints: &[migrate_check::lint::Lint]) -> Vec<String> {
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
fn postgres_hazards_are_linted_in_unreleased_up_migrations() {
    let migrations = folder(
        &[
            (
                "1_users.up.sql",
                "CREATE TABLE users (id bigint PRIMARY KEY, name text, email text);\nCREATE INDEX users_name ON users (name);",
            ),
            ("1_users.down.sql", "DROP TABLE users;"),
            (
                "2_email.sql",
                "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users RENAME COLUMN name TO full_name;",
            ),
            (
                "3_allowed.sql",
                "-- migrate:allow ban-drop-column\nALTER TABLE users DROP COLUMN email;",
            ),
        ],
        Flavor::Postgres,
    );
    assert_eq!(
        found(&lint_postgres(&migrations, &LintOptions::default())),
        [
            "migrations/2_email.sql:1:38 adding-not-nullable-field",
            "migrations/2_email.sql:2:19 renaming-column",
        ]
    );
    let released = LintOptions {
        released: Some(2),
        ..LintOptions::default()
    };
    assert_eq!(
        found(&lint_postgres(&migrations, &released)),
        Vec::<String>::new()
    );
}

#[test]
fn sqlite_hazards_are_linted() {
    let migrations = folder(
        &[
            (
                "1_users.sql",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);",
            ),
            (
                "2_fk.sql",
                "PRAGMA foreign_keys = OFF;\nUPDATE users SET name = \"ada\";",
            ),
        ],
        Flavor::Sqlite,
    );
    assert_eq!(
        found(&lint_sqlite(&migrations, &LintOptions::default())),
        [
            "migrations/2_fk.sql:1:1 foreign-keys-pragma-in-transaction",
            "migrations/2_fk.sql:2:25 double-quoted-string",
        ]
    );
}

#[test]
fn an_allow_of_the_other_engine_is_an_error() {
    let migrations = folder(
        &[(
            "1_a.sql",
            "-- migrate:allow double-quoted-string\nCREATE TABLE a (id int);",
        )],
        Flavor::Postgres,
    );
    assert_eq!(
        messages(&misplaced_allows(&migrations, Dialect::Postgres)),
        [
            "migrations/1_a.sql: `-- migrate:allow double-quoted-string` names a SQLite lint, and this folder is checked as PostgreSQL, so it would silence nothing; remove it"
        ]
    );
    assert!(misplaced_allows(&migrations, Dialect::Sqlite).is_empty());
}
