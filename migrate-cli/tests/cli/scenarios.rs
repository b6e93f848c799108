//! What the command line does, the same on every database: each scenario
//! takes a fresh database's URL.

use std::fs;

use crate::Workspace;

/// A fresh database, and how its engine words one error.
#[derive(Debug)]
pub struct Database {
    pub url: String,
    /// The engine's message for `INSERT INTO missing_table`.
    pub missing_table: &'static str,
}

pub fn check_lock_and_new(database: &Database) {
    let workspace = Workspace::with_fixture("shop");
    let url = database.url.clone();
    let check = workspace.migrate(&url, &["check"]).expect(0);
    assert!(
        check.stdout.contains("3 migrations, all valid"),
        "{}",
        check.stdout
    );

    // The SQLite dry run stops at the fixture's failing migration 3, as a
    // run would; the PostgreSQL grammar finds the syntax error of the new one.
    let (engine, expected) = if url.starts_with("sqlite") {
        (
            "sqlite",
            "migrations/0003_audit.up.sql:3:13: no such table: missing_table",
        )
    } else {
        ("postgres", "migrations/0009_typo.sql:1:")
    };
    fs::write(
        workspace.migrations().join("0009_typo.sql"),
        "CREATE TABLE broken (id INTEGER,);\n",
    )
    .expect("typo");
    let typo = workspace
        .migrate(&url, &["check", "--dialect", engine])
        .expect(3);
    assert!(typo.stderr.contains(expected), "{}", typo.stderr);
    fs::remove_file(workspace.migrations().join("0009_typo.sql")).expect("remove");

    workspace.migrate(&url, &["lock"]).expect(0);
    let lock = fs::read_to_string(workspace.migrations().join("migrate.lock")).expect("lock file");
    assert_eq!(
        lock.lines().filter(|l| !l.starts_with('#')).count(),
        4,
        "{lock}"
    );

    // An edited locked migration fails the check with exit code 3.
    fs::write(
        workspace.migrations().join("0001_create_customers.sql"),
        "CREATE TABLE customers (id INTEGER);\n",
    )
    .expect("edit");
    let edited = workspace.migrate(&url, &["check"]).expect(3);
    assert!(
        edited.stderr.contains("locked migration 1 was edited"),
        "{}",
        edited.stderr
    );
    assert_eq!(
        workspace.migrate(&url, &["status"]).code,
        3,
        "database commands refuse the folder too"
    );
    workspace.migrate(&url, &["lock"]).expect(0);
    workspace.migrate(&url, &["check"]).expect(0);

    let new = workspace
        .migrate(&url, &["new", "add_index", "--down"])
        .expect(0);
    assert!(
        new.stdout.contains("0004_add_index.up.sql and"),
        "{}",
        new.stdout
    );
    assert!(
        workspace
            .migrations()
            .join("0004_add_index.down.sql")
            .exists()
    );
    // The new files hold only a comment until SQL is written.
    let empty = workspace.migrate(&url, &["check"]).expect(3);
    assert!(
        empty
            .stderr
            .contains("0004_add_index.up.sql: has only comments"),
        "{}",
        empty.stderr
    );
    let bad = workspace.migrate(&url, &["new", "add index"]).expect(2);
    assert!(bad.stderr.contains("a space"), "{}", bad.stderr);
}

