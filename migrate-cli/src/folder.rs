//! The commands of the `migrate` binary that work on the folder itself.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use migrate_cli::{Failure, Outcome};
use migrate_format::checksum::normalize;
use migrate_format::layout::Layout;
use migrate_format::lock::{self, Lock};
use migrate_format::name::{self, Entry};
use migrate_format::{Flavor, Problem, SourceMigration, folder, layout, lexer};

/// The engine `migrate check --dialect` checks the SQL with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Dialect {
    /// A dry run on an in-memory SQLite.
    Sqlite,
    /// A parse with a PostgreSQL grammar.
    Postgres,
}

/// `migrate check`: the macro's checks, without compiling.
pub(crate) fn check(dir: &Path, dialect: Option<Dialect>) -> Result<Outcome, Failure> {
    let flavor = match dialect {
        None => Flavor::Generic,
        Some(Dialect::Sqlite) => Flavor::Sqlite,
        Some(Dialect::Postgres) => Flavor::Postgres,
    };
    let migrations = folder::load(dir, &display(dir), flavor).map_err(invalid)?;
    lock::check_folder(dir, &display(dir), &migrations).map_err(invalid)?;
    let problems = match dialect {
        None => Vec::new(),
        Some(Dialect::Sqlite) => check_sqlite(&migrations)?,
        Some(Dialect::Postgres) => check_postgres(&migrations)?,
    };
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok(Outcome::Done(format!(
        "{}: {}, all valid",
        display(dir),
        count_of(migrations.len(), "migration")
    )))
}

/// `migrate lock`: pins the checksums of every migration in the folder.
pub(crate) fn lock(dir: &Path) -> Result<Outcome, Failure> {
    let migrations = load(dir)?;
    let path = write_lock(dir, &migrations)?;
    Ok(Outcome::Done(format!(
        "locked {} in {path}",
        count_of(migrations.len(), "migration")
    )))
}

/// `migrate new`: creates the next migration, in the folder's layout, and
/// re-locks the existing ones when the folder has a lock file, since
/// starting new work releases them.
///
/// A missing or empty folder starts at `0001`. Files that hold no SQL yet,
/// such as the template of an earlier `new`, count for the next version but
/// do not stop `new`; the build and `migrate check` still refuse them until
/// SQL is written.
pub(crate) fn new(dir: &Path, description: &str, down: bool) -> Result<Outcome, Failure> {
    if let Entry::Malformed(reason) = name::classify(&format!("1_{description}.sql")) {
        return Err(Failure::usage(format!(
            "cannot use `{description}` as a migration's description: {reason}"
        )));
    }
    let existing = Existing::read(dir)?;
    let version = next_version(existing.highest.as_ref(), now_utc());
    let files = layout::new_migration_files(
        existing.layout.unwrap_or_default(),
        &version,
        description,
        down,
    );
    let relock = match &existing.migrations {
        _ if !dir.join(lock::FILE_NAME).exists() => None,
        Some(migrations) => Some(Relock::Written(
            write_lock(dir, migrations)?,
            migrations.len(),
        )),
        // No migration at all: there is nothing to release.
        None if existing.unfilled.is_empty() => None,
        None => Some(Relock::Unfilled(existing.unfilled.clone())),
    };
    fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", display(dir))))?;
    let mut created = Vec::new();
    for layout::NewFile { path: file, down } in files {
        let path = dir.join(&file);
        let direction = if down { "down" } else { "up" };
        let header = format!("-- {description} ({direction}). Write the SQL below this line.\n");
        // Prisma and diesel migrations are directories.
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Failure::usage(format!("cannot create {}: {e}", parent.display())))?;
        }
        fs::write(&path, header)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
        created.push(format!("{}/{file}", display(dir)));
    }
    let mut message = format!("created {}", created.join(" and "));
    match relock {
        Some(Relock::Written(lock, count)) => message.push_str(&format!(
            "\nlocked the {} in {lock}",
            count_of(count, "existing migration")
        )),
        Some(Relock::Unfilled(files)) => message.push_str(&format!(
            "\nleft {} as it was: {} no SQL yet; the next `migrate new` or `migrate lock` locks the migrations once they are written",
            lock::FILE_NAME,
            if files.len() == 1 {
                format!("{} has", files[0])
            } else {
                format!("{} have", files.join(", "))
            }
        )),
        None => {}
    }
    Ok(Outcome::Done(message))
}

