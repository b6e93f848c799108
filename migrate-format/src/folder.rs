//! Reading a migrations folder: names, pairing, content and directives, with
//! every problem collected in one pass.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::checksum::{Checksum, checksum, normalize};
use crate::control;
use crate::directive::{self, Directives};
use crate::layout::{self, DirectoryFile, Layout, Listed};
use crate::lexer::{self, Flavor};
use crate::name::{self, Entry, Kind};

/// One migration as read from its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMigration {
    /// The version, from the file name.
    pub version: i64,
    /// The version as the name writes it, without diesel's `-`: `0001`,
    /// `20240102150405`. `migrate new` continues its numbering.
    pub version_text: String,
    /// The description, from the file name.
    pub description: String,
    /// The up file.
    pub up: SourceFile,
    /// The down file, if the migration has one.
    pub down: Option<SourceFile>,
    /// The checksum of the up file's normalized text.
    pub checksum: Checksum,
    /// diesel's `metadata.toml`, when the migration has one. It decides
    /// whether the migration runs in a transaction, so the macro rebuilds
    /// when it changes, although the checksum covers only the SQL.
    pub metadata: Option<PathBuf>,
}

/// One `.sql` file of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where the file is on disk.
    pub path: PathBuf,
    /// The folder as the caller named it, joined with the file name, for messages.
    pub display: String,
    /// The file's path inside the folder, with `/`: `0001_a.up.sql`,
    /// `0001_a/migration.sql`. `migrate.lock` names the file with it.
    pub name: String,
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

/// Reads every migration of `folder`, sorted by version, in the layout the
/// folder's entries show (see [`layout`]).
///
/// `display` is the folder as the user named it (`"migrations"`); messages
/// name files through it. `flavor` selects the quoting rules used to check
/// that strings, comments and dollar quotes are closed.
pub fn load(
    folder: &Path,
    display: &str,
    flavor: Flavor,
) -> Result<Vec<SourceMigration>, Vec<Problem>> {
    load_as(folder, display, flavor, None)
}

/// [`load`], in the given layout rather than the detected one when `layout`
/// is set: then every entry that belongs to another layout is a problem.
pub fn load_as(
    folder: &Path,
    display: &str,
    flavor: Flavor,
    layout: Option<Layout>,
) -> Result<Vec<SourceMigration>, Vec<Problem>> {
    let listing = list(folder, display).map_err(|problem| vec![problem])?;
    let layout = match layout {
        Some(layout) => layout,
        None => layout::detect(&listing.entries)
            .map_err(|signs| vec![Problem::in_file(display, layout::mixed_message(&signs))])?
            .unwrap_or_default(),
    };
    let mut named = name_files(layout, &listing, display);
    let mut migrations = Vec::new();
    for (version, files) in named.by_version {
        if let Some(migration) = assemble(version, files, layout, flavor, &mut named.problems) {
            migrations.push(migration);
        }
    }
    let mut problems = named.problems;
    if migrations.is_empty() && problems.is_empty() {
        problems.push(empty_folder(display, layout, &listing.entries));
    }
    if problems.is_empty() {
        Ok(migrations)
    } else {
        problems.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        Err(problems)
    }
}

/// The layout of a folder, from its entries: `Ok(None)` for a folder with
/// no migration yet, an error for a folder that mixes layouts or cannot be
/// read. For `migrate new`, which continues the folder's layout.
pub fn detect_layout(folder: &Path, display: &str) -> Result<Option<Layout>, Problem> {
    let listing = list(folder, display)?;
    layout::detect(&listing.entries)
        .map_err(|signs| Problem::in_file(display, layout::mixed_message(&signs)))
}

/// Checks the content of one migration file: encoding, emptiness, closed
/// quotes and directives. Returns its normalized text and directives.
pub fn read_file(
    path: &Path,
    display: &str,
    flavor: Flavor,
) -> Result<(String, Directives), Vec<Problem>> {
    read_script(path, display, flavor, false)
}

