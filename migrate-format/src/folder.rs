//! Reading a migrations folder: names, pairing, content and directives, with
//! every problem collected in one pass.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::checksum::{Checksum, checksum, normalize};
use crate::directive::{self, Directives};
use crate::lexer::{self, Flavor};
use crate::name::{self, Entry, Kind};

/// One migration as read from its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMigration {
    /// The version, from the file name.
    pub version: i64,
    /// The description, from the file name.
    pub description: String,
    /// The up file.
    pub up: SourceFile,
    /// The down file, if the migration has one.
    pub down: Option<SourceFile>,
    /// The checksum of the up file's normalized text.
    pub checksum: Checksum,
}

/// One `.sql` file of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where the file is on disk.
    pub path: PathBuf,
    /// The folder as the caller named it, joined with the file name, for messages.
    pub display: String,
    /// The [normalized](crate::checksum::normalize) content.
    pub sql: String,
    /// The directives at the top of the file.
    pub directives: Directives,
}

/// Something wrong with a migrations folder or one of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The folder or file, as the caller named it.
    pub file: String,
    /// The 1-based line and column, when the problem is inside a file.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl Problem {
    fn in_file(file: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            position: None,
            message: message.into(),
        }
    }

    fn at(file: &str, sql: &str, offset: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.to_owned(),
            position: Some(lexer::line_col(sql, offset)),
            message: message.into(),
        }
    }
}

/// Reads every migration of `folder`, sorted by version.
///
/// `display` is the folder as the user named it (`"migrations"`); messages
/// name files through it. `flavor` selects the quoting rules used to check
/// that strings, comments and dollar quotes are closed.
pub fn load(
    folder: &Path,
    display: &str,
    flavor: Flavor,
) -> Result<Vec<SourceMigration>, Vec<Problem>> {
    let listing = match list(folder, display) {
        Ok(listing) => listing,
        Err(problem) => return Err(vec![problem]),
    };
    let mut problems = listing.problems;
    let mut migrations = Vec::new();
    for (version, files) in listing.by_version {
        if let Some(migration) = assemble(version, files, flavor, &mut problems) {
            migrations.push(migration);
        }
    }
    if migrations.is_empty() && problems.is_empty() {
        problems.push(empty_folder(display, &listing.subfolders));
    }
    if problems.is_empty() {
        Ok(migrations)
    } else {
        problems.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        Err(problems)
    }
}

/// Checks the content of one migration file: encoding, emptiness, closed
/// quotes and directives. Returns its normalized text and directives.
pub fn read_file(
    path: &Path,
    display: &str,
    flavor: Flavor,
) -> Result<(String, Directives), Vec<Problem>> {
    let bytes = fs::read(path).map_err(|error| {
        vec![Problem::in_file(
            display,
            format!("cannot be read: {error}"),
        )]
    })?;
    let content = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        vec![Problem::at(
            display,
            valid,
            valid.len(),
            "is not valid UTF-8; save the file as UTF-8",
        )]
    })?;
    let sql = normalize(&content).into_owned();
    let directives = check_sql(display, &sql, flavor)?;
    Ok((sql, directives))
}

/// Checks normalized SQL text: not empty, every quote closed, directives known.
pub fn check_sql(display: &str, sql: &str, flavor: Flavor) -> Result<Directives, Vec<Problem>> {
    let lexed = lexer::lex(sql, flavor);
    if let Some(error) = &lexed.error {
        return Err(vec![Problem::at(
            display,
            sql,
            error.offset,
            error.to_string(),
        )]);
    }
    let directives = directive::parse(sql, &lexed).map_err(|errors| {
        errors
            .into_iter()
            .map(|error| Problem::at(display, sql, error.offset, error.message))
            .collect::<Vec<_>>()
    })?;
    if lexed.statements.is_empty() {
        let what = if sql.trim().is_empty() {
            "is empty"
        } else {
            "has only comments"
        };
        return Err(vec![Problem::in_file(
            display,
            format!("{what}: a migration needs at least one SQL statement"),
        )]);
    }
    Ok(directives)
}

struct Listing {
    by_version: BTreeMap<i64, Vec<NamedFile>>,
    subfolders: Vec<String>,
    problems: Vec<Problem>,
}

struct NamedFile {
    path: PathBuf,
    display: String,
    file_name: String,
    description: String,
    kind: Kind,
}

