mod processes;
mod sessions;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migrate_core::rusqlite::Connection;
use migrate_core::rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use migrate_core::{Action, Error, Migrations, Resolution, Rollback, State, TransactionMode};

static BASIC: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/basic", dialect = "sqlite");
static EDITED: Migrations = migrate_core::embed_migrations!("tests/fixtures/edited");
static OLDER: Migrations = migrate_core::embed_migrations!("tests/fixtures/older");
static GAP: Migrations = migrate_core::embed_migrations!("tests/fixtures/gap");
static MERGED: Migrations = migrate_core::embed_migrations!("tests/fixtures/merged");
static FAILING: Migrations = migrate_core::embed_migrations!("tests/fixtures/failing");
static NO_TRANSACTION: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/no-transaction");
static NO_TRANSACTION_FAILING: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/no-transaction-failing");

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A database file in a fresh temporary folder, removed with the guard.
struct TestDb {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestDb {
    fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("test.db");
        TestDb { _dir: dir, path }
    }

    fn open(&self) -> Connection {
        Connection::open(&self.path).expect("open the database")
    }
}

fn applied_versions(conn: &Connection) -> Vec<i64> {
    let mut select = conn
        .prepare("SELECT version FROM _migrations ORDER BY version")
        .expect("history table");
    let versions = select.query_map([], |row| row.get(0)).expect("query");
    versions.collect::<Result<_, _>>().expect("rows")
}

fn table_exists(conn: &Connection, name: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |row| row.get::<_, i64>(0),
    )
    .expect("sqlite_schema")
        == 1
}

#[test]
fn applies_pending_migrations_once() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let report = BASIC.run(&mut conn)?;
    let applied: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2]);
    assert_eq!(
        report.applied()[1].file,
        "tests/fixtures/basic/0002_add_email.up.sql"
    );
    conn.execute(
        "INSERT INTO accounts (name, email) VALUES ('a', 'a@example.com')",
        [],
    )?;

    let again = BASIC.run(&mut db.open())?;
    assert!(again.was_up_to_date());
    assert_eq!(
        again.to_string().split(' ').take(5).collect::<Vec<_>>(),
        ["the", "database", "is", "up", "to"]
    );
    assert_eq!(applied_versions(&conn), [1, 2]);
    Ok(())
}

#[test]
fn the_history_records_each_migration() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    BASIC.run(&mut conn)?;
    let (description, checksum, applied_at, finished): (String, String, String, bool) = conn
        .query_row(
            "SELECT description, checksum, applied_at, finished FROM _migrations WHERE version = 2",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?;
    assert_eq!(description, "add_email");
    assert_eq!(checksum, BASIC.get(2).expect("version 2").checksum_hex());
    assert!(
        applied_at.ends_with('Z') && applied_at.len() == 24,
        "{applied_at}"
    );
    assert!(finished);
    Ok(())
}

#[test]
fn drift_is_refused_before_anything_is_applied() -> TestResult {
    let db = TestDb::new();
    BASIC.run(&mut db.open())?;
    let mut conn = db.open();
    match EDITED.run(&mut conn) {
        Err(Error::Drift {
            version,
            file,
            recorded,
            embedded,
        }) => {
            assert_eq!(version, 1);
            assert_eq!(file, "tests/fixtures/edited/0001_create_accounts.sql");
            assert_eq!(recorded, BASIC.get(1).expect("v1").checksum_hex());
            assert_eq!(embedded, EDITED.get(1).expect("v1").checksum_hex());
        }
        other => panic!("expected drift, got {other:?}"),
    }
    // Version 3 is pending in EDITED, but nothing was applied.
    assert!(!table_exists(&conn, "audit"));
    assert_eq!(applied_versions(&conn), [1, 2]);
    let status = EDITED.status(&conn)?;
    assert!(matches!(status.entries()[0].state, State::Drifted { .. }));
    assert_eq!(status.entries()[2].state, State::Pending);
    Ok(())
}

