//! The folder layouts migrate reads in place: its own, and the ones other
//! tools leave behind, so that a project can switch without renaming files.
//!
//! | Layout | Up | Down | Version |
//! |---|---|---|---|
//! | [`Flat`](Layout::Flat) (migrate, sqlx, golang-migrate, D1) | `0001_x.sql` or `0001_x.up.sql` | `0001_x.down.sql` | the digits before `_` |
//! | [`Prisma`](Layout::Prisma) | `0001_x/migration.sql` | `0001_x/down.sql` | the leading digits of the directory |
//! | [`Diesel`](Layout::Diesel) | `2024-01-01-000000_x/up.sql` | `…/down.sql` | the directory's date-time without `-`: `20240101000000` |
//! | [`Flyway`](Layout::Flyway) (and refinery) | `V1__x.sql` | `U1__x.sql` | the digits after `V` |
//!
//! The layout is detected from the folder's entries ([`detect`]); a folder
//! whose entries belong to two layouts is an error that names one entry of
//! each, and the macro's `layout = "…"` argument chooses one outright.
//!
//! Whatever the layout, the checksum covers the SQL file's content only, so
//! renaming a migration's directory (or file) is not an edit.

use crate::name::{self, Entry, FileName, Kind};

/// How a migrations folder names its migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layout {
    /// `<version>_<description>.sql`, or `.up.sql` with an optional
    /// `.down.sql`, directly in the folder: migrate's own layout, which
    /// sqlx, golang-migrate and Wrangler D1 folders also fit.
    #[default]
    Flat,
    /// Prisma Migrate: a directory `<version>_<name>` per migration, holding
    /// `migration.sql` and optionally a hand-written `down.sql`. Prisma's
    /// `migration_lock.toml` is ignored.
    Prisma,
    /// diesel: a directory `<version>_<name>` per migration, holding `up.sql`,
    /// optionally `down.sql`, and optionally `metadata.toml`, where
    /// `run_in_transaction = false` runs the migration outside a transaction.
    Diesel,
    /// Flyway and refinery: `V<version>__<name>.sql`, with
    /// `U<version>__<name>.sql` as its down (Flyway's undo migration).
    Flyway,
}

impl Layout {
    /// Every layout, in the order messages list them.
    pub const ALL: [Layout; 4] = [Layout::Flat, Layout::Prisma, Layout::Diesel, Layout::Flyway];

    /// The name the macro's `layout = "…"` argument and `--layout` use.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::Prisma => "prisma",
            Layout::Diesel => "diesel",
            Layout::Flyway => "flyway",
        }
    }

    /// The layout of a [`name`](Layout::name); `refinery` is `flyway`.
    pub fn from_name(name: &str) -> Option<Layout> {
        match name {
            "refinery" => Some(Layout::Flyway),
            _ => Layout::ALL.into_iter().find(|layout| layout.name() == name),
        }
    }

    /// What its migrations look like, for messages.
    pub fn shape(self) -> &'static str {
        match self {
            Layout::Flat => "`<version>_<description>.sql` files",
            Layout::Prisma => "Prisma directories (`<version>_<name>/migration.sql`)",
            Layout::Diesel => "diesel directories (`<version>_<name>/up.sql`)",
            Layout::Flyway => "Flyway files (`V<version>__<name>.sql`)",
        }
    }

    /// Whether each migration is a directory.
    pub fn uses_directories(self) -> bool {
        matches!(self, Layout::Prisma | Layout::Diesel)
    }

    /// The up file's name inside a migration directory.
    fn up_file(self) -> Option<&'static str> {
        match self {
            Layout::Prisma => Some("migration.sql"),
            Layout::Diesel => Some("up.sql"),
            Layout::Flat | Layout::Flyway => None,
        }
    }
}

