//! `new`, `lock` and `check`, which need no database, and the help.

use std::fs;

use crate::Workspace;

/// No command here reads the database: its URL must not matter.
const NO_DATABASE: &str = "sqlite:unused.db";

#[test]
fn new_starts_a_missing_folder_then_an_empty_one() {
    let workspace = Workspace::empty();
    let first = workspace
        .migrate(NO_DATABASE, &["new", "create_users"])
        .expect(0);
    assert_eq!(
        first.stdout.trim(),
        "created migrations/0001_create_users.sql"
    );

    // A folder with no migration, whose lock file has outlived them.
    let empty = Workspace::empty();
    fs::create_dir(empty.migrations()).expect("folder");
    fs::write(empty.migrations().join("README.md"), "Our migrations.\n").expect("readme");
    let lock = "# migrate.lock: written by `migrate lock`. Do not edit by hand.\n";
    fs::write(empty.migrations().join("migrate.lock"), lock).expect("lock");
    empty
        .migrate(NO_DATABASE, &["new", "create_users", "--down"])
        .expect(0);
    assert!(empty.migrations().join("0001_create_users.up.sql").exists());
    assert!(
        empty
            .migrations()
            .join("0001_create_users.down.sql")
            .exists()
    );
    assert_eq!(
        fs::read_to_string(empty.migrations().join("migrate.lock")).expect("lock"),
        lock,
        "no migration, so nothing to release"
    );
    assert!(!workspace.dir.path().join("unused.db").exists());
}

#[test]
fn new_twice_before_any_sql_is_written() {
    let workspace = Workspace::empty();
    workspace
        .migrate(NO_DATABASE, &["new", "create_users"])
        .expect(0);
    let second = workspace
        .migrate(NO_DATABASE, &["new", "create_posts", "--down"])
        .expect(0);
    assert_eq!(
        second.stdout.trim(),
        "created migrations/0002_create_posts.up.sql and migrations/0002_create_posts.down.sql"
    );

    // The build, and so `check`, still refuse migrations without SQL.
    let check = workspace.migrate(NO_DATABASE, &["check"]).expect(3);
    for file in [
        "0001_create_users.sql",
        "0002_create_posts.up.sql",
        "0002_create_posts.down.sql",
    ] {
        assert!(
            check
                .stderr
                .contains(&format!("migrations/{file}: has only comments")),
            "{file}: {}",
            check.stderr
        );
    }

    let sql = |file: &str, text: &str| {
        let path = workspace.migrations().join(file);
        let template = fs::read_to_string(&path).expect("template");
        fs::write(&path, format!("{template}{text}\n")).expect("sql");
    };
    sql("0001_create_users.sql", "CREATE TABLE users (id INTEGER);");
    sql(
        "0002_create_posts.up.sql",
        "CREATE TABLE posts (id INTEGER);",
    );
    sql("0002_create_posts.down.sql", "DROP TABLE posts;");
    let check = workspace.migrate(NO_DATABASE, &["check"]).expect(0);
    assert_eq!(check.stdout.trim(), "migrations: 2 migrations, all valid");
}

