//! `adopt` on real databases that each tool left behind: its history table
//! created with the tool's own DDL, filled as the tool fills it, next to the
//! tables its migrations created. After the adoption, a run applies only
//! what the tool had not, and the tool's table is as it was.
//!
//! The DDL of each table, with where it comes from:
//!
//! - sqlx 0.9: `ensure_migrations_table` in `sqlx-sqlite/src/migrate.rs` and
//!   `sqlx-postgres/src/migrate.rs`; rows from `apply` (`success` TRUE,
//!   `execution_time` updated after the commit).
//! - golang-migrate v4: `ensureVersionTable` in `database/sqlite3/sqlite3.go`
//!   and `database/postgres/postgres.go`; one row, from `SetVersion`.
//! - diesel 2.3: `diesel/src/migration/setup_migration_table.sql` (the same
//!   on both engines); rows from `diesel_migrations`'s `MigrationHarness`.
//! - refinery: `ASSERT_MIGRATIONS_TABLE_QUERY` in
//!   `refinery-core/src/traits/mod.rs` (the same on both engines).
//! - Wrangler (D1): `initMigrationsTable` in
//!   `packages/wrangler/src/d1/migrations/helpers.ts`. D1 is SQLite only.
//! - Prisma: `create_migrations_table` in
//!   `schema-engine/connectors/sql-schema-connector/src/flavour/sqlite.rs` and
//!   `…/postgres.rs`; on SQLite Prisma stores times as milliseconds.
//! - Flyway: `getRawCreateScript` of `SQLiteDatabase` and
//!   `PostgreSQLDatabase` (flyway-database-postgresql).

use migrate_core::rusqlite::Connection;
use migrate_core::rusqlite::types::ValueRef;
use migrate_core::{AdoptProblem, Error, Migration, Migrations, Source, Tool};
use migrate_testkit::{BoxError, TestDb};
use tokio_postgres::{Client, SimpleQueryMessage};

type TestResult = Result<(), BoxError>;

static SQLX: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-sqlx");
static GOLANG_MIGRATE: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/from-golang-migrate");
static DIESEL: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-diesel");
static REFINERY: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-refinery");
static D1: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-d1");
static PRISMA: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-prisma");
static FLYWAY: Migrations = migrate_core::embed_migrations!("tests/fixtures/from-flyway");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

/// Each tool's folder. The tool applied all but the last migration.
fn folder(tool: Tool) -> &'static Migrations {
    match tool {
        Tool::Sqlx => &SQLX,
        Tool::GolangMigrate => &GOLANG_MIGRATE,
        Tool::Diesel => &DIESEL,
        Tool::Refinery => &REFINERY,
        Tool::D1 => &D1,
        Tool::Prisma => &PRISMA,
        _ => &FLYWAY,
    }
}

/// The tool's table, as the tool creates it.
fn ddl(tool: Tool, engine: Engine) -> &'static str {
    match (tool, engine) {
        (Tool::Sqlx, Engine::Sqlite) => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);"
        }
        (Tool::Sqlx, Engine::Postgres) => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);"
        }
        (Tool::GolangMigrate, Engine::Sqlite) => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);
  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);"
        }
        (Tool::GolangMigrate, Engine::Postgres) => {
            r#"CREATE TABLE IF NOT EXISTS "public"."schema_migrations" (version bigint not null primary key, dirty boolean not null)"#
        }
        (Tool::Diesel, _) => {
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
       version VARCHAR(50) PRIMARY KEY NOT NULL,
       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);"
        }
        (Tool::Refinery, _) => {
            "CREATE TABLE IF NOT EXISTS refinery_schema_history(
             version INT4 PRIMARY KEY,
             name VARCHAR(255),
             applied_on VARCHAR(255),
             checksum VARCHAR(255));"
        }
        (Tool::D1, _) => {
            "CREATE TABLE IF NOT EXISTS d1_migrations(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);"
        }
        (Tool::Prisma, Engine::Sqlite) => {
            r#"CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
);"#
        }
        (Tool::Prisma, Engine::Postgres) => {
            "CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);"
        }
        (_, Engine::Sqlite) => {
            r#"CREATE TABLE "main"."flyway_schema_history" (
    "installed_rank" INT NOT NULL PRIMARY KEY,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    "execution_time" INT NOT NULL,
    "success" BOOLEAN NOT NULL
);
CREATE INDEX "main"."flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");"#
        }
        (_, Engine::Postgres) => {
            r#"CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL
);
ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success");"#
        }
    }
}

