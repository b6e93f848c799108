//! The PostgreSQL runner against a real server: one fresh database per test.

mod crash;
mod round_trips;
mod sessions;

use std::time::{Duration, Instant};

use migrate_core::{Error, Migrations, Resolution, Rollback, State, TransactionMode};
use migrate_testkit::{BoxError, TestDb};
use tokio_postgres::Client;

use round_trips::CountingProxy;

type TestResult = Result<(), BoxError>;

static CONCURRENT: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-concurrent");
static FAILING: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-failing");
static HISTORY_A: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-history-a");
static HISTORY_B: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-history-b");
static HISTORY_EDITED: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/pg-history-edited");
static NO_TX_FAILS: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-notx-fails");
static KILLED: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-killed");
static EXAMPLE: Migrations = migrate_core::embed_migrations!("../migrations-postgres");

/// How long any single run may take before a test calls it a hang.
const HANG: Duration = Duration::from_secs(20);

/// The versions in the history table, with whether each finished and how
/// many statements an unfinished one completed.
async fn history(client: &Client, table: &str) -> Result<Vec<(i64, bool, Option<i64>)>, BoxError> {
    let rows = client
        .query(
            &format!("SELECT version, finished, statements_done FROM {table} ORDER BY version"),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

async fn versions(client: &Client) -> Result<Vec<i64>, BoxError> {
    Ok(history(client, "_migrations")
        .await?
        .into_iter()
        .map(|(version, _, _)| version)
        .collect())
}

async fn relation_exists(client: &Client, name: &str) -> Result<bool, BoxError> {
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await?;
    Ok(row.get(0))
}

/// Advisory locks held in this test's database, by any session. Other
/// tests run at the same time on other databases of the same server.
async fn advisory_locks(client: &Client) -> Result<i64, BoxError> {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_runners_apply_each_migration_exactly_once() -> TestResult {
    const RUNNERS: usize = 16;
    const ROUNDS: usize = 5;
    for round in 0..ROUNDS {
        let db = TestDb::create().await?;
        let mut clients = Vec::with_capacity(RUNNERS);
        for _ in 0..RUNNERS {
            clients.push(db.connect().await?);
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(RUNNERS));
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|mut client| {
                let start = std::sync::Arc::clone(&start);
                tokio::spawn(async move {
                    start.wait().await;
                    let report = CONCURRENT.run_async(&mut client).await;
                    (report, client)
                })
            })
            .collect();
        let mut applied = Vec::new();
        for task in tasks {
            let (report, client) = tokio::time::timeout(HANG, task).await??;
            let report = report.map_err(|e| format!("round {round}: a runner failed: {e}"))?;
            applied.extend(report.applied().iter().map(|a| a.version));
            // Every runner released the lock before returning.
            client.simple_query("SELECT 1").await?;
        }
        applied.sort_unstable();
        assert_eq!(applied, [1, 2, 3, 4], "round {round}");
        let check = db.connect().await?;
        let log = check
            .query(
                "SELECT version, count(*) FROM applied_log GROUP BY version ORDER BY version",
                &[],
            )
            .await?;
        let log: Vec<(i64, i64)> = log.iter().map(|row| (row.get(0), row.get(1))).collect();
        assert_eq!(log, [(1, 1), (2, 1), (3, 1), (4, 1)], "round {round}");
        assert_eq!(
            history(&check, "_migrations").await?,
            [
                (1, true, None),
                (2, true, None),
                (3, true, None),
                (4, true, None)
            ]
        );
        assert_eq!(advisory_locks(&check).await?, 0);
    }
    Ok(())
}

#[tokio::test]
async fn an_up_to_date_start_is_one_round_trip_and_takes_no_lock() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    proxy.take();

    let report = CONCURRENT
        .runner()
        .transaction_mode(TransactionMode::Single)
        .run_async(&mut client)
        .await?;
    assert_eq!(report.applied().len(), 4);
    let first_run = proxy.take();

    let report = CONCURRENT.run_async(&mut client).await?;
    assert!(report.was_up_to_date());
    assert_eq!(
        proxy.take(),
        1,
        "an up-to-date start reads the history once"
    );

    // Read the history, lock, read it again, create it; one batch for the
    // two transactional migrations before the no-transaction one; five for
    // that one (its row, statement 1, progress, statement 2, end); one for
    // the last migration; and the unlock.
    assert_eq!(first_run, 1 + 1 + 1 + 1 + 1 + 5 + 1 + 1, "first run");
    Ok(())
}

#[tokio::test]
async fn a_transactional_migration_costs_one_round_trip() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    HISTORY_A.run_async(&mut client).await?;
    proxy.take();
    // B adds 0002 alone: read the fingerprint, which is A's, then the
    // history; lock, read again, apply, unlock.
    let report = HISTORY_B
        .runner()
        .allow_out_of_order(true)
        .run_async(&mut client)
        .await?;
    assert_eq!(report.applied().len(), 1);
    assert_eq!(proxy.take(), 6);
    Ok(())
}

