//! The integrity file, `migrate.lock`: the checksums of released migrations,
//! committed next to them.
//!
//! ```text
//! # migrate.lock: written by `migrate lock`. Do not edit by hand.
//! # Locked migrations must not change; new ones need a higher version.
//! 1 1f2d…9a 0001_create_users.sql
//! 2 77c0…e1 0002_create_posts.up.sql
//! total 5be4…07
//! ```
//!
//! One line per locked migration gives its version, the checksum of its up
//! file and, for people, the file name. The last line is a hash over all of
//! them, so two branches that each lock a new migration both change it, and
//! git reports a conflict instead of merging the two silently.
//!
//! The rule, checked by the macro and by `migrate check`: a locked migration
//! is never edited or removed, and a new migration has a version above the
//! highest locked one. Migrations above the lock are unreleased work and can
//! change freely until they are locked.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::checksum::{self, Checksum};
use crate::folder::{Problem, SourceMigration};

/// The file name of the integrity file, inside the migrations folder.
pub const FILE_NAME: &str = "migrate.lock";

const HEADER: &str = "# migrate.lock: written by `migrate lock`. Do not edit by hand.\n\
                      # Locked migrations must not change; new ones need a higher version.\n";

/// One locked migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedMigration {
    /// Its version.
    pub version: i64,
    /// The checksum of its up file when it was locked.
    pub checksum: Checksum,
    /// Its up file's path inside the folder when it was locked
    /// (`0001_a.sql`, `0001_a/migration.sql`), for people. Renaming the
    /// file or its directory leaves the lock valid: only the version and the
    /// checksum count.
    pub file_name: String,
}

/// The content of an integrity file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    /// The locked migrations, by version.
    pub migrations: BTreeMap<i64, LockedMigration>,
}

impl Lock {
    /// Locks every migration of a folder.
    pub fn of(migrations: &[SourceMigration]) -> Lock {
        let migrations = migrations
            .iter()
            .map(|m| {
                (
                    m.version,
                    LockedMigration {
                        version: m.version,
                        checksum: m.checksum,
                        file_name: m.up.name.clone(),
                    },
                )
            })
            .collect();
        Lock { migrations }
    }

    /// The highest locked version.
    pub fn highest(&self) -> Option<i64> {
        self.migrations.keys().next_back().copied()
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut text = HEADER.to_owned();
        for locked in self.migrations.values() {
            let _ = writeln!(
                text,
                "{} {} {}",
                locked.version,
                checksum::to_hex(&locked.checksum),
                locked.file_name
            );
        }
        let _ = writeln!(text, "total {}", checksum::to_hex(&self.total()));
        text
    }

    /// The hash over every locked version and checksum.
    fn total(&self) -> Checksum {
        let mut chain = String::new();
        for locked in self.migrations.values() {
            let _ = writeln!(
                chain,
                "{} {}",
                locked.version,
                checksum::to_hex(&locked.checksum)
            );
        }
        checksum::checksum(&chain)
    }

    /// Reads an integrity file. `display` names it in messages.
    pub fn parse(text: &str, display: &str) -> Result<Lock, Problem> {
        let mut lock = Lock::default();
        let mut total = None;
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let corrupt = |what: &str| Problem {
                file: display.to_owned(),
                position: Some((line_number, 1)),
                message: format!(
                    "{what}; the lock file was edited by hand or merged badly: run `migrate lock` to write it again"
                ),
            };
            if total.is_some() {
                return Err(corrupt("a line follows the `total` line"));
            }
            if let Some(hex) = line.strip_prefix("total ") {
                total = Some(
                    checksum::from_hex(hex)
                        .ok_or_else(|| corrupt("the total is not a SHA-256 checksum"))?,
                );
                continue;
            }
            let locked = parse_line(line)
                .ok_or_else(|| corrupt("expected `<version> <checksum> <file>`"))?;
            if lock.migrations.insert(locked.version, locked).is_some() {
                return Err(corrupt("a version is locked twice"));
            }
        }
        match total {
            Some(total) if total == lock.total() => Ok(lock),
            Some(_) => Err(Problem {
                file: display.to_owned(),
                position: None,
                message: "the total does not match the locked lines; the lock file was edited by hand or merged badly: run `migrate lock` to write it again".to_owned(),
            }),
            None => Err(Problem {
                file: display.to_owned(),
                position: None,
                message: "the `total` line is missing; run `migrate lock` to write the lock file again".to_owned(),
            }),
        }
    }

    /// Checks a folder's migrations against the lock: every problem, each
    /// with the two ways out.
    pub fn verify(&self, migrations: &[SourceMigration], display: &str) -> Vec<Problem> {
        let by_version: BTreeMap<i64, &SourceMigration> =
            migrations.iter().map(|m| (m.version, m)).collect();
        let mut problems = Vec::new();
        for locked in self.migrations.values() {
            match by_version.get(&locked.version) {
                None => problems.push(Problem {
                    file: format!("{display}/{}", locked.file_name),
                    position: None,
                    message: format!(
                        "locked migration {} was removed; restore the file, or run `migrate lock` to unlock it deliberately",
                        locked.version
                    ),
                }),
                Some(migration) if migration.checksum != locked.checksum => problems.push(Problem {
                    file: migration.up.display.clone(),
                    position: None,
                    message: format!(
                        "locked migration {} was edited (locked checksum {}, now {}); revert the edit and put the change in a new migration, or run `migrate lock` to accept it deliberately",
                        locked.version,
                        checksum::to_hex(&locked.checksum),
                        checksum::to_hex(&migration.checksum),
                    ),
                }),
                Some(_) => {}
            }
        }
        if let Some(highest) = self.highest() {
            for migration in migrations
                .iter()
                .filter(|m| m.version < highest && !self.migrations.contains_key(&m.version))
            {
                problems.push(Problem {
                    file: migration.up.display.clone(),
                    position: None,
                    message: format!(
                        "new migration {} has a version below the highest locked one ({highest}), so databases that already ran {highest} would apply it out of order; give it a version above {highest}, or run `migrate lock` to accept it deliberately",
                        migration.version
                    ),
                });
            }
        }
        problems
    }
}