#[test]
fn a_database_newer_than_the_binary_is_refused_unless_allowed() -> TestResult {
    let db = TestDb::new();
    BASIC.run(&mut db.open())?;
    let mut conn = db.open();
    let error = OLDER
        .run(&mut conn)
        .expect_err("version 2 is missing from OLDER");
    assert!(
        matches!(&error, Error::Missing { version: 2, description } if description == "add_email"),
        "{error}"
    );
    assert!(error.to_string().contains("allow_missing"), "{error}");
    let report = OLDER.runner().allow_missing(true).run(&mut conn)?;
    assert!(report.was_up_to_date());
    assert_eq!(OLDER.status(&conn)?.entries()[1].state, State::Missing);
    Ok(())
}

#[test]
fn out_of_order_migrations_are_refused_unless_allowed() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    GAP.run(&mut conn)?;
    let error = MERGED
        .run(&mut conn)
        .expect_err("version 2 is below version 3");
    assert!(
        matches!(
            &error,
            Error::OutOfOrder {
                version: 2,
                highest_applied: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(MERGED.status(&conn)?.entries()[1].state, State::OutOfOrder);
    let report = MERGED.runner().allow_out_of_order(true).run(&mut conn)?;
    assert_eq!(
        report
            .applied()
            .iter()
            .map(|a| a.version)
            .collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(applied_versions(&conn), [1, 2, 3]);
    Ok(())
}

#[test]
fn a_failing_migration_rolls_back_the_whole_run_by_default() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let error = FAILING.run(&mut conn).expect_err("migration 2 fails");
    assert!(
        matches!(
            &error,
            Error::Migration {
                version: 2,
                statement: None,
                ..
            }
        ),
        "{error}"
    );
    let cause = std::error::Error::source(&error)
        .expect("the SQLite error")
        .to_string();
    assert!(cause.contains("no such table: no_such_table"), "{cause}");
    // One transaction for the run: version 1 went back with version 2.
    assert!(!table_exists(&conn, "accounts"));
    assert!(!table_exists(&conn, "logs"));
    assert!(
        !table_exists(&conn, "_migrations"),
        "even the history table's creation is undone"
    );
    Ok(())
}

#[test]
fn per_migration_transactions_keep_what_succeeded() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let runner = FAILING
        .runner()
        .transaction_mode(TransactionMode::PerMigration);
    let error = runner.run(&mut conn).expect_err("migration 2 fails");
    assert!(matches!(error, Error::Migration { version: 2, .. }));
    assert!(table_exists(&conn, "accounts"));
    assert!(
        !table_exists(&conn, "logs"),
        "migration 2 is rolled back whole"
    );
    assert!(!table_exists(&conn, "never"));
    assert_eq!(applied_versions(&conn), [1]);
    Ok(())
}

#[test]
fn no_transaction_migrations_run_outside_a_transaction() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let report = NO_TRANSACTION.run(&mut conn)?;
    assert_eq!(report.applied().len(), 2);
    assert!(NO_TRANSACTION.get(2).expect("v2").no_transaction());
    assert!(table_exists(&conn, "scratch"));
    assert!(NO_TRANSACTION.status(&conn)?.is_up_to_date());
    Ok(())
}

#[test]
fn a_no_transaction_migration_that_stops_half_way_is_never_rerun_blindly() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let error = NO_TRANSACTION_FAILING
        .run(&mut conn)
        .expect_err("statement 2 fails");
    assert!(
        matches!(
            error,
            Error::Migration {
                version: 2,
                statement: Some(2),
                ..
            }
        ),
        "{error}"
    );
    assert!(
        table_exists(&conn, "first_half"),
        "statement 1 ran outside a transaction"
    );
    assert!(!table_exists(&conn, "second_half"));

    let runner = NO_TRANSACTION_FAILING
        .runner()
        .busy_timeout(Duration::from_millis(100));
    let next = runner
        .run(&mut conn)
        .expect_err("the next run reports the state");
    assert!(
        matches!(&next, Error::Incomplete { version: 2, statements_done: 1, table, .. } if table == "_migrations"),
        "{next}"
    );
    assert!(
        next.to_string()
            .contains("migrate resolve 2 --as completed"),
        "{next}"
    );
    assert!(!table_exists(&conn, "second_half"), "nothing was re-run");
    assert_eq!(
        NO_TRANSACTION_FAILING.status(&conn)?.entries()[1].state,
        State::Incomplete { statements_done: 1 }
    );
    Ok(())
}