#[tokio::test]
async fn a_failing_migration_rolls_back_and_releases_the_lock() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let observer = db.connect().await?;

    let error = FAILING.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Migration {
                version: 2,
                statement: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(std::error::Error::source(&error).is_some());
    // One transaction for both: nothing of either is left.
    assert!(!relation_exists(&observer, "things").await?);
    assert!(!relation_exists(&observer, "other_things").await?);
    assert_eq!(versions(&observer).await?, Vec::<i64>::new());
    assert_eq!(advisory_locks(&observer).await?, 0);

    // The same (pooled) connection is usable and the next run does not hang.
    client.simple_query("SELECT 1").await?;
    let started = Instant::now();
    let again = tokio::time::timeout(
        HANG,
        FAILING
            .runner()
            .transaction_mode(TransactionMode::PerMigration)
            .lock_timeout(Duration::from_secs(2))
            .run_async(&mut client),
    )
    .await?;
    assert!(
        matches!(again, Err(Error::Migration { version: 2, .. })),
        "{again:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // One transaction each: the first migration stays applied.
    assert_eq!(versions(&observer).await?, [1]);
    assert!(relation_exists(&observer, "things").await?);
    assert!(!relation_exists(&observer, "other_things").await?);
    assert_eq!(advisory_locks(&observer).await?, 0);
    Ok(())
}

#[tokio::test]
async fn drift_is_refused_before_anything_is_applied() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;

    let error = HISTORY_EDITED.run_async(&mut client).await.unwrap_err();
    match &error {
        Error::Drift {
            version,
            file,
            recorded,
            embedded,
        } => {
            assert_eq!(*version, 1);
            assert!(file.ends_with("0001_create_items.sql"));
            assert_ne!(recorded, embedded);
        }
        other => panic!("expected drift, got {other:?}"),
    }
    // The edited folder's new migration 0004 was not applied.
    assert!(!relation_exists(&client, "item_tags").await?);
    assert_eq!(versions(&client).await?, [1, 3]);
    let status = HISTORY_EDITED.status_async(&client).await?;
    assert!(matches!(status.entries()[0].state, State::Drifted { .. }));
    Ok(())
}

#[tokio::test]
async fn out_of_order_is_refused_unless_allowed() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;

    let error = HISTORY_B.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::OutOfOrder {
                version: 2,
                highest_applied: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(versions(&client).await?, [1, 3]);

    let report = HISTORY_B
        .runner()
        .allow_out_of_order(true)
        .run_async(&mut client)
        .await?;
    assert_eq!(report.applied()[0].version, 2);
    assert_eq!(versions(&client).await?, [1, 2, 3]);
    Ok(())
}

