//! Compile-time cost: the release rebuild after editing one migration of 1000.
//!
//! For each tool a small binary crate embeds the 1000 generated migrations
//! in that tool's layout and applies them to an in-memory SQLite database
//! (so the embedded data is used and not optimised away). The crates live
//! under `<target>/rebuild/` and share one target directory. Each is built
//! once, untimed; then one migration is edited (a comment line appended,
//! which every tool sees as a change) and `cargo build --release` is timed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Result;

/// The edited migration: one in the middle.
const EDITED: usize = 500;

/// A rebuild slower than this is measured once: refinery's takes about a
/// minute, and two cores are shared.
const SLOW: Duration = Duration::from_secs(20);

/// How many rebuilds per tool otherwise.
const RUNS: usize = 3;

pub type Rebuilds = Vec<(String, Result<Vec<Duration>, String>)>;

/// The tools, in the table's order.
pub const TOOLS: [&str; 6] = [
    "raw",
    "migrate",
    "refinery",
    "sqlx",
    "diesel",
    "rusqlite_migration",
];

pub fn run(bench_dir: &Path, target_dir: &Path, tools: &[String]) -> Result<Rebuilds> {
    let root = target_dir.join("rebuild");
    let shared_target = root.join("target");
    let bench_dir = bench_dir.canonicalize()?;
    let mut rebuilds = Vec::new();
    for tool in tools.iter().map(String::as_str) {
        eprintln!("rebuild: {tool}…");
        let crate_dir = root.join(tool);
        let result = fixture(&bench_dir, tool, &crate_dir)
            .and_then(|edited| measure(&crate_dir, &shared_target, &edited))
            .map_err(|error| error.to_string());
        match &result {
            Ok(times) => eprintln!("rebuild: {tool}: {times:?}"),
            Err(error) => eprintln!("rebuild: {tool} failed: {error}"),
        }
        rebuilds.push((tool.to_owned(), result));
    }
    Ok(rebuilds)
}

/// Builds once untimed, then times rebuilds after editing `edited`.
fn measure(crate_dir: &Path, target: &Path, edited: &Path) -> Result<Vec<Duration>> {
    build(crate_dir, target)?;
    let original = fs::read_to_string(edited)?;
    let mut times = Vec::new();
    for run in 0..RUNS {
        fs::write(edited, format!("{original}-- edited ({run})\n"))?;
        let started = Instant::now();
        build(crate_dir, target)?;
        let elapsed = started.elapsed();
        times.push(elapsed);
        if elapsed > SLOW {
            break;
        }
    }
    // Restored, so that the next run starts from the generated text.
    fs::write(edited, original)?;
    Ok(times)
}

fn build(crate_dir: &Path, target: &Path) -> Result<()> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo build in {} failed: {}",
            crate_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// Writes the fixture crate of `tool` and returns the migration to edit.