#[test]
fn status_changes_nothing() -> TestResult {
    let db = TestDb::new();
    let conn = db.open();
    let status = BASIC.status(&conn)?;
    assert_eq!(status.pending().count(), 2);
    assert!(!status.is_up_to_date());
    assert!(
        !table_exists(&conn, "_migrations"),
        "status does not create the history table"
    );
    let table = status.to_string();
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|line| line.contains("create_accounts") && line.ends_with("pending")),
        "{table}"
    );
    Ok(())
}

#[test]
fn the_history_table_name_is_configurable_and_validated() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    BASIC
        .runner()
        .history_table("schema_history")
        .run(&mut conn)?;
    assert!(table_exists(&conn, "schema_history"));
    assert!(!table_exists(&conn, "_migrations"));
    assert!(
        BASIC
            .runner()
            .history_table("main.schema_history")
            .run(&mut conn)?
            .was_up_to_date()
    );

    let injection = "x\"; DROP TABLE accounts; --";
    let error = BASIC
        .runner()
        .history_table(injection)
        .run(&mut conn)
        .expect_err("invalid name");
    assert!(matches!(error, Error::InvalidTableName { .. }), "{error}");
    assert!(table_exists(&conn, "accounts"));
    Ok(())
}

#[test]
fn a_target_stops_at_a_version() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    let report = BASIC.runner().target(1).run(&mut conn)?;
    assert_eq!(report.applied().len(), 1);
    assert_eq!(
        BASIC
            .status(&conn)?
            .pending()
            .map(|e| e.version)
            .collect::<Vec<_>>(),
        [2]
    );
    Ok(())
}

#[test]
fn the_callers_busy_timeout_is_restored() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    conn.busy_timeout(Duration::from_millis(1234))?;
    BASIC
        .runner()
        .busy_timeout(Duration::from_secs(9))
        .run(&mut conn)?;
    let timeout: i64 = conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
    assert_eq!(timeout, 1234);
    Ok(())
}

#[test]
fn an_up_to_date_start_up_prepares_one_statement_that_reads_one_pragma() -> TestResult {
    let db = TestDb::new();
    BASIC.run(&mut db.open())?;
    let mut conn = db.open();
    conn.busy_timeout(Duration::from_millis(1234))?;
    let prepared = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&prepared);
    // rusqlite 0.32 returns nothing here, later releases a `Result`.
    #[allow(clippy::let_unit_value)]
    let _ = conn.authorizer(Some(move |context: AuthContext<'_>| {
        seen.lock().expect("the list").push(match context.action {
            AuthAction::Pragma { pragma_name, .. } => format!("PRAGMA {pragma_name}"),
            other => format!("{other:?}"),
        });
        Authorization::Allow
    }));
    let report = BASIC
        .runner()
        .busy_timeout(Duration::from_secs(9))
        .run(&mut conn)?;
    assert!(report.was_up_to_date());
    assert_eq!(*prepared.lock().expect("the list"), ["PRAGMA user_version"]);
    // Nothing changed the connection's own busy timeout, so nothing had to
    // put it back.
    let timeout: i64 = conn.query_row("PRAGMA busy_timeout", [], |row| row.get(0))?;
    assert_eq!(timeout, 1234);
    Ok(())
}

#[test]
fn several_connections_in_threads_apply_each_migration_once() -> TestResult {
    let db = TestDb::new();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = db.path.clone();
            std::thread::spawn(move || {
                let mut conn = Connection::open(path).expect("open");
                let mode = if i % 2 == 0 {
                    TransactionMode::Single
                } else {
                    TransactionMode::PerMigration
                };
                BASIC
                    .runner()
                    .transaction_mode(mode)
                    .run(&mut conn)
                    .map(|r| r.applied().len())
            })
        })
        .collect();
    let mut total = 0;
    for thread in threads {
        total += thread.join().expect("no panic")?;
    }
    assert_eq!(total, 2, "each migration applied by exactly one thread");
    assert_eq!(applied_versions(&db.open()), [1, 2]);
    Ok(())
}