#[tokio::test]
async fn missing_is_refused_unless_allowed() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_B.run_async(&mut client).await?;

    let error = HISTORY_A.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(&error, Error::Missing { version: 2, description } if description == "add_stock"),
        "{error:?}"
    );
    let report = HISTORY_A
        .runner()
        .allow_missing(true)
        .run_async(&mut client)
        .await?;
    assert!(report.was_up_to_date());
    Ok(())
}

#[tokio::test]
async fn a_no_transaction_migration_that_fails_half_way_is_reported_not_rerun() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;

    let error = NO_TX_FAILS.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Migration {
                version: 2,
                statement: Some(2),
                ..
            }
        ),
        "{error:?}"
    );
    // The first index was built and stays; the row says one statement is done.
    assert!(relation_exists(&client, "events_kind").await?);
    assert!(!relation_exists(&client, "events_at").await?);
    assert_eq!(
        history(&client, "_migrations").await?,
        [(1, true, None), (2, false, Some(1))]
    );
    assert_eq!(advisory_locks(&client).await?, 0);

    // The next run reports it and runs nothing.
    let next = NO_TX_FAILS.run_async(&mut client).await.unwrap_err();
    match &next {
        Error::Incomplete {
            version,
            statements_done,
            table,
            ..
        } => {
            assert_eq!((*version, *statements_done), (2, 1));
            // Resolved to its schema, to say exactly which table holds the row.
            assert_eq!(table, "public._migrations");
        }
        other => panic!("expected incomplete, got {other:?}"),
    }
    assert!(
        next.to_string()
            .contains("migrate resolve 2 --as completed"),
        "{next}"
    );
    let status = NO_TX_FAILS.status_async(&client).await?;
    assert_eq!(
        status.entries()[1].state,
        State::Incomplete { statements_done: 1 }
    );
    assert_eq!(advisory_locks(&client).await?, 0);

    // The documented way out: undo by hand, resolve as rolled back, run
    // again. The file is still broken, so it fails at the same statement.
    client.batch_execute("DROP INDEX events_kind").await?;
    NO_TX_FAILS
        .runner()
        .resolve_async(&mut client, 2, Resolution::RolledBack)
        .await?;
    let rerun = NO_TX_FAILS.run_async(&mut client).await.unwrap_err();
    assert!(matches!(
        rerun,
        Error::Migration {
            version: 2,
            statement: Some(2),
            ..
        }
    ));
    Ok(())
}

#[tokio::test]
async fn a_connection_killed_mid_migration_leaves_nothing_half_applied() -> TestResult {
    let db = TestDb::create().await?;
    let mut victim = db.connect().await?;
    let killer = db.connect().await?;
    victim
        .batch_execute("SET migrate_test.sleep = '60'")
        .await?;
    let victim_pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);

    let run = tokio::spawn(async move { KILLED.run_async(&mut victim).await });
    // Wait until the migration is sleeping, then kill its session.
    let deadline = Instant::now() + HANG;
    loop {
        let sleeping: bool = killer
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep')",
                &[&victim_pid],
            )
            .await?
            .get(0);
        if sleeping {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the migration never started sleeping"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    killer
        .query_one("SELECT pg_terminate_backend($1)", &[&victim_pid])
        .await?;
    let result = tokio::time::timeout(HANG, run).await??;
    assert!(
        matches!(result, Err(Error::Migration { version: 2, .. })),
        "{result:?}"
    );

    // Nothing of the batch was committed, and the lock died with the session.
    // The history table, created before the batch, is empty.
    assert!(!relation_exists(&killer, "orders").await?);
    assert!(!relation_exists(&killer, "order_lines").await?);
    assert_eq!(versions(&killer).await?, Vec::<i64>::new());
    assert_eq!(advisory_locks(&killer).await?, 0);

    let mut fresh = db.connect().await?;
    let report = tokio::time::timeout(HANG, KILLED.run_async(&mut fresh)).await??;
    assert_eq!(report.applied().len(), 2);
    let lines: i64 = fresh
        .query_one("SELECT count(*) FROM order_lines", &[])
        .await?
        .get(0);
    assert_eq!(lines, 2);
    Ok(())
}

