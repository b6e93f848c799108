//! `migrate adopt` and `migrate verify`, run as an operator would on a
//! database that golang-migrate left behind.

use migrate_testkit::{BoxError, TestDb};

use crate::Workspace;

/// golang-migrate's table (`ensureVersionTable` in `database/sqlite3/sqlite3.go`
/// and `database/postgres/postgres.go`) at version 2, with the schema of
/// its first two migrations.
fn left_by_golang_migrate(workspace: &Workspace, sqlite: bool) -> String {
    let ddl = match sqlite {
        true => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);"
        }
        false => {
            r#"CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)"#
        }
    };
    let mut sql = format!("{ddl};\n");
    for file in ["000001_create_users.up.sql", "000002_create_posts.up.sql"] {
        sql += &std::fs::read_to_string(workspace.migrations().join(file)).expect("a fixture");
    }
    sql += &format!(
        "INSERT INTO schema_migrations (version, dirty) VALUES (2, {});",
        if sqlite { "0" } else { "false" }
    );
    sql
}

/// Adopts, runs and verifies a clean database, then sees `verify` fail
/// once `break_it` has run.
fn adopt_up_and_verify(workspace: &Workspace, url: &str) {
    let adopt = workspace
        .migrate(url, &["adopt", "--from", "golang-migrate"])
        .expect(0);
    assert!(
        adopt.stdout.starts_with(
            "adopted 2 migrations that golang-migrate recorded in schema_migrations into _migrations\n  1 create_users\n  2 create_posts\nchecksums: migrate recorded the SHA-256"
        ),
        "{}",
        adopt.stdout
    );
    assert!(
        adopt
            .stdout
            .contains("drop it: DROP TABLE \"schema_migrations\";"),
        "{}",
        adopt.stdout
    );
    let again = workspace
        .migrate(url, &["adopt", "--from", "golang-migrate", "--json"])
        .expect(0);
    assert!(
        again
            .stdout
            .contains("\"recorded\":[],\"already_recorded\":[1,2]"),
        "{}",
        again.stdout
    );
    let up = workspace.migrate(url, &["up"]).expect(0);
    assert!(
        up.stdout.starts_with("applied 1 migration"),
        "{}",
        up.stdout
    );
    let verify = workspace
        .migrate(url, &["verify", "--dir", "no-such-folder"])
        .expect(0);
    assert_eq!(verify.stdout, "the checks found nothing wrong\n");
    let json = workspace.migrate(url, &["verify", "--json"]).expect(0);
    assert_eq!(json.stdout, "{\"clean\":true,\"findings\":[]}\n");
}

fn dirty_is_refused(workspace: &Workspace, url: &str) {
    let refused = workspace
        .migrate(url, &["adopt", "--from", "golang-migrate", "--json"])
        .expect(4);
    assert!(
        refused.stdout.starts_with("{\"error\":{\"kind\":\"adopt-refused\",\"message\":\"cannot adopt golang-migrate's history from its table schema_migrations: migration `2` is recorded as dirty"),
        "{}",
        refused.stdout
    );
}

#[test]
fn sqlite_adopt_up_and_verify() -> Result<(), BoxError> {
    let workspace = Workspace::with_fixture("from-golang-migrate");
    let path = workspace.dir.path().join("app.db");
    let url = format!("sqlite:{}", path.display());
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(&left_by_golang_migrate(&workspace, true))?;
    conn.execute_batch("UPDATE schema_migrations SET dirty = 1")?;
    dirty_is_refused(&workspace, &url);
    conn.execute_batch("UPDATE schema_migrations SET dirty = 0")?;

    adopt_up_and_verify(&workspace, &url);
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO posts (id, author_id, title) VALUES (3, 9, 'orphan');",
    )?;
    let found = workspace.migrate(&url, &["verify"]).expect(5);
    assert_eq!(
        found.stdout,
        "the checks found 1 problem:\n  foreign key: row 3 of posts points at no row of users (author_id -> id)\n"
    );
    let json = workspace.migrate(&url, &["verify", "--json"]).expect(5);
    assert!(
        json.stdout.starts_with("{\"clean\":false,\"findings\":[{\"kind\":\"foreign-key\",\"table\":\"posts\",\"rowid\":3,\"parent\":\"users\",\"columns\":\"author_id -> id\","),
        "{}",
        json.stdout
    );
    Ok(())
}

#[tokio::test]
async fn postgres_adopt_up_and_verify() -> Result<(), BoxError> {
    let db = TestDb::create().await?;
    let client = db.connect().await?;
    let url = db.url();
    let workspace = Workspace::with_fixture("from-golang-migrate");
    client
        .batch_execute(&left_by_golang_migrate(&workspace, false))
        .await?;
    client
        .batch_execute("ALTER TABLE schema_migrations RENAME TO versions")
        .await?;
    let missing = workspace
        .migrate(&url, &["adopt", "--from", "golang-migrate"])
        .expect(4);
    assert!(
        missing.stderr.contains("the table does not exist"),
        "{}",
        missing.stderr
    );
    client
        .batch_execute("ALTER TABLE versions RENAME TO schema_migrations; UPDATE schema_migrations SET dirty = true")
        .await?;
    dirty_is_refused(&workspace, &url);
    client
        .batch_execute("UPDATE schema_migrations SET dirty = false")
        .await?;

    adopt_up_and_verify(&workspace, &url);
    client
        .batch_execute(
            "ALTER TABLE tags ADD CONSTRAINT tags_name_short CHECK (length(name) < 40) NOT VALID",
        )
        .await?;
    let found = workspace.migrate(&url, &["verify"]).expect(5);
    assert!(
        found
            .stdout
            .contains("constraint tags_name_short on public.tags was added NOT VALID"),
        "{}",
        found.stdout
    );
    Ok(())
}