static REVERSIBLE: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/reversible", dialect = "sqlite");

fn versions(report: &migrate_core::Report) -> Vec<i64> {
    report.migrations().iter().map(|a| a.version).collect()
}

#[test]
fn rollback_runs_down_scripts_newest_first() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    REVERSIBLE.run(&mut conn)?;
    let report = REVERSIBLE.runner().rollback(&mut conn, Rollback::To(1))?;
    assert_eq!(report.action(), Action::Rollback);
    assert_eq!(versions(&report), [3, 2]);
    assert!(
        report.to_string().starts_with("rolled back 2 migrations"),
        "{report}"
    );
    assert!(!table_exists(&conn, "b") && !table_exists(&conn, "c"));
    assert!(table_exists(&conn, "a"));
    assert_eq!(applied_versions(&conn), [1]);
    assert_eq!(
        versions(&REVERSIBLE.run(&mut conn)?),
        [2, 3],
        "reverted migrations are pending again"
    );
    let one_step = REVERSIBLE
        .runner()
        .transaction_mode(TransactionMode::PerMigration)
        .rollback(&mut conn, Rollback::Steps(1))?;
    assert_eq!(versions(&one_step), [3]);
    assert_eq!(applied_versions(&conn), [1, 2]);
    Ok(())
}

#[test]
fn an_irreversible_migration_stops_the_rollback_before_anything_runs() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    REVERSIBLE.run(&mut conn)?;
    let error = REVERSIBLE
        .runner()
        .rollback(&mut conn, Rollback::Steps(3))
        .expect_err("1 has no down");
    assert!(
        matches!(&error, Error::Irreversible { version: 1, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("has no .down.sql file; nothing was reverted"),
        "{error}"
    );
    assert_eq!(applied_versions(&conn), [1, 2, 3]);
    assert!(table_exists(&conn, "c"));
    Ok(())
}

#[test]
fn baseline_records_without_running() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    // A database created before migrations were adopted.
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);",
    )?;
    let report = REVERSIBLE.runner().baseline(&mut conn, 2)?;
    assert_eq!(
        (report.action(), versions(&report)),
        (Action::Baseline, vec![1, 2])
    );
    assert_eq!(versions(&REVERSIBLE.run(&mut conn)?), [3]);
    let error = REVERSIBLE
        .runner()
        .baseline(&mut conn, 7)
        .expect_err("no version 7");
    assert!(
        matches!(error, Error::UnknownVersion { version: 7 }),
        "{error}"
    );
    Ok(())
}

#[test]
fn repair_restamps_one_deliberately_edited_migration() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    BASIC.run(&mut conn)?;
    assert!(matches!(
        EDITED.run(&mut conn),
        Err(Error::Drift { version: 1, .. })
    ));
    assert!(EDITED.runner().repair(&mut conn, 1)?);
    assert!(
        !EDITED.runner().repair(&mut conn, 1)?,
        "nothing left to repair"
    );
    assert_eq!(versions(&EDITED.run(&mut conn)?), [3]);
    assert!(matches!(
        EDITED.runner().repair(&mut conn, 9),
        Err(Error::UnknownVersion { version: 9 })
    ));
    let fresh = TestDb::new();
    assert!(matches!(
        EDITED.runner().repair(&mut fresh.open(), 1),
        Err(Error::NotApplied { version: 1 })
    ));
    Ok(())
}

#[test]
fn resolve_settles_an_incomplete_migration() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    assert!(NO_TRANSACTION_FAILING.run(&mut conn).is_err());
    let runner = NO_TRANSACTION_FAILING.runner();
    assert!(matches!(
        runner.resolve(&mut conn, 1, Resolution::Completed),
        Err(Error::NotIncomplete { version: 1 })
    ));

    // The operator finished the migration by hand.
    conn.execute_batch("CREATE TABLE second_half (id INTEGER);")?;
    runner.resolve(&mut conn, 2, Resolution::Completed)?;
    assert!(NO_TRANSACTION_FAILING.status(&conn)?.is_up_to_date());

    let other = TestDb::new();
    let mut conn = other.open();
    assert!(NO_TRANSACTION_FAILING.run(&mut conn).is_err());
    // The operator undid it by hand instead: it is pending again.
    conn.execute_batch("DROP TABLE first_half;")?;
    runner.resolve(&mut conn, 2, Resolution::RolledBack)?;
    assert_eq!(
        NO_TRANSACTION_FAILING
            .status(&conn)?
            .pending()
            .map(|e| e.version)
            .collect::<Vec<_>>(),
        [2]
    );
    Ok(())
}

