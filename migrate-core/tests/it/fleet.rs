//! Fleets: many SQLite files and PostgreSQL schemas migrated a bounded
//! number at a time, past members that fail, with member timeouts that
//! leave nothing half-done.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use migrate_core::fleet::{self, Fleet, Outcome, Skip, Verdict};
use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations};
use migrate_testkit::{BoxError, TestDb};
use tokio_postgres::Client;

static BASIC: Migrations = migrate_core::embed_migrations!("tests/fixtures/basic");
static PG: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-history-a");

type TestResult = Result<(), BoxError>;

/// `count` empty SQLite files (an empty file is an empty database) in a
/// new folder.
fn sqlite_files(count: usize) -> Result<(tempfile::TempDir, Vec<PathBuf>), BoxError> {
    let dir = tempfile::tempdir()?;
    let mut paths = Vec::with_capacity(count);
    for n in 0..count {
        let path = dir.path().join(format!("tenant{n:03}.db"));
        std::fs::File::create(&path)?;
        paths.push(path);
    }
    Ok((dir, paths))
}

fn applied_versions(path: &PathBuf) -> Result<Vec<i64>, BoxError> {
    let conn = Connection::open(path)?;
    let mut select = conn.prepare("SELECT version FROM _migrations ORDER BY version")?;
    let versions = select.query_map([], |row| row.get(0))?;
    Ok(versions.collect::<Result<_, _>>()?)
}

fn has_history(path: &PathBuf) -> Result<bool, BoxError> {
    let conn = Connection::open(path)?;
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = '_migrations'",
        [],
        |row| row.get(0),
    )?;
    Ok(count == 1)
}

#[test]
fn a_sqlite_fleet_goes_past_a_corrupt_member_and_refuses_a_drifted_one() -> TestResult {
    let (_dir, paths) = sqlite_files(40)?;
    std::fs::write(
        &paths[7],
        b"this is not a SQLite database, only garbage bytes .......",
    )?;
    // Member 12 applied the first migration from an edited file.
    BASIC
        .runner()
        .target(1)
        .run(&mut Connection::open(&paths[12])?)?;
    Connection::open(&paths[12])?.execute(
        "UPDATE _migrations SET checksum = 'edited' WHERE version = 1",
        [],
    )?;
    let missing = paths[0].with_file_name("no-such-tenant.db");
    let mut targets = paths.clone();
    targets.push(missing.clone());

    let finished = AtomicUsize::new(0);
    let report = Fleet::new(BASIC.runner())
        .parallel(4)
        .on_member(|event| {
            assert_eq!(event.total, 41);
            finished.fetch_add(1, Ordering::SeqCst);
        })
        .apply_sqlite(targets, fleet::open_existing);

    assert_eq!(finished.load(Ordering::SeqCst), 41);
    assert_eq!(report.members().len(), 41);
    assert_eq!(report.count(Verdict::Applied), 38, "{}", describe(&report));
    assert_eq!(report.count(Verdict::Failed), 3, "{}", describe(&report));
    let failed: Vec<&PathBuf> = report.failures().map(|(path, _)| path).collect();
    assert_eq!(failed, [&paths[7], &paths[12], &missing]);
    let errors: Vec<String> = report.failures().map(|(_, e)| chain(e)).collect();
    assert!(
        errors[0].contains("file is not a database"),
        "{}",
        errors[0]
    );
    assert!(matches!(
        report.members()[12].outcome,
        Outcome::Failed(Error::Drift { version: 1, .. })
    ));
    assert!(errors[2].contains("is not a file"), "{}", errors[2]);
    assert!(!missing.exists(), "a missing member is not created");
    // The drifted member got nothing more; every other member got all.
    assert_eq!(applied_versions(&paths[12])?, [1]);
    assert_eq!(applied_versions(&paths[0])?, [1, 2]);
    assert_eq!(applied_versions(&paths[39])?, [1, 2]);

    // Again: the members migrated before are at head; the others fail the same way.
    let again = Fleet::new(BASIC.runner()).apply_sqlite(paths, fleet::open_existing);
    assert_eq!(again.count(Verdict::AtHead), 38, "{}", describe(&again));
    assert_eq!(again.count(Verdict::Failed), 2, "{}", describe(&again));
    Ok(())
}

