//! The dry run on a real PostgreSQL: the throwaway server that
//! migrate-testkit starts for this test process.

use std::path::Path;
use std::thread;

use migrate_check::{ServerOptions, ServerVerdict, check_postgres_server};
use migrate_format::history::TableName;
use migrate_format::{Flavor, SourceMigration};

use crate::{corpus, folder, load, messages};

/// Runs `future` on a runtime of its own: the check runs its own runtime,
/// so the tests' async work happens apart from it.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// A URL of a fresh database on the test server, which the check uses to
/// create and drop its throwaway databases.
fn server_url() -> String {
    block_on(migrate_testkit::TestDb::create())
        .expect("the test server starts")
        .url()
}

fn options(url: &str) -> ServerOptions {
    ServerOptions {
        url: url.to_owned(),
        history_table: TableName::default(),
        cache: None,
    }
}

fn verdict(migrations: &[SourceMigration], options: &ServerOptions) -> ServerVerdict {
    check_postgres_server(migrations, options)
        .unwrap_or_else(|error| panic!("the check could not run: {error}"))
}

/// The problems the server finds in a folder of `(file name, SQL)` pairs.
fn server(files: &[(&str, &str)]) -> Vec<String> {
    let migrations = folder(files, Flavor::Postgres);
    messages(&verdict(&migrations, &options(&server_url())).problems)
}

/// The names of the check's throwaway databases on the server.
fn throwaway_databases(url: &str) -> Vec<String> {
    block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'migrate\\_check\\_%'",
                &[],
            )
            .await
            .expect("list the databases")
            .iter()
            .map(|row| row.get(0))
            .collect()
    })
}

fn execute(url: &str, sql: &str) {
    block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client.batch_execute(sql).await.expect(sql);
    });
}

const USERS: (&str, &str) = (
    "1_users.sql",
    "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n",
);

#[test]
fn the_postgres_corpus_passes_on_the_server() {
    let migrations = load(&corpus("postgres"), Flavor::Postgres);
    let url = server_url();
    let verdict = verdict(&migrations, &options(&url));
    assert_eq!(messages(&verdict.problems), Vec::<String>::new());
    assert!(verdict.server_version_num >= 120_000, "{verdict:?}");
    assert!(!verdict.cached);
}

#[test]
fn unknown_columns_tables_types_and_functions_are_found_where_they_are() {
    let column = server(&[
        USERS,
        ("2_seed.sql", "SELECT 1;\nUPDATE users SET name = nmae;\n"),
    ]);
    assert_eq!(
        column,
        [
            "migrations/2_seed.sql:2:25: column \"nmae\" does not exist; hint: Perhaps you meant to reference the column \"users.name\"."
        ]
    );
    let table = server(&[
        USERS,
        ("2_seed.sql", "INSERT INTO user_s (name)\nVALUES ('ada');"),
    ]);
    assert_eq!(
        table,
        ["migrations/2_seed.sql:1:13: relation \"user_s\" does not exist"]
    );
    let function = server(&[USERS, ("2_f.sql", "-- é\nSELECT lowr(name) FROM users;")]);
    assert_eq!(function.len(), 1, "{function:?}");
    assert!(
        function[0].starts_with(
            "migrations/2_f.sql:2:8: function lowr(text) does not exist; hint: No function matches"
        ),
        "{function:?}"
    );
    let kind = server(&[
        USERS,
        ("2_t.sql", "ALTER TABLE users ADD COLUMN mood moood;"),
    ]);
    assert_eq!(
        kind,
        ["migrations/2_t.sql:1:35: type \"moood\" does not exist"]
    );
}

#[test]
fn errors_inside_a_body_are_found_where_they_are() {
    let problems = server(&[
        USERS,
        (
            "2_do.sql",
            "DO $$\nBEGIN\n    INSERT INTO users (id, name) VALUES (1, 'a');\n    INSERT INTO userz (id) VALUES (2);\nEND\n$$;",
        ),
    ]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("migrations/2_do.sql:4:17: relation \"userz\" does not exist"),
        "{problems:?}"
    );
}

#[test]
fn the_dry_run_stops_at_the_first_failing_migration() {
    let problems = server(&[
        ("1_a.sql", "CREATE TABLE a (x int);\nSELECT nope FROM a;"),
        ("2_b.sql", "INSERT INTO a_typo VALUES (1);"),
    ]);
    assert_eq!(
        problems,
        ["migrations/1_a.sql:2:8: column \"nope\" does not exist"]
    );
}