fn pragma(conn: &Connection, name: &str) -> i32 {
    conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
        .expect("pragma")
}

/// "migr", the application_id of a database whose user_version migrate keeps.
const MIGRATE_APPLICATION_ID: i32 = 0x6d69_6772;

#[test]
fn start_up_with_nothing_pending_reads_one_pragma() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    BASIC.run(&mut conn)?;
    assert_eq!(pragma(&conn, "application_id"), MIGRATE_APPLICATION_ID);
    assert_ne!(pragma(&conn, "user_version"), 0);
    // The fast path does not touch the history table: even a renamed one is
    // not noticed, which is why the history must only change through migrate.
    conn.execute_batch("ALTER TABLE _migrations RENAME TO moved")?;
    assert!(BASIC.run(&mut db.open())?.was_up_to_date());
    assert!(
        BASIC.status(&conn)?.pending().count() == 2,
        "status always reads the table"
    );
    Ok(())
}

#[test]
fn the_fingerprint_never_hides_drift_or_a_newer_database() -> TestResult {
    let db = TestDb::new();
    BASIC.run(&mut db.open())?;
    assert!(matches!(
        EDITED.run(&mut db.open()),
        Err(Error::Drift { version: 1, .. })
    ));
    assert!(matches!(
        OLDER.run(&mut db.open()),
        Err(Error::Missing { version: 2, .. })
    ));
    // Another history table in the same database has its own fingerprint:
    // for it, nothing is applied yet, so the run tries and meets the tables.
    let other = BASIC.runner().history_table("other_history");
    assert_eq!(other.pending(&db.open())?.len(), 2);
    assert!(matches!(
        other.run(&mut db.open()),
        Err(Error::Migration { version: 1, .. })
    ));
    Ok(())
}

#[test]
fn the_fingerprint_follows_every_change_of_the_history() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    REVERSIBLE.run(&mut conn)?;
    let all_applied = pragma(&conn, "user_version");
    REVERSIBLE
        .runner()
        .rollback(&mut conn, Rollback::Steps(1))?;
    assert_ne!(pragma(&conn, "user_version"), all_applied);
    assert_eq!(versions(&REVERSIBLE.run(&mut conn)?), [3]);
    assert_eq!(pragma(&conn, "user_version"), all_applied);

    let failed = TestDb::new();
    let mut conn = failed.open();
    assert!(NO_TRANSACTION_FAILING.run(&mut conn).is_err());
    assert_eq!(
        pragma(&conn, "user_version"),
        0,
        "never up to date while a migration is incomplete"
    );
    Ok(())
}

#[test]
fn an_application_that_uses_user_version_keeps_it() -> TestResult {
    let db = TestDb::new();
    let mut conn = db.open();
    conn.execute_batch("PRAGMA user_version = 7;")?;
    BASIC.run(&mut conn)?;
    assert_eq!(
        (
            pragma(&conn, "user_version"),
            pragma(&conn, "application_id")
        ),
        (7, 0)
    );
    assert!(BASIC.run(&mut conn)?.was_up_to_date());
    assert!(matches!(EDITED.run(&mut conn), Err(Error::Drift { .. })));

    let opted_out = TestDb::new();
    let mut conn = opted_out.open();
    BASIC.runner().track_user_version(false).run(&mut conn)?;
    assert_eq!(
        (
            pragma(&conn, "user_version"),
            pragma(&conn, "application_id")
        ),
        (0, 0)
    );
    // A later runner with the default adopts the database once.
    assert!(BASIC.run(&mut conn)?.was_up_to_date());
    assert_eq!(pragma(&conn, "application_id"), MIGRATE_APPLICATION_ID);
    Ok(())
}
