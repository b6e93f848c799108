use migrate_testkit::{BoxError, Pooling, TestDb};

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

/// Through PgBouncer in transaction mode: `--lock transaction` refuses the
/// fixture's no-transaction migration before anything runs, `--lock table`
/// applies, and `-v` prints the spans and events on standard error only.
#[tokio::test]
async fn lock_strategies_through_pgbouncer() -> Result<(), BoxError> {
    let db = TestDb::create().await?;
    let pooled = db.pooled_url(Pooling::TransactionRoundRobin)?;
    let workspace = Workspace::with_fixture("shop");

    let refused = workspace
        .migrate(&pooled, &["up", "--lock", "transaction", "--json"])
        .expect(1);
    assert!(
        refused.stdout.contains("\"kind\":\"lock\""),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("--lock table"),
        "{}",
        refused.stdout
    );
    let status = workspace.migrate(&pooled, &["status"]).expect(0);
    assert_eq!(
        status.stdout.matches("pending").count(),
        3,
        "{}",
        status.stdout
    );

    let up = workspace
        .migrate(
            &pooled,
            &[
                "up",
                "--to",
                "2",
                "--lock",
                "table",
                "--lease-ttl",
                "30",
                "-v",
            ],
        )
        .expect(0);
    assert!(
        up.stdout.starts_with("applied 2 migrations"),
        "{}",
        up.stdout
    );
    assert!(!up.stdout.contains("lock taken"), "{}", up.stdout);
    assert!(up.stderr.contains("lock taken"), "{}", up.stderr);
    assert!(up.stderr.contains("version=2"), "{}", up.stderr);
    assert!(up.stderr.contains("strategy=\"table\""), "{}", up.stderr);

    // Without -v, nothing of it.
    let quiet = workspace
        .migrate(&pooled, &["up", "--lock", "table"])
        .expect(1);
    assert!(!quiet.stderr.contains("lock taken"), "{}", quiet.stderr);
    let client = db.connect().await?;
    let expires: i64 = client
        .query_one(
            "SELECT count(*) FROM _migrations_lock WHERE expires_at > clock_timestamp()",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(expires, 0, "the lease was released after the failure");
    Ok(())
}
