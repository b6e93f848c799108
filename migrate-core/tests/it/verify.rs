//! `verify`, `verify_after` and the foreign key check after a migration
//! that turned foreign keys off, on real databases broken the ways
//! production databases break.

use migrate_core::rusqlite::Connection;
use migrate_core::{Error, Finding, ForeignKeyViolation, Migrations, Resolution};
use migrate_testkit::{BoxError, TestDb};

type TestResult = Result<(), BoxError>;

static USERS_POSTS_TAGS: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-d1");
static REBUILD: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/foreign-keys-off", dialect = "sqlite");
static BROKEN_REBUILD: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/foreign-keys-off-broken", dialect = "sqlite");
static PG_VERIFY: Migrations = migrate_core::embed_migrations!("tests/fixtures/pg-verify");

fn migrated(migrations: &Migrations) -> Result<(tempfile::TempDir, Connection), BoxError> {
    let dir = tempfile::tempdir()?;
    let mut conn = Connection::open(dir.path().join("app.db"))?;
    migrations.run(&mut conn)?;
    Ok((dir, conn))
}

// --- SQLite ---

#[test]
fn a_dangling_foreign_key_is_reported_by_table_rowid_and_parent() -> TestResult {
    let (_dir, conn) = migrated(&USERS_POSTS_TAGS)?;
    conn.execute_batch(
        "INSERT INTO users (id, email) VALUES (1, 'ada@example.com');
         INSERT INTO posts (id, author_id, title) VALUES (1, 1, 'fine');",
    )?;
    assert!(USERS_POSTS_TAGS.runner().verify(&conn)?.is_clean());
    // Written by a connection with foreign keys off, as a bulk import is.
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO posts (id, author_id, title) VALUES (7, 42, 'orphan');
         PRAGMA foreign_keys = ON;",
    )?;
    let verification = USERS_POSTS_TAGS.runner().verify(&conn)?;
    let [Finding::ForeignKey(violation)] = verification.findings() else {
        panic!("{verification}");
    };
    assert_eq!(
        (
            violation.table.as_str(),
            violation.rowid,
            violation.parent.as_str(),
            violation.columns.as_str()
        ),
        ("posts", Some(7), "users", "author_id -> id")
    );
    assert_eq!(
        verification.to_string(),
        "the checks found 1 problem:\n  foreign key: row 7 of posts points at no row of users (author_id -> id)"
    );
    Ok(())
}

#[test]
fn a_corrupted_page_is_reported() -> TestResult {
    let (dir, conn) = migrated(&USERS_POSTS_TAGS)?;
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO users (id, email) SELECT i, printf('user-%05d@example.com', i) FROM n;",
    )?;
    let page_size: u32 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    let root: u32 = conn.query_row(
        "SELECT rootpage FROM sqlite_schema WHERE name = 'users'",
        [],
        |row| row.get(0),
    )?;
    drop(conn);
    // Garbage over the users table's root page, which now points at its
    // other pages; the schema on page 1 and the history stay readable.
    let path = dir.path().join("app.db");
    let mut file = std::fs::read(&path)?;
    let start = usize::try_from((root - 1) * page_size)?;
    let end = start + usize::try_from(page_size)?;
    assert!(
        root > 1 && end <= file.len(),
        "page {root} of {} bytes",
        file.len()
    );
    for (offset, byte) in file[start..end].iter_mut().enumerate() {
        *byte = [0xde, 0xad, 0xbe, 0xef][offset % 4];
    }
    std::fs::write(&path, file)?;

    let conn = Connection::open(&path)?;
    let verification = USERS_POSTS_TAGS.runner().verify(&conn)?;
    assert!(!verification.is_clean());
    assert!(
        verification
            .findings()
            .iter()
            .all(|finding| matches!(finding, Finding::Integrity { .. })),
        "{verification}"
    );
    assert_eq!(
        verification.to_string(),
        "the checks found 2 problems:\n  \
         integrity: PRAGMA integrity_check could not finish: database disk image is malformed\n  \
         integrity: table users cannot be read: database disk image is malformed"
    );
    Ok(())
}

#[test]
fn a_rebuild_with_foreign_keys_off_is_checked_before_the_run_succeeds() -> TestResult {
    let (_dir, conn) = migrated(&REBUILD)?;
    let columns: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_table_info('posts')",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(columns, 4, "the rebuild ran");
    Ok(())
}

