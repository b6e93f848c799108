//! The adoption's decision: the migrations another tool's history names,
//! mapped to the folder's and compared with migrate's own history.

use std::collections::BTreeSet;
use std::fmt;

use migrate_format::Layout;
use migrate_format::name::{self, Entry};

use crate::history::HistoryRow;
use crate::plan::is_drifted;
use crate::{Migration, Migrations};

use super::AdoptProblem;

/// How a tool names a migration in its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Named {
    /// By its version, as text: `42`, `20240101000000`.
    Version(String),
    /// By its file's name: `0001_create_users.sql` (D1).
    File(String),
    /// By its directory's name: `0001_create_users` (Prisma).
    Directory(String),
}

impl Named {
    fn text(&self) -> &str {
        match self {
            Named::Version(text) | Named::File(text) | Named::Directory(text) => text,
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.text())
    }
}

/// What a tool's table says was applied, as the tool itself reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ToolHistory {
    /// Each migration recorded as applied.
    pub(crate) applied: Vec<Named>,
    /// golang-migrate's version or Flyway's baseline: every migration of
    /// the folder up to this version counts as applied.
    pub(crate) up_to: Option<UpTo>,
    /// Names the tool recorded as rolled back and never applied again
    /// (Prisma): refused when the folder has them, since `migrate up` would
    /// apply them.
    pub(crate) rolled_back: Vec<Named>,
}

/// A version up to which everything counts as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpTo {
    pub(crate) version: Named,
    /// Whether that version must itself be a migration of the folder:
    /// golang-migrate's is the last migration it applied; Flyway's baseline
    /// is a version with no file.
    pub(crate) needs_file: bool,
}

/// What an adoption writes.
#[derive(Debug)]
pub(crate) struct AdoptPlan<'m> {
    /// The migrations to record as applied, in version order.
    pub(crate) record: Vec<&'m Migration>,
    /// The versions migrate's history already holds, as the tool does.
    pub(crate) already: Vec<i64>,
}

/// Decides what an adoption records: every migration the tool recorded as
/// applied, mapped to the folder's, less what migrate's history already
/// holds. Refuses when the tool's history names a migration the folder
/// lacks, or when migrate's history disagrees with it.
pub(crate) fn plan_adopt<'m>(
    migrations: &'m Migrations,
    history: &[HistoryRow],
    tool: &ToolHistory,
) -> Result<AdoptPlan<'m>, AdoptProblem> {
    let adopted = adopted(migrations, tool)?;
    let versions: BTreeSet<i64> = adopted.iter().map(|m| m.version()).collect();
    let highest = versions.last().copied();
    let mut plan = AdoptPlan {
        record: Vec::new(),
        already: Vec::new(),
    };
    for migration in adopted {
        match history
            .iter()
            .find(|row| row.version == migration.version())
        {
            None => plan.record.push(migration),
            Some(row) => {
                check_agrees(migration, row)?;
                plan.already.push(migration.version());
            }
        }
    }
    // A version migrate applied after an earlier adoption lies above what
    // the tool recorded; one below it, that the tool never recorded, means
    // the two histories tell different stories.
    if let Some(highest) = highest
        && let Some(row) = history
            .iter()
            .find(|row| row.version < highest && !versions.contains(&row.version))
    {
        return Err(AdoptProblem::Disagrees {
            version: row.version,
            reason: format!(
                "migrate recorded it as applied, but the tool did not, and it recorded migration {highest} after it"
            ),
        });
    }
    Ok(plan)
}

