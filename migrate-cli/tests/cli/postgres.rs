use migrate_testkit::{BoxError, TestDb};

use crate::Workspace;
use crate::scenarios::{self, Database};

/// A fresh database on the throwaway server. The test's runtime only serves
/// to create it: the scenarios run the `migrate` binary, which connects on
/// its own.
async fn database() -> Result<(TestDb, Database), BoxError> {
    let db = TestDb::create().await?;
    let url = db.url();
    Ok((
        db,
        Database {
            url,
            missing_table: "relation \"missing_table\" does not exist",
        },
    ))
}

#[tokio::test]
async fn check_lock_and_new() -> Result<(), BoxError> {
    let (_db, database) = database().await?;
    scenarios::check_lock_and_new(&database);
    Ok(())
}

#[tokio::test]
async fn status_up_down_and_exit_codes() -> Result<(), BoxError> {
    let (_db, database) = database().await?;
    scenarios::status_up_down_and_exit_codes(&database);
    Ok(())
}

#[tokio::test]
async fn failed_no_transaction_migration_then_resolve() -> Result<(), BoxError> {
    let (_db, database) = database().await?;
    scenarios::failed_no_transaction_migration_then_resolve(&database);
    Ok(())
}

#[tokio::test]
async fn baseline_and_repair() -> Result<(), BoxError> {
    let (_db, database) = database().await?;
    scenarios::baseline_and_repair(&database);
    Ok(())
}

/// PostgreSQL refuses `CREATE INDEX CONCURRENTLY` in a transaction: the
/// command line says so before running anything, with exit code 3.
#[tokio::test]
async fn a_statement_refused_in_a_transaction_is_reported_first() -> Result<(), BoxError> {
    let (db, database) = database().await?;
    let workspace = Workspace::with_fixture("shop");
    std::fs::write(
        workspace.migrations().join("0004_index_names.sql"),
        "CREATE INDEX CONCURRENTLY customers_name ON customers (name);\n",
    )?;
    let run = workspace
        .migrate(&database.url, &["up", "--json"])
        .expect(3);
    assert!(
        run.stdout.contains("\"kind\":\"refused-in-transaction\""),
        "{}",
        run.stdout
    );
    let client = db.connect().await?;
    let tables = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await?;
    assert_eq!(tables.get::<_, i64>(0), 0, "nothing ran");
    Ok(())
}
