//! The server-backed check as a user meets it: a crate built by `cargo
//! build`, with `MIGRATE_CHECK_POSTGRES_URL` naming the tests' throwaway
//! server, and the lints shown as cargo's own warnings.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VARIABLE: &str = "MIGRATE_CHECK_POSTGRES_URL";

/// Copies the fixture crate to a temporary folder, its dependency pointing
/// at this workspace's migrate-core, with the workspace's lock file so that
/// it builds offline with the versions the workspace was tested with.
fn fixture_crate() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/fixtures/postgres-check-crate");
    let dir = tempfile::tempdir().expect("temporary folder");
    fs::create_dir_all(dir.path().join("src")).expect("src");
    fs::create_dir_all(dir.path().join("migrations")).expect("migrations");
    for file in [
        "build.rs",
        "src/main.rs",
        "migrations/0001_posts.sql",
        "migrations/0002_index.sql",
    ] {
        fs::copy(fixture.join(file), dir.path().join(file)).expect("copy the fixture");
    }
    fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).expect("the lock file");
    let manifest = format!(
        "[package]\nname = \"postgres-check-crate\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nmigrate-core = {{ path = {:?}, default-features = false, features = [\"macros\", \"check-postgres-server\"] }}\n\n\
         [workspace]\n",
        root.join("migrate-core").display().to_string()
    );
    fs::write(dir.path().join("Cargo.toml"), manifest).expect("Cargo.toml");
    dir
}

/// A database URL on the tests' throwaway server.
fn server_url() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(migrate_testkit::TestDb::create())
        .expect("the test server starts")
        .url()
}

/// Runs cargo in the crate, with the server variable set to `url` or unset.
fn cargo(dir: &Path, target: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO"));
    let (subcommand, rest) = args.split_first().expect("a cargo subcommand");
    command
        .arg(subcommand)
        .arg("--offline")
        .args(rest)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("RUSTFLAGS");
    match url {
        Some(url) => command.env(VARIABLE, url),
        None => command.env_remove(VARIABLE),
    };
    command.output().expect("run cargo")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn cargo_build_runs_the_migrations_on_the_server_and_shows_the_lints() {
    let dir = fixture_crate();
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres-check-target");
    let url = server_url();
    let build = ["build", "--quiet"];

    // The migrations run: the build passes, with the lint as a warning at
    // the macro's literal.
    let first = cargo(dir.path(), &target, Some(&url), &build);
    assert!(first.status.success(), "{}", stderr(&first));
    let warning = "warning: use of deprecated constant `MIGRATIONS::_::MIGRATION_LINT`: migrations/0002_index.sql:2:1: require-concurrent-index-creation:";
    assert!(stderr(&first).contains(warning), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("--> src/main.rs:2:37"),
        "{}",
        stderr(&first)
    );

    // Cargo replays the warning on a build that compiles nothing.
    let replayed = cargo(dir.path(), &target, Some(&url), &build);
    assert!(replayed.status.success());
    assert!(stderr(&replayed).contains(warning), "{}", stderr(&replayed));

    // `-D warnings` makes it an error, as any warning.
    let denied = cargo(
        dir.path(),
        &target,
        Some(&url),
        &[
            "rustc",
            "--quiet",
            "--bin",
            "postgres-check-crate",
            "--",
            "-D",
            "warnings",
        ],
    );
    assert!(!denied.status.success());
    assert!(
        stderr(&denied)
            .contains("error: use of deprecated constant `MIGRATIONS::_::MIGRATION_LINT`"),
        "{}",
        stderr(&denied)
    );

    // A rebuild with unchanged migrations takes the verdict from the cache
    // in OUT_DIR and does not connect: the server's database is gone, and
    // the build still passes.
    drop_database(&url);
    fs::write(
        dir.path().join("src/main.rs"),
        fs::read_to_string(dir.path().join("src/main.rs")).unwrap() + "\n",
    )
    .unwrap();
    let cached = cargo(dir.path(), &target, Some(&url), &build);
    assert!(cached.status.success(), "{}", stderr(&cached));

    // An unknown column fails the build at its place, with the server's message.
    fs::write(
        dir.path().join("migrations/0003_titles.sql"),
        "UPDATE posts SET title = titel;\n",
    )
    .unwrap();
    let url = server_url();
    let failed = cargo(dir.path(), &target, Some(&url), &build);
    assert!(!failed.status.success());
    assert!(
        stderr(&failed)
            .contains("error: migrations/0003_titles.sql:1:26: column \"titel\" does not exist"),
        "{}",
        stderr(&failed)
    );

    // Without the variable only the grammar is checked, which cannot know.
    let unchecked = cargo(dir.path(), &target, None, &build);
    assert!(unchecked.status.success(), "{}", stderr(&unchecked));

    // Setting the variable again runs the macro again, though no file
    // changed: here on a server that is not there, which fails the build.
    let socket = tempfile::tempdir().unwrap();
    let nowhere = format!(
        "postgresql://postgres@{}/postgres?connect_timeout=2",
        socket.path().display().to_string().replace('/', "%2F")
    );
    let unreachable = cargo(dir.path(), &target, Some(&nowhere), &build);
    assert!(!unreachable.status.success());
    assert!(
        stderr(&unreachable).contains("cannot connect to the check server"),
        "{}",
        stderr(&unreachable)
    );
}

/// Drops the database of `url`, on the same server.
fn drop_database(url: &str) {
    let (base, name) = url.rsplit_once('/').expect("a database URL");
    let admin = format!("{base}/postgres");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) =
            migrate_core::tokio_postgres::connect(&admin, migrate_core::tokio_postgres::NoTls)
                .await
                .expect("connect");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await
            .expect("drop the database");
    });
}
