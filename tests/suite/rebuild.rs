use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Copies the fixture crate to a temporary folder, pointing its dependency
/// at this workspace's migrate-core.
fn fixture_crate() -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rebuild-crate");
    let dir = tempfile::tempdir().expect("temporary folder");
    fs::create_dir_all(dir.path().join("src")).expect("src");
    fs::create_dir_all(dir.path().join("migrations")).expect("migrations");
    for file in ["build.rs", "src/main.rs", "migrations/0001_first.sql"] {
        fs::copy(fixture.join(file), dir.path().join(file)).expect("copy the fixture");
    }
    let migrate_core = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrate-core");
    let manifest = format!(
        "[package]\nname = \"rebuild-crate\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nmigrate-core = {{ path = {:?}, default-features = false, features = [\"macros\"] }}\n\n\
         [workspace]\n",
        migrate_core.display().to_string()
    );
    fs::write(dir.path().join("Cargo.toml"), manifest).expect("Cargo.toml");
    dir
}

/// Builds and runs the fixture crate, returning what it prints: one line per
/// embedded migration.
fn build_and_run(dir: &Path, target: &Path) -> Vec<String> {
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("run cargo");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let run = Command::new(target.join("debug/rebuild-crate"))
        .output()
        .expect("run the fixture");
    assert!(run.status.success());
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn adding_or_editing_a_migration_rebuilds_the_crate() {
    let dir = fixture_crate();
    // Shared between runs so that only the first one compiles the dependencies.
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rebuild-crate-target");
    let first = build_and_run(dir.path(), &target);
    assert_eq!(first.len(), 1);

    fs::write(
        dir.path().join("migrations/0002_second.sql"),
        "CREATE TABLE second (id INTEGER);\n",
    )
    .expect("add");
    let added = build_and_run(dir.path(), &target);
    assert_eq!(added.len(), 2, "the new file is embedded: {added:?}");
    assert!(added[1].starts_with("2 "));

    fs::write(
        dir.path().join("migrations/0001_first.sql"),
        "CREATE TABLE first (id INTEGER, x TEXT);\n",
    )
    .expect("edit");
    let edited = build_and_run(dir.path(), &target);
    assert_eq!(edited.len(), 2);
    assert_ne!(
        edited[0], added[0],
        "the edit changed the embedded checksum"
    );
}