#[tokio::test]
async fn a_statement_refused_in_a_transaction_is_reported_before_anything_runs() -> TestResult {
    // Read at run time: the folder is valid, only running it in a
    // transaction on PostgreSQL is not.
    let migrations = Migrations::from_folder(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pg-cic-in-transaction"
    ))?;
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;

    let error = migrations.run_async(&mut client).await.unwrap_err();
    match &error {
        Error::RefusedInTransaction {
            version,
            file,
            line,
            command,
        } => {
            assert_eq!(*version, 2);
            assert!(file.ends_with("0002_index_emails.sql"), "{file}");
            assert_eq!(*line, 4);
            assert_eq!(*command, "CREATE INDEX CONCURRENTLY");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("-- migrate:no-transaction"), "{message}");
    assert!(message.contains("line 4"), "{message}");
    // Not even migration 0001 ran, and no history table was created.
    assert!(!relation_exists(&client, "users").await?);
    assert!(!relation_exists(&client, "_migrations").await?);
    Ok(())
}

#[tokio::test]
async fn a_lock_timeout_names_the_session_holding_the_lock() -> TestResult {
    let db = TestDb::create().await?;
    let mut config = db.config().clone();
    config.application_name("the-other-replica");
    let (holder, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    // The documented key: the database and the schema-qualified table.
    let holder_pid: i32 = holder
        .query_one(
            "SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock(hashtextextended(current_database() || '.public._migrations', 0))) l",
            &[],
        )
        .await?
        .get(0);

    let mut client = db.connect().await?;
    let started = Instant::now();
    let error = HISTORY_A
        .runner()
        .lock_timeout(Duration::from_millis(500))
        .run_async(&mut client)
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    match &error {
        Error::LockTimeout {
            table,
            holder: Some(holder),
            ..
        } => {
            assert_eq!(table, "_migrations");
            assert_eq!(holder.pid, holder_pid);
            assert_eq!(
                holder.application_name.as_deref(),
                Some("the-other-replica")
            );
            assert_eq!(holder.state.as_deref(), Some("idle"));
        }
        other => panic!("expected a lock timeout naming the holder, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&format!("pid {holder_pid}")), "{message}");
    assert!(message.contains("the-other-replica"), "{message}");
    assert!(!relation_exists(&client, "items").await?);

    // Once the holder lets go, the same client migrates.
    holder
        .simple_query("SELECT pg_advisory_unlock_all()")
        .await?;
    let report = HISTORY_A.run_async(&mut client).await?;
    assert_eq!(report.applied().len(), 2);
    Ok(())
}

#[tokio::test]
async fn status_is_read_only() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;

    let status = HISTORY_B.status_async(&client).await?;
    assert_eq!(status.pending().count(), 3);
    assert!(!status.is_up_to_date());
    assert!(!relation_exists(&client, "_migrations").await?);
    // A schema that does not exist reads as an empty history too.
    let status = HISTORY_B
        .runner()
        .history_table("nowhere.history")
        .status_async(&client)
        .await?;
    assert_eq!(status.pending().count(), 3);
    let schemas: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'nowhere'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(schemas, 0);

    HISTORY_A.run_async(&mut client).await?;
    let status = HISTORY_B.status_async(&client).await?;
    let states: Vec<_> = status.entries().iter().map(|e| e.state.clone()).collect();
    assert_eq!(states, [State::Applied, State::OutOfOrder, State::Applied]);
    assert!(
        status.entries()[0]
            .applied_at
            .as_deref()
            .is_some_and(|at| at.ends_with('Z'))
    );
    Ok(())
}

#[tokio::test]
async fn the_history_table_can_live_in_its_own_schema() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let runner = HISTORY_A.runner().history_table("ops.schema_history");

    let report = runner.run_async(&mut client).await?;
    assert_eq!(report.applied().len(), 2);
    assert!(relation_exists(&client, "ops.schema_history").await?);
    assert!(!relation_exists(&client, "public._migrations").await?);
    assert_eq!(
        history(&client, "ops.schema_history").await?,
        [(1, true, None), (3, true, None)]
    );
    assert!(runner.run_async(&mut client).await?.was_up_to_date());
    assert!(runner.status_async(&client).await?.is_up_to_date());
    Ok(())
}

#[tokio::test]
async fn an_unqualified_history_table_lives_in_the_first_schema_of_the_search_path() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    client
        .batch_execute("CREATE SCHEMA app; SET search_path = app, public")
        .await?;

    HISTORY_A.run_async(&mut client).await?;
    assert!(relation_exists(&client, "app._migrations").await?);
    assert!(relation_exists(&client, "app.items").await?);
    assert!(!relation_exists(&client, "public._migrations").await?);
    assert!(HISTORY_A.run_async(&mut client).await?.was_up_to_date());
    Ok(())
}

