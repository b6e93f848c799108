use std::io;
use std::path::{Path, PathBuf};

/// trybuild compiles each case as a crate in `<target>/tests/trybuild/<package>`,
/// and the macro resolves folders against that crate's manifest. A link from
/// there to `tests/ui/fixtures` lets the cases name `"fixtures/<case>"`.
fn link_fixtures(link_name: &str, fixtures: &str) -> io::Result<()> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_path_buf();
    let project = target
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"));
    std::fs::create_dir_all(&project)?;
    let link = project.join(link_name);
    let fixtures: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixtures);
    if std::fs::read_link(&link).is_ok_and(|existing| existing == fixtures) {
        return Ok(());
    }
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&fixtures, &link)
}

#[test]
fn folder_format_mistakes_are_compile_errors() -> io::Result<()> {
    link_fixtures("fixtures", "tests/ui/fixtures")?;
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    Ok(())
}
