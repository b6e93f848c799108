//! The commands of the `migrate` binary that work on the folder itself.

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use migrate_cli::{Failure, Outcome};
use migrate_format::lock::{self, Lock};
use migrate_format::name::{self, Entry};
use migrate_format::{Flavor, Problem, SourceMigration, folder};

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
        "{}: {} migrations, all valid",
        display(dir),
        migrations.len()
    )))
}

/// `migrate lock`: pins the checksums of every migration in the folder.
pub(crate) fn lock(dir: &Path) -> Result<Outcome, Failure> {
    let migrations = load(dir)?;
    let path = write_lock(dir, &migrations)?;
    Ok(Outcome::Done(format!(
        "locked {} migrations in {path}",
        migrations.len()
    )))
}

/// `migrate new`: creates the next migration, and re-locks the existing
/// ones when the folder has a lock file, since starting new work releases them.
pub(crate) fn new(dir: &Path, description: &str, down: bool) -> Result<Outcome, Failure> {
    if let Entry::Malformed(reason) = name::classify(&format!("1_{description}.sql")) {
        return Err(Failure::usage(format!(
            "cannot use `{description}` as a migration's description: {reason}"
        )));
    }
    let migrations = if dir.exists() { load(dir)? } else { Vec::new() };
    let stem = format!("{}_{description}", next_version(&migrations, now_utc()));
    let relocked = if dir.join(lock::FILE_NAME).exists() {
        Some(write_lock(dir, &migrations)?)
    } else {
        None
    };
    fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", display(dir))))?;
    let files = if down {
        vec![
            (format!("{stem}.up.sql"), "up"),
            (format!("{stem}.down.sql"), "down"),
        ]
    } else {
        vec![(format!("{stem}.sql"), "up")]
    };
    let mut created = Vec::new();
    for (file, direction) in files {
        let path = dir.join(&file);
        let header = format!("-- {description} ({direction}). Write the SQL below this line.\n");
        fs::write(&path, header)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
        created.push(format!("{}/{file}", display(dir)));
    }
    let mut message = format!("created {}", created.join(" and "));
    if let Some(lock) = relocked {
        message.push_str(&format!(
            "\nlocked the {} existing migrations in {lock}",
            migrations.len()
        ));
    }
    Ok(Outcome::Done(message))
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
/// the same zero padding, `0001` for an empty folder.
fn next_version(migrations: &[SourceMigration], now: String) -> String {
    let Some(last) = migrations.last() else {
        return "0001".to_owned();
    };
    let text = last
        .up
        .path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split_once('_'))
        .map_or_else(
            || last.version.to_string(),
            |(version, _)| version.to_owned(),
        );
    let next = last.version.saturating_add(1);
    if is_timestamp(&text) {
        // Clocks disagree between machines; never go backwards.
        return match now.parse::<i64>() {
            Ok(now) if now > last.version => now.to_string(),
            _ => next.to_string(),
        };
    }
    format!("{next:0width$}", width = text.len())
}

fn is_timestamp(version: &str) -> bool {
    version.len() == 14 && (version.starts_with("19") || version.starts_with("20"))
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

    fn folder_with(names: &[&str]) -> (tempfile::TempDir, Vec<SourceMigration>) {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            fs::write(dir.path().join(name), "SELECT 1;").unwrap();
        }
        let migrations = load(dir.path()).unwrap();
        (dir, migrations)
    }

    #[test]
    fn the_next_version_follows_the_folders_scheme() {
        assert_eq!(next_version(&[], "20260101000000".into()), "0001");
        let (_dir, padded) = folder_with(&["0001_a.sql", "0009_b.sql"]);
        assert_eq!(next_version(&padded, "20260101000000".into()), "0010");
        let (_dir, plain) = folder_with(&["1_a.up.sql", "2_b.sql"]);
        assert_eq!(next_version(&plain, "20260101000000".into()), "3");
        let (_dir, stamped) = folder_with(&["20240102150405_a.sql"]);
        assert_eq!(
            next_version(&stamped, "20260101000000".into()),
            "20260101000000"
        );
        assert_eq!(
            next_version(&stamped, "20200101000000".into()),
            "20240102150406",
            "never backwards"
        );
    }

    #[test]
    fn utc_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(now_utc().len(), 14);
    }
}