#[tokio::test]
async fn a_search_path_without_any_schema_is_an_error_naming_the_fix() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    client
        .batch_execute("SET search_path = no_such_schema")
        .await?;

    let error = HISTORY_A.run_async(&mut client).await.unwrap_err();
    assert!(matches!(error, Error::Database { .. }), "{error:?}");
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("qualify the history table")),
        "{cause:?}"
    );
    assert_eq!(advisory_locks(&client).await?, 0);
    Ok(())
}

#[tokio::test]
async fn an_existing_unqualified_history_table_is_found_through_the_search_path() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;
    // A schema put first in the search_path later does not hide the history.
    client
        .batch_execute("CREATE SCHEMA app; SET search_path = app, public")
        .await?;

    let report = HISTORY_B
        .runner()
        .allow_out_of_order(true)
        .run_async(&mut client)
        .await?;
    let applied: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(applied, [2]);
    assert!(!relation_exists(&client, "app._migrations").await?);
    assert_eq!(
        history(&client, "public._migrations").await?,
        [(1, true, None), (2, true, None), (3, true, None)]
    );
    Ok(())
}

#[tokio::test]
async fn the_example_folder_applies_and_then_is_up_to_date() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;

    let report = EXAMPLE.run_async(&mut client).await?;
    let versions: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
    assert!(EXAMPLE.run_async(&mut client).await?.was_up_to_date());
    assert!(EXAMPLE.status_async(&client).await?.is_up_to_date());

    // The seed, the view, the trigger and the concurrent index all work.
    client
        .batch_execute(
            "INSERT INTO comments (post_id, author_id, body) SELECT id, author_id, 'first' FROM posts",
        )
        .await?;
    let row = client
        .query_one(
            "SELECT title, author, comment_count FROM published_posts",
            &[],
        )
        .await?;
    assert_eq!(row.get::<_, String>(0), "Welcome");
    assert_eq!(row.get::<_, String>(1), "Administrator");
    assert_eq!(row.get::<_, i32>(2), 1);
    let valid: bool = client
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'comments_by_post'::regclass",
            &[],
        )
        .await?
        .get(0);
    assert!(valid);
    Ok(())
}

#[tokio::test]
async fn the_history_records_what_the_server_measured() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let report = KILLED.run_async(&mut client).await?;
    assert_eq!(report.applied().len(), 2);
    let rows = client
        .query(
            "SELECT description, checksum, execution_ms, applied_at <= now() + interval '1 minute' FROM _migrations ORDER BY version",
            &[],
        )
        .await?;
    for (row, migration) in rows.iter().zip(KILLED.iter()) {
        assert_eq!(row.get::<_, String>(0), migration.description());
        assert_eq!(row.get::<_, String>(1), migration.checksum_hex());
        assert!(row.get::<_, i64>(2) >= 0);
        assert!(row.get::<_, bool>(3));
    }
    Ok(())
}