#[test]
fn new_relocks_only_when_every_migration_has_sql() {
    let workspace = Workspace::with_fixture("shop");
    let lock_file = workspace.migrations().join("migrate.lock");
    let lock = workspace.migrate(NO_DATABASE, &["lock"]).expect(0);
    assert!(
        lock.stdout.starts_with("locked 3 migrations in "),
        "{}",
        lock.stdout
    );
    let first = workspace
        .migrate(NO_DATABASE, &["new", "add_index"])
        .expect(0);
    assert!(
        first.stdout.ends_with(&format!(
            "locked the 3 existing migrations in {}\n",
            lock_file
                .strip_prefix(workspace.dir.path())
                .expect("inside")
                .display()
        )),
        "{}",
        first.stdout
    );
    let locked = fs::read_to_string(&lock_file).expect("lock");

    // The template of 4 is not written yet: the lock stays as it was.
    let second = workspace
        .migrate(NO_DATABASE, &["new", "add_view"])
        .expect(0);
    assert!(
        second
            .stdout
            .contains("left migrate.lock as it was: migrations/0004_add_index.sql has no SQL yet"),
        "{}",
        second.stdout
    );
    assert_eq!(fs::read_to_string(&lock_file).expect("lock"), locked);
    assert!(workspace.migrations().join("0005_add_view.sql").exists());

    // Other mistakes in the folder still stop `new`.
    fs::write(
        workspace.migrations().join("0006_bad name.sql"),
        "SELECT 1;",
    )
    .expect("file");
    let refused = workspace.migrate(NO_DATABASE, &["new", "more"]).expect(3);
    assert!(
        refused
            .stderr
            .contains("0006_bad name.sql: malformed migration name"),
        "{}",
        refused.stderr
    );
}

/// `new`, `lock` and `check` read no database: their help does not offer
/// one, and they refuse the options.
#[test]
fn the_help_lists_what_each_command_reads() {
    let workspace = Workspace::empty();
    for command in ["new", "lock", "check"] {
        let help = workspace
            .migrate(NO_DATABASE, &[command, "--help"])
            .expect(0);
        for option in ["--database-url", "--table"] {
            assert!(
                !help.stdout.contains(option),
                "`migrate {command} --help` lists {option}:\n{}",
                help.stdout
            );
        }
        for option in ["--dir", "--json"] {
            assert!(
                help.stdout.contains(option),
                "`migrate {command} --help` lacks {option}:\n{}",
                help.stdout
            );
        }
    }
    let refused = workspace
        .migrate(NO_DATABASE, &["lock", "--table", "history"])
        .expect(2);
    assert!(
        refused.stderr.contains("unexpected argument '--table'"),
        "{}",
        refused.stderr
    );
    for command in ["status", "up", "down", "baseline", "repair", "resolve"] {
        let help = workspace
            .migrate(NO_DATABASE, &[command, "--help"])
            .expect(0);
        for option in ["--database-url", "--table", "--json", "--dir"] {
            assert!(
                help.stdout.contains(option),
                "`migrate {command} --help` lacks {option}:\n{}",
                help.stdout
            );
        }
    }
}

#[test]
fn sqlite_urls_without_a_file_are_refused() {
    let workspace = Workspace::with_fixture("shop");
    for url in [
        "sqlite:",
        "sqlite://",
        "sqlite::memory:",
        "sqlite:file::memory:",
    ] {
        let refused = workspace.migrate(url, &["up"]).expect(2);
        assert!(
            refused
                .stderr
                .contains(&format!("error: the database URL `{url}` ")),
            "{url}: {}",
            refused.stderr
        );
        assert!(
            refused
                .stderr
                .contains("name a file, such as sqlite:app.db"),
            "{url}: {}",
            refused.stderr
        );
    }
    let empty = workspace.migrate("sqlite:", &["up"]);
    assert!(
        empty.stderr.contains("temporary database deleted on exit"),
        "{}",
        empty.stderr
    );
}

#[test]
fn status_columns_stay_aligned_with_long_descriptions() {
    let workspace = Workspace::with_fixture("shop");
    fs::write(
        workspace
            .migrations()
            .join("20240102150405_add_an_index_on_the_customers_email_and_name_columns.sql"),
        "CREATE INDEX customers_name ON customers (name);\n",
    )
    .expect("migration");
    let status = workspace.migrate("sqlite:shop.db", &["status"]).expect(0);
    let lines: Vec<&str> = status.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", status.stdout);
    let column = lines[0].find("state").expect("the state heading");
    for line in &lines[1..] {
        assert_eq!(line.find("pending"), Some(column), "{}", status.stdout);
    }
    assert!(
        lines[4].starts_with(
            "20240102150405  add_an_index_on_the_customers_email_and_name_columns  pending"
        ),
        "{}",
        status.stdout
    );
}