/// The rows the tool writes for the migrations it applied, as it writes them.
fn rows(tool: Tool, engine: Engine, applied: &[&Migration]) -> String {
    let sqlite = engine == Engine::Sqlite;
    let boolean = |value: bool| match (sqlite, value) {
        (true, true) => "1",
        (true, false) => "0",
        (false, true) => "true",
        (false, false) => "false",
    };
    let mut sql = String::new();
    for (index, migration) in applied.iter().enumerate() {
        let (version, description) = (migration.version(), migration.description());
        let rank = index + 1;
        sql += &match tool {
            Tool::Sqlx => {
                // sqlx's checksum is SHA-384 of the file; its bytes matter
                // only to sqlx.
                let checksum = match sqlite {
                    true => format!("X'{}'", "5a".repeat(48)),
                    false => format!("decode('{}', 'hex')", "5a".repeat(48)),
                };
                format!(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                     VALUES ({version}, '{}', TRUE, {checksum}, -1);\n\
                     UPDATE _sqlx_migrations SET execution_time = 1834020 WHERE version = {version};\n",
                    description.replace('_', " ")
                )
            }
            // golang-migrate keeps only the last version it reached.
            Tool::GolangMigrate if rank < applied.len() => String::new(),
            // `SetVersion`: the table emptied (`TRUNCATE` on PostgreSQL),
            // then the version written, dirty while its migration runs.
            Tool::GolangMigrate => {
                let empty = match sqlite {
                    true => "DELETE FROM schema_migrations",
                    false => r#"TRUNCATE "public"."schema_migrations""#,
                };
                format!(
                    "{empty};\nINSERT INTO schema_migrations (version, dirty) VALUES ({version}, {});\n\
                     {empty};\nINSERT INTO schema_migrations (version, dirty) VALUES ({version}, {});\n",
                    boolean(true),
                    boolean(false)
                )
            }
            Tool::Diesel => format!(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('{}');\n",
                diesel_version(migration)
            ),
            Tool::Refinery => format!(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
                 VALUES ({version}, '{description}', '2024-01-0{rank}T12:00:00.000000000+00:00', '1733495729{rank}');\n"
            ),
            Tool::D1 => format!(
                "INSERT INTO d1_migrations (name) values ('{}');\n",
                file_name(migration)
            ),
            Tool::Prisma => {
                let (started, finished) = match sqlite {
                    true => (format!("170410040{rank}100"), format!("170410040{rank}123")),
                    false => ("now()".to_owned(), "now()".to_owned()),
                };
                format!(
                    r#"INSERT INTO "_prisma_migrations" ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count") VALUES ('0d5bc4da-1e93-48bc-a752-b45711d0e6{rank:02}', '{}', {finished}, '{}', NULL, NULL, {started}, 1);
"#,
                    "9a".repeat(32),
                    directory_name(migration)
                )
            }
            _ => format!(
                r#"INSERT INTO "flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success") VALUES ({rank}, '{version}', '{}', 'SQL', '{}', {}, 'app', 12, {});
"#,
                description.replace('_', " "),
                file_name(migration),
                -1_023_456_789 + i64::try_from(rank).unwrap_or(0),
                boolean(true)
            ),
        };
    }
    sql
}

fn file_name(migration: &Migration) -> &str {
    migration.file().rsplit('/').next().unwrap_or_default()
}

fn directory_name(migration: &Migration) -> &str {
    migration.file().rsplit('/').nth(1).unwrap_or_default()
}

/// diesel's version: the directory's name before `_`, without `-`.
fn diesel_version(migration: &Migration) -> String {
    let directory = directory_name(migration);
    directory
        .split('_')
        .next()
        .unwrap_or_default()
        .replace('-', "")
}

/// The migrations the tool applied: all but the last.
fn applied_by_tool(tool: Tool) -> Vec<&'static Migration> {
    let migrations = folder(tool);
    migrations.iter().take(migrations.len() - 1).collect()
}

