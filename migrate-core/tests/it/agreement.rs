use migrate_core::Migrations;

static EXAMPLE: Migrations = migrate_core::embed_migrations!("../migrations");
static WINDOWS: Migrations = migrate_core::embed_migrations!("tests/fixtures/windows-line-endings");
static BASIC: Migrations = migrate_core::embed_migrations!("tests/fixtures/basic");

/// The macro and `Migrations::from_folder` share one implementation of the
/// file-name grammar, the directives and the checksum: their results match
/// field for field.
#[test]
fn compile_time_and_run_time_read_the_same_migrations() -> migrate_core::Result<()> {
    for (embedded, folder) in [
        (&EXAMPLE, "../migrations"),
        (&BASIC, "tests/fixtures/basic"),
    ] {
        let loaded = Migrations::from_folder(folder)?;
        assert_eq!(embedded, &loaded, "{folder}");
        assert!(!loaded.is_empty());
    }
    Ok(())
}

#[test]
fn the_example_folder_is_read_as_written() {
    let versions: Vec<i64> = EXAMPLE.iter().map(|m| m.version()).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    let posts = EXAMPLE.get(2).expect("version 2");
    assert_eq!(posts.file(), "../migrations/0002_create_posts.up.sql");
    assert_eq!(
        posts.down().map(|d| d.file()),
        Some("../migrations/0002_create_posts.down.sql")
    );
    assert_eq!(EXAMPLE.get(1).and_then(|m| m.down()), None);
    assert!(
        EXAMPLE
            .get(3)
            .expect("version 3")
            .up()
            .sql()
            .contains("END;")
    );
}

/// A checkout with CRLF line endings and a byte-order mark has the checksum
/// of the same file with LF endings, so it is not mistaken for an edit.
#[test]
fn windows_line_endings_do_not_change_the_checksum() {
    let windows = WINDOWS.get(1).expect("version 1");
    let unix = BASIC.get(1).expect("version 1");
    assert_eq!(windows.checksum(), unix.checksum());
    assert_eq!(windows.up().sql(), unix.up().sql());
    assert_eq!(
        unix.checksum_hex(),
        migrate_format::checksum::to_hex(&migrate_format::checksum::checksum(unix.up().sql()))
    );
}