fn fixture(bench_dir: &Path, tool: &str, dir: &Path) -> Result<PathBuf> {
    let generated = bench_dir.join("generated/n1000");
    let layout = if tool == "raw" { "migrate" } else { tool };
    copy_tree(&generated.join(layout), &dir.join("migrations"))?;
    let name = format!("rebuild-{}", tool.replace('_', "-"));
    let migrate_core = bench_dir.join("../migrate-core").canonicalize()?;
    let (lock, dependencies, main) = match tool {
        "raw" => {
            let files = (1..=1000)
                .map(|i| format!("    include_str!(\"../migrations/{i:04}_create_t{i}.sql\"),\n"))
                .collect::<String>();
            (
                "Cargo.lock",
                r#"rusqlite = { version = "0.41", features = ["bundled"] }"#.to_owned(),
                format!(
                    "static SQL: &[&str] = &[\n{files}];\n\n\
                     fn main() {{\n    \
                         let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n    \
                         let tx = conn.transaction().unwrap();\n    \
                         for sql in SQL {{\n        tx.execute_batch(sql).unwrap();\n    }}\n    \
                         tx.commit().unwrap();\n\
                     }}\n"
                ),
            )
        }
        "migrate" => (
            "Cargo.lock",
            format!(
                "migrate-core = {{ path = {:?}, features = [\"sqlite\"] }}\n\
                 rusqlite = {{ version = \"0.41\", features = [\"bundled\"] }}",
                migrate_core.display().to_string()
            ),
            "static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(\"migrations\");\n\n\
             fn main() {\n    \
                 let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n    \
                 MIGRATIONS.run(&mut conn).unwrap();\n\
             }\n"
                .to_owned(),
        ),
        "refinery" => (
            "peers/Cargo.lock",
            "refinery = { version = \"0.10\", features = [\"rusqlite\"] }\n\
             rusqlite = { version = \"0.39\", features = [\"bundled\"] }"
                .to_owned(),
            "mod embedded {\n    refinery::embed_migrations!(\"migrations\");\n}\n\n\
             fn main() {\n    \
                 let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n    \
                 embedded::migrations::runner().run(&mut conn).unwrap();\n\
             }\n"
                .to_owned(),
        ),
        "sqlx" => (
            "peers/Cargo.lock",
            "sqlx = { version = \"0.9\", default-features = false, features = [\"runtime-tokio\", \"migrate\", \"macros\", \"sqlite\"] }\n\
             tokio = { version = \"1.40\", features = [\"rt\"] }"
                .to_owned(),
            "use sqlx::Connection as _;\n\n\
             static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!(\"./migrations\");\n\n\
             fn main() {\n    \
                 let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();\n    \
                 runtime.block_on(async {\n        \
                     let mut conn = sqlx::SqliteConnection::connect(\"sqlite::memory:\").await.unwrap();\n        \
                     MIGRATOR.run(&mut conn).await.unwrap();\n    \
                 });\n\
             }\n"
                .to_owned(),
        ),
        "diesel" => (
            "peers/Cargo.lock",
            "diesel = { version = \"2.3\", default-features = false, features = [\"sqlite\"] }\n\
             diesel_migrations = { version = \"2.3\", features = [\"sqlite\"] }\n\
             libsqlite3-sys = { version = \"0.37\", features = [\"bundled\"] }"
                .to_owned(),
            "use diesel::Connection as _;\n\
             use diesel_migrations::{EmbeddedMigrations, MigrationHarness};\n\n\
             const MIGRATIONS: EmbeddedMigrations = diesel_migrations::embed_migrations!(\"migrations\");\n\n\
             fn main() {\n    \
                 let mut conn = diesel::SqliteConnection::establish(\":memory:\").unwrap();\n    \
                 conn.run_pending_migrations(MIGRATIONS).unwrap();\n\
             }\n"
                .to_owned(),
        ),
        "rusqlite_migration" => (
            "peers/Cargo.lock",
            "rusqlite_migration = { version = \"2.5\", features = [\"from-directory\"] }\n\
             include_dir = \"0.7\"\n\
             rusqlite = { version = \"0.39\", features = [\"bundled\"] }"
                .to_owned(),
            "static MIGRATIONS: include_dir::Dir<'static> = include_dir::include_dir!(\"$CARGO_MANIFEST_DIR/migrations\");\n\n\
             fn main() {\n    \
                 let mut conn = rusqlite::Connection::open_in_memory().unwrap();\n    \
                 rusqlite_migration::Migrations::from_directory(&MIGRATIONS).unwrap().to_latest(&mut conn).unwrap();\n\
             }\n"
                .to_owned(),
        ),
        other => return Err(format!("no rebuild fixture for {other}").into()),
    };
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [workspace]\n\n[dependencies]\n{dependencies}\n"
        ),
    )?;
    write_if_changed(&dir.join("src/main.rs"), &main)?;
    // The same versions as the benchmark; cargo trims what this crate does not use.
    if !dir.join("Cargo.lock").exists() {
        fs::copy(bench_dir.join(lock), dir.join("Cargo.lock"))?;
    }
    if tool == "migrate" {
        lock_below_edited(&dir.join("migrations"))?;
    }
    let edited = match tool {
        "diesel" => format!("{EDITED:04}_create_t{EDITED}/up.sql"),
        "rusqlite_migration" => format!("{EDITED:04}-create_t{EDITED}/up.sql"),
        "refinery" => format!("V{EDITED}__create_t{EDITED}.sql"),
        _ => format!("{EDITED:04}_create_t{EDITED}.sql"),
    };
    Ok(dir.join("migrations").join(edited))
}

/// Locks migrations 1 to `EDITED - 1` in `migrate.lock`, as a project that
/// released them would, so that the rebuild also verifies the lock: every
/// locked checksum against its file. The edited migration, above the lock,
/// is unreleased work that may change.
fn lock_below_edited(folder: &Path) -> Result<()> {
    let migrations =
        migrate_format::folder::load(folder, "migrations", migrate_format::Flavor::Generic)
            .map_err(|problems| format!("{} problems in the fixture's folder", problems.len()))?;
    let released: Vec<_> = migrations
        .into_iter()
        .filter(|m| m.version < EDITED as i64)
        .collect();
    let lock = migrate_format::lock::Lock::of(&released);
    write_if_changed(
        &folder.join(migrate_format::lock::FILE_NAME),
        &lock.render(),
    )
}

/// Copies a folder, rewriting only files whose content differs, so that an
/// unchanged fixture does not rebuild.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            write_if_changed(&target, &fs::read_to_string(entry.path())?)?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, content: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)?;
    Ok(())
}