static REVERSIBLE: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-reversible");

fn applied_versions(report: &migrate_core::Report) -> Vec<i64> {
    report.migrations().iter().map(|a| a.version).collect()
}

#[tokio::test]
async fn rollback_runs_down_scripts_newest_first_and_releases_the_lock() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    REVERSIBLE.run_async(&mut client).await?;
    let report = REVERSIBLE
        .runner()
        .rollback_async(&mut client, Rollback::To(1))
        .await?;
    assert_eq!(applied_versions(&report), [3, 2]);
    assert!(!relation_exists(&client, "a_name").await? && !relation_exists(&client, "b").await?);
    assert_eq!(versions(&client).await?, [1]);
    assert_eq!(advisory_locks(&client).await?, 0);
    assert_eq!(REVERSIBLE.runner().pending_async(&client).await?.len(), 2);

    REVERSIBLE.run_async(&mut client).await?;
    let runner = REVERSIBLE
        .runner()
        .transaction_mode(TransactionMode::PerMigration);
    assert_eq!(
        applied_versions(
            &runner
                .rollback_async(&mut client, Rollback::Steps(1))
                .await?
        ),
        [3]
    );
    let error = runner
        .rollback_async(&mut client, Rollback::Steps(2))
        .await
        .expect_err("1 has no down");
    assert!(
        matches!(error, Error::Irreversible { version: 1, .. }),
        "{error}"
    );
    assert_eq!(versions(&client).await?, [1, 2], "nothing was reverted");
    assert_eq!(advisory_locks(&client).await?, 0);
    Ok(())
}

#[tokio::test]
async fn baseline_repair_and_resolve() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    client
        .batch_execute("CREATE TABLE items (id BIGINT PRIMARY KEY)")
        .await?;
    let baseline = HISTORY_A.runner().baseline_async(&mut client, 1).await?;
    assert_eq!(applied_versions(&baseline), [1]);
    assert_eq!(
        applied_versions(&HISTORY_A.run_async(&mut client).await?),
        [3]
    );

    assert!(matches!(
        HISTORY_EDITED.run_async(&mut client).await,
        Err(Error::Drift { version: 1, .. })
    ));
    assert!(HISTORY_EDITED.runner().repair_async(&mut client, 1).await?);
    assert!(!HISTORY_EDITED.runner().repair_async(&mut client, 1).await?);
    assert_eq!(
        applied_versions(&HISTORY_EDITED.run_async(&mut client).await?),
        [4]
    );

    let failed = TestDb::create().await?;
    let mut client = failed.connect().await?;
    assert!(NO_TX_FAILS.run_async(&mut client).await.is_err());
    let incomplete = history(&client, "_migrations").await?;
    let (version, finished, _) = *incomplete.last().expect("a row");
    assert!(!finished);
    NO_TX_FAILS
        .runner()
        .resolve_async(&mut client, version, Resolution::RolledBack)
        .await?;
    assert!(
        NO_TX_FAILS
            .status_async(&client)
            .await?
            .pending()
            .any(|e| e.version == version)
    );
    assert!(matches!(
        NO_TX_FAILS
            .runner()
            .resolve_async(&mut client, version, Resolution::Completed)
            .await,
        Err(Error::NotApplied { .. })
    ));
    assert_eq!(advisory_locks(&client).await?, 0);
    Ok(())
}

/// The fingerprint stored next to the default history table.
async fn stored_fingerprint(client: &Client) -> Result<Option<String>, BoxError> {
    // The simple protocol: a prepared statement would be closed after this
    // returns, which the round-trip counter would see in the next count.
    let messages = client
        .simple_query("SELECT fingerprint FROM _migrations_state")
        .await?;
    let row = messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .ok_or("no row in _migrations_state")?;
    Ok(row.get(0).map(str::to_owned))
}

