//! The lock strategies against a real server, directly and through a real
//! PgBouncer in transaction pooling mode (migrate-testkit starts Debian's):
//! many replicas at once, a holder killed in the middle of a migration, a
//! holder whose lease was taken over, and a server whose advisory locks lock
//! nothing, as CockroachDB's.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use migrate_core::{Error, LockProblem, LockStrategy, Migrations, Report, TransactionMode};
use migrate_testkit::{BoxError, Pooling, TestDb};
use tokio_postgres::Client;

use super::round_trips::CountingProxy;
use super::{CONCURRENT, HANG, HISTORY_A, HISTORY_B, TestResult, advisory_locks, history};

static TWENTY: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-twenty");
static SLOW: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-lease-slow");
static STALE: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-lease-stale");

const REPLICAS: usize = 16;
const ROUNDS: usize = 3;

/// `runs` replicas that start together, each on its own connection through
/// PgBouncer, each running `migrations` with `strategy` (`None`: the
/// default); their reports, in no particular order.
async fn replicas(
    db: &TestDb,
    pooling: Pooling,
    migrations: &'static Migrations,
    strategy: Option<LockStrategy>,
) -> Result<Vec<migrate_core::Result<Report>>, BoxError> {
    let mut clients = Vec::with_capacity(REPLICAS);
    for _ in 0..REPLICAS {
        clients.push(db.connect_pooled(pooling).await?);
    }
    let start = Arc::new(tokio::sync::Barrier::new(REPLICAS));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                let mut runner = migrations.runner();
                if let Some(strategy) = strategy {
                    runner = runner.lock_strategy(strategy);
                }
                start.wait().await;
                runner.run_async(&mut client).await
            })
        })
        .collect();
    let mut reports = Vec::with_capacity(REPLICAS);
    for task in tasks {
        reports.push(tokio::time::timeout(HANG, task).await??);
    }
    Ok(reports)
}

/// Every migration of `migrations` applied exactly once by the replicas,
/// none of which failed, and no lock left behind.
async fn applied_exactly_once(
    db: &TestDb,
    reports: Vec<migrate_core::Result<Report>>,
    migrations: &Migrations,
    context: &str,
) -> TestResult {
    let mut applied = Vec::new();
    for report in reports {
        let report = report.map_err(|e| format!("{context}: a replica failed: {e}"))?;
        applied.extend(report.applied().iter().map(|a| a.version));
    }
    applied.sort_unstable();
    let all: Vec<i64> = migrations.iter().map(|m| m.version()).collect();
    assert_eq!(
        applied, all,
        "{context}: each migration applied by one replica"
    );
    let check = db.connect().await?;
    let rows = history(&check, "_migrations").await?;
    assert!(rows.iter().all(|(_, finished, _)| *finished), "{context}");
    assert_eq!(rows.len(), all.len(), "{context}");
    assert_eq!(
        advisory_locks(&check).await?,
        0,
        "{context}: no advisory lock left"
    );
    assert_eq!(live_leases(&check).await?, 0, "{context}: no lease left");
    Ok(())
}

/// Leases that have not expired, if the lease table exists.
async fn live_leases(client: &Client) -> Result<i64, BoxError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('_migrations_lock') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT count(*) FROM _migrations_lock WHERE expires_at > clock_timestamp()",
            &[],
        )
        .await?
        .get(0))
}

