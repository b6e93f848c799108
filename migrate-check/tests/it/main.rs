//! The checks against folders: the corpus of valid migrations must pass, and
//! each kind of mistake must be reported at its file, line and column.

// The dry run on a real PostgreSQL, the throwaway server of migrate-testkit.
mod postgres_server;
// The safety lints of both engines.
mod lints;

use std::path::Path;

use migrate_check::{
    Problem, SqliteOptions, check_postgres, check_sqlite, check_sqlite_cached, check_sqlite_with,
};
use migrate_format::history::TableName;
use migrate_format::{Flavor, SourceMigration, folder};

fn load(folder: &Path, flavor: Flavor) -> Vec<SourceMigration> {
    folder::load(folder, "migrations", flavor)
        .unwrap_or_else(|problems| panic!("the folder does not load: {problems:#?}"))
}

/// Writes a migrations folder of `(file name, SQL)` pairs and loads it.
fn folder(files: &[(&str, &str)], flavor: Flavor) -> Vec<SourceMigration> {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).unwrap();
    }
    load(dir.path(), flavor)
}

fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(ToString::to_string).collect()
}

fn corpus(dialect: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dialect)
}

#[test]
fn the_sqlite_corpus_passes() {
    let migrations = load(&corpus("sqlite"), Flavor::Sqlite);
    assert!(migrations.len() >= 10);
    assert_eq!(messages(&check_sqlite(&migrations)), Vec::<String>::new());
}

#[test]
fn the_postgres_corpus_passes() {
    for folder in ["postgres", "postgres-grammar"] {
        let migrations = load(&corpus(folder), Flavor::Postgres);
        assert!(migrations.len() >= 5);
        assert_eq!(messages(&check_postgres(&migrations)), Vec::<String>::new());
    }
}

fn sqlite(files: &[(&str, &str)]) -> Vec<String> {
    messages(&check_sqlite(&folder(files, Flavor::Sqlite)))
}

fn postgres(files: &[(&str, &str)]) -> Vec<String> {
    messages(&check_postgres(&folder(files, Flavor::Postgres)))
}

const USERS: (&str, &str) = (
    "1_users.sql",
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
);

#[test]
fn sqlite_syntax_errors_point_at_the_token() {
    let problems = sqlite(&[
        USERS,
        (
            "2_index.sql",
            "-- An index.\nCREATE INDX users_name ON users (name);\n",
        ),
    ]);
    assert_eq!(
        problems,
        ["migrations/2_index.sql:2:8: near \"INDX\": syntax error"]
    );
}

#[test]
fn sqlite_semantic_errors_are_found() {
    let column = sqlite(&[
        USERS,
        ("2_index.sql", "SELECT 1;\nCREATE INDEX i ON users (nam);\n"),
    ]);
    assert_eq!(column, ["migrations/2_index.sql:2:26: no such column: nam"]);
    let table = sqlite(&[
        USERS,
        ("2_seed.sql", "INSERT INTO user (name)\nVALUES ('ada');\n"),
    ]);
    assert_eq!(table, ["migrations/2_seed.sql:1:13: no such table: user"]);
    let function = sqlite(&[USERS, ("2_f.sql", "SELECT bin2b64(name) FROM users;")]);
    assert!(
        function[0]
            .starts_with("migrations/2_f.sql:1:8: no such function: bin2b64; if the application"),
        "{function:?}"
    );
    let constraint = sqlite(&[
        USERS,
        ("2_seed.sql", "\n\nINSERT INTO users (id) VALUES (1);"),
    ]);
    assert_eq!(
        constraint,
        ["migrations/2_seed.sql:3:1: NOT NULL constraint failed: users.name"]
    );
}

#[test]
fn the_dry_run_stops_at_the_first_failing_migration() {
    let problems = sqlite(&[
        ("1_a.sql", "CREATE TABLE a (x);\nSELEC 1;"),
        ("2_b.sql", "INSERT INTO a_typo VALUES (1);"),
    ]);
    assert_eq!(
        problems,
        ["migrations/1_a.sql:2:1: near \"SELEC\": syntax error"]
    );
}