/// The names of the layouts, for messages: `"flat"`, `"prisma"`, ….
pub fn names() -> String {
    Layout::ALL
        .iter()
        .map(|layout| format!("`{}`", layout.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One entry of a migrations folder, as detection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The entry's name.
    pub name: String,
    /// For a directory, the names of the files in it; `None` for a file.
    pub files: Option<Vec<String>>,
}

/// An entry of a folder that belongs to a layout, for the message about a
/// folder that mixes layouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sign {
    /// The layout the entry belongs to.
    pub layout: Layout,
    /// The entry as a path inside the folder: `0001_x.sql`, `0001_x/migration.sql`.
    pub path: String,
}

/// The layouts a folder's entries belong to, one sign each: the first entry
/// in name order that belongs to it. Empty when no entry belongs to any.
///
/// A top-level `.sql` file belongs to Flyway when its name starts like one
/// (`V1`, `U1`, `R__`), and to the flat layout otherwise; a directory
/// belongs to Prisma when it holds `migration.sql`, and to diesel when it
/// holds `up.sql`. Hidden entries and other files belong to none.
pub fn signs(entries: &[Listed]) -> Vec<Sign> {
    let mut sorted: Vec<&Listed> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut found: Vec<Sign> = Vec::new();
    for entry in sorted {
        for sign in entry_signs(entry) {
            if !found.iter().any(|f| f.layout == sign.layout) {
                found.push(sign);
            }
        }
    }
    found.sort_by_key(|sign| Layout::ALL.iter().position(|l| *l == sign.layout));
    found
}

fn entry_signs(entry: &Listed) -> Vec<Sign> {
    if entry.name.starts_with('.') {
        return Vec::new();
    }
    match &entry.files {
        None if entry.name.to_ascii_lowercase().ends_with(".sql") => {
            let layout = if looks_like_flyway(&entry.name) {
                Layout::Flyway
            } else {
                Layout::Flat
            };
            vec![Sign {
                layout,
                path: entry.name.clone(),
            }]
        }
        None => Vec::new(),
        Some(files) => [Layout::Prisma, Layout::Diesel]
            .into_iter()
            .filter_map(|layout| {
                let up = layout.up_file()?;
                files.iter().any(|f| f == up).then(|| Sign {
                    layout,
                    path: format!("{}/{up}", entry.name),
                })
            })
            .collect(),
    }
}

fn looks_like_flyway(file_name: &str) -> bool {
    let bytes = file_name.as_bytes();
    match bytes {
        [b'V' | b'U', digit, ..] => digit.is_ascii_digit(),
        _ => file_name.starts_with("R__"),
    }
}

/// The folder's layout, from its entries: `Ok(None)` when no entry belongs
/// to any layout (an empty folder), `Err` with one sign per layout when
/// entries of several layouts are present.
pub fn detect(entries: &[Listed]) -> Result<Option<Layout>, Vec<Sign>> {
    let signs = signs(entries);
    match signs.as_slice() {
        [] => Ok(prisma_lock_file(entries).then_some(Layout::Prisma)),
        [one] => Ok(Some(one.layout)),
        _ => Err(signs),
    }
}

/// A Prisma folder without migrations yet still has its lock file.
fn prisma_lock_file(entries: &[Listed]) -> bool {
    entries
        .iter()
        .any(|entry| entry.files.is_none() && entry.name == PRISMA_LOCK_FILE)
}

/// Prisma's own lock file, which records its provider. Ignored.
pub const PRISMA_LOCK_FILE: &str = "migration_lock.toml";

/// diesel's per-migration settings file.
pub const DIESEL_METADATA: &str = "metadata.toml";

/// The message for a folder whose entries belong to several layouts.
pub fn mixed_message(signs: &[Sign]) -> String {
    let listed: Vec<String> = signs
        .iter()
        .map(|sign| format!("`{}` ({})", sign.path, sign.layout.name()))
        .collect();
    format!(
        "the folder mixes layouts: {}; keep one layout, or choose it with the macro's `layout = \"…\"` argument ({}) to have every entry that does not fit it reported",
        listed.join(" and "),
        names()
    )
}

/// Classifies a file directly in a Flyway folder: `V<version>__<name>.sql`
/// is an up migration, `U<version>__<name>.sql` its down.
pub fn classify_flyway(file_name: &str) -> Entry<'_> {
    if file_name.starts_with('.') {
        return Entry::Ignored;
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        if file_name.to_ascii_lowercase().ends_with(".sql") {
            return Entry::Malformed("the extension must be `.sql`, in lower case".to_owned());
        }
        return Entry::Ignored;
    };
    match parse_flyway_stem(stem) {
        Ok(name) => Entry::Migration(name),
        Err(reason) => Entry::Malformed(reason),
    }
}

