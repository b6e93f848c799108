use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use migrate_core::rusqlite::Connection;
use migrate_core::{Migrations, TransactionMode};

static EXAMPLE: Migrations = migrate_core::embed_migrations!("migrations", dialect = "sqlite");
static SLOW: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/slow-migration", dialect = "sqlite");

/// Set when this test binary runs as a child process of the tests below.
const CHILD_DATABASE: &str = "MIGRATE_SUITE_CHILD_DATABASE";
const CHILD_FOLDER: &str = "MIGRATE_SUITE_CHILD_FOLDER";
const CHILD_MODE: &str = "MIGRATE_SUITE_CHILD_MODE";

/// The child's work: apply a folder to a database and print the versions it
/// applied. The tests below run this test alone in child processes, with
/// the environment naming the database. Run by the ordinary test run, it
/// checks the same work in one process on a fresh database.
#[test]
fn child_applies_migrations() -> Result<(), Box<dyn std::error::Error>> {
    let fresh = tempfile::tempdir()?;
    let database = std::env::var_os(CHILD_DATABASE)
        .map_or_else(|| fresh.path().join("child.db"), PathBuf::from);
    let migrations = match std::env::var(CHILD_FOLDER).as_deref() {
        Ok("slow") => &SLOW,
        _ => &EXAMPLE,
    };
    let mode = match std::env::var(CHILD_MODE).as_deref() {
        Ok("per-migration") => TransactionMode::PerMigration,
        _ => TransactionMode::Single,
    };
    let mut conn = Connection::open(&database)?;
    let report = migrations.runner().transaction_mode(mode).run(&mut conn)?;
    let versions: Vec<String> = report
        .applied()
        .iter()
        .map(|a| a.version.to_string())
        .collect();
    println!("applied: [{}]", versions.join(","));
    Ok(())
}

fn child(database: &Path, folder: &str, mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args([
            "processes::child_applies_migrations",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DATABASE, database)
        .env(CHILD_FOLDER, folder)
        .env(CHILD_MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn applied_by(output: &Output) -> Vec<i64> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("applied: [").map(|(_, versions)| versions))
        .unwrap_or_else(|| {
            panic!(
                "no report in the child's output:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    line.trim_end_matches(']')
        .split(',')
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().expect("a version"))
        .collect()
}

#[test]
fn processes_that_start_together_apply_each_migration_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = dir.path().join("shared.db");
        let children: Vec<_> = (0..8)
            .map(|i| {
                let mode = if i % 2 == 0 {
                    "single"
                } else {
                    "per-migration"
                };
                child(&database, "example", mode)
                    .spawn()
                    .expect("spawn a child")
            })
            .collect();
        let mut applied = Vec::new();
        for child in children {
            let output = child.wait_with_output().expect("the child ends");
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            applied.extend(applied_by(&output));
        }
        applied.sort_unstable();
        assert_eq!(
            applied,
            [1, 2, 3, 4, 5],
            "round {round}: each migration exactly once"
        );
        let conn = Connection::open(&database).expect("open");
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
            .expect("users");
        assert_eq!(users, 1, "the seed ran once");
    }
}

/// A process killed while a migration runs leaves nothing of it behind: the
/// migration and its history row commit together or not at all.
#[test]
fn a_process_killed_mid_migration_leaves_nothing_half_applied() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = dir.path().join("killed.db");
    let mut victim = child(&database, "slow", "single").spawn().expect("spawn");
    wait_until_locked(&database, Duration::from_secs(20));
    victim.kill().expect("kill the child");
    let _ = victim.wait();

    let conn = Connection::open(&database).expect("open");
    let history: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = '_migrations'",
            [],
            |row| row.get(0),
        )
        .expect("schema");
    assert_eq!(
        history, 0,
        "the history table was created in the killed transaction"
    );
    let numbers: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'numbers'",
            [],
            |row| row.get(0),
        )
        .expect("schema");
    assert_eq!(numbers, 0, "the killed migration left nothing");

    let output = child(&database, "slow", "single")
        .output()
        .expect("run again");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(applied_by(&output), [1]);
}

/// Waits until another connection holds the write lock, that is until the
/// child is inside its migration.
fn wait_until_locked(database: &Path, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(conn) = Connection::open(database) {
            conn.busy_timeout(Duration::ZERO).expect("busy timeout");
            if conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_err() {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the child never took the write lock");
}