/// What `migrate new` did to the lock file.
enum Relock {
    /// Re-locked this many migrations in this file.
    Written(String, usize),
    /// Left it alone, since these files hold no SQL yet.
    Unfilled(Vec<String>),
}

/// The migrations already in the folder, as `migrate new` needs them.
#[derive(Debug, Default)]
struct Existing {
    /// The folder's layout; `None` when it has no migration yet.
    layout: Option<Layout>,
    /// The highest version, and the text its name writes it as.
    highest: Option<(i64, String)>,
    /// The files (as the messages name them) that hold no SQL yet.
    unfilled: Vec<String>,
    /// Every migration, when the folder is valid (so holds no unfilled file).
    migrations: Option<Vec<SourceMigration>>,
}

impl Existing {
    fn read(dir: &Path) -> Result<Existing, Failure> {
        if !dir.exists() {
            return Ok(Existing::default());
        }
        let shown = display(dir);
        let Some(layout) = folder::detect_layout(dir, &shown).map_err(|p| invalid(vec![p]))? else {
            return Ok(Existing::default());
        };
        let mut existing = Existing {
            layout: Some(layout),
            ..Existing::default()
        };
        match folder::load(dir, &shown, Flavor::Generic) {
            Ok(migrations) => {
                existing.highest = migrations
                    .last()
                    .map(|last| (last.version, last.version_text.clone()));
                existing.migrations = Some(migrations);
            }
            Err(problems) => {
                let (unfilled, others): (Vec<Problem>, Vec<Problem>) = problems
                    .into_iter()
                    .partition(|problem| is_about_an_unfilled_file(dir, &shown, problem));
                if !others.is_empty() {
                    return Err(invalid(others));
                }
                existing.unfilled = unfilled.into_iter().map(|problem| problem.file).collect();
                existing.unfilled.dedup();
                existing.highest = highest_by_name(dir, layout);
            }
        }
        Ok(existing)
    }
}

/// Whether a problem is the folder check's refusal of a file that holds no
/// SQL yet. Any other problem in such a file (an unknown directive, say)
/// has a position, and still stops `new`.
fn is_about_an_unfilled_file(dir: &Path, shown: &str, problem: &Problem) -> bool {
    let relative = problem
        .file
        .strip_prefix(shown)
        .and_then(|rest| rest.strip_prefix('/'));
    problem.position.is_none() && relative.is_some_and(|file| holds_no_sql(&dir.join(file)))
}

/// Whether a file holds comments and blanks only, as the template of
/// `migrate new` does. A file that cannot be read or lexed holds something:
/// the folder check reports it.
fn holds_no_sql(path: &Path) -> bool {
    let Ok(content) = fs::read_to_string(path) else {
        return false;
    };
    let lexed = lexer::lex(&normalize(&content), Flavor::Generic);
    lexed.error.is_none() && lexed.statements.is_empty()
}

/// The highest version the folder's entries name in its layout, with the
/// text it is written as: for a folder whose names are all valid, when
/// some migration has no SQL yet and so cannot be loaded.
fn highest_by_name(dir: &Path, layout: Layout) -> Option<(i64, String)> {
    let entries = fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let is_dir = entry.path().is_dir();
            version_of(layout, &name, is_dir)
        })
        .max_by_key(|(version, _)| *version)
}

/// The version an entry's name gives in a layout, if it names a migration.
fn version_of(layout: Layout, name: &str, is_dir: bool) -> Option<(i64, String)> {
    if name.starts_with('.') || is_dir != layout.uses_directories() {
        return None;
    }
    let parsed = match layout {
        Layout::Flat => name::classify(name),
        Layout::Flyway => layout::classify_flyway(name),
        Layout::Prisma | Layout::Diesel => {
            let parsed = layout::parse_directory(layout, name).ok()?;
            return Some((parsed.version, parsed.version_text));
        }
    };
    match parsed {
        Entry::Migration(file) => Some((file.version, file.version_text.to_owned())),
        _ => None,
    }
}