#[test]
fn a_sqlite_fleet_status_shows_who_is_behind_ahead_or_diverged() -> TestResult {
    let (_dir, paths) = sqlite_files(4)?;
    // 0: never migrated; 1: at head; 2: ahead (has a migration the binary lacks); 3: drifted.
    BASIC.run(&mut Connection::open(&paths[1])?)?;
    BASIC.run(&mut Connection::open(&paths[2])?)?;
    Connection::open(&paths[2])?.execute(
        "INSERT INTO _migrations (version, description, checksum, applied_at, execution_ms, finished) \
         SELECT 9, 'newer', checksum, applied_at, 0, finished FROM _migrations WHERE version = 1",
        [],
    )?;
    BASIC
        .runner()
        .target(1)
        .run(&mut Connection::open(&paths[3])?)?;
    Connection::open(&paths[3])?.execute(
        "UPDATE _migrations SET checksum = 'edited' WHERE version = 1",
        [],
    )?;

    let report = Fleet::new(BASIC.runner()).status_sqlite(paths.clone(), fleet::open_existing);
    let verdicts: Vec<Verdict> = report
        .members()
        .iter()
        .map(|m| m.outcome.verdict())
        .collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Behind,
            Verdict::AtHead,
            Verdict::Ahead,
            Verdict::Diverged
        ]
    );
    let lines: Vec<String> = report
        .members()
        .iter()
        .map(|m| m.outcome.to_string())
        .collect();
    assert_eq!(lines[0], "behind by 2 (1, 2)");
    assert_eq!(lines[2], "ahead by 1 (9)");
    assert_eq!(lines[3], "behind by 1 (2); drifted 1 (1)");
    // A status changes nothing: the member never migrated has no history.
    assert!(!has_history(&paths[0])?);
    Ok(())
}

/// Holds SQLite's write lock on `path`, as another runner applying a
/// migration does, until the returned connection commits or is dropped.
fn hold_write_lock(path: &PathBuf) -> Result<Connection, BoxError> {
    let holder = Connection::open(path)?;
    holder.execute_batch(
        "CREATE TABLE IF NOT EXISTS other (x); BEGIN IMMEDIATE; INSERT INTO other VALUES (1)",
    )?;
    Ok(holder)
}

#[test]
fn a_locked_sqlite_member_waits_within_its_timeout() -> TestResult {
    let (_dir, paths) = sqlite_files(3)?;
    let holder = hold_write_lock(&paths[1])?;
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.execute_batch("COMMIT").map_err(|e| e.to_string())
    });
    let report = Fleet::new(BASIC.runner())
        .member_timeout(Duration::from_secs(15))
        .apply_sqlite(paths.clone(), fleet::open_existing);
    release.join().expect("the holder's thread")?;
    assert_eq!(report.count(Verdict::Applied), 3, "{}", describe(&report));
    assert_eq!(applied_versions(&paths[1])?, [1, 2]);
    Ok(())
}