/// The fingerprint of a history that holds exactly `migrations`.
fn fingerprint_of(migrations: &Migrations) -> Option<String> {
    Some(migrate_format::checksum::to_hex(migrations.checksum()))
}

#[tokio::test]
async fn an_up_to_date_start_finds_the_binary_s_fingerprint_next_to_the_history() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_A)
    );
    let comment = client
        .query_one("SELECT obj_description('_migrations_state'::regclass)", &[])
        .await?;
    assert!(comment.get::<_, String>(0).contains("migrate"));
    Ok(())
}

#[tokio::test]
async fn a_history_edited_by_hand_is_read_in_full_at_the_next_start() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;

    // Undone by hand: the trigger forgets the fingerprint, so the next start
    // sees that 0003 is pending instead of trusting the stale one.
    client
        .batch_execute(
            "DELETE FROM _migrations WHERE version = 3; ALTER TABLE items DROP COLUMN price",
        )
        .await?;
    assert_eq!(stored_fingerprint(&client).await?, None);
    let report = HISTORY_A.run_async(&mut client).await?;
    assert_eq!(applied_versions(&report), [3]);
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_A)
    );

    // A checksum changed by hand is drift, not an up-to-date start.
    client
        .batch_execute("UPDATE _migrations SET checksum = repeat('0', 64) WHERE version = 1")
        .await?;
    assert!(matches!(
        HISTORY_A.run_async(&mut client).await,
        Err(Error::Drift { version: 1, .. })
    ));
    assert!(HISTORY_A.runner().repair_async(&mut client, 1).await?);
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_A)
    );
    assert!(HISTORY_A.run_async(&mut client).await?.was_up_to_date());

    // An emptied history: both migrations are pending again, and the first
    // fails because its table is still there.
    client.batch_execute("TRUNCATE _migrations").await?;
    assert!(matches!(
        HISTORY_A.run_async(&mut client).await,
        Err(Error::Migration { version: 1, .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_history_without_its_companion_gets_one_under_the_lock() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    HISTORY_A.run_async(&mut client).await?;
    // As a history table written by another tool, or by hand, would be.
    client
        .batch_execute(
            "DROP TABLE _migrations_state; DROP FUNCTION _migrations_state_reset() CASCADE",
        )
        .await?;
    proxy.take();

    assert!(HISTORY_A.run_async(&mut client).await?.was_up_to_date());
    // The read fails, the history alone is read and checked, then under the
    // lock: create the companion and read again, write the fingerprint,
    // unlock.
    assert_eq!(proxy.take(), 1 + 1 + 1 + 1 + 1 + 1);
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_A)
    );
    proxy.take();
    assert!(HISTORY_A.run_async(&mut client).await?.was_up_to_date());
    assert_eq!(proxy.take(), 1);

    // The trigger is back.
    client
        .batch_execute("DELETE FROM _migrations WHERE version = 3")
        .await?;
    assert_eq!(stored_fingerprint(&client).await?, None);
    Ok(())
}

#[tokio::test]
async fn every_change_through_migrate_leaves_a_current_fingerprint() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    HISTORY_B.run_async(&mut client).await?;
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_B)
    );

    // A binary that does not have 0002 and may run without it reads the
    // fingerprint, which is not its own, then the history, and stops there,
    // without the lock: the fingerprint is that of the history it read.
    proxy.take();
    let older = HISTORY_A.runner().allow_missing(true);
    assert!(older.run_async(&mut client).await?.was_up_to_date());
    assert_eq!(proxy.take(), 2);

    // After a rollback, a start that targets what is left reads the
    // fingerprint and the history, and stops there too.
    let reversible = TestDb::create().await?;
    let proxy = CountingProxy::start(&reversible)?;
    let mut client = proxy.connect().await?;
    REVERSIBLE.run_async(&mut client).await?;
    REVERSIBLE
        .runner()
        .rollback_async(&mut client, Rollback::Steps(1))
        .await?;
    assert_eq!(versions(&client).await?, [1, 2]);
    assert_ne!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&REVERSIBLE)
    );
    proxy.take();
    let report = REVERSIBLE.runner().target(2).run_async(&mut client).await?;
    assert!(report.was_up_to_date());
    assert_eq!(proxy.take(), 2);
    assert_eq!(
        applied_versions(&REVERSIBLE.run_async(&mut client).await?),
        [3]
    );
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&REVERSIBLE)
    );
    // 0002's down script runs in a transaction, with the fingerprint.
    REVERSIBLE
        .runner()
        .rollback_async(&mut client, Rollback::To(1))
        .await?;
    proxy.take();
    let report = REVERSIBLE.runner().target(1).run_async(&mut client).await?;
    assert!(report.was_up_to_date());
    assert_eq!(proxy.take(), 2);

    // A no-transaction migration that failed: the fingerprint is NULL while
    // its row is unfinished, and current again once it is resolved.
    let failed = TestDb::create().await?;
    let mut client = failed.connect().await?;
    assert!(NO_TX_FAILS.run_async(&mut client).await.is_err());
    assert_eq!(stored_fingerprint(&client).await?, None);
    let (version, _, _) = *history(&client, "_migrations")
        .await?
        .last()
        .expect("a row");
    NO_TX_FAILS
        .runner()
        .resolve_async(&mut client, version, Resolution::Completed)
        .await?;
    let current = stored_fingerprint(&client).await?;
    assert!(current.is_some());
    let status = NO_TX_FAILS.status_async(&client).await?;
    if status.pending().next().is_none() {
        assert_eq!(current, fingerprint_of(&NO_TX_FAILS));
    }
    Ok(())
}

