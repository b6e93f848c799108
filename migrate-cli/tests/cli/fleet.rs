//! `up --fleet` and `status --fleet`: 500 SQLite files and 40 PostgreSQL
//! schemas in one fleet file, with a corrupt member, drifted members and a
//! locked one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use migrate_testkit::{BoxError, TestDb};
use rusqlite::Connection;

use crate::Workspace;

const FILES: usize = 500;
const SCHEMAS: usize = 40;
/// The member whose file holds garbage bytes.
const CORRUPT: usize = 42;
/// The SQLite member and the schema that applied version 1 from a file
/// edited since.
const DRIFTED_FILE: usize = 100;
const DRIFTED_SCHEMA: usize = 5;

fn tenant(workspace: &Workspace, n: usize) -> PathBuf {
    workspace.dir.path().join(format!("tenants/t{n:04}.db"))
}

fn sqlite_versions(path: &Path) -> Result<Vec<i64>, BoxError> {
    let conn = Connection::open(path)?;
    let mut select = conn.prepare("SELECT version FROM _migrations ORDER BY version")?;
    let versions = select.query_map([], |row| row.get(0))?;
    Ok(versions.collect::<Result<_, _>>()?)
}

async fn schema_versions(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<i64>, BoxError> {
    let rows = client
        .query(
            &format!("SELECT version FROM {schema}._migrations ORDER BY version"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The tenants' files (empty, so empty databases), and the fleet file
/// listing them, then the schemas of `db`.
fn write_fleet(workspace: &Workspace, db: &TestDb) -> Result<(), BoxError> {
    std::fs::create_dir(workspace.dir.path().join("tenants"))?;
    let mut fleet = String::from("# Every tenant: SQLite files, then PostgreSQL schemas.\n\n");
    for n in 0..FILES {
        std::fs::File::create(tenant(workspace, n))?;
        writeln!(fleet, "sqlite:tenants/t{n:04}.db")?;
    }
    writeln!(fleet, "\n# One schema per tenant.")?;
    for n in 0..SCHEMAS {
        writeln!(fleet, "{}?options=-csearch_path%3Ds{n:02}", db.url())?;
    }
    std::fs::write(workspace.dir.path().join("fleet.txt"), fleet)?;
    Ok(())
}

/// `"applied":538` in the counts of a fleet's JSON.
fn count(json: &str, verdict: &str, expected: usize) -> bool {
    json.contains(&format!("\"{verdict}\":{expected},"))
        || json.contains(&format!("\"{verdict}\":{expected}}}"))
}

#[tokio::test]
async fn five_hundred_files_and_forty_schemas_in_one_fleet() -> Result<(), BoxError> {
    let workspace = Workspace::with_fixture("tenants");
    let db = TestDb::create().await?;
    let admin = db.connect().await?;
    for n in 0..SCHEMAS {
        admin
            .batch_execute(&format!("CREATE SCHEMA s{n:02}"))
            .await?;
    }
    write_fleet(&workspace, &db)?;
    std::fs::write(
        tenant(&workspace, CORRUPT),
        "garbage, not a SQLite database: ".repeat(40),
    )?;
    let drifted_file = format!("sqlite:{}", tenant(&workspace, DRIFTED_FILE).display());
    workspace
        .migrate(&drifted_file, &["up", "--to", "1"])
        .expect(0);
    Connection::open(tenant(&workspace, DRIFTED_FILE))?.execute(
        "UPDATE _migrations SET checksum = 'edited' WHERE version = 1",
        [],
    )?;
    let drifted_schema = format!("{}?options=-csearch_path%3Ds{DRIFTED_SCHEMA:02}", db.url());
    workspace
        .migrate(&drifted_schema, &["up", "--to", "1"])
        .expect(0);
    admin
        .batch_execute(&format!(
            "UPDATE s{DRIFTED_SCHEMA:02}._migrations SET checksum = 'edited' WHERE version = 1"
        ))
        .await?;

    // Before: every member is behind, but for the corrupt and the drifted ones.
    let status = workspace
        .migrate("", &["status", "--fleet", "fleet.txt", "--json"])
        .expect(1);
    assert!(
        count(&status.stdout, "behind", FILES + SCHEMAS - 3),
        "{}",
        status.stdout
    );
    assert!(count(&status.stdout, "diverged", 2), "{}", status.stdout);
    assert!(count(&status.stdout, "failed", 1), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains("{\"database\":\"sqlite:tenants/t0100.db\",\"result\":\"diverged\""),
        "{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("\"pending\":[2,3],\"out_of_order\":[],\"missing\":[],\"drifted\":[1]")
    );

    // Up: everyone else is migrated; the corrupt member and the drifted ones
    // are named with their errors, and the exit code says something failed.
    let up = workspace
        .migrate(
            "",
            &["up", "--fleet", "fleet.txt", "--parallel", "8", "--json"],
        )
        .expect(1);
    assert!(
        count(&up.stdout, "applied", FILES + SCHEMAS - 3),
        "{}",
        up.stdout
    );
    assert!(count(&up.stdout, "failed", 3), "{}", up.stdout);
    assert!(
        up.stdout
            .starts_with("{\"command\":\"up\",\"databases\":540,\"parallel\":8,")
    );
    assert!(
        up.stdout.contains("\"result\":\"failed\",")
            && up.stdout.contains("file is not a database")
    );
    assert_eq!(
        up.stdout.matches("\"kind\":\"drift\"").count(),
        2,
        "{}",
        up.stdout
    );
    assert_eq!(up.stdout.lines().count(), 1, "one JSON object");
    assert!(
        up.stderr.is_empty(),
        "no progress with --json: {}",
        up.stderr
    );
    assert_eq!(sqlite_versions(&tenant(&workspace, 0))?, [1, 2, 3]);
    assert_eq!(sqlite_versions(&tenant(&workspace, FILES - 1))?, [1, 2, 3]);
    assert_eq!(sqlite_versions(&tenant(&workspace, DRIFTED_FILE))?, [1]);
    assert_eq!(schema_versions(&admin, "s00").await?, [1, 2, 3]);
    assert_eq!(schema_versions(&admin, "s39").await?, [1, 2, 3]);
    assert_eq!(
        schema_versions(&admin, &format!("s{DRIFTED_SCHEMA:02}")).await?,
        [1]
    );

    // Again, for people: the members at head are only counted, and every
    // failed member is named with its error, on stdout and as it happens
    // on stderr.
    let again = workspace
        .migrate("", &["up", "--fleet", "fleet.txt"])
        .expect(1);
    let failed: Vec<&str> = again
        .stdout
        .lines()
        .filter(|line| line.contains(" failed "))
        .collect();
    assert_eq!(failed.len(), 3, "{}", again.stdout);
    assert!(
        failed[0].starts_with("sqlite:tenants/t0042.db")
            && failed[0].contains("file is not a database")
    );
    assert!(failed[1].starts_with("sqlite:tenants/t0100.db") && failed[1].contains("migration 1"));
    assert!(
        failed[2].contains("csearch_path%3Ds05")
            && failed[2].contains("was edited after it was applied")
    );
    assert!(
        again
            .stdout
            .ends_with(" at a time: 537 at head, 3 failed\n"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("540 databases in "));
    assert_eq!(again.stderr.lines().count(), 3, "{}", again.stderr);

    // After: who is at head, and who disagrees with the migrations.
    let after = workspace
        .migrate("", &["status", "--fleet", "fleet.txt"])
        .expect(1);
    assert!(
        after.stdout.contains("537 at head, 2 diverged, 1 failed"),
        "{}",
        after.stdout
    );
    assert!(
        after.stdout.contains("behind by 2 (2, 3); drifted 1 (1)"),
        "{}",
        after.stdout
    );
    Ok(())
}

#[test]
fn a_locked_member_gives_up_at_its_timeout_and_the_rest_are_migrated() -> Result<(), BoxError> {
    let workspace = Workspace::with_fixture("tenants");
    std::fs::create_dir(workspace.dir.path().join("tenants"))?;
    let mut fleet = String::new();
    for n in 0..5 {
        std::fs::File::create(tenant(&workspace, n))?;
        writeln!(fleet, "sqlite:tenants/t{n:04}.db")?;
    }
    std::fs::write(workspace.dir.path().join("fleet.txt"), fleet)?;
    // Another writer holds member 3's write lock for the whole run.
    let holder = Connection::open(tenant(&workspace, 3))?;
    holder
        .execute_batch("CREATE TABLE other (x); BEGIN IMMEDIATE; INSERT INTO other VALUES (1)")?;
    let run = workspace
        .migrate(
            "",
            &[
                "up",
                "--fleet",
                "fleet.txt",
                "--member-timeout",
                "300ms",
                "--json",
            ],
        )
        .expect(1);
    assert!(count(&run.stdout, "applied", 4), "{}", run.stdout);
    assert!(count(&run.stdout, "skipped", 1), "{}", run.stdout);
    assert!(
        run.stdout.contains("\"result\":\"skipped\",")
            && run.stdout.contains("\"reason\":\"gave-up-waiting\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("database is locked"), "{}", run.stdout);
    holder.execute_batch("COMMIT")?;
    drop(holder);
    // The skipped member was left as it was; the next run migrates it.
    let history: i64 = Connection::open(tenant(&workspace, 3))?.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = '_migrations'",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(history, 0);
    let again = workspace
        .migrate("", &["up", "--fleet", "fleet.txt", "--json"])
        .expect(0);
    assert!(count(&again.stdout, "applied", 1), "{}", again.stdout);
    assert!(count(&again.stdout, "at_head", 4), "{}", again.stdout);
    Ok(())
}

#[test]
fn fleet_mistakes_are_usage_errors() -> Result<(), BoxError> {
    let workspace = Workspace::with_fixture("tenants");
    let dir = workspace.dir.path();
    std::fs::write(
        dir.join("fleet.txt"),
        "sqlite:a.db\nmysql://db/app\nsqlite:a.db\n",
    )?;
    let bad = workspace
        .migrate("", &["up", "--fleet", "fleet.txt"])
        .expect(2);
    assert!(
        bad.stderr
            .contains("fleet.txt:2: unsupported database URL `mysql://db/app`"),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains("fleet.txt:3: the same database as line 1"),
        "{}",
        bad.stderr
    );

    std::fs::write(dir.join("fleet.txt"), "sqlite:a.db\n")?;
    let down = workspace
        .migrate("", &["down", "--steps", "1", "--fleet", "fleet.txt"])
        .expect(2);
    assert!(
        down.stderr
            .contains("--fleet works with `up` and `status` only"),
        "{}",
        down.stderr
    );
    let dry = workspace
        .migrate("", &["up", "--dry-run", "--fleet", "fleet.txt"])
        .expect(2);
    assert!(
        dry.stderr.contains("migrate status --fleet FILE"),
        "{}",
        dry.stderr
    );
    workspace
        .migrate("", &["up", "--fleet", "fleet.txt", "--parallel", "0"])
        .expect(2);
    workspace
        .migrate("", &["up", "--fleet", "nowhere.txt"])
        .expect(2);

    // A missing file is a failed member, never created.
    let missing = workspace
        .migrate("", &["up", "--fleet", "fleet.txt"])
        .expect(1);
    assert!(
        missing
            .stdout
            .contains("is not a file; a fleet migrates existing databases only"),
        "{}",
        missing.stdout
    );
    assert!(!dir.join("a.db").exists());
    Ok(())
}