/// `1 migration`, `2 migrations`.
fn count_of(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(feature = "check-sqlite")]
fn check_sqlite(migrations: &[SourceMigration]) -> Result<Vec<Problem>, Failure> {
    Ok(migrate_check::check_sqlite(migrations))
}

#[cfg(not(feature = "check-sqlite"))]
fn check_sqlite(_: &[SourceMigration]) -> Result<Vec<Problem>, Failure> {
    Err(Failure::usage(
        "this build of migrate-cli has no SQLite dry run (feature `check-sqlite`)",
    ))
}

#[cfg(feature = "check-postgres")]
fn check_postgres(migrations: &[SourceMigration]) -> Result<Vec<Problem>, Failure> {
    Ok(migrate_check::check_postgres(migrations))
}

#[cfg(not(feature = "check-postgres"))]
fn check_postgres(_: &[SourceMigration]) -> Result<Vec<Problem>, Failure> {
    Err(Failure::usage(
        "this build of migrate-cli has no PostgreSQL grammar (feature `check-postgres`)",
    ))
}

fn load(dir: &Path) -> Result<Vec<SourceMigration>, Failure> {
    folder::load(dir, &display(dir), Flavor::Generic).map_err(invalid)
}

fn write_lock(dir: &Path, migrations: &[SourceMigration]) -> Result<String, Failure> {
    let path = dir.join(lock::FILE_NAME);
    fs::write(&path, Lock::of(migrations).render())
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path.display().to_string())
}

fn invalid(problems: Vec<Problem>) -> Failure {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Failure::invalid_folder(lines.join("\n"))
}

fn display(dir: &Path) -> String {
    dir.to_string_lossy().trim_end_matches('/').to_owned()
}

/// The version after the folder's highest, in the folder's own scheme:
/// a timestamp (`20240102150405`) if it uses them, else a sequence with
/// the same zero padding, `0001` for an empty folder. `highest` is the
/// highest version and the text its name writes it as.
fn next_version(highest: Option<&(i64, String)>, now: String) -> String {
    let Some((last, text)) = highest else {
        return "0001".to_owned();
    };
    let next = last.saturating_add(1);
    if is_timestamp(text) {
        // Clocks disagree between machines; never go backwards.
        return match now.parse::<i64>() {
            Ok(now) if now > *last => now.to_string(),
            _ => next.to_string(),
        };
    }
    format!("{next:0width$}", width = text.len())
}

fn is_timestamp(version: &str) -> bool {
    // diesel's `00000000000000_diesel_initial_setup` starts a folder of timestamps.
    let diesel_setup = version.bytes().all(|b| b == b'0');
    version.len() == 14 && (version.starts_with("19") || version.starts_with("20") || diesel_setup)
}