#[test]
fn a_sqlite_member_locked_past_its_timeout_is_skipped_and_left_untouched() -> TestResult {
    let (_dir, paths) = sqlite_files(3)?;
    let holder = hold_write_lock(&paths[1])?;
    // The runner would wait 60 s for the lock; the member timeout cuts that short.
    let report = Fleet::new(BASIC.runner().busy_timeout(Duration::from_secs(60)))
        .member_timeout(Duration::from_millis(300))
        .apply_sqlite(paths.clone(), fleet::open_existing);
    assert_eq!(report.count(Verdict::Applied), 2, "{}", describe(&report));
    assert_eq!(report.count(Verdict::Skipped), 1, "{}", describe(&report));
    let member = &report.members()[1];
    let Outcome::Skipped(Skip::Waiting { error }) = &member.outcome else {
        panic!("expected a skip after waiting, got {}", member.outcome);
    };
    assert!(
        chain(error).contains("database is locked"),
        "{}",
        chain(error)
    );
    assert!(
        member.elapsed < Duration::from_secs(30),
        "the member timeout, not the runner's busy timeout, ended the wait: {:?}",
        member.elapsed
    );
    // The holder's transaction is intact, and the skipped member changed nothing.
    holder.execute_batch("COMMIT")?;
    drop(holder);
    assert!(!has_history(&paths[1])?);
    // Once the lock is free, the next run migrates it.
    let again = Fleet::new(BASIC.runner()).apply_sqlite(paths, fleet::open_existing);
    assert_eq!(again.count(Verdict::Applied), 1, "{}", describe(&again));
    assert_eq!(again.count(Verdict::AtHead), 2, "{}", describe(&again));
    Ok(())
}

#[test]
fn after_the_maximum_of_failures_no_member_starts() -> TestResult {
    let (_dir, paths) = sqlite_files(6)?;
    for path in &paths[..2] {
        std::fs::write(
            path,
            b"garbage garbage garbage garbage garbage garbage garbage",
        )?;
    }
    let report = Fleet::new(BASIC.runner())
        .parallel(1)
        .max_failures(2)
        .apply_sqlite(paths.clone(), fleet::open_existing);
    assert_eq!(report.count(Verdict::Failed), 2, "{}", describe(&report));
    assert_eq!(report.count(Verdict::Skipped), 4, "{}", describe(&report));
    assert!(matches!(
        report.members()[2].outcome,
        Outcome::Skipped(Skip::AfterFailures { failures: 2 })
    ));
    assert!(!has_history(&paths[5])?);
    Ok(())
}

