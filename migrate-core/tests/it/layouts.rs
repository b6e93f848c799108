//! Each layout that migrate reads in place compiles, applies to SQLite and
//! rolls back with its down files.

use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, Rollback};

use crate::agreement::{DIESEL, FLYWAY, PRISMA};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn tables(conn: &Connection) -> migrate_core::rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_migrations' ORDER BY name",
    )?;
    let names = select.query_map([], |row| row.get(0))?;
    names.collect()
}

fn applied(conn: &Connection) -> migrate_core::rusqlite::Result<Vec<i64>> {
    let mut select = conn.prepare("SELECT version FROM _migrations ORDER BY version")?;
    let versions = select.query_map([], |row| row.get(0))?;
    versions.collect()
}

/// Applies a layout's migrations to a new SQLite file, twice, then reverts
/// all but the first.
fn apply_and_revert(migrations: &Migrations, expected_tables: &[&str]) -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut conn = Connection::open(dir.path().join("layout.db"))?;
    let first = migrations.run(&mut conn)?;
    assert_eq!(first.applied().len(), migrations.len());
    assert!(migrations.run(&mut conn)?.applied().is_empty());
    assert_eq!(tables(&conn)?, expected_tables);
    let versions: Vec<i64> = migrations.iter().map(|m| m.version()).collect();
    assert_eq!(applied(&conn)?, versions);
    migrations
        .runner()
        .rollback(&mut conn, Rollback::To(versions[0]))?;
    assert_eq!(applied(&conn)?, versions[..1]);
    Ok(())
}

#[test]
fn a_prisma_folder_applies() -> TestResult {
    apply_and_revert(&PRISMA, &["Post", "User"])
}

#[test]
fn a_diesel_folder_applies() -> TestResult {
    apply_and_revert(&DIESEL, &["app_settings", "users"])
}

#[test]
fn a_flyway_folder_applies() -> TestResult {
    apply_and_revert(&FLYWAY, &["posts", "users"])
}