#[tokio::test]
async fn a_baseline_records_the_fingerprint_of_what_it_recorded() -> TestResult {
    let db = TestDb::create().await?;
    let proxy = CountingProxy::start(&db)?;
    let mut client = proxy.connect().await?;
    client
        .batch_execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric)")
        .await?;
    HISTORY_A.runner().baseline_async(&mut client, 3).await?;
    assert_eq!(
        stored_fingerprint(&client).await?,
        fingerprint_of(&HISTORY_A)
    );
    proxy.take();
    assert!(HISTORY_A.run_async(&mut client).await?.was_up_to_date());
    assert_eq!(proxy.take(), 1);
    Ok(())
}

#[tokio::test]
async fn a_history_table_name_too_long_for_its_companion_is_refused() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let name = "h".repeat(52);
    let error = HISTORY_A
        .runner()
        .history_table(&name)
        .run_async(&mut client)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidTableName { .. }), "{error:?}");
    assert!(error.to_string().contains("51 bytes"), "{error}");
    assert!(!relation_exists(&client, "items").await?);
    Ok(())
}

#[tokio::test]
async fn a_companion_never_vouches_for_another_history_table() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    HISTORY_A.run_async(&mut client).await?;

    // A history table without its companion, first in the search path: the
    // companion found in `public` was written for `public._migrations`.
    client
        .batch_execute(
            "CREATE SCHEMA tenant;
             CREATE TABLE tenant._migrations (LIKE public._migrations INCLUDING ALL);
             SET search_path = tenant, public",
        )
        .await?;
    let report = HISTORY_A.run_async(&mut client).await?;
    assert_eq!(applied_versions(&report), [1, 3]);
    assert!(relation_exists(&client, "tenant.items").await?);
    assert!(relation_exists(&client, "tenant._migrations_state").await?);

    // A history table dropped by hand: its companion stays, but no longer
    // vouches for anything, so the migrations are run again, and fail.
    client
        .batch_execute("SET search_path = public; DROP TABLE public._migrations")
        .await?;
    assert!(matches!(
        HISTORY_A.run_async(&mut client).await,
        Err(Error::Migration { version: 1, .. })
    ));
    Ok(())
}