fn versions(migrations: &[&Migration]) -> Vec<i64> {
    migrations.iter().map(|m| m.version()).collect()
}

// --- SQLite ---

/// A SQLite file as `tool` left it.
fn sqlite_left_by(tool: Tool) -> Result<(tempfile::TempDir, Connection), BoxError> {
    let dir = tempfile::tempdir()?;
    let conn = Connection::open(dir.path().join("app.db"))?;
    let applied = applied_by_tool(tool);
    conn.execute_batch(ddl(tool, Engine::Sqlite))?;
    for migration in &applied {
        conn.execute_batch(migration.up().sql())?;
    }
    conn.execute_batch(&rows(tool, Engine::Sqlite, &applied))?;
    Ok((dir, conn))
}

fn sqlite_dump(conn: &Connection, table: &str) -> Result<Vec<Vec<String>>, BoxError> {
    let mut select = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1"))?;
    let columns = select.column_count();
    let mut rows = select.query([])?;
    let mut dump = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            values.push(match row.get_ref(index)? {
                ValueRef::Null => "NULL".to_owned(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(r) => r.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            });
        }
        dump.push(values);
    }
    Ok(dump)
}

fn sqlite_history(conn: &Connection) -> Result<Vec<(i64, String)>, BoxError> {
    let mut select = conn.prepare("SELECT version, checksum FROM _migrations ORDER BY version")?;
    let rows = select.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn sqlite_has_history(conn: &Connection) -> Result<bool, BoxError> {
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE name = '_migrations'",
        [],
        |row| row.get(0),
    )?;
    Ok(count == 1)
}

#[test]
fn every_tool_s_history_is_adopted_on_sqlite() -> TestResult {
    for tool in Tool::ALL {
        let migrations = folder(tool);
        let (_dir, mut conn) = sqlite_left_by(tool)?;
        let table = tool.default_table();
        let before = sqlite_dump(&conn, table)?;
        let applied = applied_by_tool(tool);

        let adoption = migrations.runner().adopt(&mut conn, tool)?;
        let recorded: Vec<i64> = adoption.recorded().iter().map(|a| a.version).collect();
        assert_eq!(recorded, versions(&applied), "{tool}");
        let text = adoption.to_string();
        assert!(
            text.contains("checksums: migrate recorded the SHA-256"),
            "{tool}: {text}"
        );
        assert!(
            text.contains(&format!("drop it: DROP TABLE \"{table}\";")),
            "{tool}: {text}"
        );

        let again = migrations.runner().adopt(&mut conn, tool)?;
        assert!(again.recorded().is_empty(), "{tool}: idempotent");
        assert_eq!(again.already_recorded(), versions(&applied), "{tool}");

        let report = migrations.run(&mut conn)?;
        let last = migrations.iter().last().map(Migration::version);
        let run: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
        assert_eq!(
            run,
            Vec::from_iter(last),
            "{tool}: only what the tool had not applied"
        );
        let history = sqlite_history(&conn)?;
        let expected: Vec<(i64, String)> = migrations
            .iter()
            .map(|m| (m.version(), m.checksum_hex()))
            .collect();
        assert_eq!(history, expected, "{tool}: migrate's own checksums");
        assert_eq!(
            sqlite_dump(&conn, table)?,
            before,
            "{tool}: the tool's table is untouched"
        );
        assert!(migrations.run(&mut conn)?.was_up_to_date(), "{tool}");
    }
    Ok(())
}

fn refused(result: migrate_core::Result<migrate_core::Adoption>) -> (AdoptProblem, String) {
    match result {
        Err(error @ Error::Adopt { .. }) => {
            let message = error.to_string();
            let Error::Adopt { problem, .. } = error else {
                unreachable!()
            };
            (problem, message)
        }
        other => panic!("expected a refused adoption, got {other:?}"),
    }
}

