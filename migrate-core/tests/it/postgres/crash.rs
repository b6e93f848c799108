//! A runner killed with `-9` in another process while a `no-transaction`
//! statement runs: the server goes on with the statement, and the next run
//! must not claim that it did not complete.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use migrate_core::{Error, Migrations, Resolution};
use migrate_testkit::{BoxError, TestDb};
use tokio_postgres::Client;

type TestResult = Result<(), BoxError>;

static LONG: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-long-no-transaction");

/// Set when this test binary runs as the child of the test below: the URL
/// of the database to migrate.
const CHILD_URL: &str = "MIGRATE_IT_CHILD_URL";

/// The child's work: apply the long folder to the database the environment
/// names. Run by the ordinary test run, it applies the folder to a fresh
/// database and checks the result, the same work in one process.
#[tokio::test]
async fn child_applies_the_long_no_transaction_folder() -> TestResult {
    let url = match std::env::var(CHILD_URL) {
        Ok(url) => url,
        Err(_) => {
            let db = TestDb::create().await?;
            let url = db.url();
            // Keep the database: the test server lives as long as this process.
            std::mem::forget(db);
            url
        }
    };
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let report = LONG.run_async(&mut client).await?;
    assert_eq!(report.applied().len(), 1);
    assert_eq!(rows(&client).await?, 200_001);
    Ok(())
}

fn spawn_child(db: &TestDb) -> Result<Child, BoxError> {
    Ok(Command::new(std::env::current_exe()?)
        .args([
            "postgres::crash::child_applies_the_long_no_transaction_folder",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_URL, db.url())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

async fn rows(client: &Client) -> Result<i64, BoxError> {
    Ok(client
        .query_one("SELECT count(*) FROM readings", &[])
        .await?
        .get(0))
}

/// The backends of this database running the long `INSERT`.
async fn inserting(client: &Client) -> Result<i64, BoxError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'active' AND query LIKE 'INSERT INTO readings SELECT%'",
            &[],
        )
        .await?
        .get(0))
}

async fn wait_for(
    what: &str,
    mut condition: impl AsyncFnMut() -> Result<bool, BoxError>,
) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition().await? {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting until {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_runner_killed_during_a_long_statement_reports_that_statement_in_doubt() -> TestResult {
    let db = TestDb::create().await?;
    let observer = db.connect().await?;
    let mut child = spawn_child(&db)?;
    wait_for("the child runs statement 2", async || {
        Ok(inserting(&observer).await? == 1)
    })
    .await?;
    child.kill()?;
    child.wait()?;
    // The server finishes the statement, which commits on its own.
    wait_for("the server finished statement 2", async || {
        Ok(inserting(&observer).await? == 0)
    })
    .await?;
    assert_eq!(rows(&observer).await?, 200_000, "statement 2 completed");

    let mut client = db.connect().await?;
    let error = LONG.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Incomplete {
                version: 1,
                statements_done: 1,
                edited: false,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "statement 1 completed, and statement 2, if there is one, was started and may or may not have completed"
        ),
        "{message}"
    );
    let status = LONG.status_async(&client).await?;
    assert_eq!(
        status.entries()[0].state.to_string(),
        "incomplete: 1 statement completed, the next may or may not have"
    );

    // What an operator does with that: statement 2 did complete, so finish
    // statements 3 and 4 by hand and record the migration as completed.
    client
        .batch_execute("CREATE INDEX CONCURRENTLY readings_value ON readings (value)")
        .await?;
    client
        .batch_execute("INSERT INTO readings VALUES (0, 'last')")
        .await?;
    LONG.runner()
        .resolve_async(&mut client, 1, Resolution::Completed)
        .await?;
    assert!(LONG.run_async(&mut client).await?.was_up_to_date());
    assert_eq!(rows(&client).await?, 200_001, "no row was duplicated");
    Ok(())
}