fn parse_flyway_stem(stem: &str) -> Result<FileName<'_>, String> {
    const EXPECTED: &str =
        "expected `V<version>__<description>.sql`, or `U<version>__<description>.sql` for its down";
    if stem.starts_with("R__") {
        return Err("Flyway's repeatable migrations (`R__`) are not supported: migrate runs each migration once; give it a version, as in `V7__name.sql`".to_owned());
    }
    let kind = match stem.as_bytes().first() {
        Some(b'V') => Kind::PairedUp,
        Some(b'U') => Kind::Down,
        _ => return Err(EXPECTED.to_owned()),
    };
    let Some((version_text, description)) = stem[1..].split_once("__") else {
        return Err(EXPECTED.to_owned());
    };
    if version_text.is_empty() || !version_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the version `{version_text}` must be decimal digits: migrate's versions are whole numbers, so Flyway's dotted versions (`1.1`, `1_1`) need renumbering"
        ));
    }
    let version = name::parse_version(version_text)?;
    name::check_description(description)?;
    Ok(FileName {
        version,
        version_text,
        description,
        kind,
    })
}

/// The parts of a migration directory's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryName<'a> {
    /// The version, compared numerically.
    pub version: i64,
    /// The version as written, without diesel's `-`: `0001`, `20240101000000`.
    pub version_text: String,
    /// The text after the first `_`.
    pub description: &'a str,
}

/// Parses a migration directory's name in a directory layout.
///
/// Prisma: the version is the leading digits, and the name after `_` may be
/// empty (Prisma writes `20240101000000_` when asked for no name). diesel:
/// the version is the text before the first `_` with its `-` removed, as
/// diesel computes it (`2024-01-01-000000` is 20240101000000).
pub fn parse_directory(layout: Layout, name: &str) -> Result<DirectoryName<'_>, String> {
    let expected = format!(
        "expected `<version>_<name>`, as in `{}`",
        example_directory(layout)
    );
    let Some((version_text, description)) = name.split_once('_') else {
        return Err(expected);
    };
    let digits = match layout {
        Layout::Diesel => version_text.replace('-', ""),
        _ => version_text.to_owned(),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let allowed = if layout == Layout::Diesel {
            "decimal digits, with `-` between them"
        } else {
            "decimal digits"
        };
        return Err(format!(
            "the version `{version_text}` must be {allowed}; {expected}"
        ));
    }
    let version = name::parse_version(&digits)?;
    if !(layout == Layout::Prisma && description.is_empty()) {
        name::check_description(description)?;
    }
    Ok(DirectoryName {
        version,
        version_text: digits,
        description,
    })
}

fn example_directory(layout: Layout) -> &'static str {
    match layout {
        Layout::Diesel => "2024-01-01-000000_create_users",
        _ => "20240101000000_create_users",
    }
}

/// What a file inside a migration directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryFile {
    /// The up migration: `migration.sql` (Prisma) or `up.sql` (diesel).
    Up,
    /// `down.sql`.
    Down,
    /// diesel's `metadata.toml`.
    Metadata,
    /// Anything that is not a `.sql` file, nor a file the layout reads.
    Ignored,
    /// A `.sql` file the layout does not read: an error, never skipped.
    Unexpected,
}

/// Classifies a file inside a migration directory.
pub fn classify_directory_file(layout: Layout, file_name: &str) -> DirectoryFile {
    if Some(file_name) == layout.up_file() {
        DirectoryFile::Up
    } else if file_name == "down.sql" {
        DirectoryFile::Down
    } else if layout == Layout::Diesel && file_name == DIESEL_METADATA {
        DirectoryFile::Metadata
    } else if !file_name.starts_with('.') && file_name.to_ascii_lowercase().ends_with(".sql") {
        DirectoryFile::Unexpected
    } else {
        DirectoryFile::Ignored
    }
}