fn list(folder: &Path, display: &str) -> Result<Listing, Problem> {
    let entries = fs::read_dir(folder).map_err(|error| {
        let message = match error.kind() {
            std::io::ErrorKind::NotFound => format!(
                "the folder does not exist (looked for {})",
                folder.display()
            ),
            std::io::ErrorKind::NotADirectory => "is a file, not a folder".to_owned(),
            _ => format!("the folder cannot be read: {error}"),
        };
        Problem::in_file(display, message)
    })?;
    let mut listing = Listing {
        by_version: BTreeMap::new(),
        subfolders: Vec::new(),
        problems: Vec::new(),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                listing.problems.push(Problem::in_file(
                    display,
                    format!("the folder cannot be listed: {error}"),
                ));
                continue;
            }
        };
        add_entry(&mut listing, display, &entry);
    }
    Ok(listing)
}

fn add_entry(listing: &mut Listing, display: &str, entry: &fs::DirEntry) {
    let path = entry.path();
    let raw_name = entry.file_name();
    if path.is_dir() {
        listing
            .subfolders
            .push(raw_name.to_string_lossy().into_owned());
        return;
    }
    let Some(file_name) = raw_name.to_str() else {
        let lossy = raw_name.to_string_lossy();
        if lossy.ends_with(".sql") {
            listing.problems.push(Problem::in_file(
                &join(display, &lossy),
                "the file name is not valid UTF-8",
            ));
        }
        return;
    };
    let file_display = join(display, file_name);
    match name::classify(file_name) {
        Entry::Ignored => {}
        Entry::Malformed(reason) => listing.problems.push(Problem::in_file(
            &file_display,
            format!("malformed migration name: {reason}"),
        )),
        Entry::Migration(parsed) => {
            listing
                .by_version
                .entry(parsed.version)
                .or_default()
                .push(NamedFile {
                    path,
                    display: file_display,
                    file_name: file_name.to_owned(),
                    description: parsed.description.to_owned(),
                    kind: parsed.kind,
                })
        }
    }
}

fn join(folder: &str, file: &str) -> String {
    if folder.is_empty() || folder.ends_with('/') {
        format!("{folder}{file}")
    } else {
        format!("{folder}/{file}")
    }
}

/// Turns the files of one version into a migration, or records why not.
fn assemble(
    version: i64,
    mut files: Vec<NamedFile>,
    flavor: Flavor,
    problems: &mut Vec<Problem>,
) -> Option<SourceMigration> {
    files.sort_by(|a, b| (a.kind, &a.file_name).cmp(&(b.kind, &b.file_name)));
    let (ups, downs): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.kind != Kind::Down);
    let mut well_formed = true;
    if ups.len() > 1 || downs.len() > 1 {
        let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
        for file in &files {
            problems.push(Problem::in_file(
                &file.display,
                format!(
                    "duplicate version {version}: {} all have it",
                    names.join(", ")
                ),
            ));
        }
        well_formed = false;
    }
    let pairing = downs
        .first()
        .filter(|_| well_formed)
        .and_then(|down| check_pairing(down, ups.first().copied()));
    if let Some(problem) = pairing {
        problems.push(problem);
        well_formed = false;
    }
    // Read every file even when the names are wrong, so all problems show at once.
    let mut contents: Vec<Option<(String, Directives)>> = Vec::new();
    for file in &files {
        match read_file(&file.path, &file.display, flavor) {
            Ok(content) => contents.push(Some(content)),
            Err(mut file_problems) => {
                problems.append(&mut file_problems);
                contents.push(None);
            }
        }
    }
    if !well_formed || contents.iter().any(Option::is_none) {
        return None;
    }
    let description = ups[0].description.clone();
    let mut sources =
        files
            .into_iter()
            .zip(contents.into_iter().flatten())
            .map(|(file, (sql, directives))| SourceFile {
                path: file.path,
                display: file.display,
                sql,
                directives,
            });
    let up = sources.next()?;
    let down = sources.next();
    Some(SourceMigration {
        version,
        description,
        checksum: checksum(&up.sql),
        up,
        down,
    })
}

fn check_pairing(down: &NamedFile, up: Option<&NamedFile>) -> Option<Problem> {
    let message = match up {
        None => format!(
            "down migration without an up migration: add `{}`",
            down.file_name.replace(".down.sql", ".up.sql")
        ),
        Some(up) if up.kind == Kind::Up => format!(
            "a down migration pairs with a `.up.sql` file: rename `{}` to `{}`",
            up.file_name,
            up.file_name.replace(".sql", ".up.sql")
        ),
        Some(up) if up.description != down.description => format!(
            "the description `{}` differs from the up migration's `{}` ({}); use the same name for both files",
            down.description, up.description, up.file_name
        ),
        Some(_) => return None,
    };
    Some(Problem::in_file(&down.display, message))
}