#[test]
fn failed_and_dirty_states_are_refused_on_sqlite_and_nothing_is_written() -> TestResult {
    let cases: [(Tool, &str, &str); 4] = [
        (
            Tool::Sqlx,
            "UPDATE _sqlx_migrations SET success = FALSE WHERE version = 20240102120000",
            "migration `20240102120000` is recorded as failed",
        ),
        (
            Tool::GolangMigrate,
            "UPDATE schema_migrations SET dirty = 1",
            "migration `2` is recorded as dirty",
        ),
        (
            Tool::Prisma,
            r#"UPDATE "_prisma_migrations" SET "finished_at" = NULL, "logs" = 'Database error' WHERE "migration_name" = '0002_add_posts'"#,
            "prisma migrate resolve",
        ),
        (
            Tool::Flyway,
            r#"UPDATE "flyway_schema_history" SET "success" = 0 WHERE "version" = '2'"#,
            "flyway repair",
        ),
    ];
    for (tool, break_it, says) in cases {
        let (_dir, mut conn) = sqlite_left_by(tool)?;
        conn.execute_batch(break_it)?;
        let (problem, message) = refused(folder(tool).runner().adopt(&mut conn, tool));
        assert!(
            matches!(problem, AdoptProblem::Failed { .. }),
            "{tool}: {message}"
        );
        assert!(message.contains(says), "{tool}: {message}");
        assert!(
            message.ends_with("nothing was written"),
            "{tool}: {message}"
        );
        assert!(!sqlite_has_history(&conn)?, "{tool}: nothing was written");
    }
    Ok(())
}

#[test]
fn a_recorded_migration_without_a_file_is_refused() -> TestResult {
    let (_dir, mut conn) = sqlite_left_by(Tool::D1)?;
    conn.execute_batch("INSERT INTO d1_migrations (name) values ('0004_create_comments.sql');")?;
    let (problem, message) = refused(D1.runner().adopt(&mut conn, Tool::D1));
    assert_eq!(
        problem,
        AdoptProblem::NoFile {
            migrations: vec!["`0004_create_comments.sql` (version 4)".to_owned()]
        }
    );
    assert!(message.contains("d1_migrations"), "{message}");
    assert!(!sqlite_has_history(&conn)?);
    Ok(())
}

#[test]
fn migrate_s_history_that_disagrees_is_refused() -> TestResult {
    let (_dir, mut conn) = sqlite_left_by(Tool::Refinery)?;
    REFINERY.runner().adopt(&mut conn, Tool::Refinery)?;
    conn.execute_batch("UPDATE _migrations SET checksum = 'edited' WHERE version = 1")?;
    let (problem, _) = refused(REFINERY.runner().adopt(&mut conn, Tool::Refinery));
    assert!(
        matches!(problem, AdoptProblem::Disagrees { version: 1, .. }),
        "{problem}"
    );
    Ok(())
}

#[test]
fn a_renamed_table_is_read_and_a_missing_one_named() -> TestResult {
    let (_dir, mut conn) = sqlite_left_by(Tool::Diesel)?;
    conn.execute_batch("ALTER TABLE __diesel_schema_migrations RENAME TO schema_history")?;
    let (problem, message) = refused(DIESEL.runner().adopt(&mut conn, Tool::Diesel));
    assert_eq!(problem, AdoptProblem::NoTable);
    assert!(message.contains("--from-table"), "{message}");
    let source = Source::new(Tool::Diesel).table("schema_history");
    let adoption = DIESEL.runner().adopt(&mut conn, source)?;
    assert_eq!(adoption.recorded().len(), 2);
    assert_eq!(adoption.table(), "schema_history");
    Ok(())
}

// --- PostgreSQL ---

async fn postgres_left_by(db: &TestDb, tool: Tool) -> Result<Client, BoxError> {
    let client = db.connect().await?;
    let applied = applied_by_tool(tool);
    client.batch_execute(ddl(tool, Engine::Postgres)).await?;
    for migration in &applied {
        client.batch_execute(migration.up().sql()).await?;
    }
    client
        .batch_execute(&rows(tool, Engine::Postgres, &applied))
        .await?;
    Ok(client)
}

