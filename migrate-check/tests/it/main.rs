//! The checks against folders: the corpus of valid migrations must pass, and
//! each kind of mistake must be reported at its file, line and column.

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
    let migrations = load(&corpus("postgres"), Flavor::Postgres);
    assert!(migrations.len() >= 5);
    assert_eq!(messages(&check_postgres(&migrations)), Vec::<String>::new());
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
    // The folder check refuses a COMMIT before the dry run sees it, so the
    // dry run's own guard is tested on a migration edited after loading.
    let mut edited = folder(
        &[USERS, ("2_commit.sql", "DELETE FROM users;")],
        Flavor::Sqlite,
    );
    edited[1].up.sql.push_str("\nCOMMIT;");
    let commit = messages(&check_sqlite(&edited));
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
        .filter(|path| path.extension().is_some_and(|e| e == "sqlite"))
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

mod cache_agreement;

/// The folder of the issue: foreign keys turned off by an early
/// `no-transaction` migration, and a table dropped much later whose rows
/// another table references.
fn foreign_keys_off_long_ago() -> Vec<(String, String)> {
    let mut files = vec![
        (
            "0001_fk_off.sql".to_owned(),
            "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\n".to_owned(),
        ),
        (
            "0002_tables.sql".to_owned(),
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);\n\
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));\n\
             INSERT INTO parent VALUES (1);\nINSERT INTO child VALUES (1, 1);\n"
                .to_owned(),
        ),
    ];
    for n in 3..=150 {
        files.push((
            format!("{n:04}_t{n}.sql"),
            format!("CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\n"),
        ));
    }
    files.push((
        "0151_drop_parent.sql".to_owned(),
        "DROP TABLE parent;\n".to_owned(),
    ));
    files
}

#[test]
fn a_setting_lasts_until_the_end_of_its_migration_cold_or_warm() {
    let files = foreign_keys_off_long_ago();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let migrations = folder(&files, Flavor::Sqlite);
    let cache = tempfile::tempdir().unwrap();
    let expected = "migrations/0151_drop_parent.sql:1:1: FOREIGN KEY constraint failed; note that the `PRAGMA foreign_keys` of migrations/0001_fk_off.sql held only until the end of that migration: a connection setting made by a migration does not carry over to the migrations after it, as it would not in a deploy that applies migrations/0151_drop_parent.sql alone; set it in this migration, which must be `-- migrate:no-transaction` for foreign_keys";
    assert_eq!(messages(&check_sqlite(&migrations)), [expected]);
    // Cold, then warm: the checkpoints were saved before 0151 and hold no
    // connection setting.
    for _ in 0..2 {
        let problems = check_sqlite_cached(&migrations, SqliteOptions::default(), cache.path());
        assert_eq!(messages(&problems), [expected]);
    }
    // Deployed alone, 0151 passes when it turns foreign keys off itself.
    let mut fixed = files.clone();
    fixed.pop();
    fixed.push((
        "0151_drop_parent.sql",
        "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\nDROP TABLE parent;\nPRAGMA foreign_keys = ON;\n",
    ));
    let fixed = folder(&fixed, Flavor::Sqlite);
    for _ in 0..2 {
        let problems = check_sqlite_cached(&fixed, SqliteOptions::default(), cache.path());
        assert_eq!(messages(&problems), Vec::<String>::new());
    }
}

#[test]
fn every_setting_is_put_back_after_its_migration() {
    let check = sqlite(&[
        ("1_t.sql", "CREATE TABLE t (n INTEGER CHECK (n > 0));"),
        (
            "2_lax.sql",
            "PRAGMA ignore_check_constraints = ON;\nINSERT INTO t VALUES (-1);",
        ),
        ("3_more.sql", "INSERT INTO t VALUES (-2);"),
    ]);
    assert_eq!(check.len(), 1, "{check:?}");
    assert!(
        check[0].starts_with("migrations/3_more.sql:1:1: CHECK constraint failed: n > 0; note that the `PRAGMA ignore_check_constraints` of migrations/2_lax.sql held only"),
        "{check:?}"
    );
    // Undoing a down migration rolls back its changes, and the dry run puts
    // back its settings too.
    let down = sqlite(&[
        ("1_t.up.sql", "CREATE TABLE t (n INTEGER CHECK (n > 0));"),
        (
            "1_t.down.sql",
            "PRAGMA ignore_check_constraints = ON;\nDROP TABLE t;",
        ),
        ("2_seed.sql", "INSERT INTO t VALUES (-1);"),
    ]);
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(
        down[0].starts_with("migrations/2_seed.sql:1:1: CHECK constraint failed"),
        "{down:?}"
    );
    let unrestorable = sqlite(&[("1_like.sql", "PRAGMA case_sensitive_like = ON;")]);
    assert!(
        unrestorable[0]
            .starts_with("migrations/1_like.sql:1:1: PRAGMA case_sensitive_like is refused"),
        "{unrestorable:?}"
    );
}