/// The current UTC time as `YYYYMMDDHHMMSS`.
fn now_utc() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let time = seconds % 86_400;
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's algorithm, public domain).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_with(names: &[&str]) -> (tempfile::TempDir, Existing) {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "SELECT 1;").unwrap();
        }
        let existing = Existing::read(dir.path()).unwrap();
        (dir, existing)
    }

    fn next(existing: &Existing, now: &str) -> String {
        next_version(existing.highest.as_ref(), now.to_owned())
    }

    #[test]
    fn the_next_version_follows_the_folders_scheme() {
        assert_eq!(next_version(None, "20260101000000".into()), "0001");
        let (_dir, padded) = folder_with(&["0001_a.sql", "0009_b.sql"]);
        assert_eq!(next(&padded, "20260101000000"), "0010");
        let (_dir, plain) = folder_with(&["1_a.up.sql", "2_b.sql"]);
        assert_eq!(next(&plain, "20260101000000"), "3");
        let (_dir, stamped) = folder_with(&["20240102150405_a.sql"]);
        assert_eq!(next(&stamped, "20260101000000"), "20260101000000");
        assert_eq!(
            next(&stamped, "20200101000000"),
            "20240102150406",
            "never backwards"
        );
    }

    #[test]
    fn after_diesels_initial_setup_come_timestamps() {
        let (_dir, setup) = folder_with(&["00000000000000_diesel_initial_setup/up.sql"]);
        assert_eq!(next(&setup, "20260101000000"), "20260101000000");
    }

    /// The template of an earlier `new`: a comment, no SQL.
    const TEMPLATE: &str = "-- b (up). Write the SQL below this line.\n";

    #[test]
    fn files_without_sql_count_for_the_version_and_block_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("0001_a.sql"), "SELECT 1;").unwrap();
        fs::write(dir.path().join("0002_b.up.sql"), TEMPLATE).unwrap();
        fs::write(dir.path().join("0002_b.down.sql"), "").unwrap();
        fs::write(dir.path().join("README.md"), "not SQL").unwrap();
        let existing = Existing::read(dir.path()).unwrap();
        assert_eq!(existing.highest, Some((2, "0002".to_owned())));
        assert_eq!(existing.unfilled.len(), 2, "{:?}", existing.unfilled);
        assert!(existing.migrations.is_none());

        // Other mistakes still stop `new`.
        fs::write(dir.path().join("0003_c.sql"), "SELECT 'unterminated;").unwrap();
        let error = Existing::read(dir.path()).unwrap_err();
        assert!(
            error
                .message
                .contains("0003_c.sql:1:8: unterminated string"),
            "{}",
            error.message
        );
    }

    #[test]
    fn unfilled_migrations_count_in_every_layout() {
        let cases: [(&[&str], &str, (i64, &str)); 3] = [
            (
                &["0001_init/migration.sql"],
                "0002_next/migration.sql",
                (2, "0002"),
            ),
            (&["V1__init.sql"], "V7__next.sql", (7, "7")),
            (
                &[
                    "2024-01-01-000000_init/up.sql",
                    "2024-01-01-000000_init/down.sql",
                ],
                "2024-01-02-000000_next/up.sql",
                (20240102000000, "20240102000000"),
            ),
        ];
        for (filled, unfilled, highest) in cases {
            let (dir, _) = folder_with(filled);
            let path = dir.path().join(unfilled);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, TEMPLATE).unwrap();
            if unfilled.ends_with("/up.sql") {
                fs::write(path.with_file_name("down.sql"), TEMPLATE).unwrap();
            }
            let existing = Existing::read(dir.path()).unwrap();
            assert_eq!(
                existing.highest,
                Some((highest.0, highest.1.to_owned())),
                "{unfilled}"
            );
            assert!(!existing.unfilled.is_empty(), "{unfilled}");
        }
    }

    #[test]
    fn counts_read_as_english() {
        assert_eq!(count_of(1, "migration"), "1 migration");
        assert_eq!(count_of(0, "migration"), "0 migrations");
        assert_eq!(count_of(3, "existing migration"), "3 existing migrations");
    }

    #[test]
    fn new_continues_the_folders_layout() {
        let cases: [(&[&str], &str); 3] = [
            (
                &["migration_lock.toml", "0001_init/migration.sql"],
                "0002_add_tags/migration.sql",
            ),
            (&["V1__init.sql", "U1__init.sql"], "V2__add_tags.sql"),
            (
                &["1_init/up.sql", "1_init/metadata.toml"],
                "2_add_tags/up.sql",
            ),
        ];
        for (existing, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            for name in existing {
                let path = dir.path().join(name);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                let content = match *name {
                    "1_init/metadata.toml" => "run_in_transaction = true",
                    _ => "SELECT 1;",
                };
                fs::write(path, content).unwrap();
            }
            new(dir.path(), "add_tags", false).unwrap();
            let created = dir.path().join(expected);
            assert!(
                fs::read_to_string(&created)
                    .unwrap()
                    .starts_with("-- add_tags (up)"),
                "{expected}"
            );
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(now_utc().len(), 14);
    }
}