#[test]
fn no_transaction_migrations_run_outside_a_transaction() {
    let problems = server(&[
        USERS,
        (
            "2_index.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_name ON users (name);\nVACUUM (ANALYZE) users;",
        ),
        ("3_use.sql", "DROP INDEX users_name;"),
    ]);
    assert_eq!(problems, Vec::<String>::new());
    // A failed statement is reported at its place, as the runtime would stop there.
    let failed = server(&[
        USERS,
        (
            "2_index.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_name ON users (name);\nCREATE INDEX CONCURRENTLY users_x ON users (x);",
        ),
    ]);
    assert_eq!(
        failed,
        ["migrations/2_index.sql:3:45: column \"x\" does not exist"]
    );
}

#[test]
fn transactional_migrations_share_a_transaction_as_at_run_time() {
    // The runtime applies both in one transaction, where PostgreSQL refuses
    // to use an enum value added in the same transaction.
    let together = server(&[
        ("1_type.sql", "CREATE TYPE mood AS ENUM ('ok');"),
        ("2_value.sql", "ALTER TYPE mood ADD VALUE 'meh';"),
        ("3_use.sql", "SELECT 'meh'::mood;"),
    ]);
    assert_eq!(together.len(), 1, "{together:?}");
    assert!(
        together[0].starts_with(
            "migrations/3_use.sql:1:8: unsafe use of new value \"meh\" of enum type mood"
        ),
        "{together:?}"
    );
    // Outside the transaction, the value is committed before it is used.
    let apart = server(&[
        ("1_type.sql", "CREATE TYPE mood AS ENUM ('ok');"),
        (
            "2_value.sql",
            "-- migrate:no-transaction\nALTER TYPE mood ADD VALUE 'meh';",
        ),
        ("3_use.sql", "SELECT 'meh'::mood;"),
    ]);
    assert_eq!(apart, Vec::<String>::new());
}

#[test]
fn down_migrations_run_against_the_schema_of_their_up_and_are_undone() {
    let problems = server(&[
        USERS,
        ("2_posts.up.sql", "CREATE TABLE posts (id int PRIMARY KEY);"),
        ("2_posts.down.sql", "DROP TABLE post;"),
        ("3_more.sql", "INSERT INTO posts (id) VALUES (1);"),
    ]);
    assert_eq!(
        problems,
        ["migrations/2_posts.down.sql:1:12: table \"post\" does not exist"]
    );
    let clean = server(&[
        ("1_posts.up.sql", "CREATE TABLE posts (id int PRIMARY KEY);"),
        ("1_posts.down.sql", "DROP TABLE posts;"),
        ("2_more.sql", "INSERT INTO posts (id) VALUES (1);"),
        (
            "3_index.up.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY posts_id ON posts (id);",
        ),
        (
            "3_index.down.sql",
            "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY posts_id;",
        ),
        ("4_after.sql", "DROP INDEX posts_id;"),
    ]);
    assert_eq!(clean, Vec::<String>::new());
    let bad_copy = server(&[
        ("1_posts.sql", "CREATE TABLE posts (id int PRIMARY KEY);"),
        ("2_index.up.sql", "CREATE INDEX posts_id ON posts (id);"),
        (
            "2_index.down.sql",
            "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY posts_idx;",
        ),
        ("3_after.sql", "DROP INDEX posts_id;"),
    ]);
    assert_eq!(
        bad_copy,
        ["migrations/2_index.down.sql:2:25: index \"posts_idx\" does not exist"]
    );
}

#[test]
fn settings_last_until_the_end_of_their_migration() {
    let problems = server(&[
        (
            "1_path.sql",
            "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE a (id int);",
        ),
        (
            "2_after.sql",
            "CREATE TABLE b (id int);\nSELECT 1 FROM public.b, app.a;",
        ),
        ("3_flag.sql", "SET app.flag = 'on';"),
        (
            "4_after.sql",
            "DO $$ BEGIN IF coalesce(current_setting('app.flag', true), '') <> '' THEN RAISE EXCEPTION 'the setting leaked'; END IF; END $$;",
        ),
    ]);
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn the_history_table_is_the_runtimes() {
    let files = [
        USERS,
        (
            "2_read.sql",
            "INSERT INTO users (id, name) SELECT version, description FROM app.history WHERE finished;",
        ),
    ];
    let migrations = folder(&files, Flavor::Postgres);
    let url = server_url();
    let mut options = options(&url);
    options.history_table = TableName::parse("app.history").unwrap();
    assert_eq!(
        messages(&verdict(&migrations, &options).problems),
        Vec::<String>::new()
    );
    // Under the default name, `app.history` does not exist.
    options.history_table = TableName::default();
    let problems = messages(&verdict(&migrations, &options).problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("\"app.history\" does not exist"),
        "{problems:?}"
    );
}

#[test]
fn unchecked_files_run_but_their_errors_are_not_reported() {
    let problems = server(&[
        (
            "1_partly.sql",
            "-- migrate:no-check\nCREATE EXTENSION not_installed_here;\nCREATE TABLE kept (id int);",
        ),
        ("2_use.sql", "INSERT INTO kept VALUES (1);"),
    ]);
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn the_throwaway_database_is_dropped_and_stale_ones_are_cleaned_up() {
    // The checks of the other tests run on the same server meanwhile: only
    // the databases this test knows of are looked at.
    let url = server_url();
    let passing = folder(&[USERS], Flavor::Postgres);
    let failing = folder(&[("1_x.sql", "SELECT nope;")], Flavor::Postgres);
    let before = throwaway_databases(&url);
    verdict(&passing, &options(&url));
    verdict(&failing, &options(&url));
    // A database that appeared meanwhile belongs to a check still running,
    // which drops it when it ends; one of ours would stay for good.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let left: Vec<String> = throwaway_databases(&url)
            .into_iter()
            .filter(|name| !before.contains(name) && !name.ends_with("_recent"))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: {left:?}"
        );
        thread::sleep(std::time::Duration::from_millis(100));
    }

    // What a killed build leaves: one database from long ago, one recent.
    let abandoned = "migrate_check_1000_abandoned";
    let recent = "migrate_check_99999999999_recent";
    execute(&url, &format!("CREATE DATABASE {abandoned}"));
    execute(&url, &format!("CREATE DATABASE {recent}"));
    verdict(&passing, &options(&url));
    let after = throwaway_databases(&url);
    assert!(!after.iter().any(|name| name == abandoned), "{after:?}");
    assert!(after.iter().any(|name| name == recent), "{after:?}");
    execute(&url, &format!("DROP DATABASE {recent}"));
}