fn read_script(
    path: &Path,
    display: &str,
    flavor: Flavor,
    outside_transaction: bool,
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
    let directives = check_script(display, &sql, flavor, outside_transaction)?;
    Ok((sql, directives))
}

/// Checks normalized SQL text: no NUL byte, not empty, every quote closed,
/// directives known, and, unless the file has `-- migrate:no-transaction`,
/// no statement that would end or escape the transaction migrate runs it in
/// (see [`control`]).
pub fn check_sql(display: &str, sql: &str, flavor: Flavor) -> Result<Directives, Vec<Problem>> {
    check_script(display, sql, flavor, false)
}

/// [`check_sql`], for a script that runs outside a transaction whatever its
/// directives say when `outside_transaction` is set (diesel's
/// `metadata.toml`).
fn check_script(
    display: &str,
    sql: &str,
    flavor: Flavor,
    outside_transaction: bool,
) -> Result<Directives, Vec<Problem>> {
    if let Some(offset) = sql.find('\0') {
        return Err(vec![Problem::at(
            display,
            sql,
            offset,
            "contains a NUL byte, where SQLite would stop reading and silently skip the rest of the migration; remove it",
        )]);
    }
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
    let outside_transaction = directives.no_transaction || outside_transaction;
    if flavor == Flavor::Generic && outside_transaction {
        split_by_both_engines(display, sql)?;
    }
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
    if !outside_transaction {
        let escapes = control::escapes(sql, &lexed, flavor);
        if !escapes.is_empty() {
            return Err(escapes
                .into_iter()
                .map(|escape| Problem::at(display, sql, escape.offset, escape.message))
                .collect());
        }
    }
    Ok(directives)
}

/// A migration that runs outside a transaction is split into statements at
/// run time, with the rules of the engine it runs on. Without a dialect that
/// engine is unknown, so both engines' rules must read the script to its
/// end: where one stopped at an unterminated token, the runtime would drop
/// the rest of the script.
fn split_by_both_engines(display: &str, sql: &str) -> Result<(), Vec<Problem>> {
    for (flavor, engine) in [(Flavor::Sqlite, "SQLite"), (Flavor::Postgres, "PostgreSQL")] {
        if let Some(error) = lexer::lex(sql, flavor).error {
            return Err(vec![Problem::at(
                display,
                sql,
                error.offset,
                format!(
                    "{error} under {engine}'s rules, with which this `no-transaction` migration is split into statements when it runs on {engine}; close it, or name the engine with `dialect = \"…\"` if the migration never runs on {engine}"
                ),
            )]);
        }
    }
    Ok(())
}

/// A folder's entries, with the files of each subfolder.
struct Listing {
    folder: PathBuf,
    entries: Vec<Listed>,
    problems: Vec<Problem>,
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
        folder: folder.to_path_buf(),
        entries: Vec::new(),
        problems: Vec::new(),
    };
    for entry in entries {
        match entry {
            Ok(entry) => add_entry(&mut listing, display, &entry),
            Err(error) => listing.problems.push(Problem::in_file(
                display,
                format!("the folder cannot be listed: {error}"),
            )),
        }
    }
    listing.entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

fn add_entry(listing: &mut Listing, display: &str, entry: &fs::DirEntry) {
    let path = entry.path();
    let raw_name = entry.file_name();
    let Some(name) = raw_name.to_str() else {
        let lossy = raw_name.to_string_lossy();
        if lossy.ends_with(".sql") || path.is_dir() {
            listing.problems.push(Problem::in_file(
                &join(display, &lossy),
                "the name is not valid UTF-8",
            ));
        }
        return;
    };
    let files = if path.is_dir() && !name.starts_with('.') {
        match files_in(&path) {
            Ok(files) => Some(files),
            Err(error) => {
                listing.problems.push(Problem::in_file(
                    &join(display, name),
                    format!("the folder cannot be listed: {error}"),
                ));
                return;
            }
        }
    } else if path.is_dir() {
        Some(Vec::new())
    } else {
        None
    };
    listing.entries.push(Listed {
        name: name.to_owned(),
        files,
    });
}

