//! Adopting another tool's history: which of the folder's migrations the
//! tool recorded as applied, and what migrate records for them, decided
//! before anything is written.
//!
//! The tool's table is read as the tool reads it (see `dialect/adopt.rs`);
//! [`plan_adopt`] then maps what it names to the folder's migrations and
//! compares the result with migrate's own history.

use std::collections::BTreeSet;
use std::fmt;

use migrate_format::Layout;
use migrate_format::name::{self, Entry};

use crate::history::HistoryRow;
use crate::plan::is_drifted;
use crate::report::Applied;
use crate::{Migration, Migrations};

/// A migration tool whose history [`Runner::adopt`][crate::Runner::adopt]
/// reads, so that a database it migrated continues under migrate.
///
#[cfg_attr(
    not(feature = "sqlite"),
    doc = "[crate::Runner::adopt]: crate#features"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// sqlx's `_sqlx_migrations`: a row per applied `version`, with `success`.
    Sqlx,
    /// golang-migrate's `schema_migrations (version, dirty)`: one row, and
    /// every version up to it counts as applied.
    GolangMigrate,
    /// diesel's `__diesel_schema_migrations`: a row per applied `version`,
    /// written as text (`20240101000000`).
    Diesel,
    /// refinery's `refinery_schema_history`: a row per applied `version`.
    Refinery,
    /// Wrangler D1's `d1_migrations`: a row per applied file, by its `name`
    /// (`0001_create_users.sql`).
    D1,
    /// Prisma Migrate's `_prisma_migrations`: a row per attempt, by
    /// `migration_name` (the directory's name), with `finished_at` and
    /// `rolled_back_at`.
    Prisma,
    /// Flyway's `flyway_schema_history`: a row per attempt, by `version`,
    /// with `type` and `success`.
    Flyway,
}

impl Tool {
    /// Every tool, in the order the documentation lists them.
    pub const ALL: [Tool; 7] = [
        Tool::Sqlx,
        Tool::GolangMigrate,
        Tool::Diesel,
        Tool::Refinery,
        Tool::D1,
        Tool::Prisma,
        Tool::Flyway,
    ];

    /// The name `migrate adopt --from` takes: `sqlx`, `golang-migrate`,
    /// `diesel`, `refinery`, `d1`, `prisma`, `flyway`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Diesel => "diesel",
            Tool::Refinery => "refinery",
            Tool::D1 => "d1",
            Tool::Prisma => "prisma",
            Tool::Flyway => "flyway",
        }
    }

    /// The tool of a [`name`](Tool::name).
    pub fn from_name(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|tool| tool.name() == name)
    }

    /// The table the tool keeps its history in, unless it was configured
    /// otherwise.
    pub fn default_table(self) -> &'static str {
        match self {
            Tool::Sqlx => "_sqlx_migrations",
            Tool::GolangMigrate => "schema_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Refinery => "refinery_schema_history",
            Tool::D1 => "d1_migrations",
            Tool::Prisma => "_prisma_migrations",
            Tool::Flyway => "flyway_schema_history",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an adoption reads: a tool, and its table when it is not the
/// tool's default.
///
/// ```
/// use migrate_core::{Source, Tool};
///
/// let source = Source::new(Tool::GolangMigrate).table("app.schema_versions");
/// assert_eq!(source.table_name(), "app.schema_versions");
/// assert_eq!(Source::from(Tool::Sqlx).table_name(), "_sqlx_migrations");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    tool: Tool,
    table: Option<String>,
}

impl Source {
    /// The tool's history in its default table.
    pub fn new(tool: Tool) -> Source {
        Source { tool, table: None }
    }

    /// The tool's history in `table` (optionally `schema.table`), for a
    /// table that was renamed. It is validated like the history table's
    /// name when the adoption runs.
    pub fn table(mut self, table: impl Into<String>) -> Source {
        self.table = Some(table.into());
        self
    }

    /// The tool.
    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// The table read.
    pub fn table_name(&self) -> &str {
        self.table
            .as_deref()
            .unwrap_or_else(|| self.tool.default_table())
    }
}