fn empty_folder(display: &str, subfolders: &[String]) -> Problem {
    let hint = if subfolders.is_empty() {
        "; add a file such as `0001_create_users.sql`".to_owned()
    } else {
        format!(
            "; migrations are `.sql` files directly in the folder, and subfolders ({}) are not read",
            subfolders.join(", ")
        )
    };
    Problem::in_file(display, format!("the folder has no migrations{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    fn problems(files: &[(&str, &[u8])]) -> Vec<String> {
        let dir = folder(files);
        load(dir.path(), "migrations", Flavor::Generic)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn loads_sorted_by_numeric_version() {
        let dir = folder(&[
            ("10_c.sql", b"SELECT 10;"),
            ("9_b.up.sql", b"SELECT 9;"),
            ("9_b.down.sql", b"SELECT -9;"),
            ("0001_a.sql", b"\xef\xbb\xbfSELECT 1;\r\n"),
            ("README.md", b"notes"),
        ]);
        let migrations = load(dir.path(), "migrations", Flavor::Generic).unwrap();
        let versions: Vec<i64> = migrations.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 9, 10]);
        assert_eq!(migrations[0].up.sql, "SELECT 1;\n");
        assert_eq!(migrations[0].up.display, "migrations/0001_a.sql");
        assert_eq!(migrations[1].down.as_ref().unwrap().sql, "SELECT -9;");
        assert_eq!(migrations[1].checksum, checksum("SELECT 9;"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let found = problems(&[
            ("1_a.sql", b"SELECT 1;"),
            ("01_b.sql", b"SELECT 1;"),
            ("2_c.down.sql", b"SELECT 1;"),
            ("3_d.sql", b"  \n"),
            ("4_e.sql", b"SELECT '\xff';"),
            ("5_f.sql", b"-- migrate:bogus\nSELECT 1;"),
            ("6_g.sql", b"SELECT 1;\nSELECT 'oops;"),
            ("seven.sql", b"SELECT 1;"),
        ]);
        let expected = [
            "migrations/01_b.sql: duplicate version 1: 01_b.sql, 1_a.sql all have it",
            "migrations/1_a.sql: duplicate version 1: 01_b.sql, 1_a.sql all have it",
            "migrations/2_c.down.sql: down migration without an up migration: add `2_c.up.sql`",
            "migrations/3_d.sql: is empty: a migration needs at least one SQL statement",
            "migrations/4_e.sql:1:9: is not valid UTF-8; save the file as UTF-8",
            "migrations/5_f.sql:1:1: unknown directive `migrate:bogus`; known directives: `migrate:no-transaction`, `migrate:no-check`, `migrate:sqlite-function`, `migrate:allow`",
            "migrations/6_g.sql:2:8: unterminated string: this `'` is never closed",
        ];
        assert_eq!(found[..7], expected);
        assert!(
            found[7].starts_with("migrations/seven.sql: malformed migration name"),
            "{found:?}"
        );
    }

    #[test]
    fn pairing_mistakes() {
        let found = problems(&[("1_a.sql", b"SELECT 1;"), ("1_a.down.sql", b"SELECT 1;")]);
        assert!(
            found[0].contains("rename `1_a.sql` to `1_a.up.sql`"),
            "{found:?}"
        );
        let found = problems(&[("1_a.up.sql", b"SELECT 1;"), ("1_b.down.sql", b"SELECT 1;")]);
        assert!(
            found[0].contains("differs from the up migration's `a`"),
            "{found:?}"
        );
    }

    #[test]
    fn missing_and_empty_folders() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(&dir.path().join("nope"), "nope", Flavor::Generic).unwrap_err();
        assert!(
            missing[0]
                .to_string()
                .starts_with("nope: the folder does not exist")
        );
        fs::create_dir(dir.path().join("20240101_init")).unwrap();
        let empty = load(dir.path(), "migrations", Flavor::Generic).unwrap_err();
        assert!(
            empty[0]
                .message
                .contains("subfolders (20240101_init) are not read"),
            "{empty:?}"
        );
    }
}
