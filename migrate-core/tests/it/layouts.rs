//! Each layout that migrate reads in place compiles, applies to SQLite and
//! rolls back with its down files; the seed projects' folders (Prisma with
//! hand-written downs, golang-migrate) do so on both engines.

use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, Rollback};

use crate::agreement::{DIESEL, FLYWAY, PRISMA};

/// The seed projects' folders as they are, checked by each engine at
/// compile time: a Prisma Migrate project with hand-written downs, and a
/// golang-migrate project (`migrate create -ext sql -seq`).
static PRISMA_SEED: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/from-prisma", dialect = "sqlite");
static PRISMA_SEED_POSTGRES: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/from-prisma", dialect = "postgres");
static GOLANG_MIGRATE_SEED: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/from-golang-migrate", dialect = "sqlite");
static GOLANG_MIGRATE_SEED_POSTGRES: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/from-golang-migrate", dialect = "postgres");

type TestResult = Result<(), migrate_testkit::BoxError>;

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

#[test]
fn the_seed_folders_apply_roll_back_all_the_way_and_apply_again_on_sqlite() -> TestResult {
    for seed in [&PRISMA_SEED, &GOLANG_MIGRATE_SEED] {
        let dir = tempfile::tempdir()?;
        let mut conn = Connection::open(dir.path().join("seed.db"))?;
        assert_eq!(seed.run(&mut conn)?.applied().len(), 3);
        assert_eq!(tables(&conn)?, ["posts", "tags", "users"]);
        let reverted = seed.runner().rollback(&mut conn, Rollback::To(0))?;
        let reverted: Vec<i64> = reverted.reverted().iter().map(|r| r.version).collect();
        assert_eq!(reverted, [3, 2, 1]);
        assert!(
            tables(&conn)?.is_empty(),
            "the hand-written downs undid everything"
        );
        assert_eq!(seed.run(&mut conn)?.applied().len(), 3);
    }
    Ok(())
}

#[tokio::test]
async fn the_seed_folders_apply_roll_back_all_the_way_and_apply_again_on_postgresql() -> TestResult
{
    for seed in [&PRISMA_SEED_POSTGRES, &GOLANG_MIGRATE_SEED_POSTGRES] {
        let db = migrate_testkit::TestDb::create().await?;
        let mut client = db.connect().await?;
        assert_eq!(seed.run_async(&mut client).await?.applied().len(), 3);
        let reverted = seed
            .runner()
            .rollback_async(&mut client, Rollback::To(0))
            .await?;
        assert_eq!(reverted.reverted().len(), 3);
        let left = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users', 'posts', 'tags')",
                &[],
            )
            .await?;
        assert_eq!(left.get::<_, i64>(0), 0);
        assert_eq!(seed.run_async(&mut client).await?.applied().len(), 3);
    }
    Ok(())
}