impl From<Tool> for Source {
    fn from(tool: Tool) -> Source {
        Source::new(tool)
    }
}

/// What an adoption did: the migrations it recorded in migrate's history,
/// and those that were recorded already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub(crate) tool: Tool,
    pub(crate) table: String,
    pub(crate) history_table: String,
    pub(crate) recorded: Vec<Applied>,
    pub(crate) already: Vec<i64>,
    pub(crate) drop_statement: String,
}

impl Adoption {
    /// The tool adopted from.
    pub fn tool(&self) -> Tool {
        self.tool
    }

    /// The tool's table, as read. It was left as it was.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The migrations this adoption recorded as applied, in version order,
    /// each with the checksum of its current file.
    pub fn recorded(&self) -> &[Applied] {
        &self.recorded
    }

    /// The versions the tool recorded that migrate's history already held,
    /// from an earlier adoption: adopting again changes nothing.
    pub fn already_recorded(&self) -> &[i64] {
        &self.already
    }

    /// The statement that drops the tool's table, once no deploy runs the
    /// tool any more. migrate never runs it.
    pub fn drop_statement(&self) -> &str {
        &self.drop_statement
    }
}

impl fmt::Display for Adoption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tool, table) = (self.tool, &self.table);
        match self.recorded.len() {
            0 if self.already.is_empty() => write!(
                f,
                "{tool}'s table {table} records no applied migration: nothing to adopt"
            )?,
            0 => write!(
                f,
                "already adopted: the {} migrations {tool} recorded in {table} are in {}",
                self.already.len(),
                self.history_table
            )?,
            count => {
                let plural = if count == 1 { "" } else { "s" };
                write!(
                    f,
                    "adopted {count} migration{plural} that {tool} recorded in {table} into {}",
                    self.history_table
                )?;
                for applied in &self.recorded {
                    write!(f, "\n  {} {}", applied.version, applied.description)?;
                }
                write!(
                    f,
                    "\nchecksums: migrate recorded the SHA-256 of each migration's file as it is now, \
                     without comparing it with anything {tool} recorded (its checksums, if any, \
                     use other algorithms), so these files must be the ones {tool} applied"
                )?;
            }
        }
        write!(
            f,
            "\n{table} was left as it was; once no deploy runs {tool} any more, drop it: {};",
            self.drop_statement
        )
    }
}

/// Why an adoption was refused. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdoptProblem {
    /// The tool's table does not exist.
    NoTable,
    /// The tool recorded a migration that failed or stopped part-way, or a
    /// state it refuses to go on from itself.
    Failed {
        /// The migration, as the tool names it.
        migration: String,
        /// What the table says, and how to settle it with the tool.
        state: String,
    },
    /// Migrations the tool recorded as applied have no file in the folder.
    NoFile {
        /// Each one, as the tool names it, with what the folder has instead.
        migrations: Vec<String>,
    },
    /// migrate's history already exists and disagrees with the tool's.
    Disagrees {
        /// The version they disagree about.
        version: i64,
        /// How.
        reason: String,
    },
    /// The table holds a value that names no migration migrate can have.
    Unreadable {
        /// The value.
        value: String,
        /// Why it cannot be read.
        reason: String,
    },
}