/// The folder's migrations that the tool's history counts as applied, in
/// version order.
fn adopted<'m>(
    migrations: &'m Migrations,
    tool: &ToolHistory,
) -> Result<Vec<&'m Migration>, AdoptProblem> {
    let mut adopted: BTreeSet<i64> = BTreeSet::new();
    let mut missing = Vec::new();
    for named in &tool.applied {
        match find(migrations, named)? {
            Found::Migration(migration) => {
                adopted.insert(migration.version());
            }
            Found::Missing(why) => missing.push(why),
        }
    }
    if let Some(up_to) = &tool.up_to {
        let version = version_of(&up_to.version)?;
        if up_to.needs_file
            && let Found::Missing(why) = find(migrations, &up_to.version)?
        {
            missing.push(why);
        }
        adopted.extend(
            migrations
                .iter()
                .map(Migration::version)
                .filter(|v| *v <= version),
        );
    }
    if !missing.is_empty() {
        return Err(AdoptProblem::NoFile {
            migrations: missing,
        });
    }
    for named in &tool.rolled_back {
        if let Found::Migration(migration) = find(migrations, named)?
            && !adopted.contains(&migration.version())
        {
            return Err(AdoptProblem::Failed {
                migration: named.to_string(),
                state: "was rolled back (`rolled_back_at` is set) and not applied again, so `migrate up` would apply it; apply it with `prisma migrate deploy` first, or remove its directory if it was abandoned".to_owned(),
            });
        }
    }
    Ok(adopted
        .into_iter()
        .filter_map(|version| migrations.get(version))
        .collect())
}

fn check_agrees(migration: &Migration, row: &HistoryRow) -> Result<(), AdoptProblem> {
    let reason = if !row.finished {
        "migrate recorded it as incomplete (a `no-transaction` migration that stopped part-way); settle it with `migrate resolve` first".to_owned()
    } else if is_drifted(migration, row) {
        format!(
            "migrate recorded checksum {}, and its file {} now has {}",
            row.checksum,
            migration.file(),
            migration.checksum_hex()
        )
    } else {
        return Ok(());
    };
    Err(AdoptProblem::Disagrees {
        version: migration.version(),
        reason,
    })
}

enum Found<'m> {
    Migration(&'m Migration),
    /// The name, and what the folder has instead.
    Missing(String),
}

/// The folder's migration that the tool names.
fn find<'m>(migrations: &'m Migrations, named: &Named) -> Result<Found<'m>, AdoptProblem> {
    let version = version_of(named)?;
    let Some(migration) = migrations.get(version) else {
        return Ok(Found::Missing(format!("{named} (version {version})")));
    };
    let found_name = match named {
        Named::Version(_) => return Ok(Found::Migration(migration)),
        Named::File(_) => file_name(migration),
        Named::Directory(_) => directory_name(migration),
    };
    if found_name == named.text() {
        Ok(Found::Migration(migration))
    } else {
        Ok(Found::Missing(format!(
            "{named} (the folder's migration {version} is `{found_name}`)"
        )))
    }
}

/// The version a tool's name stands for.
fn version_of(named: &Named) -> Result<i64, AdoptProblem> {
    let unreadable = |reason: String| AdoptProblem::Unreadable {
        value: named.text().to_owned(),
        reason,
    };
    match named {
        Named::Version(text) => whole_number(text.trim()).ok_or_else(|| {
            unreadable(if text.contains('.') {
                "is a dotted version, and migrate's versions are whole numbers: renumber the migration and its row alike".to_owned()
            } else {
                "is not a version migrate can read: a whole number of decimal digits".to_owned()
            })
        }),
        Named::File(text) => match name::classify(text) {
            Entry::Migration(parsed) => Ok(parsed.version),
            Entry::Malformed(reason) => Err(unreadable(format!(
                "is not a migration file name migrate reads: {reason}"
            ))),
            Entry::Ignored => Err(unreadable(
                "is not a migration file name: it does not end in `.sql`".to_owned(),
            )),
        },
        Named::Directory(text) => migrate_format::layout::parse_directory(Layout::Prisma, text)
            .map(|parsed| parsed.version)
            .map_err(|reason| {
                unreadable(format!(
                    "is not a migration directory name migrate reads: {reason}"
                ))
            }),
    }
}

fn whole_number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The last component of a migration's up file: `0001_x.sql`.
fn file_name(migration: &Migration) -> &str {
    path_components(migration.file()).next().unwrap_or_default()
}

/// The directory that holds a migration's up file: `0001_x`.
fn directory_name(migration: &Migration) -> &str {
    path_components(migration.file()).nth(1).unwrap_or_default()
}

fn path_components(path: &str) -> impl Iterator<Item = &str> {
    path.rsplit(['/', '\\'])
}

#[cfg(test)]
mod tests;