#[test]
fn connection_objects_must_not_outlive_their_migration() {
    let temp = sqlite(&[
        ("1_t.sql", "CREATE TABLE t (a);"),
        (
            "2_stage.sql",
            "CREATE TEMP TABLE staging AS SELECT * FROM t;\nINSERT INTO t SELECT * FROM staging;",
        ),
    ]);
    assert_eq!(
        temp,
        [
            "migrations/2_stage.sql:1:19: leaves the TEMP table staging behind: it belongs to the connection, not the database, so a later migration would see it only when both run in one process; drop it before the end of this migration"
        ]
    );
    let attached = sqlite(&[(
        "1_scratch.sql",
        "-- migrate:no-transaction\nATTACH ':memory:' AS scratch;\nCREATE TABLE scratch.s (a);",
    )]);
    assert_eq!(attached.len(), 1, "{attached:?}");
    assert!(
        attached[0].starts_with(
            "migrations/1_scratch.sql:2:22: leaves the attached database scratch behind"
        ) && attached[0].ends_with("DETACH it before the end of this migration"),
        "{attached:?}"
    );
    let cleaned = sqlite(&[(
        "1_stage.sql",
        "CREATE TEMP TABLE staging (a);\nCREATE TABLE t AS SELECT * FROM staging;\nDROP TABLE staging;",
    )]);
    assert_eq!(cleaned, Vec::<String>::new());
    // A file that is not checked reports nothing, but what it leaves is
    // removed all the same: the next migration cannot use it.
    let unchecked = sqlite(&[
        (
            "1_stage.sql",
            "-- migrate:no-check\nCREATE TEMP TABLE staging (a);",
        ),
        ("2_use.sql", "CREATE TABLE t AS SELECT * FROM staging;"),
    ]);
    assert_eq!(
        unchecked,
        ["migrations/2_use.sql:1:33: no such table: staging"]
    );
}

#[test]
fn a_deferred_violation_must_be_repaired_in_its_migration() {
    let parent = (
        "1_parent.sql",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
    );
    let left = sqlite(&[
        parent,
        ("2_child.sql", "INSERT INTO child VALUES (7);"),
        ("3_parent.sql", "INSERT INTO parent VALUES (7);"),
    ]);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0].starts_with("migrations/2_child.sql: leaves a foreign key violation for COMMIT"),
        "{left:?}"
    );
    let repaired = sqlite(&[
        parent,
        (
            "2_both.sql",
            "INSERT INTO child VALUES (7);\nINSERT INTO parent VALUES (7);",
        ),
    ]);
    assert_eq!(repaired, Vec::<String>::new());
}

#[test]
fn the_build_machine_is_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("{}/", dir.path().display());
    let computed = format!(
        "-- migrate:no-transaction\nATTACH '{prefix}sand' || 'box.db' AS e;\nCREATE TABLE e.t (x INTEGER);"
    );
    let problems = sqlite(&[("1_attach.sql", &computed)]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("migrations/1_attach.sql:2:1: ATTACH of a file name computed by an expression is refused"),
        "{problems:?}"
    );
    let uri = format!("-- migrate:no-transaction\nATTACH 'file:{prefix}uri.db?mode=memory' AS u;");
    let problems = sqlite(&[("1_uri.sql", &uri)]);
    assert!(
        problems[0].contains("ATTACH of the file 'file:"),
        "{problems:?}"
    );
    let vacuum = format!(
        "-- migrate:no-transaction\nCREATE TABLE t (a);\nVACUUM INTO '{prefix}' || 'copy.db';"
    );
    let problems = sqlite(&[("1_vacuum.sql", &vacuum)]);
    // SQLite computes the target first and attaches it by name.
    assert!(
        problems[0].starts_with("migrations/1_vacuum.sql:3:1: ATTACH of the file '")
            && problems[0].contains("copy.db' is refused"),
        "{problems:?}"
    );
    // Temporary data stays in memory whatever a migration asks.
    let temp = sqlite(&[(
        "1_temp.sql",
        "-- migrate:no-transaction\nPRAGMA temp_store = FILE;\nATTACH '' AS scratch;\nCREATE TABLE scratch.big AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, randomblob(500) AS b FROM n;\nSELECT count(*) FROM (SELECT * FROM scratch.big ORDER BY b);\nDETACH scratch;",
    )]);
    assert_eq!(temp, Vec::<String>::new());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "the dry run created {left:?}");
}

#[test]
fn a_statement_that_never_ends_is_stopped_at_its_line() {
    let endless = folder(
        &[(
            "1_endless.sql",
            "CREATE TABLE t (n);\n\nINSERT INTO t\n  WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)\n  SELECT n FROM c;",
        )],
        Flavor::Sqlite,
    );
    let options = SqliteOptions {
        step_limit: 1_000_000,
        ..SqliteOptions::default()
    };
    let problems = messages(&check_sqlite_with(&endless, options.clone()));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("migrations/1_endless.sql:3:1: the dry run stopped this statement after 1000000 steps of SQLite's virtual machine"),
        "{problems:?}"
    );
    // A bounded query of the same size passes under a limit that fits it.
    let bounded = folder(
        &[(
            "1_bounded.sql",
            "CREATE TABLE t (n);\nINSERT INTO t WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000) SELECT n FROM c;",
        )],
        Flavor::Sqlite,
    );
    assert_eq!(
        messages(&check_sqlite_with(&bounded, options)),
        Vec::<String>::new()
    );
}
