use migrate_core::Migrations;
use migrate_format::Layout;

static EXAMPLE: Migrations = migrate_core::embed_migrations!("../migrations");
static WINDOWS: Migrations = migrate_core::embed_migrations!("tests/fixtures/windows-line-endings");
static BASIC: Migrations = migrate_core::embed_migrations!("tests/fixtures/basic");
pub(crate) static PRISMA: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/layout-prisma");
pub(crate) static DIESEL: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/layout-diesel");
pub(crate) static FLYWAY: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/layout-flyway");
static PRISMA_CHOSEN: Migrations =
    migrate_core::embed_migrations!("tests/fixtures/layout-prisma", layout = "prisma");
static EITHER_ENGINE: Migrations = migrate_core::embed_migrations!("tests/fixtures/either-engine");

/// The macro and `Migrations::from_folder` share one implementation of the
/// file-name grammar, the directives and the checksum: their results match
/// field for field.
#[test]
fn compile_time_and_run_time_read_the_same_migrations() -> migrate_core::Result<()> {
    for (embedded, folder) in [
        (&EXAMPLE, "../migrations"),
        (&BASIC, "tests/fixtures/basic"),
        (&PRISMA, "tests/fixtures/layout-prisma"),
        (&DIESEL, "tests/fixtures/layout-diesel"),
        (&FLYWAY, "tests/fixtures/layout-flyway"),
        (&EITHER_ENGINE, "tests/fixtures/either-engine"),
    ] {
        let loaded = Migrations::from_folder(folder)?;
        assert_eq!(embedded, &loaded, "{folder}");
        assert!(!loaded.is_empty());
    }
    Ok(())
}

/// A layout chosen with `layout = "…"` and with `from_folder_with_layout`
/// reads the same migrations as the detected one.
#[test]
fn a_chosen_layout_reads_what_detection_reads() -> migrate_core::Result<()> {
    let folder = "tests/fixtures/layout-prisma";
    assert_eq!(PRISMA_CHOSEN, PRISMA);
    assert_eq!(
        Migrations::from_folder_with_layout(folder, Layout::Prisma)?,
        PRISMA
    );
    let as_flat = Migrations::from_folder_with_layout(folder, Layout::Flat).unwrap_err();
    assert!(
        as_flat
            .to_string()
            .contains("0001_initial_schema/migration.sql: a Prisma migration, in a folder read as"),
        "{as_flat}"
    );
    Ok(())
}

/// Each layout's migrations, as the tool that wrote them names them.
#[test]
fn other_tools_layouts_are_read_as_they_are() {
    let described = |migrations: &Migrations| -> Vec<(i64, String, bool, bool)> {
        migrations
            .iter()
            .map(|m| {
                let no_transaction = m.no_transaction();
                (
                    m.version(),
                    m.description().to_owned(),
                    m.down().is_some(),
                    no_transaction,
                )
            })
            .collect()
    };
    let owned = |items: &[(i64, &str, bool, bool)]| -> Vec<(i64, String, bool, bool)> {
        items
            .iter()
            .map(|(v, d, down, notx)| (*v, (*d).to_owned(), *down, *notx))
            .collect()
    };
    assert_eq!(
        described(&PRISMA),
        owned(&[
            (1, "initial_schema", false, false),
            (2, "add_posts", true, false)
        ])
    );
    assert_eq!(
        PRISMA.get(2).map(|m| m.file()),
        Some("tests/fixtures/layout-prisma/0002_add_posts/migration.sql")
    );
    assert_eq!(
        described(&DIESEL),
        owned(&[
            (0, "diesel_initial_setup", true, false),
            (20240101000000, "create_users", true, false),
            (20240102000000, "index_users", true, true),
        ])
    );
    assert!(
        DIESEL
            .get(20240102000000)
            .and_then(|m| m.down())
            .is_some_and(|down| down.no_transaction()),
        "metadata.toml covers the down file too"
    );
    assert_eq!(
        described(&FLYWAY),
        owned(&[
            (1, "create_users", true, false),
            (2, "add_posts", true, false)
        ])
    );
    assert_eq!(
        FLYWAY.get(1).and_then(|m| m.down()).map(|d| d.file()),
        Some("tests/fixtures/layout-flyway/U1__create_users.sql")
    );
}

/// Transaction control in a transactional migration is refused when the
/// folder is read at run time, before anything runs, with the file and line.
#[test]
fn from_folder_refuses_transaction_control() {
    let error = Migrations::from_folder("tests/fixtures/transaction-control").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(
            "tests/fixtures/transaction-control/0002_commit.sql:2:1: COMMIT would end the transaction that migrate runs this migration in"
        ),
        "{message}"
    );
    assert!(matches!(error, migrate_core::Error::InvalidFolder { .. }));
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