/// How many times each version of the twenty ran.
async fn applied_log(client: &Client) -> Result<BTreeMap<i32, i64>, BoxError> {
    let rows = client
        .query(
            "SELECT version, count(*) FROM applied_log GROUP BY version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_replicas_through_pgbouncer_apply_each_migration_once() -> TestResult {
    let strategies = [
        Some(LockStrategy::Table),
        Some(LockStrategy::Transaction),
        None,
    ];
    for strategy in strategies {
        for round in 0..ROUNDS {
            let context = format!("{strategy:?}, round {round}");
            let db = TestDb::create().await?;
            let reports = replicas(&db, Pooling::TransactionRoundRobin, &TWENTY, strategy).await?;
            applied_exactly_once(&db, reports, &TWENTY, &context).await?;
            let log = applied_log(&db.connect().await?).await?;
            assert_eq!(log.len(), 20, "{context}");
            assert!(log.values().all(|count| *count == 1), "{context}: {log:?}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_replicas_through_pgbouncer_with_a_no_transaction_migration_take_the_lease()
-> TestResult {
    for round in 0..ROUNDS {
        let db = TestDb::create().await?;
        let reports = replicas(
            &db,
            Pooling::TransactionRoundRobin,
            &CONCURRENT,
            Some(LockStrategy::Table),
        )
        .await?;
        applied_exactly_once(&db, reports, &CONCURRENT, &format!("round {round}")).await?;
    }
    Ok(())
}

/// Opens `n` server sessions in PgBouncer's pool for `db`, so that a lone
/// client behind the round-robin pooler changes server session at every
/// transaction.
async fn warm_up(db: &TestDb, n: usize) -> TestResult {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let client = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
        client.batch_execute("BEGIN; SELECT 1").await?;
        clients.push(client);
    }
    for client in clients {
        client.batch_execute("COMMIT").await?;
    }
    Ok(())
}

#[tokio::test]
async fn through_pgbouncer_the_default_refuses_a_no_transaction_migration_and_leaves_no_lock()
-> TestResult {
    let db = TestDb::create().await?;
    // Migrations 1 and 2 are applied, so that the read before the lock
    // succeeds and notes its server session.
    CONCURRENT
        .runner()
        .target(2)
        .run_async(&mut db.connect().await?)
        .await?;
    warm_up(&db, 3).await?;
    let mut pooled = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    let error = CONCURRENT.run_async(&mut pooled).await.unwrap_err();
    let Error::Lock {
        problem: LockProblem::TransactionPooling { before, after },
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_ne!(before, after);
    let message = error.to_string();
    assert!(message.contains("transaction pooling"), "{message}");
    assert!(message.contains("--lock table"), "{message}");
    let direct = db.connect().await?;
    assert_eq!(
        history(&direct, "_migrations").await?,
        [(1, true, None), (2, true, None)],
        "nothing more was applied"
    );
    assert_eq!(
        advisory_locks(&direct).await?,
        0,
        "and no lock was left behind"
    );

    // The table strategy applies the rest through the same pooler.
    let report = CONCURRENT
        .runner()
        .lock_strategy(LockStrategy::Table)
        .run_async(&mut pooled)
        .await?;
    let versions: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(versions, [3, 4]);
    Ok(())
}

// --- A holder that dies, and one that outlives its lease ---

const CHILD_URL: &str = "MIGRATE_IT_LEASE_URL";

/// The child's work: take the lease through the URL it is given and apply
/// the slow folder, one migration per transaction, with a lease of 2 s. The
/// test below kills it with SIGKILL in the middle of the slow migration.
/// Run by the ordinary test run, it applies the folder on a fresh database.
#[tokio::test]
async fn lease_holder_child() -> TestResult {
    let fresh;
    let url = match std::env::var(CHILD_URL) {
        Ok(url) => url,
        Err(_) => {
            fresh = TestDb::create().await?;
            fresh.pooled_url(Pooling::TransactionRoundRobin)?
        }
    };
    let (mut client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let report = SLOW
        .runner()
        .lock_strategy(LockStrategy::Table)
        .lease_ttl(Duration::from_secs(2))
        .transaction_mode(TransactionMode::PerMigration)
        .run_async(&mut client)
        .await?;
    assert_eq!(report.applied().len(), 2);
    Ok(())
}

/// The lease row: owner, token, when it was taken, when it expires.
async fn lease_row(client: &Client) -> Result<(String, i64, String, String), BoxError> {
    let row = client
        .query_one(
            "SELECT owner, token, acquired_at::text, expires_at::text FROM _migrations_lock",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2), row.get(3)))
}

/// Waits until a session of this database sleeps in `pg_sleep`.
async fn until_sleeping(direct: &Client) -> TestResult {
    let deadline = Instant::now() + HANG;
    loop {
        let sleeping: bool = direct
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep')",
                &[],
            )
            .await?
            .get(0);
        if sleeping {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "no migration started sleeping");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_holder_killed_in_a_slow_migration_is_replaced_after_its_lease_expires() -> TestResult {
    let db = TestDb::create().await?;
    let direct = db.connect().await?;
    // PostgreSQL notices a vanished client during a long statement only
    // when asked to; PgBouncer closes the server connection of a client that
    // vanishes in a transaction.
    direct
        .batch_execute(&format!(
            "ALTER DATABASE {} SET client_connection_check_interval = '100ms'",
            db.name()
        ))
        .await?;
    // 0001 creates slow_switch; the child then sleeps in 0002 for a minute.
    SLOW.runner()
        .target(1)
        .lock_strategy(LockStrategy::Table)
        .run_async(&mut db.connect().await?)
        .await?;
    direct
        .batch_execute("INSERT INTO slow_switch VALUES (60)")
        .await?;
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "postgres::locks::lease_holder_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_URL, db.pooled_url(Pooling::TransactionRoundRobin)?)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    until_sleeping(&direct).await?;
    let (owner, token, _, expires_at) = lease_row(&direct).await?;
    child.kill()?;
    child.wait()?;
    direct.batch_execute("DELETE FROM slow_switch").await?;

    // A new runner waits for the dead holder's lease to expire, then takes
    // it over with the next token, and applies what the holder did not
    // commit, once.
    let mut pooled = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    let report = tokio::time::timeout(
        HANG,
        SLOW.runner()
            .lock_strategy(LockStrategy::Table)
            .lock_timeout(HANG)
            .run_async(&mut pooled),
    )
    .await??;
    let versions: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(versions, [2]);
    let (new_owner, new_token, acquired_at, _) = lease_row(&direct).await?;
    assert_ne!(new_owner, owner);
    assert_eq!(new_token, token + 1);
    let after: bool = direct
        .query_one(
            "SELECT $1::text::timestamptz >= $2::text::timestamptz",
            &[&acquired_at, &expires_at],
        )
        .await?
        .get(0);
    assert!(
        after,
        "taken over at {acquired_at}, before the expiry {expires_at}"
    );
    let log: Vec<i32> = direct
        .query("SELECT version FROM slow_log ORDER BY version", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(log, [1, 2], "each migration ran to its commit once");
    assert_eq!(live_leases(&direct).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_stale_holder_s_write_is_refused_by_the_fencing_token() -> TestResult {
    let db = TestDb::create().await?;
    let direct = db.connect().await?;
    let mut stale_client = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    // Its lease lasts 1 s, and 0002's first statement, outside any
    // transaction, sleeps 3 s without renewing it.
    let stale = tokio::spawn(async move {
        STALE
            .runner()
            .lock_strategy(LockStrategy::Table)
            .lease_ttl(Duration::from_secs(1))
            .run_async(&mut stale_client)
            .await
    });
    until_sleeping(&direct).await?;
    // Another runner takes the expired lease over, and releases it.
    let mut other = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    let repaired = STALE
        .runner()
        .lock_strategy(LockStrategy::Table)
        .lock_timeout(HANG)
        .repair_async(&mut other, 1)
        .await?;
    assert!(!repaired);
    let (_, token, _, _) = lease_row(&direct).await?;
    assert_eq!(token, 2, "the other runner's token");

    let error = tokio::time::timeout(HANG, stale).await??.unwrap_err();
    let Error::LeaseLost { token, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*token, 1);
    let chain = format!("{error}: {}", chain(&error));
    assert!(
        chain.contains("no longer holds the migration lease"),
        "{chain}"
    );
    // Its progress after the first statement was refused: the row says no
    // statement is done, so the next run stops there instead of going on.
    assert_eq!(
        history(&direct, "_migrations").await?,
        [(1, true, None), (2, false, Some(0))]
    );
    let next = STALE
        .runner()
        .lock_strategy(LockStrategy::Table)
        .run_async(&mut other)
        .await;
    assert!(
        matches!(next, Err(Error::Incomplete { version: 2, .. })),
        "{next:?}"
    );
    assert_eq!(live_leases(&direct).await?, 0);
    Ok(())
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&cause.to_string());
        text.push_str(": ");
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_long_transactional_migration_keeps_its_lease_past_its_time_to_live() -> TestResult {
    let db = TestDb::create().await?;
    let direct = db.connect().await?;
    SLOW.runner()
        .target(1)
        .lock_strategy(LockStrategy::Table)
        .run_async(&mut db.connect().await?)
        .await?;
    direct
        .batch_execute("INSERT INTO slow_switch VALUES (3)")
        .await?;
    let mut holder_client = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    let holder = tokio::spawn(async move {
        SLOW.runner()
            .lock_strategy(LockStrategy::Table)
            .lease_ttl(Duration::from_millis(500))
            .run_async(&mut holder_client)
            .await
    });
    until_sleeping(&direct).await?;
    // The lease has expired by the clock, but its row is held by the
    // holder's transaction: a runner that tries meanwhile waits and gives up.
    let mut other = db.connect_pooled(Pooling::TransactionRoundRobin).await?;
    let error = SLOW
        .runner()
        .lock_strategy(LockStrategy::Table)
        .lock_timeout(Duration::from_millis(1500))
        .run_async(&mut other)
        .await
        .unwrap_err();
    let Error::LockTimeout {
        holder: Some(lease),
        ..
    } = &error
    else {
        panic!("{error}");
    };
    let (owner, _, _, _) = lease_row(&direct).await?;
    assert_eq!(lease.owner.as_deref(), Some(owner.as_str()));
    let report = tokio::time::timeout(HANG, holder).await???;
    let versions: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(versions, [2]);
    Ok(())
}

// --- A CockroachDB-style server ---

/// Makes the database look like CockroachDB to new sessions: a schema
/// before `pg_catalog` in the `search_path` whose `version()` says
/// CockroachDB and whose advisory lock functions succeed without locking,
/// as CockroachDB's do. The rest is PostgreSQL.
async fn pretend_cockroach(db: &TestDb) -> TestResult {
    let client = db.connect().await?;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA cockroach;
             CREATE FUNCTION cockroach.version() RETURNS text LANGUAGE sql
                 AS $$ SELECT 'CockroachDB CCL v23.2.0 (x86_64-pc-linux-gnu, simulated by migrate''s tests)' $$;
             CREATE FUNCTION cockroach.pg_try_advisory_lock(bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
             CREATE FUNCTION cockroach.pg_try_advisory_xact_lock(bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
             CREATE FUNCTION cockroach.pg_advisory_unlock(bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
             ALTER DATABASE {} SET search_path = public, cockroach, pg_catalog",
            db.name()
        ))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cockroachdb_style_server_the_default_takes_the_lease() -> TestResult {
    let db = TestDb::create().await?;
    pretend_cockroach(&db).await?;
    // The simulation: two sessions both "take" the same advisory lock.
    let (a, b) = (db.connect().await?, db.connect().await?);
    for client in [&a, &b] {
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock(1)", &[])
            .await?
            .get(0);
        assert!(taken);
    }

    for strategy in [LockStrategy::Session, LockStrategy::Transaction] {
        let error = TWENTY
            .runner()
            .lock_strategy(strategy)
            .run_async(&mut db.connect().await?)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Lock {
                    problem: LockProblem::CockroachDb { .. },
                    ..
                }
            ),
            "{strategy}: {error}"
        );
        assert!(error.to_string().contains("--lock table"), "{error}");
    }

    let mut clients = Vec::with_capacity(REPLICAS);
    for _ in 0..REPLICAS {
        clients.push(db.connect().await?);
    }
    let start = Arc::new(tokio::sync::Barrier::new(REPLICAS));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                TWENTY.run_async(&mut client).await
            })
        })
        .collect();
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(tokio::time::timeout(HANG, task).await??);
    }
    applied_exactly_once(&db, reports, &TWENTY, "cockroach").await?;
    let lease = lease_row(&a).await?;
    assert!(lease.1 >= 1, "the lease was taken");
    Ok(())
}

// --- What each strategy costs in round trips ---

#[tokio::test]
async fn round_trips_of_each_strategy() -> TestResult {
    // (first deploy of two migrations, a deploy of one more, an up-to-date boot)
    let expected = [
        (None, [6, 6, 1]),
        (Some(LockStrategy::Session), [6, 6, 1]),
        (Some(LockStrategy::Transaction), [5, 5, 1]),
        (Some(LockStrategy::Table), [6, 6, 1]),
    ];
    for (strategy, [first, one, boot]) in expected {
        let db = TestDb::create().await?;
        let proxy = CountingProxy::start(&db)?;
        let mut client = proxy.connect().await?;
        let runner = |migrations: &'static Migrations| {
            let runner = migrations.runner().allow_out_of_order(true);
            match strategy {
                Some(strategy) => runner.lock_strategy(strategy),
                None => runner,
            }
        };
        proxy.take();
        runner(&HISTORY_A).run_async(&mut client).await?;
        assert_eq!(proxy.take(), first, "{strategy:?}: first deploy");
        runner(&HISTORY_B).run_async(&mut client).await?;
        assert_eq!(proxy.take(), one, "{strategy:?}: one migration");
        runner(&HISTORY_B).run_async(&mut client).await?;
        assert_eq!(proxy.take(), boot, "{strategy:?}: boot");
    }
    Ok(())
}
