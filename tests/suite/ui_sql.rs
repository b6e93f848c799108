//! Compile errors of the engine checks: `dialect = "sqlite"` (the dry run)
//! and `dialect = "postgres"` (the grammar), one mistake per case in
//! tests/ui-sql, each `.stderr` showing the file, line and column.

use std::io;
use std::path::Path;
use std::process::Command;

/// The variable that adds the server-backed check to a build.
const SERVER_VARIABLE: &str = "MIGRATE_CHECK_POSTGRES_URL";

/// trybuild builds each case as a crate in `<target>/tests/trybuild/<package>`,
/// and the macro resolves folders against that crate's manifest directory.
/// A link from there to `tests/ui-sql/fixtures` lets the cases name
/// `"fixtures-sql/<case>"`, apart from the folder-format cases' `fixtures`.
fn link_sql_fixtures() -> io::Result<()> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let project = target
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"));
    std::fs::create_dir_all(&project)?;
    let link = project.join("fixtures-sql");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui-sql/fixtures");
    if std::fs::read_link(&link).is_ok_and(|existing| existing == fixtures) {
        return Ok(());
    }
    // A stale link from another checkout would point at old fixtures.
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&fixtures, &link)
}

#[test]
fn sql_mistakes_are_compile_errors() -> io::Result<()> {
    // The cases show what a build finds without the server-backed check,
    // which has its own end-to-end test (`postgres_check`). With the
    // variable set, a case whose SQL PostgreSQL itself refuses would also
    // show the server's error. trybuild's builds inherit this process's
    // environment, so the cases then run in a copy of this test without it.
    if std::env::var_os(SERVER_VARIABLE).is_some() {
        let status = Command::new(std::env::current_exe()?)
            .args(["--exact", "ui_sql::sql_mistakes_are_compile_errors"])
            .env_remove(SERVER_VARIABLE)
            .status()?;
        assert!(
            status.success(),
            "the UI cases failed, run without {SERVER_VARIABLE}: see the output above"
        );
        return Ok(());
    }
    link_sql_fixtures()?;
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui-sql/*.rs");
    cases.pass("tests/ui-sql/pass/*.rs");
    Ok(())
}