impl fmt::Display for AdoptProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdoptProblem::NoTable => f.write_str(
                "the table does not exist; check the database URL, and name a renamed table with `--from-table` (`Source::table`)",
            ),
            AdoptProblem::Failed { migration, state } => {
                write!(f, "migration {migration} {state}")
            }
            AdoptProblem::NoFile { migrations } => write!(
                f,
                "it records as applied {} that the folder does not have: {}; add the missing files (from the tool's folder, as they were applied), or adopt with the folder the tool used",
                if migrations.len() == 1 {
                    "a migration"
                } else {
                    "migrations"
                },
                migrations.join(", ")
            ),
            AdoptProblem::Disagrees { version, reason } => write!(
                f,
                "migrate's history already exists and disagrees about migration {version}: {reason}"
            ),
            AdoptProblem::Unreadable { value, reason } => {
                write!(f, "it holds `{value}`, which {reason}")
            }
        }
    }
}

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
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, sql) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            std::fs::write(path, sql).expect("a migration file");
        }
        let migrations = Migrations::from_folder(dir.path()).expect("a valid folder");
        (dir, migrations)
    }

    fn flat() -> (tempfile::TempDir, Migrations) {
        folder(&[
            ("0001_users.sql", "CREATE TABLE users (id INT);"),
            ("0002_posts.sql", "CREATE TABLE posts (id INT);"),
            ("0003_tags.sql", "CREATE TABLE tags (id INT);"),
        ])
    }

    fn versions(texts: &[&str]) -> ToolHistory {
        ToolHistory {
            applied: texts.iter().map(|t| Named::Version((*t).into())).collect(),
            ..ToolHistory::default()
        }
    }

    fn row(migrations: &Migrations, version: i64) -> HistoryRow {
        HistoryRow {
            version,
            description: String::new(),
            checksum: migrations
                .get(version)
                .map_or_else(String::new, |m| m.checksum_hex()),
            applied_at: String::new(),
            finished: true,
            statements_done: None,
        }
    }

    fn recorded(plan: &AdoptPlan<'_>) -> Vec<i64> {
        plan.record.iter().map(|m| m.version()).collect()
    }

    #[test]
    fn every_version_the_tool_applied_is_recorded_once() {
        let (_dir, migrations) = flat();
        let plan = plan_adopt(&migrations, &[], &versions(&["2", "1"])).unwrap();
        assert_eq!(recorded(&plan), [1, 2]);
        let again = plan_adopt(
            &migrations,
            &[row(&migrations, 1), row(&migrations, 2)],
            &versions(&["1", "2"]),
        )
        .unwrap();
        assert!(again.record.is_empty());
        assert_eq!(again.already, [1, 2]);
    }

    #[test]
    fn a_recorded_migration_without_a_file_is_refused_with_every_one_named() {
        let (_dir, migrations) = flat();
        let problem = plan_adopt(&migrations, &[], &versions(&["1", "7", "9"])).unwrap_err();
        let AdoptProblem::NoFile {
            migrations: missing,
        } = &problem
        else {
            panic!("{problem}");
        };
        assert_eq!(missing, &["`7` (version 7)", "`9` (version 9)"]);
    }

    #[test]
    fn everything_up_to_golang_migrate_s_version_counts_and_that_version_needs_a_file() {
        let (_dir, migrations) = flat();
        let up_to = |version: &str, needs_file| ToolHistory {
            up_to: Some(UpTo {
                version: Named::Version(version.into()),
                needs_file,
            }),
            ..ToolHistory::default()
        };
        assert_eq!(
            recorded(&plan_adopt(&migrations, &[], &up_to("2", true)).unwrap()),
            [1, 2]
        );
        assert!(matches!(
            plan_adopt(&migrations, &[], &up_to("5", true)),
            Err(AdoptProblem::NoFile { .. })
        ));
        // Flyway's baseline is a version with no file of its own.
        assert_eq!(
            recorded(&plan_adopt(&migrations, &[], &up_to("5", false)).unwrap()),
            [1, 2, 3]
        );
    }

    #[test]
    fn files_and_directories_must_be_the_ones_the_tool_named() {
        let (_dir, d1) = flat();
        let named = |name: &str| ToolHistory {
            applied: vec![Named::File(name.into())],
            ..ToolHistory::default()
        };
        assert_eq!(
            recorded(&plan_adopt(&d1, &[], &named("0002_posts.sql")).unwrap()),
            [2]
        );
        let problem = plan_adopt(&d1, &[], &named("0002_comments.sql")).unwrap_err();
        assert_eq!(
            problem,
            AdoptProblem::NoFile {
                migrations: vec![
                    "`0002_comments.sql` (the folder's migration 2 is `0002_posts.sql`)".into()
                ]
            }
        );
        let (_dir, prisma) = folder(&[
            ("0001_init/migration.sql", "CREATE TABLE a (id INT);"),
            ("0002_more/migration.sql", "CREATE TABLE b (id INT);"),
        ]);
        let directory = ToolHistory {
            applied: vec![Named::Directory("0001_init".into())],
            ..ToolHistory::default()
        };
        assert_eq!(
            recorded(&plan_adopt(&prisma, &[], &directory).unwrap()),
            [1]
        );
        let unreadable = ToolHistory {
            applied: vec![Named::Directory("init".into())],
            ..ToolHistory::default()
        };
        assert!(matches!(
            plan_adopt(&prisma, &[], &unreadable),
            Err(AdoptProblem::Unreadable { .. })
        ));
    }

    #[test]
    fn a_rolled_back_migration_still_in_the_folder_is_refused() {
        let (_dir, prisma) = folder(&[
            ("0001_init/migration.sql", "CREATE TABLE a (id INT);"),
            ("0002_more/migration.sql", "CREATE TABLE b (id INT);"),
        ]);
        let history = |applied: &[&str], rolled_back: &[&str]| ToolHistory {
            applied: applied
                .iter()
                .map(|n| Named::Directory((*n).into()))
                .collect(),
            rolled_back: rolled_back
                .iter()
                .map(|n| Named::Directory((*n).into()))
                .collect(),
            up_to: None,
        };
        let refused = plan_adopt(&prisma, &[], &history(&["0001_init"], &["0002_more"]));
        assert!(
            matches!(refused, Err(AdoptProblem::Failed { .. })),
            "{refused:?}"
        );
        // Rolled back, then applied again: the attempt that failed is history.
        let reapplied = history(&["0001_init", "0002_more"], &["0002_more"]);
        assert_eq!(
            recorded(&plan_adopt(&prisma, &[], &reapplied).unwrap()),
            [1, 2]
        );
        // Abandoned: its directory is gone.
        let abandoned = history(&["0001_init"], &["0003_gone"]);
        assert_eq!(
            recorded(&plan_adopt(&prisma, &[], &abandoned).unwrap()),
            [1]
        );
    }

    #[test]
    fn migrate_s_history_must_agree() {
        let (_dir, migrations) = flat();
        let mut edited = row(&migrations, 1);
        edited.checksum = "0".repeat(64);
        let problem = plan_adopt(&migrations, &[edited], &versions(&["1", "2"])).unwrap_err();
        assert!(
            matches!(problem, AdoptProblem::Disagrees { version: 1, .. }),
            "{problem}"
        );
        let mut unfinished = row(&migrations, 2);
        unfinished.finished = false;
        let problem = plan_adopt(&migrations, &[unfinished], &versions(&["1", "2"])).unwrap_err();
        assert!(
            matches!(problem, AdoptProblem::Disagrees { version: 2, .. }),
            "{problem}"
        );
        // migrate applied 2, which the tool never recorded, below its 3.
        let problem =
            plan_adopt(&migrations, &[row(&migrations, 2)], &versions(&["1", "3"])).unwrap_err();
        assert!(
            matches!(problem, AdoptProblem::Disagrees { version: 2, .. }),
            "{problem}"
        );
        // migrate applied 3 after adopting 1 and 2: adopting again is fine.
        let later = [
            row(&migrations, 1),
            row(&migrations, 2),
            row(&migrations, 3),
        ];
        let plan = plan_adopt(&migrations, &later, &versions(&["1", "2"])).unwrap();
        assert!(plan.record.is_empty());
    }

    #[test]
    fn versions_that_are_not_whole_numbers_are_refused() {
        let (_dir, migrations) = flat();
        for (text, says) in [
            ("1.1", "dotted"),
            ("abc", "whole number"),
            ("-1", "whole number"),
        ] {
            let problem = plan_adopt(&migrations, &[], &versions(&[text])).unwrap_err();
            assert!(problem.to_string().contains(says), "{text}: {problem}");
        }
    }

    #[test]
    fn tools_are_named_as_on_the_command_line() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
        }
        assert_eq!(Source::new(Tool::Prisma).table_name(), "_prisma_migrations");
    }
}