#[test]
fn down_migrations_run_against_the_schema_of_their_up() {
    let problems = sqlite(&[
        USERS,
        (
            "2_posts.up.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("2_posts.down.sql", "DROP TABLE post;"),
        ("3_more.sql", "INSERT INTO posts (id) VALUES (1);"),
    ]);
    assert_eq!(
        problems,
        ["migrations/2_posts.down.sql:1:12: no such table: post"]
    );
    // The down migration was undone: the next migration still sees `posts`,
    // and a down that drops it checks cleanly.
    let clean = sqlite(&[
        (
            "1_posts.up.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("1_posts.down.sql", "DROP TABLE posts;"),
        ("2_more.sql", "INSERT INTO posts (id) VALUES (1);"),
    ]);
    assert_eq!(clean, Vec::<String>::new());
}

#[test]
fn attach_and_extensions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("side_effect.db");
    let attach = format!(
        "CREATE TABLE t (a);\nATTACH '{}' AS other;",
        target.display()
    );
    let problems = sqlite(&[("1_attach.sql", &attach)]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("migrations/1_attach.sql:2:1: ATTACH of the file"),
        "{problems:?}"
    );
    assert!(!target.exists(), "the dry run created {}", target.display());
    let extension = sqlite(&[("1_ext.sql", "SELECT load_extension('mod_spatialite');")]);
    assert!(
        extension[0].contains("load_extension() is refused"),
        "{extension:?}"
    );
    let memory = sqlite(&[(
        "1_memory.sql",
        "-- migrate:no-transaction\nATTACH ':memory:' AS scratch;\nDETACH scratch;",
    )]);
    assert_eq!(memory, Vec::<String>::new());
}

#[test]
fn the_transaction_is_the_runtimes() {
    let vacuum = sqlite(&[USERS, ("2_vacuum.sql", "VACUUM;")]);
    assert_eq!(
        vacuum,
        ["migrations/2_vacuum.sql:1:1: cannot VACUUM from within a transaction"]
    );
    let commit = sqlite(&[USERS, ("2_commit.sql", "DELETE FROM users;\nCOMMIT;")]);
    assert!(
        commit[0].starts_with("migrations/2_commit.sql:2:1: COMMIT would end the transaction"),
        "{commit:?}"
    );
    let outside = sqlite(&[
        USERS,
        (
            "2_vacuum.sql",
            "-- migrate:no-transaction\nVACUUM;\nBEGIN;\nCOMMIT;",
        ),
    ]);
    assert_eq!(outside, Vec::<String>::new());
}

#[test]
fn foreign_keys_follow_the_options() {
    let files = [
        ("1_a.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
        (
            "2_b.sql",
            "CREATE TABLE b (a_id INTEGER REFERENCES a (id));\nINSERT INTO b VALUES (7);",
        ),
    ];
    let migrations = folder(&files, Flavor::Sqlite);
    assert_eq!(
        messages(&check_sqlite(&migrations)),
        ["migrations/2_b.sql:2:1: FOREIGN KEY constraint failed"]
    );
    let off = check_sqlite_with(
        &migrations,
        SqliteOptions {
            foreign_keys: false,
            ..SqliteOptions::default()
        },
    );
    assert_eq!(messages(&off), Vec::<String>::new());
}

#[test]
fn the_history_table_exists_during_the_run() {
    let problems = sqlite(&[
        USERS,
        (
            "2_history.sql",
            "INSERT INTO users (id, name) SELECT version, description FROM _migrations;",
        ),
        (
            "3_check.sql",
            "-- migrate:no-transaction\nSELECT finished FROM _migrations WHERE version = 2;",
        ),
    ]);
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn escape_hatches_silence_the_dry_run() {
    let stubbed = sqlite(&[(
        "1_f.sql",
        "-- migrate:sqlite-function bin2b64/1\nCREATE TABLE t (d BLOB, b TEXT AS (bin2b64(d)));",
    )]);
    assert_eq!(stubbed, Vec::<String>::new());
    let wrong_arity = sqlite(&[(
        "1_f.sql",
        "-- migrate:sqlite-function bin2b64/2\nSELECT bin2b64(1);",
    )]);
    assert!(
        wrong_arity[0].contains("wrong number of arguments"),
        "{wrong_arity:?}"
    );
    let unchecked = sqlite(&[
        (
            "1_vec.sql",
            "-- migrate:no-check\nCREATE VIRTUAL TABLE v USING vec0 (e float[4]);\nCREATE TABLE kept (a);",
        ),
        ("2_use.sql", "INSERT INTO kept VALUES (1);"),
    ]);
    assert_eq!(unchecked, Vec::<String>::new());
}

#[test]
fn postgres_syntax_errors_are_found() {
    let problems = postgres(&[
        (
            "1_a.sql",
            "CREATE TABLE a (id int);\n\nCREATE TABEL b (id int);\n",
        ),
        ("2_b.up.sql", "SELECT 1;"),
        ("2_b.down.sql", "SELECT a,\n  b c d FROM t;"),
    ]);
    assert_eq!(
        problems,
        [
            "migrations/1_a.sql:3:1: syntax error: expected command, found `CREATE`; no PostgreSQL statement starts with `CREATE TABEL b`",
            "migrations/2_b.down.sql:2:6: syntax error: missing comma",
        ]
    );
}

#[test]
fn postgres_errors_inside_sql_function_bodies_are_found() {
    let problems = postgres(&[(
        "1_f.sql",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n  SELEC 1\n$$;",
    )]);
    assert_eq!(
        problems,
        [
            "migrations/1_f.sql:2:3: syntax error: expected command, found an identifier; no PostgreSQL statement starts with `SELEC 1`"
        ]
    );
}

#[test]
fn postgres_no_check_skips_the_parse() {
    let problems = postgres(&[(
        "1_a.sql",
        "-- migrate:no-check\nCREATE TABLE a (id int) ENGINE = InnoDB;",
    )]);
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn the_cache_gives_the_same_answers() {
    let cache = tempfile::tempdir().unwrap();
    let migrations = load(&corpus("sqlite"), Flavor::Sqlite);
    let options = SqliteOptions::default();
    for _ in 0..2 {
        let problems = check_sqlite_cached(&migrations, options.clone(), cache.path());
        assert_eq!(messages(&problems), Vec::<String>::new());
    }
    let broken = [
        USERS,
        (
            "2_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("3_seed.sql", "INSERT INTO post (id) VALUES (1);"),
    ];
    let broken = folder(&broken, Flavor::Sqlite);
    for _ in 0..2 {
        let problems = check_sqlite_cached(&broken, options.clone(), cache.path());
        assert_eq!(
            messages(&problems),
            ["migrations/3_seed.sql:1:13: no such table: post"]
        );
    }
}

#[test]
fn the_cache_resumes_from_the_unchanged_prefix() {
    let cache = tempfile::tempdir().unwrap();
    let options = SqliteOptions::default();
    let first = folder(
        &[
            USERS,
            (
                "2_posts.sql",
                "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
            ),
        ],
        Flavor::Sqlite,
    );
    assert!(check_sqlite_cached(&first, options.clone(), cache.path()).is_empty());
    // Mark the saved state, so that a run can only pass by restoring it.
    let saved: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let marked = mark_checkpoint(&saved[0]);
    let edited = folder(
        &[
            USERS,
            ("2_posts.sql", &format!("INSERT INTO {marked} VALUES (1);")),
        ],
        Flavor::Sqlite,
    );
    assert_eq!(
        messages(&check_sqlite_cached(&edited, options, cache.path())),
        Vec::<String>::new()
    );
    // Without the cache, the marker table does not exist.
    assert_eq!(
        messages(&check_sqlite(&edited)),
        [format!(
            "migrations/2_posts.sql:1:13: no such table: {marked}"
        )]
    );
}

/// Adds a table to a saved checkpoint, a plain SQLite file, with the C API
/// directly: the checker's own connections refuse to open other files.
fn mark_checkpoint(path: &Path) -> String {
    use libsqlite3_sys as sys;
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut db = std::ptr::null_mut();
    // SAFETY: a valid path and out-pointer; the handle is closed below.
    unsafe {
        assert_eq!(sys::sqlite3_open(name.as_ptr(), &mut db), sys::SQLITE_OK);
        let sql = c"CREATE TABLE restored_marker (a)";
        let code = sys::sqlite3_exec(
            db,
            sql.as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(code, sys::SQLITE_OK);
        sys::sqlite3_close(db);
    }
    "restored_marker".to_owned()
}

#[test]
fn views_are_checked_against_the_final_schema() {
    let broken = sqlite(&[
        USERS,
        (
            "2_view.sql",
            "-- A view over a misspelt table.\nCREATE VIEW names AS SELECT name FROM user;",
        ),
    ]);
    assert_eq!(
        broken,
        ["migrations/2_view.sql:2:1: the view names cannot be used: no such table: main.user"]
    );
    let created_later = sqlite(&[
        ("1_view.sql", "CREATE VIEW names AS SELECT name FROM users;"),
        ("2_users.sql", "CREATE TABLE users (name TEXT);"),
    ]);
    assert_eq!(created_later, Vec::<String>::new());
}

#[test]
fn a_down_migration_that_rolls_everything_back_stops_the_run() {
    let problems = sqlite(&[
        (
            "1_guard.up.sql",
            "CREATE TABLE t (a);\nCREATE TRIGGER no_delete BEFORE DELETE ON t BEGIN SELECT RAISE(ROLLBACK, 'kept'); END;\nINSERT INTO t VALUES (1);",
        ),
        ("1_guard.down.sql", "DELETE FROM t;\nDROP TABLE t;"),
        ("2_use.sql", "INSERT INTO t VALUES (2);"),
    ]);
    assert_eq!(problems, ["migrations/1_guard.down.sql:1:1: kept"]);
}

#[test]
fn the_history_table_is_the_one_the_runner_is_given() {
    let files = [(
        "1_read_history.sql",
        "CREATE VIEW applied AS SELECT version, checksum FROM schema_history;",
    )];
    let migrations = folder(&files, Flavor::Sqlite);
    let named = SqliteOptions {
        history_table: TableName::parse("schema_history").unwrap(),
        ..SqliteOptions::default()
    };
    assert_eq!(
        messages(&check_sqlite_with(&migrations, named)),
        Vec::<String>::new()
    );
    assert_eq!(
        messages(&check_sqlite(&migrations)),
        [
            "migrations/1_read_history.sql:1:1: the view applied cannot be used: no such table: main.schema_history"
        ]
    );
}