/// Every member and what happened to it, for assertion messages.
fn describe<T: std::fmt::Debug>(report: &fleet::FleetReport<T>) -> String {
    let mut text = report.summary().to_string();
    for member in report.members() {
        text.push_str(&format!("\n{:?}: {}", member.target, member.outcome));
    }
    text
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn is_send<T: Send>(_: &T) {}

/// A URL of `db` whose search_path is `schema`.
fn schema_url(db: &TestDb, schema: &str) -> String {
    format!("{}?options=-csearch_path%3D{schema}", db.url())
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn versions_in(client: &Client, schema: &str) -> Result<Vec<i64>, BoxError> {
    let rows = client
        .query(
            &format!("SELECT version FROM {schema}._migrations ORDER BY version"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

#[tokio::test]
async fn a_postgres_fleet_of_schemas_migrates_each_schema_and_refuses_drift() -> TestResult {
    let db = TestDb::create().await?;
    let admin = db.connect().await?;
    for n in 0..10 {
        admin
            .batch_execute(&format!("CREATE SCHEMA tenant_{n}"))
            .await?;
    }
    // tenant_3 applied version 1 from a file edited since.
    let mut drifted = connect(&schema_url(&db, "tenant_3")).await?;
    PG.runner().target(1).run_async(&mut drifted).await?;
    admin
        .batch_execute("UPDATE tenant_3._migrations SET checksum = 'edited' WHERE version = 1")
        .await?;
    let mut urls: Vec<String> = (0..10)
        .map(|n| schema_url(&db, &format!("tenant_{n}")))
        .collect();
    urls.push(schema_url(&db, "no_such_schema"));

    let fleet = Fleet::new(PG.runner())
        .parallel(4)
        .member_timeout(Duration::from_secs(20));
    let future = fleet.apply_postgres(urls, async |url: &String| connect(url).await);
    // A service can spawn a fleet on a multi-threaded runtime.
    is_send(&future);
    let report = future.await;

    assert_eq!(report.count(Verdict::Applied), 9, "{}", describe(&report));
    assert_eq!(report.count(Verdict::Failed), 2, "{}", describe(&report));
    assert!(matches!(
        report.members()[3].outcome,
        Outcome::Failed(Error::Drift { version: 1, .. })
    ));
    let no_schema = chain(report.members()[10].outcome.error().expect("failed"));
    assert!(
        no_schema.contains("no schema of the search_path exists"),
        "{no_schema}"
    );
    for n in [0, 9] {
        assert_eq!(versions_in(&admin, &format!("tenant_{n}")).await?, [1, 3]);
    }
    assert_eq!(versions_in(&admin, "tenant_3").await?, [1]);
    // Each schema has its own tables.
    let items: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'items' AND schemaname LIKE 'tenant_%'",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(items, 10);

    let status = Fleet::new(PG.runner())
        .status_postgres(
            (0..10).map(|n| schema_url(&db, &format!("tenant_{n}"))),
            async |url: &String| connect(url).await,
        )
        .await;
    assert_eq!(status.count(Verdict::AtHead), 9, "{}", describe(&status));
    assert_eq!(status.count(Verdict::Diverged), 1, "{}", describe(&status));
    Ok(())
}

#[tokio::test]
async fn a_postgres_member_waits_for_another_runner_or_gives_up_at_its_timeout() -> TestResult {
    let folder = tempfile::tempdir()?;
    std::fs::write(
        folder.path().join("0001_slow.sql"),
        "CREATE TABLE slow (id int);\nSELECT pg_sleep(2);\n",
    )?;
    let slow = Migrations::from_folder(folder.path())?;
    let db = TestDb::create().await?;
    let url = db.url();

    // Another runner applies the slow migration, holding the lock; two
    // fleets start once it holds it: one waits long enough, one does not.
    let holds = Arc::new(tokio::sync::Notify::new());
    let signal = Arc::clone(&holds);
    let mut other = db.connect().await?;
    let other_runner = slow.runner().on_progress(move |event| {
        if let migrate_core::Progress::Started(_) = event {
            signal.notify_one();
        }
    });
    let patient = Fleet::new(slow.runner()).member_timeout(Duration::from_secs(20));
    let hasty = Fleet::new(slow.runner()).member_timeout(Duration::from_millis(300));
    let fleets = async {
        holds.notified().await;
        tokio::join!(
            patient.apply_postgres([url.clone()], async |url: &String| connect(url).await),
            hasty.apply_postgres([url.clone()], async |url: &String| connect(url).await)
        )
    };
    let (applied, (patient, hasty)) = tokio::join!(other_runner.run_async(&mut other), fleets);
    assert_eq!(applied?.applied().len(), 1);

    // The patient member waited for the lock, then found nothing to do.
    assert_eq!(patient.count(Verdict::AtHead), 1, "{}", describe(&patient));
    // The hasty one gave up, saying who held the lock, and changed nothing.
    let member = &hasty.members()[0];
    let Outcome::Skipped(Skip::Waiting {
        error: Error::LockTimeout { holder, .. },
    }) = &member.outcome
    else {
        panic!("expected a lock timeout, got {}", member.outcome);
    };
    assert!(holder.is_some(), "the session holding the lock is named");
    assert!(
        member.elapsed < Duration::from_secs(2),
        "it gave up before the other runner finished: {:?}",
        member.elapsed
    );
    // No lock is left behind.
    let admin = db.connect().await?;
    let locks: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await?
        .get(0);
    assert_eq!(locks, 0);
    Ok(())
}

#[tokio::test]
async fn a_postgres_member_that_cannot_connect_in_time_is_skipped() -> TestResult {
    // A connection that never completes: a listener that accepts and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = format!("postgresql://nobody@127.0.0.1:{port}/nothing");
    let report = Fleet::new(PG.runner())
        .member_timeout(Duration::from_millis(200))
        .apply_postgres([url], async |url: &String| connect(url).await)
        .await;
    silent.abort();
    assert!(
        matches!(
            report.members()[0].outcome,
            Outcome::Skipped(Skip::Connecting { .. })
        ),
        "{}",
        describe(&report)
    );
    Ok(())
}