#[test]
fn concurrent_checks_do_not_meet() {
    let url = server_url();
    let migrations = load(&corpus("postgres"), Flavor::Postgres);
    let checks: Vec<_> = (0..3)
        .map(|_| {
            let (url, migrations) = (url.clone(), migrations.clone());
            thread::spawn(move || messages(&verdict(&migrations, &options(&url)).problems))
        })
        .collect();
    for check in checks {
        assert_eq!(check.join().expect("the check ran"), Vec::<String>::new());
    }
}

#[test]
fn a_pass_is_cached_and_a_failure_is_not() {
    let cache = tempfile::tempdir().unwrap();
    let url = server_url();
    let mut options = options(&url);
    options.cache = Some(cache.path().join("folder"));
    let passing = folder(&[USERS], Flavor::Postgres);
    let first = verdict(&passing, &options);
    assert!(first.problems.is_empty() && !first.cached);
    let second = verdict(&passing, &options);
    assert!(second.cached, "{second:?}");
    assert_eq!(second.server_version_num, first.server_version_num);

    let failing = folder(
        &[USERS, ("2_x.sql", "SELECT nope FROM users;")],
        Flavor::Postgres,
    );
    for _ in 0..2 {
        let verdict = verdict(&failing, &options);
        assert!(!verdict.cached);
        assert_eq!(verdict.problems.len(), 1);
    }
    // The cached pass is keyed by the server too: another URL checks again.
    let mut elsewhere = options.clone();
    elsewhere.url = server_url();
    assert!(!verdict(&passing, &elsewhere).cached);
}

#[test]
fn a_server_that_cannot_be_reached_is_an_error_that_says_so() {
    let socket = tempfile::tempdir().unwrap();
    let url = format!(
        "postgresql://postgres@{}/postgres?connect_timeout=2",
        socket.path().display().to_string().replace('/', "%2F")
    );
    let error = check_postgres_server(&folder(&[USERS], Flavor::Postgres), &options(&url))
        .expect_err("no server listens there");
    assert!(
        error.starts_with("cannot connect to the check server postgres@"),
        "{error}"
    );
    assert!(
        error.contains("unset it to check the grammar only"),
        "{error}"
    );
}

#[test]
fn a_role_that_cannot_create_databases_is_told_what_it_needs() {
    let url = server_url();
    execute(
        &url,
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'migrate_check_no_createdb') THEN CREATE ROLE migrate_check_no_createdb LOGIN; END IF; END $$",
    );
    let limited = url.replacen(
        "postgresql://postgres@",
        "postgresql://migrate_check_no_createdb@",
        1,
    );
    let error = check_postgres_server(&folder(&[USERS], Flavor::Postgres), &options(&limited))
        .expect_err("the role may not create databases");
    assert!(error.contains("ALTER ROLE <role> CREATEDB"), "{error}");
}

#[test]
fn a_folder_path_is_not_needed_for_the_cache_to_stay_out_of_the_way() {
    // Without a cache folder every check connects, and nothing is written.
    let url = server_url();
    let passing = folder(&[USERS], Flavor::Postgres);
    assert!(!verdict(&passing, &options(&url)).cached);
    assert!(!verdict(&passing, &options(&url)).cached);
    assert!(!Path::new("verdict").exists());
}