async fn postgres_dump(client: &Client, table: &str) -> Result<Vec<Vec<String>>, BoxError> {
    let messages = client
        .simple_query(&format!("SELECT * FROM {table} ORDER BY 1"))
        .await?;
    Ok(messages
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("NULL").to_owned())
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

async fn postgres_history(client: &Client) -> Result<Vec<(i64, String)>, BoxError> {
    let rows = client
        .query(
            "SELECT version, checksum FROM _migrations ORDER BY version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

async fn postgres_has_history(client: &Client) -> Result<bool, BoxError> {
    let row = client
        .query_one("SELECT to_regclass('_migrations') IS NOT NULL", &[])
        .await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn every_tool_s_history_is_adopted_on_postgresql() -> TestResult {
    // Wrangler's D1 is SQLite; its table never exists on PostgreSQL.
    for tool in Tool::ALL.into_iter().filter(|tool| *tool != Tool::D1) {
        let db = TestDb::create().await?;
        let mut client = postgres_left_by(&db, tool).await?;
        let migrations = folder(tool);
        let table = tool.default_table();
        let before = postgres_dump(&client, table).await?;
        let applied = applied_by_tool(tool);

        let adoption = migrations.runner().adopt_async(&mut client, tool).await?;
        let recorded: Vec<i64> = adoption.recorded().iter().map(|a| a.version).collect();
        assert_eq!(recorded, versions(&applied), "{tool}");
        let again = migrations.runner().adopt_async(&mut client, tool).await?;
        assert!(again.recorded().is_empty(), "{tool}: idempotent");

        let report = migrations.run_async(&mut client).await?;
        let run: Vec<i64> = report.applied().iter().map(|a| a.version).collect();
        let last = migrations.iter().last().map(Migration::version);
        assert_eq!(run, Vec::from_iter(last), "{tool}");
        let expected: Vec<(i64, String)> = migrations
            .iter()
            .map(|m| (m.version(), m.checksum_hex()))
            .collect();
        assert_eq!(postgres_history(&client).await?, expected, "{tool}");
        assert_eq!(
            postgres_dump(&client, table).await?,
            before,
            "{tool}: untouched"
        );
        assert!(
            migrations.run_async(&mut client).await?.was_up_to_date(),
            "{tool}: the adoption kept the fingerprint current"
        );
    }
    Ok(())
}

#[tokio::test]
async fn failed_and_dirty_states_are_refused_on_postgresql_and_nothing_is_written() -> TestResult {
    let cases: [(Tool, &str, &str); 4] = [
        (
            Tool::Sqlx,
            "UPDATE _sqlx_migrations SET success = false WHERE version = 20240101120000",
            "is recorded as failed",
        ),
        (
            Tool::GolangMigrate,
            "UPDATE schema_migrations SET dirty = true",
            "dirty",
        ),
        (
            Tool::Prisma,
            "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '0002_add_posts'",
            "was rolled back",
        ),
        (
            Tool::Flyway,
            r#"UPDATE "flyway_schema_history" SET "success" = false WHERE "version" = '1'"#,
            "flyway repair",
        ),
    ];
    for (tool, break_it, says) in cases {
        let db = TestDb::create().await?;
        let mut client = postgres_left_by(&db, tool).await?;
        client.batch_execute(break_it).await?;
        let (problem, message) =
            refused(folder(tool).runner().adopt_async(&mut client, tool).await);
        assert!(
            matches!(problem, AdoptProblem::Failed { .. }),
            "{tool}: {message}"
        );
        assert!(message.contains(says), "{tool}: {message}");
        assert!(
            !postgres_has_history(&client).await?,
            "{tool}: nothing was written"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_table_renamed_into_a_schema_is_read_on_postgresql() -> TestResult {
    let db = TestDb::create().await?;
    let mut client = postgres_left_by(&db, Tool::GolangMigrate).await?;
    client
        .batch_execute(
            "CREATE SCHEMA ops; ALTER TABLE schema_migrations SET SCHEMA ops; \
             ALTER TABLE ops.schema_migrations RENAME TO versions",
        )
        .await?;
    let source = Source::new(Tool::GolangMigrate).table("ops.versions");
    let adoption = GOLANG_MIGRATE
        .runner()
        .adopt_async(&mut client, source)
        .await?;
    assert_eq!(adoption.recorded().len(), 2);
    assert_eq!(adoption.drop_statement(), r#"DROP TABLE "ops"."versions""#);
    Ok(())
}
