//! A connection setting made by a migration lasts until the end of that
//! migration, on SQLite: its pragmas are written back, so a run and a
//! split run behave alike, and the application's connection keeps its own.

use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations};

use super::{TestDb, TestResult};

static SESSION: Migrations = migrate_core::embed_migrations!("tests/fixtures/sqlite-session");

fn pragma(conn: &Connection, name: &str) -> i64 {
    conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
        .expect("a pragma")
}

fn fails_at_the_orphan(result: Result<migrate_core::Report, Error>) {
    let error = result.unwrap_err();
    assert!(
        matches!(error, Error::Migration { version: 3, .. }),
        "{error}"
    );
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        source
            .as_deref()
            .is_some_and(|s| s.contains("FOREIGN KEY constraint failed")),
        "{source:?}"
    );
}

#[test]
fn a_run_and_a_split_run_fail_alike_and_the_connection_keeps_its_settings() -> TestResult {
    // One run: migration 2 turned foreign keys off for itself only, so
    // migration 3's orphan row is refused, as it is in a later deploy.
    let whole = TestDb::new();
    let mut conn = whole.open();
    assert_eq!(pragma(&conn, "foreign_keys"), 1);
    fails_at_the_orphan(SESSION.run(&mut conn));
    assert_eq!(
        pragma(&conn, "foreign_keys"),
        1,
        "put back after migration 2"
    );
    assert_eq!(
        pragma(&conn, "recursive_triggers"),
        0,
        "put back after the failed migration 3, which a rollback does not do"
    );

    let split = TestDb::new();
    SESSION.runner().target(2).run(&mut split.open())?;
    fails_at_the_orphan(SESSION.run(&mut split.open()));
    Ok(())
}