/// Verifies a folder's migrations against its `migrate.lock`, when it has
/// one. Returns the lock file's path, so that the macro can rebuild when it
/// changes.
pub fn check_folder(
    folder: &Path,
    display: &str,
    migrations: &[SourceMigration],
) -> Result<Option<PathBuf>, Vec<Problem>> {
    let path = folder.join(FILE_NAME);
    let lock_display = format!("{}/{FILE_NAME}", display.trim_end_matches('/'));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(vec![Problem {
                file: lock_display,
                position: None,
                message: format!("cannot be read: {error}"),
            }]);
        }
    };
    let lock = Lock::parse(&text, &lock_display).map_err(|problem| vec![problem])?;
    let problems = lock.verify(migrations, display.trim_end_matches('/'));
    if problems.is_empty() {
        Ok(Some(path))
    } else {
        Err(problems)
    }
}

fn parse_line(line: &str) -> Option<LockedMigration> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?.parse().ok()?;
    let checksum = checksum::from_hex(parts.next()?)?;
    let file_name = parts.next().unwrap_or_default().to_owned();
    Some(LockedMigration {
        version,
        checksum,
        file_name,
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::Flavor;

    fn migrations(files: &[(&str, &str)]) -> Vec<SourceMigration> {
        let dir = tempfile::tempdir().unwrap();
        for (name, sql) in files {
            fs::write(dir.path().join(name), sql).unwrap();
        }
        crate::folder::load(dir.path(), "migrations", Flavor::Generic).unwrap()
    }

    #[test]
    fn round_trip() {
        let lock = Lock::of(&migrations(&[
            ("0001_a.sql", "SELECT 1;"),
            ("0002_b.up.sql", "SELECT 2;"),
        ]));
        let text = lock.render();
        assert!(text.contains("\n1 "), "{text}");
        assert!(
            text.lines().any(|l| l.ends_with(" 0002_b.up.sql")),
            "{text}"
        );
        assert_eq!(Lock::parse(&text, "migrate.lock").unwrap(), lock);
    }

    #[test]
    fn hand_edits_are_detected() {
        let text = Lock::of(&migrations(&[
            ("0001_a.sql", "SELECT 1;"),
            ("0002_b.sql", "SELECT 2;"),
        ]))
        .render();
        let without_line: String = text
            .lines()
            .filter(|l| !l.starts_with("2 "))
            .map(|l| format!("{l}\n"))
            .collect();
        let error = Lock::parse(&without_line, "migrate.lock").unwrap_err();
        assert!(error.message.contains("total does not match"), "{error}");
        let garbage = text.replace("\n1 ", "\nx ");
        assert!(
            Lock::parse(&garbage, "migrate.lock")
                .unwrap_err()
                .message
                .contains("expected `<version>")
        );
        let no_total: String = text
            .lines()
            .filter(|l| !l.starts_with("total"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            Lock::parse(&no_total, "migrate.lock")
                .unwrap_err()
                .message
                .contains("missing")
        );
    }

    #[test]
    fn verify_reports_each_violation() {
        let lock = Lock::of(&migrations(&[
            ("0001_a.sql", "SELECT 1;"),
            ("0003_c.sql", "SELECT 3;"),
            ("0005_e.sql", "SELECT 5;"),
        ]));
        let now = migrations(&[
            ("0001_a.sql", "SELECT 1 + 0;"),
            ("0002_b.sql", "SELECT 2;"),
            ("0005_e.sql", "SELECT 5;"),
            ("0006_f.sql", "SELECT 6;"),
        ]);
        let problems: Vec<String> = lock
            .verify(&now, "migrations")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("migrations/0001_a.sql: locked migration 1 was edited"));
        assert!(problems[1].starts_with("migrations/0003_c.sql: locked migration 3 was removed"));
        assert!(problems[2].starts_with(
            "migrations/0002_b.sql: new migration 2 has a version below the highest locked one (5)"
        ));
    }
}