/// Why a `.sql` file in a migration directory is not read.
pub fn unexpected_file_message(layout: Layout) -> String {
    format!(
        "a {} migration directory holds `{}` and optionally `down.sql`; this file would not run, so rename or remove it",
        layout.title(),
        layout.up_file().unwrap_or("up.sql")
    )
}

/// Why a migration directory without its up file is an error.
pub fn missing_up_message(layout: Layout, files: &[String]) -> String {
    let up = layout.up_file().unwrap_or("up.sql");
    let other = [Layout::Prisma, Layout::Diesel]
        .into_iter()
        .filter(|other| *other != layout)
        .find(|other| {
            other
                .up_file()
                .is_some_and(|f| files.iter().any(|n| n == f))
        });
    let hint = match other {
        Some(other) => format!(
            "; it has `{}`, as in a {} folder",
            other.up_file().unwrap_or_default(),
            other.title()
        ),
        None => String::new(),
    };
    format!(
        "the migration directory has no `{up}`: in a {} folder every directory is a migration{hint}",
        layout.title()
    )
}

impl Layout {
    /// The layout's name in a sentence: "a Prisma migration".
    pub fn title(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::Prisma => "Prisma",
            Layout::Diesel => "diesel",
            Layout::Flyway => "Flyway",
        }
    }
}

/// Reads diesel's `metadata.toml`: whether the migration runs in a
/// transaction.
///
/// Only `run_in_transaction = true | false` is read, with comments and
/// blank lines. diesel reads a file without that key as `false`, and one it
/// cannot parse as `true`; rather than guess which the author meant, both
/// are errors, with the line (1-based) where there is one.
pub fn parse_metadata(text: &str) -> Result<bool, (Option<usize>, String)> {
    let mut setting = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| {
            Err((
                Some(index + 1),
                format!("{what}; migrate reads only `run_in_transaction = true` or `false` here"),
            ))
        };
        let Some((key, value)) = line.split_once('=') else {
            return bad(&format!("expected `key = value`, found `{line}`"));
        };
        if key.trim() != "run_in_transaction" {
            return bad(&format!("unknown key `{}`", key.trim()));
        }
        let value = match value.trim() {
            "true" => true,
            "false" => false,
            other => return bad(&format!("`run_in_transaction` is `{other}`")),
        };
        if setting.replace(value).is_some() {
            return bad("`run_in_transaction` is given twice");
        }
    }
    setting.ok_or_else(|| {
        (
            None,
            "has no `run_in_transaction`, which diesel reads as `false`; write `run_in_transaction = false` (or `true`), or remove the file".to_owned(),
        )
    })
}

/// A file `migrate new` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Its path inside the migrations folder, with `/` between a
    /// migration's directory and the file.
    pub path: String,
    /// Whether it is the down migration.
    pub down: bool,
}

/// The files of a new migration in a layout, given its version as it
/// should be written (`0002`, `20240102150405`) and its description.
///
/// A diesel version that is a 14-digit date-time (from 1900 to 2099) is
/// written as diesel's generator writes it, `2024-01-02-150405`. diesel always has a down
/// file; the others have one when `down` is set.
pub fn new_migration_files(
    layout: Layout,
    version: &str,
    description: &str,
    down: bool,
) -> Vec<NewFile> {
    let up = |path: String| NewFile { path, down: false };
    let down_file = |path: String| NewFile { path, down: true };
    let mut files = match layout {
        Layout::Flat if down => vec![up(format!("{version}_{description}.up.sql"))],
        Layout::Flat => vec![up(format!("{version}_{description}.sql"))],
        Layout::Prisma => vec![up(format!("{version}_{description}/migration.sql"))],
        Layout::Diesel => vec![up(format!(
            "{}_{description}/up.sql",
            diesel_version(version)
        ))],
        Layout::Flyway => vec![up(format!("V{version}__{description}.sql"))],
    };
    if down || layout == Layout::Diesel {
        files.push(down_file(match layout {
            Layout::Flat => format!("{version}_{description}.down.sql"),
            Layout::Prisma => format!("{version}_{description}/down.sql"),
            Layout::Diesel => format!("{}_{description}/down.sql", diesel_version(version)),
            Layout::Flyway => format!("U{version}__{description}.sql"),
        }));
    }
    files
}

