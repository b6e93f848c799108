//! Adopting another tool's history: which of the folder's migrations the
//! tool recorded as applied, and what migrate records for them, decided
//! before anything is written.
//!
//! The tool's table is read as the tool reads it (see `dialect/adopt.rs`);
//! [`plan_adopt`] then maps what it names to the folder's migrations and
//! compares the result with migrate's own history.
//!
//! This file holds the public types; `plan.rs` holds the decision.

mod plan;

use std::fmt;

use crate::report::Applied;

pub(crate) use plan::{Named, ToolHistory, UpTo, plan_adopt};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_named_as_on_the_command_line() {
        for tool in Tool::ALL {
            assert_eq!(Tool::from_name(tool.name()), Some(tool));
        }
        assert_eq!(Source::new(Tool::Prisma).table_name(), "_prisma_migrations");
    }
}