/// The names of the files (not folders) in a migration directory.
fn files_in(directory: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(directory)? {
        let entry = entry?;
        if !entry.path().is_dir() {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    files.sort();
    Ok(files)
}

/// The migration files of a folder, grouped by version, and the problems
/// their names have.
struct Named {
    by_version: BTreeMap<i64, Vec<NamedFile>>,
    problems: Vec<Problem>,
}

struct NamedFile {
    path: PathBuf,
    display: String,
    /// The path inside the folder, as written in messages and `migrate.lock`.
    name: String,
    version_text: String,
    description: String,
    kind: Kind,
    /// diesel's `run_in_transaction = false`.
    outside_transaction: bool,
    /// diesel's `metadata.toml`.
    metadata: Option<PathBuf>,
}

fn name_files(layout: Layout, listing: &Listing, display: &str) -> Named {
    let mut named = Named {
        by_version: BTreeMap::new(),
        problems: listing.problems.clone(),
    };
    for entry in &listing.entries {
        match (&entry.files, layout.uses_directories()) {
            (None, false) => name_file(layout, &listing.folder, &entry.name, display, &mut named),
            (Some(files), true) => {
                name_directory(layout, &listing.folder, entry, files, display, &mut named)
            }
            (None, true) => refuse_loose_file(layout, &entry.name, display, &mut named),
            (Some(_), false) => refuse_directory(layout, entry, display, &mut named),
        }
    }
    named
}

/// A file directly in a flat or Flyway folder.
fn name_file(layout: Layout, folder: &Path, file_name: &str, display: &str, named: &mut Named) {
    let file_display = join(display, file_name);
    let entry = match layout {
        Layout::Flyway => layout::classify_flyway(file_name),
        _ => name::classify(file_name),
    };
    match entry {
        Entry::Ignored => {}
        Entry::Malformed(reason) => named.problems.push(Problem::in_file(
            &file_display,
            format!("malformed migration name: {reason}"),
        )),
        Entry::Migration(parsed) => {
            named
                .by_version
                .entry(parsed.version)
                .or_default()
                .push(NamedFile {
                    path: folder.join(file_name),
                    display: file_display,
                    name: file_name.to_owned(),
                    version_text: parsed.version_text.to_owned(),
                    description: parsed.description.to_owned(),
                    kind: parsed.kind,
                    outside_transaction: false,
                    metadata: None,
                })
        }
    }
}

/// A migration directory of a Prisma or diesel folder.
fn name_directory(
    layout: Layout,
    folder: &Path,
    entry: &Listed,
    files: &[String],
    display: &str,
    named: &mut Named,
) {
    if entry.name.starts_with('.') {
        return;
    }
    let directory_display = join(display, &entry.name);
    let parsed = match layout::parse_directory(layout, &entry.name) {
        Ok(parsed) => parsed,
        Err(reason) => {
            named.problems.push(Problem::in_file(
                &directory_display,
                format!("malformed migration directory name: {reason}"),
            ));
            return;
        }
    };
    let mut found = Vec::new();
    let mut outside_transaction = false;
    let mut metadata = None;
    for file in files {
        let name = format!("{}/{file}", entry.name);
        let file_display = join(display, &name);
        let kind = match layout::classify_directory_file(layout, file) {
            DirectoryFile::Up => Kind::PairedUp,
            DirectoryFile::Down => Kind::Down,
            DirectoryFile::Metadata => {
                let path = folder.join(&name);
                match read_metadata(&path, &file_display) {
                    Ok(run_in_transaction) => outside_transaction = !run_in_transaction,
                    Err(problem) => named.problems.push(problem),
                }
                metadata = Some(path);
                continue;
            }
            DirectoryFile::Ignored => continue,
            DirectoryFile::Unexpected => {
                named.problems.push(Problem::in_file(
                    &file_display,
                    layout::unexpected_file_message(layout),
                ));
                continue;
            }
        };
        found.push(NamedFile {
            path: folder.join(&entry.name).join(file),
            display: file_display,
            name,
            version_text: parsed.version_text.clone(),
            description: parsed.description.to_owned(),
            kind,
            outside_transaction: false,
            metadata: None,
        });
    }
    if !found.iter().any(|file| file.kind == Kind::PairedUp) {
        named.problems.push(Problem::in_file(
            &directory_display,
            layout::missing_up_message(layout, files),
        ));
        return;
    }
    for mut file in found {
        file.outside_transaction = outside_transaction;
        file.metadata.clone_from(&metadata);
        named
            .by_version
            .entry(parsed.version)
            .or_default()
            .push(file);
    }
}

fn read_metadata(path: &Path, display: &str) -> Result<bool, Problem> {
    let text = fs::read_to_string(path)
        .map_err(|error| Problem::in_file(display, format!("cannot be read: {error}")))?;
    layout::parse_metadata(&text).map_err(|(line, message)| Problem {
        file: display.to_owned(),
        position: line.map(|line| (line, 1)),
        message,
    })
}

/// A `.sql` file directly in a folder whose migrations are directories.
fn refuse_loose_file(layout: Layout, file_name: &str, display: &str, named: &mut Named) {
    let is_sql = file_name.to_ascii_lowercase().ends_with(".sql");
    if file_name.starts_with('.') || !is_sql {
        return;
    }
    named.problems.push(Problem::in_file(
        &join(display, file_name),
        format!(
            "a `.sql` file directly in a folder of {}, where it would not run; move it into a migration directory, or remove it",
            layout.shape()
        ),
    ));
}

/// A subfolder of a flat or Flyway folder: ignored, unless it holds another
/// layout's migration, which would otherwise be skipped silently.
fn refuse_directory(layout: Layout, entry: &Listed, display: &str, named: &mut Named) {
    if let Some(sign) = layout::signs(std::slice::from_ref(entry)).first() {
        named.problems.push(Problem::in_file(
            &join(display, &sign.path),
            format!(
                "a {} migration, in a folder read as {}, where it would not run; move it to the folder's layout, or remove it",
                sign.layout.title(),
                layout.shape()
            ),
        ));
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
    layout: Layout,
    flavor: Flavor,
    problems: &mut Vec<Problem>,
) -> Option<SourceMigration> {
    files.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let (ups, downs): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.kind != Kind::Down);
    let mut well_formed = true;
    if ups.len() > 1 || downs.len() > 1 {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
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
        .and_then(|down| check_pairing(layout, down, ups.first().copied()));
    if let Some(problem) = pairing {
        problems.push(problem);
        well_formed = false;
    }
    // Read every file even when the names are wrong, so all problems show at once.
    let mut contents: Vec<Option<(String, Directives)>> = Vec::new();
    for file in &files {
        match read_script(&file.path, &file.display, flavor, file.outside_transaction) {
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
    let version_text = ups[0].version_text.clone();
    let metadata = ups[0].metadata.clone();
    let mut sources = files.into_iter().zip(contents.into_iter().flatten()).map(
        |(file, (sql, mut directives))| {
            directives.no_transaction |= file.outside_transaction;
            SourceFile {
                path: file.path,
                display: file.display,
                name: file.name,
                sql,
                directives,
            }
        },
    );
    let up = sources.next()?;
    let down = sources.next();
    Some(SourceMigration {
        version,
        version_text,
        description,
        checksum: checksum(&up.sql),
        up,
        down,
        metadata,
    })
}

fn check_pairing(layout: Layout, down: &NamedFile, up: Option<&NamedFile>) -> Option<Problem> {
    let message = match up {
        None if layout == Layout::Flyway => format!(
            "undo migration without a versioned migration: add `V{}__{}.sql`; refinery's unversioned migrations, also written `U…`, are not supported",
            down.version_text, down.description
        ),
        None => format!(
            "down migration without an up migration: add `{}`",
            down.name.replace(".down.sql", ".up.sql")
        ),
        Some(up) if up.kind == Kind::Up => format!(
            "a down migration pairs with a `.up.sql` file: rename `{}` to `{}`",
            up.name,
            up.name.replace(".sql", ".up.sql")
        ),
        // Flyway pairs an undo migration with its versioned one by version alone.
        Some(up) if layout == Layout::Flat && up.description != down.description => format!(
            "the description `{}` differs from the up migration's `{}` ({}); use the same name for both files",
            down.description, up.description, up.name
        ),
        Some(_) => return None,
    };
    Some(Problem::in_file(&down.display, message))
}

fn empty_folder(display: &str, layout: Layout, entries: &[Listed]) -> Problem {
    let example = layout::new_migration_files(layout, "0001", "create_users", false)
        .into_iter()
        .next()
        .map(|file| file.path)
        .unwrap_or_default();
    let subfolders: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.files.is_some() && !entry.name.starts_with('.'))
        .map(|entry| entry.name.as_str())
        .collect();
    let hint = if subfolders.is_empty() || layout.uses_directories() {
        format!("; add a file such as `{example}`")
    } else {
        format!(
            "; migrations are `.sql` files directly in the folder, and its subfolders ({}) hold no migration: a Prisma one is `<version>_<name>/migration.sql`, a diesel one `<version>_<name>/up.sql`",
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
            "migrations/5_f.sql:1:1: unknown directive `migrate:bogus`; known directives: `migrate:no-transaction`, `migrate:no-check`, `migrate:sqlite-function`",
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
                .contains("subfolders (20240101_init) hold no migration"),
            "{empty:?}"
        );
    }

    /// A folder of files and directories: a name ending in `/` is a
    /// directory, created with the files listed after it.
    fn tree(entries: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in entries {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        dir
    }

    fn tree_problems(entries: &[(&str, &str)], layout: Option<Layout>) -> Vec<String> {
        let dir = tree(entries);
        load_as(dir.path(), "migrations", Flavor::Generic, layout)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn transaction_control_is_refused_in_transactional_migrations_only() {
        let found = problems(&[
            (
                "1_a.sql",
                b"CREATE TABLE c1 (id INT);\nCOMMIT;\nCREATE TABLE c2 (id INT);",
            ),
            ("2_b.up.sql", b"CREATE TABLE b (id INT);"),
            ("2_b.down.sql", b"BEGIN;\nDROP TABLE b;\nEND;"),
        ]);
        assert_eq!(
            found,
            [
                "migrations/1_a.sql:2:1: COMMIT would end the transaction that migrate runs this migration in; remove it, or run the migration outside a transaction with `-- migrate:no-transaction`",
                "migrations/2_b.down.sql:1:1: BEGIN would open a transaction inside the one that migrate runs this migration in (SQLite refuses it, PostgreSQL ignores it); remove it, or run the migration outside a transaction with `-- migrate:no-transaction`",
                "migrations/2_b.down.sql:3:1: END would end the transaction that migrate runs this migration in; remove it, or run the migration outside a transaction with `-- migrate:no-transaction`",
            ]
        );
        let dir = folder(&[(
            "1_a.sql",
            b"-- migrate:no-transaction\nBEGIN;\nCREATE TABLE c1 (id INT);\nCOMMIT;",
        )]);
        assert!(load(dir.path(), "migrations", Flavor::Generic).is_ok());
    }

    #[test]
    fn without_a_dialect_either_engines_sql_is_accepted() {
        let dir = folder(&[
            (
                "1_sqlite.sql",
                b"/* SQLite's comments do not nest: /* */\nSELECT 1;",
            ),
            ("2_postgres.sql", b"SELECT ARRAY['a]'];"),
            (
                "3_postgres.sql",
                b"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;",
            ),
        ]);
        assert_eq!(load(dir.path(), "m", Flavor::Generic).unwrap().len(), 3);
        // Each engine's own rules refuse the other's.
        assert!(load(dir.path(), "m", Flavor::Sqlite).is_err());
        assert!(load(dir.path(), "m", Flavor::Postgres).is_err());
    }

    #[test]
    fn without_a_dialect_a_no_transaction_migration_must_split_under_both_engines() {
        let found = problems(&[(
            "1_a.sql",
            b"-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nSELECT ARRAY['a]'];\nSELECT 3;",
        )]);
        assert_eq!(
            found,
            [
                "migrations/1_a.sql:3:17: unterminated string: this `'` is never closed under SQLite's rules, with which this `no-transaction` migration is split into statements when it runs on SQLite; close it, or name the engine with `dialect = \"…\"` if the migration never runs on SQLite"
            ]
        );
        let dir = folder(&[(
            "1_a.sql",
            b"-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\nSELECT ARRAY['a]'];",
        )]);
        assert!(load(dir.path(), "m", Flavor::Postgres).is_ok());
    }

    #[test]
    fn nul_bytes_are_refused_where_they_are() {
        let found = problems(&[(
            "1_a.sql",
            b"CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\0DROP TABLE a;",
        )]);
        assert_eq!(
            found,
            [
                "migrations/1_a.sql:2:26: contains a NUL byte, where SQLite would stop reading and silently skip the rest of the migration; remove it"
            ]
        );
    }

    #[test]
    fn each_layout_is_read_in_place() {
        let prisma = tree(&[
            ("migration_lock.toml", "provider = \"sqlite\""),
            (
                "0001_initial_schema/migration.sql",
                "CREATE TABLE a (id INT);",
            ),
            ("0002_add_b/migration.sql", "CREATE TABLE b (id INT);"),
            ("0002_add_b/down.sql", "DROP TABLE b;"),
            ("0002_add_b/README.md", "notes"),
        ]);
        let read = load(prisma.path(), "migrations", Flavor::Generic).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].description, "initial_schema");
        assert_eq!(read[0].version_text, "0001");
        assert_eq!(
            read[0].up.display,
            "migrations/0001_initial_schema/migration.sql"
        );
        assert_eq!(read[0].up.name, "0001_initial_schema/migration.sql");
        assert_eq!(read[1].down.as_ref().unwrap().sql, "DROP TABLE b;");

        let diesel = tree(&[
            ("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;"),
            ("00000000000000_diesel_initial_setup/down.sql", "SELECT 2;"),
            (
                "2024-01-01-000000_create_users/up.sql",
                "CREATE TABLE users (id INT);",
            ),
            (
                "2024-01-02-000000_index/up.sql",
                "CREATE INDEX CONCURRENTLY i ON users (id);",
            ),
            (
                "2024-01-02-000000_index/down.sql",
                "DROP INDEX CONCURRENTLY i;",
            ),
            (
                "2024-01-02-000000_index/metadata.toml",
                "run_in_transaction = false\n",
            ),
            (".keep", ""),
        ]);
        let read = load(diesel.path(), "migrations", Flavor::Generic).unwrap();
        let versions: Vec<i64> = read.iter().map(|m| m.version).collect();
        assert_eq!(versions, [0, 20240101000000, 20240102000000]);
        assert_eq!(read[1].version_text, "20240101000000");
        assert!(!read[1].up.directives.no_transaction);
        assert!(read[2].up.directives.no_transaction);
        assert!(read[2].down.as_ref().unwrap().directives.no_transaction);

        let flyway = tree(&[
            ("V1__init.sql", "CREATE TABLE a (id INT);"),
            ("U1__init.sql", "DROP TABLE a;"),
            ("V2__more.sql", "CREATE TABLE b (id INT);"),
        ]);
        let read = load(flyway.path(), "migrations", Flavor::Generic).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].down.as_ref().unwrap().name, "U1__init.sql");
        assert_eq!(read[1].description, "more");
    }

    #[test]
    fn the_checksum_covers_the_sql_file_only() {
        let before = tree(&[("0001_a/migration.sql", "CREATE TABLE a (id INT);")]);
        let after = tree(&[("1_renamed/migration.sql", "CREATE TABLE a (id INT);")]);
        let flat = tree(&[("0001_a.sql", "CREATE TABLE a (id INT);")]);
        let checksums: Vec<Checksum> = [&before, &after, &flat]
            .iter()
            .map(|dir| load(dir.path(), "m", Flavor::Generic).unwrap()[0].checksum)
            .collect();
        assert_eq!(checksums[0], checksums[1]);
        assert_eq!(checksums[0], checksums[2]);
    }

    #[test]
    fn a_folder_mixing_layouts_is_one_problem() {
        let found = tree_problems(
            &[
                ("0001_a.sql", "SELECT 1;"),
                ("0002_b/migration.sql", "SELECT 2;"),
            ],
            None,
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("migrations: the folder mixes layouts: `0001_a.sql`"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_chosen_layout_reports_what_does_not_fit() {
        let entries = [
            ("0001_a.sql", "SELECT 1;"),
            ("0002_b/migration.sql", "SELECT 2;"),
        ];
        let as_prisma = tree_problems(&entries, Some(Layout::Prisma));
        assert_eq!(as_prisma.len(), 1, "{as_prisma:#?}");
        assert!(as_prisma[0].starts_with(
            "migrations/0001_a.sql: a `.sql` file directly in a folder of Prisma directories"
        ));
        let as_flat = tree_problems(&entries, Some(Layout::Flat));
        assert!(
            as_flat[0].starts_with(
                "migrations/0002_b/migration.sql: a Prisma migration, in a folder read as"
            ),
            "{as_flat:#?}"
        );
    }

    #[test]
    fn directory_layout_mistakes() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[
                    ("0001_a/migration.sql", "SELECT 1;"),
                    ("0002_b/notes.txt", ""),
                ],
                "migrations/0002_b: the migration directory has no `migration.sql`",
            ),
            (
                &[
                    ("0001_a/migration.sql", "SELECT 1;"),
                    ("0001_a/seed.sql", "SELECT 1;"),
                ],
                "migrations/0001_a/seed.sql: a Prisma migration directory holds `migration.sql`",
            ),
            (
                &[
                    ("0001_a/migration.sql", "SELECT 1;"),
                    ("1_b/migration.sql", "SELECT 1;"),
                ],
                "migrations/0001_a/migration.sql: duplicate version 1: 0001_a/migration.sql, 1_b/migration.sql all have it",
            ),
            (
                &[("init/migration.sql", "SELECT 1;")],
                "migrations/init: malformed migration directory name: expected `<version>_<name>`",
            ),
            (
                &[
                    ("2024-01-01-000000_a/up.sql", "SELECT 1;"),
                    (
                        "2024-01-01-000000_a/metadata.toml",
                        "run_in_transaction = maybe",
                    ),
                ],
                "migrations/2024-01-01-000000_a/metadata.toml:1:1: `run_in_transaction` is `maybe`",
            ),
            (
                &[("U1__a.sql", "SELECT 1;"), ("V2__b.sql", "SELECT 2;")],
                "migrations/U1__a.sql: undo migration without a versioned migration: add `V1__a.sql`",
            ),
        ];
        for (entries, expected) in cases {
            let found = tree_problems(entries, None);
            assert!(found[0].starts_with(expected), "{entries:?}: {found:#?}");
        }
    }

    #[test]
    fn new_migrations_are_read_back_in_their_layout() {
        for layout in Layout::ALL {
            for (version, down) in [("0007", false), ("20240102150405", true)] {
                let files = layout::new_migration_files(layout, version, "add_tags", down);
                let entries: Vec<(&str, &str)> = files
                    .iter()
                    .map(|f| (f.path.as_str(), "SELECT 1;"))
                    .collect();
                let dir = tree(&entries);
                assert_eq!(detect_layout(dir.path(), "m"), Ok(Some(layout)));
                let read = load_as(dir.path(), "m", Flavor::Generic, Some(layout)).unwrap();
                assert_eq!(read.len(), 1, "{layout:?}");
                assert_eq!(read[0].version_text, version);
                assert_eq!(read[0].description, "add_tags");
                assert_eq!(read[0].down.is_some(), down || layout == Layout::Diesel);
            }
        }
    }
}