fn diesel_version(version: &str) -> String {
    let is_date_time = version.len() == 14
        && version.bytes().all(|b| b.is_ascii_digit())
        && (version.starts_with("19") || version.starts_with("20"));
    if is_date_time {
        format!(
            "{}-{}-{}-{}",
            &version[..4],
            &version[4..6],
            &version[6..8],
            &version[8..]
        )
    } else {
        version.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> Listed {
        Listed {
            name: name.to_owned(),
            files: None,
        }
    }

    fn directory(name: &str, files: &[&str]) -> Listed {
        Listed {
            name: name.to_owned(),
            files: Some(files.iter().map(|f| (*f).to_owned()).collect()),
        }
    }

    #[test]
    fn each_layout_is_detected_from_its_entries() {
        let cases = [
            (
                vec![file("0001_a.sql"), file("0002_b.up.sql"), file("README.md")],
                Some(Layout::Flat),
            ),
            (
                vec![
                    directory("0001_initial_schema", &["migration.sql"]),
                    file("migration_lock.toml"),
                ],
                Some(Layout::Prisma),
            ),
            (
                vec![
                    directory(
                        "00000000000000_diesel_initial_setup",
                        &["up.sql", "down.sql"],
                    ),
                    directory("2024-01-01-000000_create_users", &["up.sql"]),
                    file(".keep"),
                ],
                Some(Layout::Diesel),
            ),
            (
                vec![
                    file("V1__init.sql"),
                    file("U1__init.sql"),
                    file("V2__more.sql"),
                ],
                Some(Layout::Flyway),
            ),
            (vec![file("migration_lock.toml")], Some(Layout::Prisma)),
            (
                vec![file("README.md"), directory("notes", &["a.txt"])],
                None,
            ),
        ];
        for (entries, expected) in cases {
            assert_eq!(detect(&entries), Ok(expected), "{entries:?}");
        }
    }

    #[test]
    fn a_folder_mixing_layouts_names_one_entry_of_each() {
        let entries = [
            file("0003_c.sql"),
            directory("0002_b", &["migration.sql"]),
            file("0001_a.sql"),
            file("V4__d.sql"),
        ];
        let signs = detect(&entries).unwrap_err();
        assert_eq!(
            signs,
            [
                Sign {
                    layout: Layout::Flat,
                    path: "0001_a.sql".to_owned()
                },
                Sign {
                    layout: Layout::Prisma,
                    path: "0002_b/migration.sql".to_owned()
                },
                Sign {
                    layout: Layout::Flyway,
                    path: "V4__d.sql".to_owned()
                },
            ]
        );
        let message = mixed_message(&signs);
        assert!(
            message.starts_with(
                "the folder mixes layouts: `0001_a.sql` (flat) and `0002_b/migration.sql` (prisma) and `V4__d.sql` (flyway); keep one layout"
            ),
            "{message}"
        );
        assert!(message.contains("`layout = \"…\"`"), "{message}");
    }

    #[test]
    fn directory_names() {
        let diesel = parse_directory(Layout::Diesel, "2024-01-01-000000_create_users").unwrap();
        assert_eq!(diesel.version, 20240101000000);
        assert_eq!(diesel.version_text, "20240101000000");
        assert_eq!(diesel.description, "create_users");
        let initial =
            parse_directory(Layout::Diesel, "00000000000000_diesel_initial_setup").unwrap();
        assert_eq!(initial.version, 0);
        let prisma = parse_directory(Layout::Prisma, "0001_initial_schema").unwrap();
        assert_eq!((prisma.version, prisma.version_text.as_str()), (1, "0001"));
        assert_eq!(
            parse_directory(Layout::Prisma, "20240101000000_")
                .unwrap()
                .description,
            ""
        );
        let errors = [
            (Layout::Prisma, "init", "expected `<version>_<name>`"),
            (Layout::Prisma, "2024-01-01_init", "must be decimal digits;"),
            (Layout::Diesel, "2024-01-01-000000_", "is empty"),
            (Layout::Diesel, "v1_init", "with `-` between them"),
            (Layout::Prisma, "1_add users", "a space"),
        ];
        for (layout, name, expected) in errors {
            let error = parse_directory(layout, name).unwrap_err();
            assert!(error.contains(expected), "{name}: {error}");
        }
    }

    #[test]
    fn flyway_names() {
        let Entry::Migration(up) = classify_flyway("V12__add_users.sql") else {
            panic!("V12")
        };
        assert_eq!(
            (up.version, up.version_text, up.kind),
            (12, "12", Kind::PairedUp)
        );
        assert_eq!(up.description, "add_users");
        let Entry::Migration(down) = classify_flyway("U12__add_users.sql") else {
            panic!("U12")
        };
        assert_eq!((down.version, down.kind), (12, Kind::Down));
        assert_eq!(classify_flyway("README.md"), Entry::Ignored);
        let malformed = |name: &str| match classify_flyway(name) {
            Entry::Malformed(reason) => reason,
            other => panic!("{name}: {other:?}"),
        };
        assert!(malformed("V1.1__x.sql").contains("dotted versions"));
        assert!(malformed("V1_1__x.sql").contains("dotted versions"));
        assert!(malformed("R__views.sql").contains("repeatable"));
        assert!(malformed("V1_init.sql").contains("expected `V<version>__"));
        assert!(malformed("0001_init.sql").contains("expected `V<version>__"));
        assert!(malformed("V1__.sql").contains("is empty"));
        assert!(malformed("V1__x.SQL").contains("lower case"));
    }

    #[test]
    fn diesel_metadata() {
        assert_eq!(parse_metadata("run_in_transaction = false\n"), Ok(false));
        assert_eq!(
            parse_metadata("# For CREATE INDEX CONCURRENTLY\nrun_in_transaction=true # yes\n"),
            Ok(true)
        );
        let errors = [
            ("", None, "has no `run_in_transaction`"),
            ("run_in_transaction = no", Some(1), "is `no`"),
            ("\nother = 1", Some(2), "unknown key `other`"),
            ("run_in_transaction", Some(1), "expected `key = value`"),
            (
                "run_in_transaction = true\nrun_in_transaction = false",
                Some(2),
                "twice",
            ),
        ];
        for (text, line, expected) in errors {
            let (at, message) = parse_metadata(text).unwrap_err();
            assert_eq!(at, line, "{text}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn new_migrations_continue_the_layout() {
        let paths = |layout, version, down| -> Vec<(String, bool)> {
            new_migration_files(layout, version, "add_tags", down)
                .into_iter()
                .map(|f| (f.path, f.down))
                .collect()
        };
        let owned = |items: &[(&str, bool)]| -> Vec<(String, bool)> {
            items.iter().map(|(p, d)| ((*p).to_owned(), *d)).collect()
        };
        assert_eq!(
            paths(Layout::Flat, "0003", false),
            owned(&[("0003_add_tags.sql", false)])
        );
        assert_eq!(
            paths(Layout::Flat, "0003", true),
            owned(&[
                ("0003_add_tags.up.sql", false),
                ("0003_add_tags.down.sql", true)
            ])
        );
        assert_eq!(
            paths(Layout::Prisma, "20240102150405", true),
            owned(&[
                ("20240102150405_add_tags/migration.sql", false),
                ("20240102150405_add_tags/down.sql", true)
            ])
        );
        assert_eq!(
            paths(Layout::Diesel, "20240102150405", false),
            owned(&[
                ("2024-01-02-150405_add_tags/up.sql", false),
                ("2024-01-02-150405_add_tags/down.sql", true)
            ])
        );
        assert_eq!(
            paths(Layout::Flyway, "3", true),
            owned(&[("V3__add_tags.sql", false), ("U3__add_tags.sql", true)])
        );
    }

    #[test]
    fn names_round_trip() {
        for layout in Layout::ALL {
            assert_eq!(Layout::from_name(layout.name()), Some(layout));
        }
        assert_eq!(Layout::from_name("refinery"), Some(Layout::Flyway));
        assert_eq!(Layout::from_name("sqlx"), None);
    }
}
