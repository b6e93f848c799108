//! A connection setting made by a migration lasts until the end of that
//! migration: a run and a split run give the same schema, and the
//! application's own settings come back.

use migrate_core::{Migrations, TransactionMode};
use migrate_testkit::{BoxError, TestDb};
use tokio_postgres::Client;

use super::round_trips::CountingProxy;

type TestResult = Result<(), BoxError>;

static SESSION: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-session");

/// Where each table of the folder was created, as `schema.table`.
async fn placement(client: &Client) -> Result<Vec<String>, BoxError> {
    let rows = client
        .query(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables \
             WHERE table_name LIKE 't_' ORDER BY table_name",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

#[tokio::test]
async fn a_run_and_a_split_run_give_the_same_schema() -> TestResult {
    let expected = [
        "public.t2",
        "s3.t3",
        "public.t4",
        "s3.t5",
        "public.t6",
        "s3.t7",
        "public.t8",
    ];
    for mode in [TransactionMode::Single, TransactionMode::PerMigration] {
        let whole = TestDb::create().await?;
        let mut client = whole.connect().await?;
        SESSION
            .runner()
            .transaction_mode(mode)
            .run_async(&mut client)
            .await?;
        assert_eq!(placement(&client).await?, expected, "{mode:?}, one run");

        let split = TestDb::create().await?;
        for target in [3, 5, 7, 8] {
            // Each deploy on a connection of its own.
            let mut client = split.connect().await?;
            SESSION
                .runner()
                .transaction_mode(mode)
                .target(target)
                .run_async(&mut client)
                .await?;
        }
        let client = split.connect().await?;
        assert_eq!(placement(&client).await?, expected, "{mode:?}, split runs");
    }
    Ok(())
}

#[tokio::test]
async fn the_application_s_own_settings_are_put_back() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    client
        .batch_execute("SET search_path TO public, extensions")
        .await?;
    proxy.take();
    SESSION.run_async(&mut client).await?;
    // Read the fingerprint and the history, lock, read again and create
    // them; one message for migrations 1 to 6, saves and restores
    // included; for the no-transaction migration its row, the save, two
    // statements and a progress, the restore and its end; one message for
    // migration 8; the unlock.
    assert_eq!(proxy.take(), 4 + 1 + 7 + 1 + 1);
    let search_path: String = client.query_one("SHOW search_path", &[]).await?.get(0);
    assert_eq!(search_path, "public, extensions");
    let saved: String = client
        .query_one("SELECT current_setting('migrate.saved_1', true)", &[])
        .await?
        .get(0);
    assert_eq!(saved, "", "no saved value outlives its migration");
    Ok(())
}