#[test]
fn a_rebuild_that_breaks_a_foreign_key_fails_the_run_naming_the_table() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut conn = Connection::open(dir.path().join("app.db"))?;
    let error = BROKEN_REBUILD.run(&mut conn).unwrap_err();
    let Error::ForeignKeyViolation {
        version: 2,
        violations,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    let tables: Vec<(&str, Option<i64>, &str)> = violations
        .iter()
        .map(|v: &ForeignKeyViolation| (v.table.as_str(), v.rowid, v.parent.as_str()))
        .collect();
    assert_eq!(
        tables,
        [("posts", Some(1), "users"), ("posts", Some(2), "users")]
    );
    let message = error.to_string();
    assert!(
        message.starts_with(
            "migration 2 (tests/fixtures/foreign-keys-off-broken/0002_rebuild_posts.sql) turned foreign keys off and left rows that break them: row 1 of posts"
        ),
        "{message}"
    );
    let history: Vec<(i64, bool, Option<i64>)> = conn
        .prepare("SELECT version, finished, statements_done FROM _migrations ORDER BY version")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    assert_eq!(
        history,
        [(1, true, None), (2, false, Some(8))],
        "3 never ran"
    );

    // The next run stops at it, until the rows are repaired and it is resolved.
    assert!(matches!(
        BROKEN_REBUILD.run(&mut conn),
        Err(Error::Incomplete { version: 2, .. })
    ));
    conn.execute_batch("UPDATE posts SET author_id = author_id - 1")?;
    BROKEN_REBUILD
        .runner()
        .resolve(&mut conn, 2, Resolution::Completed)?;
    let report = BROKEN_REBUILD.run(&mut conn)?;
    assert_eq!(report.applied().len(), 1);
    assert!(BROKEN_REBUILD.runner().verify(&conn)?.is_clean());
    Ok(())
}

#[test]
fn verify_after_runs_the_checks_after_a_sqlite_run() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut conn = Connection::open(dir.path().join("app.db"))?;
    let runner = USERS_POSTS_TAGS.runner().verify_after(true);
    assert_eq!(runner.run(&mut conn)?.applied().len(), 3);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF; INSERT INTO tags (id, post_id, name) VALUES (1, 5, 'x');",
    )?;
    let error = runner.run(&mut conn).unwrap_err();
    let Error::Unverified {
        applied,
        verification,
    } = &error
    else {
        panic!("{error}");
    };
    assert!(applied.is_empty());
    assert!(
        matches!(&verification.findings()[0], Finding::ForeignKey(v) if v.table == "tags"),
        "{verification}"
    );
    Ok(())
}

// --- PostgreSQL ---

#[tokio::test]
async fn invalid_indexes_not_valid_constraints_lagging_sequences_and_incomplete_rows_are_reported()
-> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let runner = PG_VERIFY.runner();
    assert!(
        runner.verify_async(&client).await?.is_clean(),
        "before anything"
    );
    let error = runner.run_async(&mut client).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Migration {
                version: 2,
                statement: Some(1),
                ..
            }
        ),
        "{error}"
    );
    let verification = runner.verify_async(&client).await?;
    let described: Vec<String> = verification
        .findings()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        described,
        [
            "invalid index public.users_email on users: drop it and create it again (`DROP INDEX CONCURRENTLY`, then `CREATE INDEX CONCURRENTLY`)",
            "constraint posts_author_fk on public.posts was added NOT VALID and never validated: `ALTER TABLE … VALIDATE CONSTRAINT posts_author_fk` checks the old rows",
            "sequence public.posts_id_seq would hand out 1 next, but public.posts.id already reaches 5: move it on with `SELECT setval(…)`",
            "sequence public.users_id_seq would hand out 3 next, but public.users.id already reaches 10: move it on with `SELECT setval(…)`",
            "migration 2 (unique_emails) is incomplete after 0 statements: finish or undo it by hand, then `migrate resolve 2`",
        ],
        "{verification}"
    );

    // Repaired by hand, the database checks clean.
    client
        .batch_execute("DROP INDEX CONCURRENTLY users_email")
        .await?;
    client
        .batch_execute(
            "DELETE FROM posts WHERE author_id = 99;
             ALTER TABLE posts VALIDATE CONSTRAINT posts_author_fk;
             SELECT setval('users_id_seq', (SELECT max(id) FROM users));
             SELECT setval(pg_get_serial_sequence('posts', 'id'), 5);",
        )
        .await?;
    runner
        .resolve_async(&mut client, 2, Resolution::RolledBack)
        .await?;
    assert!(runner.verify_async(&client).await?.is_clean());
    Ok(())
}

#[tokio::test]
async fn verify_after_fails_a_postgresql_run_whose_checks_find_something() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = db.connect().await?;
    let error = PG_VERIFY
        .runner()
        .target(1)
        .verify_after(true)
        .run_async(&mut client)
        .await
        .unwrap_err();
    let Error::Unverified {
        applied,
        verification,
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [1]);
    assert_eq!(verification.findings().len(), 3, "{verification}");
    assert!(
        error
            .to_string()
            .starts_with("the run applied 1 migration, then the checks found 3 problems"),
        "{error}"
    );
    Ok(())
}