pub fn status_up_down_and_exit_codes(database: &Database) {
    let workspace = Workspace::with_fixture("shop");
    let url = database.url.clone();
    let status = workspace.migrate(&url, &["status"]).expect(0);
    assert_eq!(
        status.stdout.matches("pending").count(),
        3,
        "{}",
        status.stdout
    );

    let plan = workspace
        .migrate(&url, &["up", "--dry-run", "--to", "2"])
        .expect(0);
    assert!(
        plan.stdout.starts_with("would apply 2 migrations:"),
        "{}",
        plan.stdout
    );
    let up = workspace.migrate(&url, &["up", "--to", "2"]).expect(0);
    assert!(
        up.stdout.starts_with("applied 2 migrations"),
        "{}",
        up.stdout
    );
    assert!(
        up.stderr.contains("2 create_orders ... done"),
        "progress: {}",
        up.stderr
    );
    // Durations in units people read (never `0.0ns`).
    let timed = |line: &&str| line.contains('(') || line.starts_with("applied ");
    let lines: Vec<&str> = up
        .stdout
        .lines()
        .chain(up.stderr.lines())
        .filter(timed)
        .collect();
    assert!(lines.len() >= 3, "the run and each migration: {lines:?}");
    for line in lines {
        let line = line.trim_end_matches(')');
        assert!(
            [" µs", " ms", " s"].iter().any(|unit| line.ends_with(unit)),
            "{line}"
        );
    }

    let json = workspace.migrate(&url, &["status", "--json"]).expect(0);
    assert!(
        json.stdout
            .starts_with("{\"up_to_date\":false,\"migrations\":[{\"version\":1,"),
        "{}",
        json.stdout
    );
    assert!(
        json.stdout.contains("\"state\":\"pending\""),
        "{}",
        json.stdout
    );

    let down = workspace
        .migrate(&url, &["down", "--to", "1", "--json"])
        .expect(0);
    assert!(
        down.stdout
            .starts_with("{\"action\":\"rollback\",\"migrations\":[{\"version\":2,"),
        "{}",
        down.stdout
    );
    let irreversible = workspace
        .migrate(&url, &["down", "--steps", "1", "--json"])
        .expect(4);
    assert!(
        irreversible.stdout.contains("\"kind\":\"irreversible\""),
        "{}",
        irreversible.stdout
    );
    workspace.migrate(&url, &["down"]).expect(2);
    workspace
        .migrate("postgres-ish://nope", &["status"])
        .expect(2);
}

pub fn failed_no_transaction_migration_then_resolve(database: &Database) {
    let workspace = Workspace::with_fixture("shop");
    let url = database.url.clone();
    let failed = workspace.migrate(&url, &["up"]).expect(1);
    assert!(
        failed
            .stderr
            .contains("migration 3 (migrations/0003_audit.up.sql) failed at statement 2"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(database.missing_table),
        "{}",
        failed.stderr
    );

    let status = workspace.migrate(&url, &["status"]).expect(4);
    assert!(
        status
            .stdout
            .contains("incomplete: 1 statement completed, the next may or may not have"),
        "{}",
        status.stdout
    );
    let resolved = workspace
        .migrate(&url, &["resolve", "3", "--as", "completed"])
        .expect(0);
    assert_eq!(resolved.stdout.trim(), "resolved migration 3 as completed");
    workspace.migrate(&url, &["status"]).expect(0);
    workspace
        .migrate(&url, &["resolve", "3", "--as", "completed"])
        .expect(4);
}

pub fn baseline_and_repair(database: &Database) {
    let workspace = Workspace::with_fixture("shop");
    let url = database.url.clone();
    let baseline = workspace.migrate(&url, &["baseline", "2"]).expect(0);
    assert!(
        baseline.stdout.starts_with("baselined 2 migrations"),
        "{}",
        baseline.stdout
    );
    assert!(
        baseline
            .stdout
            .ends_with("\n  1 create_customers\n  2 create_orders\n"),
        "a baseline runs nothing, so it shows no durations: {}",
        baseline.stdout
    );

    fs::write(
        workspace.migrations().join("0002_create_orders.up.sql"),
        "CREATE TABLE orders (id INTEGER PRIMARY KEY);\n",
    )
    .expect("edit");
    let drift = workspace.migrate(&url, &["up"]).expect(4);
    assert!(
        drift.stderr.contains(
            "migration 2 (migrations/0002_create_orders.up.sql) was edited after it was applied"
        ),
        "{}",
        drift.stderr
    );
    let status = workspace.migrate(&url, &["status"]).expect(4);
    assert!(
        status.stdout.contains("edited after it was applied"),
        "{}",
        status.stdout
    );
    let repair = workspace.migrate(&url, &["repair", "2"]).expect(0);
    assert!(
        repair.stdout.starts_with("re-stamped migration 2"),
        "{}",
        repair.stdout
    );
    workspace.migrate(&url, &["repair", "2"]).expect(0);
    workspace.migrate(&url, &["repair", "3"]).expect(4);
}
