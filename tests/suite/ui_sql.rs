//! Compile errors of the engine checks: `dialect = "sqlite"` (the dry run)
//! and `dialect = "postgres"` (the grammar), one mistake per case in
//! tests/ui-sql, each `.stderr` showing the file, line and column.

use std::io;
use std::path::Path;

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
    link_sql_fixtures()?;
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui-sql/*.rs");
    cases.pass("tests/ui-sql/pass/*.rs");
    Ok(())
}
