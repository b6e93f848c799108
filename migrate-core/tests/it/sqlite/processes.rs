//! Start-ups that meet another connection or process: the runner's busy
//! timeout applies to every read, and a `no-transaction` migration whose
//! runner died is reported at once, while one still running is waited for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Migrations};

use super::{BASIC, TestDb, TestResult};

static LONG: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/sqlite-long-no-transaction");

/// How long any single run may take before a test calls it a hang: far
/// below the busy timeouts the runs are given, far above what they need.
const HANG: Duration = Duration::from_secs(60);

/// Set when this test binary runs as the child of the tests below: the
/// database to migrate.
const CHILD_DATABASE: &str = "MIGRATE_IT_CHILD_SQLITE";

/// The child's work: apply the long folder to the database the environment
/// names. Run by the ordinary test run, it applies it to a fresh database
/// and checks the result, the same work in one process.
#[test]
fn child_applies_the_long_sqlite_folder() -> TestResult {
    let fresh = TestDb::new();
    let path = std::env::var_os(CHILD_DATABASE).map_or_else(|| fresh.path.clone(), PathBuf::from);
    let mut conn = Connection::open(&path)?;
    let report = LONG.run(&mut conn)?;
    assert_eq!(report.applied().len(), 1);
    let numbers: i64 = conn.query_row("SELECT count(*) FROM numbers", [], |row| row.get(0))?;
    assert_eq!(numbers, 1_000_000);
    Ok(())
}

fn spawn_child(database: &Path) -> Result<Child, Box<dyn std::error::Error>> {
    Ok(Command::new(std::env::current_exe()?)
        .args([
            "sqlite::processes::child_applies_the_long_sqlite_folder",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD_DATABASE, database)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// Waits until the child has recorded statement 1 and started statement 2,
/// the long `INSERT`.
fn wait_for_statement_2(database: &Path) -> TestResult {
    let conn = Connection::open(database)?;
    conn.busy_timeout(HANG)?;
    let deadline = Instant::now() + HANG;
    loop {
        let done: Option<i64> = conn
            .query_row(
                "SELECT statements_done FROM _migrations WHERE finished = 0",
                [],
                |row| row.get(0),
            )
            .ok();
        if done == Some(1) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("the child never started statement 2".into());
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `run` in a thread and waits for it up to [`HANG`].
fn bounded<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(run()));
    receiver
        .recv_timeout(HANG)
        .map_err(|_| format!("the run did not end within {HANG:?}"))
}

#[test]
fn the_runner_s_busy_timeout_applies_to_the_first_read() -> TestResult {
    let db = TestDb::new();
    let holder = db.open();
    holder.execute_batch(
        "CREATE TABLE app (id INTEGER); BEGIN EXCLUSIVE; INSERT INTO app VALUES (1);",
    )?;
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        holder.execute_batch("COMMIT").map(|()| holder)
    });
    // The application's connection would give up at once; the runner's
    // timeout is what counts.
    let path = db.path.clone();
    let result = bounded(move || -> Result<_, Error> {
        let mut conn = Connection::open(&path).expect("open");
        conn.busy_timeout(Duration::ZERO).expect("busy timeout");
        BASIC.runner().busy_timeout(HANG * 10).run(&mut conn)
    })?;
    release.join().expect("the holder")?;
    assert_eq!(result?.applied().len(), BASIC.len());
    Ok(())
}

#[test]
fn a_start_up_waits_for_another_process_running_a_long_statement() -> TestResult {
    let db = TestDb::new();
    let mut child = spawn_child(&db.path)?;
    wait_for_statement_2(&db.path)?;
    let path = db.path.clone();
    let result = bounded(move || {
        let mut conn = Connection::open(&path).expect("open");
        conn.busy_timeout(Duration::ZERO).expect("busy timeout");
        LONG.runner().busy_timeout(HANG * 10).run(&mut conn)
    })?;
    assert!(child.wait()?.success(), "the child applied the folder");
    let report = result?;
    assert!(
        report.applied().is_empty(),
        "the child applied it, not this run"
    );
    Ok(())
}

#[test]
fn after_a_runner_was_killed_mid_migration_start_up_reports_incomplete_at_once() -> TestResult {
    let db = TestDb::new();
    let mut child = spawn_child(&db.path)?;
    wait_for_statement_2(&db.path)?;
    child.kill()?;
    child.wait()?;
    let mark = PathBuf::from(format!("{}-migrating", db.path.display()));
    assert!(mark.exists(), "the mark file stays beside the database");

    // A busy timeout far longer than the test's bound: waiting it out would
    // fail the test.
    let path = db.path.clone();
    let error = bounded(move || {
        let mut conn = Connection::open(&path).expect("open");
        LONG.runner().busy_timeout(HANG * 60).run(&mut conn)
    })?
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Incomplete {
                version: 1,
                statements_done: 1,
                ..
            }
        ),
        "{error}"
    );
    // SQLite rolled the killed statement back.
    let conn = db.open();
    let numbers: i64 = conn.query_row("SELECT count(*) FROM numbers", [], |row| row.get(0))?;
    assert_eq!(numbers, 0);
    Ok(())
}
