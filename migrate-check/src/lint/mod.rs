//! Safety lints: migrations that work, but hurt in production.
//!
//! An index built without `CONCURRENTLY` blocks writes to its table for as
//! long as it takes; a dropped column breaks the instances of the service
//! that still run the old code during a deploy; SQLite ignores a
//! `PRAGMA foreign_keys` inside a transaction. The dry runs accept all of
//! them, since they are valid SQL, so they are found here, from the text.
//!
//! - PostgreSQL: squawk's rules ([`lint_postgres`], feature `postgres`),
//!   those of its default set that fit migrate.
//! - SQLite: migrate's own ([`lint_sqlite`], feature `sqlite`).
//!
//! [`CATALOGUE`] says what each rule catches and what to do instead; the
//! README has the same table. Only up migrations are linted: a down
//! migration undoes, so dropping what its up created is its job. Migrations
//! in `migrate.lock` are released and cannot change, so they are not linted
//! either ([`LintOptions::released`]), and neither are files marked
//! `-- migrate:no-check`. A file silences rules with
//! `-- migrate:allow <rule> …`.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;

use migrate_format::history::Dialect;
pub use migrate_format::lint::{RULES, Rule};
use migrate_format::{Problem, SourceFile, SourceMigration};

#[cfg(feature = "postgres")]
pub use postgres::lint_postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::lint_sqlite;

/// A migration that a rule warns about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The rule.
    pub rule: Rule,
    /// The file, as the caller named its folder.
    pub file: String,
    /// The 1-based line and column of the statement or clause.
    pub position: (usize, usize),
    /// What is wrong, for this statement.
    pub message: String,
}

impl fmt::Display for Lint {
    /// `file:line:column: rule: what is wrong; what to do instead (or how to
    /// silence it)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, column) = self.position;
        let instead = entry(self.rule).map_or("", |entry| entry.instead);
        write!(
            f,
            "{}:{line}:{column}: {}: {} {instead} (If it is intended: `-- migrate:allow {}` at the top of the file.)",
            self.file, self.rule.name, self.message, self.rule.name
        )
    }
}

impl Lint {
    /// The lint as an error, for `lints = "deny"`.
    pub fn to_problem(&self) -> Problem {
        let text = self.to_string();
        let (line, column) = self.position;
        let prefix = format!("{}:{line}:{column}: ", self.file);
        Problem {
            file: self.file.clone(),
            position: Some(self.position),
            message: text.strip_prefix(&prefix).unwrap_or(&text).to_owned(),
        }
    }
}

/// Which migrations to lint, and the environment they will meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// The highest version in `migrate.lock`: migrations up to it are
    /// released, cannot change any more, and are not linted.
    pub released: Option<i64>,
    /// PostgreSQL: the server's `server_version_num`, when the build knows
    /// it from the server-backed check. Some rules depend on it (a constant
    /// default rewrites the table before PostgreSQL 11 only); without it,
    /// squawk's default, PostgreSQL 15, is assumed.
    pub server_version_num: Option<u32>,
    /// SQLite: whether the application's connections have foreign keys on
    /// (the macro's `foreign_keys`, on by default).
    pub foreign_keys: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions {
            released: None,
            server_version_num: None,
            foreign_keys: true,
        }
    }
}

/// The up files to lint: not released, not `no-check`.
fn linted<'a>(
    migrations: &'a [SourceMigration],
    options: &LintOptions,
) -> impl Iterator<Item = &'a SourceFile> {
    let released = options.released;
    migrations
        .iter()
        .filter(move |m| released.is_none_or(|released| m.version > released))
        .map(|m| &m.up)
        .filter(|file| !file.directives.no_check)
}

/// Whether the file silences the rule.
fn allowed(file: &SourceFile, rule: Rule) -> bool {
    file.directives.allow.contains(&rule)
}

/// `-- migrate:allow` naming a rule of the other engine, which would
/// silence nothing: one problem each.
pub fn misplaced_allows(migrations: &[SourceMigration], dialect: Dialect) -> Vec<Problem> {
    let files = migrations
        .iter()
        .flat_map(|m| std::iter::once(&m.up).chain(&m.down));
    let mut problems = Vec::new();
    for file in files {
        for rule in file
            .directives
            .allow
            .iter()
            .filter(|r| r.dialect != dialect)
        {
            problems.push(Problem {
                file: file.display.clone(),
                position: None,
                message: format!(
                    "`-- migrate:allow {}` names a {} lint, and this folder is checked as {}, so it would silence nothing; remove it",
                    rule.name,
                    engine(rule.dialect),
                    engine(dialect)
                ),
            });
        }
    }
    problems
}

fn engine(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    }
}

/// What a rule catches and what to do instead, for messages and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The rule's name.
    pub name: &'static str,
    /// What it catches, and why that hurts.
    pub catches: &'static str,
    /// What to do instead.
    pub instead: &'static str,
}

/// The entry of a rule.
pub fn entry(rule: Rule) -> Option<&'static Entry> {
    CATALOGUE.iter().find(|entry| entry.name == rule.name)
}

const fn rule(name: &'static str, catches: &'static str, instead: &'static str) -> Entry {
    Entry {
        name,
        catches,
        instead,
    }
}

/// Every rule of [`RULES`], in the same order, with what it catches and
/// what to do instead.
pub const CATALOGUE: &[Entry] = &[
    rule(
        "require-concurrent-index-creation",
        "`CREATE INDEX` on an existing table without `CONCURRENTLY`: writes to the table wait until the index is built.",
        "Build it with `CREATE INDEX CONCURRENTLY`, in a migration of its own marked `-- migrate:no-transaction`.",
    ),
    rule(
        "require-concurrent-index-deletion",
        "`DROP INDEX` without `CONCURRENTLY`: it waits for, and then blocks, every query on the table.",
        "Use `DROP INDEX CONCURRENTLY`, in a migration of its own marked `-- migrate:no-transaction`.",
    ),
    rule(
        "require-concurrent-reindex",
        "`REINDEX` without `CONCURRENTLY`: writes to the table, and reads that use the index, wait until it is rebuilt.",
        "Use `REINDEX … CONCURRENTLY`, in a migration of its own marked `-- migrate:no-transaction`.",
    ),
    rule(
        "require-concurrent-partition-detach",
        "`DETACH PARTITION` without `CONCURRENTLY`: an exclusive lock on the partitioned table.",
        "Use `DETACH PARTITION … CONCURRENTLY` (PostgreSQL 14 and later), in a migration of its own marked `-- migrate:no-transaction`.",
    ),
    rule(
        "constraint-missing-not-valid",
        "A `CHECK` or foreign key constraint added to an existing table: every row is checked while writes wait.",
        "Add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration, which lets writes go on.",
    ),
    rule(
        "adding-field-with-default",
        "A column added with a volatile default (`random()`, `clock_timestamp()`) or a stored generated expression, or with any default before PostgreSQL 11: the whole table is rewritten under an exclusive lock.",
        "Add the column without a default, set the default, and fill the existing rows in batches.",
    ),
    rule(
        "adding-foreign-key-constraint",
        "A foreign key added to an existing table: every row is checked while both tables are locked against writes.",
        "Add it `NOT VALID`, then `VALIDATE CONSTRAINT` in a later migration.",
    ),
    rule(
        "adding-not-nullable-field",
        "`SET NOT NULL` on an existing column: the whole table is scanned under an exclusive lock.",
        "Add `CHECK (column IS NOT NULL) NOT VALID`, validate it in a later migration, then `SET NOT NULL`, which PostgreSQL 12 and later prove from the constraint without a scan.",
    ),
    rule(
        "adding-required-field",
        "A `NOT NULL` column without a default: inserts by the instances still running the old code fail.",
        "Give it a default, or add it nullable, fill it, and make it `NOT NULL` once every instance writes it.",
    ),
    rule(
        "adding-serial-primary-key-field",
        "A primary key added to an existing table: its index is built while reads and writes wait.",
        "Build a unique index with `CREATE UNIQUE INDEX CONCURRENTLY` first, then `ADD PRIMARY KEY USING INDEX`.",
    ),
    rule(
        "changing-column-type",
        "`ALTER COLUMN … TYPE`: most changes rewrite the table and its indexes under an exclusive lock, and the running code may not expect the new type.",
        "Add a column of the new type, fill it, move the code to it, then drop the old one.",
    ),
    rule(
        "disallowed-unique-constraint",
        "A `UNIQUE` constraint added to an existing table: its index is built while writes wait.",
        "Build the index with `CREATE UNIQUE INDEX CONCURRENTLY`, then `ADD CONSTRAINT … UNIQUE USING INDEX`.",
    ),
    rule(
        "renaming-column",
        "A column renamed: the instances still running the old code use the old name and fail.",
        "Add a column with the new name, write both, move the reads, then drop the old one.",
    ),
    rule(
        "renaming-table",
        "A table renamed: the instances still running the old code use the old name and fail.",
        "Create the new table (or a view with the new name), move the code to it, then drop the old name.",
    ),
    rule(
        "renaming-object",
        "A view, function, type, sequence or other object renamed: the running code that uses the old name fails.",
        "Create the object under the new name, move the code to it, then drop the old one.",
    ),
    rule(
        "ban-drop-column",
        "A column dropped: the instances still running the old code may read or write it.",
        "Stop using the column in the code and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-table",
        "A table dropped: the instances still running the old code may use it.",
        "Stop using the table in the code and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-database",
        "`DROP DATABASE` in a migration.",
        "Drop databases by hand, outside the migrations.",
    ),
    rule(
        "ban-drop-not-null",
        "`DROP NOT NULL`: the running code that assumes the column is never null breaks on the first null.",
        "Make sure every reader handles nulls, and deploy that first.",
    ),
    rule(
        "ban-drop-view",
        "A view dropped: the running code may still query it.",
        "Stop using it in the code and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-function",
        "A function or procedure dropped: the running code, or a trigger, may still call it.",
        "Stop calling it and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-type",
        "A type dropped: columns, functions and the running code may still use it.",
        "Stop using it and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-default",
        "A column default dropped: inserts by the running code that leave the column out fail or store null.",
        "Make the code give the value and deploy that first.",
    ),
    rule(
        "ban-drop-schema",
        "A schema dropped, with everything in it that the running code may use.",
        "Drop the objects one by one, each once no code uses it.",
    ),
    rule(
        "ban-drop-sequence",
        "A sequence dropped: defaults and the running code may still draw from it.",
        "Stop using it and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-domain",
        "A domain dropped: columns and the running code may still use it.",
        "Stop using it and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-drop-constraint",
        "A constraint dropped: the data loses a guarantee that the code may rely on.",
        "Make sure nothing relies on it; to replace it, add the new one (`NOT VALID`, then validated) before dropping the old.",
    ),
    rule(
        "ban-drop-generated-expression",
        "`DROP EXPRESSION`: a generated column becomes a plain one that the running code does not fill.",
        "Make the code write the column first, and deploy that before this migration.",
    ),
    rule(
        "ban-drop-extension",
        "An extension dropped, with its types and functions that columns and code may still use.",
        "Stop using what it provides and deploy that first; drop it in a later migration.",
    ),
    rule(
        "ban-set-schema",
        "An object moved to another schema: the running code no longer finds it under its old name.",
        "Create it in the new schema, move the code to it, then drop the old one.",
    ),
    rule(
        "ban-alter-identity",
        "A column's identity changed: inserts by the running code may fail or collide.",
        "Change identity columns in steps that the running code tolerates, one deploy each.",
    ),
    rule(
        "ban-create-domain-with-constraint",
        "A domain with a constraint: changing that constraint later checks every column of the domain, in every table, under lock.",
        "Put `CHECK` constraints on the table columns instead.",
    ),
    rule(
        "ban-alter-domain-with-add-constraint",
        "A constraint added to a domain: every column of the domain, in every table, is checked under lock.",
        "Put `CHECK` constraints on the table columns instead.",
    ),
    rule(
        "ban-truncate-cascade",
        "`TRUNCATE … CASCADE`: every table that references the truncated one, and every table referencing those, is emptied too.",
        "Truncate the tables by name.",
    ),
    rule(
        "ban-duplicate-column-assignments",
        "An `UPDATE` or `INSERT` that assigns one column twice, which PostgreSQL refuses.",
        "Assign each column once.",
    ),
    rule(
        "identifier-too-long",
        "An identifier longer than 63 bytes, which PostgreSQL silently truncates: two long names can become one.",
        "Use a name of at most 63 bytes.",
    ),
    rule(
        "foreign-keys-pragma-in-transaction",
        "`PRAGMA foreign_keys = …` in a migration that runs in a transaction, where SQLite silently ignores it.",
        "Mark the migration `-- migrate:no-transaction`, with the statements that need the setting: it lasts until the end of that migration.",
    ),
    rule(
        "double-quoted-string",
        "A string in double quotes, `\"text\"`, which SQLite reads as a string only because no column has that name: a column added later with that name changes what the statement does.",
        "Write strings in single quotes: `'text'`.",
    ),
    rule(
        "rename-under-legacy-alter-table",
        "`ALTER TABLE … RENAME` while `PRAGMA legacy_alter_table` is on: the triggers and views that name the table or column are not updated and break.",
        "Rename with `legacy_alter_table` off (the default); if a view or trigger is in the way of a table rebuild, drop it before and create it again after.",
    ),
    rule(
        "table-rebuild-with-foreign-keys-on",
        "A table rebuilt (a new table created, the old one dropped, the new one renamed) while foreign keys are on: `DROP TABLE` first deletes every row, so the foreign keys that reference the table delete (`ON DELETE CASCADE`) or clear (`SET NULL`) rows of other tables, or fail the deploy.",
        "Rebuild it in a migration marked `-- migrate:no-transaction` that starts with `PRAGMA foreign_keys = OFF`, as SQLite's documentation advises; migrate then runs `PRAGMA foreign_key_check` after it and fails the migration if a row violates a foreign key.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_describes_every_rule_in_order() {
        let described: Vec<&str> = CATALOGUE.iter().map(|entry| entry.name).collect();
        let named: Vec<&str> = RULES.iter().map(|rule| rule.name).collect();
        assert_eq!(described, named);
        for entry in CATALOGUE {
            assert!(entry.catches.ends_with('.'), "{}", entry.name);
            assert!(entry.instead.ends_with('.'), "{}", entry.name);
        }
    }

    /// The README's lint catalogue is this catalogue: one row per rule, in
    /// the same order, with the same text.
    #[test]
    fn the_readme_lists_the_catalogue() {
        let readme = include_str!("../../../README.md");
        let rows: Vec<String> = readme
            .lines()
            .filter(|line| line.starts_with("| `") && line.contains("` | "))
            .filter(|line| migrate_format::lint::find(row_name(line)).is_some())
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = CATALOGUE
            .iter()
            .map(|entry| {
                let engine = engine(
                    migrate_format::lint::find(entry.name)
                        .map_or(Dialect::Postgres, |rule| rule.dialect),
                );
                format!(
                    "| `{0}` | {engine} | {1} | {2} | `-- migrate:allow {0}` |",
                    entry.name, entry.catches, entry.instead
                )
            })
            .collect();
        assert_eq!(rows, expected);
    }

    fn row_name(line: &str) -> &str {
        line.trim_start_matches("| `")
            .split('`')
            .next()
            .unwrap_or_default()
    }

    #[test]
    fn a_lint_names_its_rule_and_the_way_out() {
        let lint = Lint {
            rule: migrate_format::lint::find("ban-drop-column").unwrap(),
            file: "migrations/0003_x.sql".to_owned(),
            position: (2, 1),
            message: "Dropping a column may break existing clients.".to_owned(),
        };
        let text = lint.to_string();
        assert!(
            text.starts_with("migrations/0003_x.sql:2:1: ban-drop-column: Dropping a column may break existing clients. Stop using the column"),
            "{text}"
        );
        assert!(text.ends_with(
            "(If it is intended: `-- migrate:allow ban-drop-column` at the top of the file.)"
        ));
        let problem = lint.to_problem();
        assert_eq!(problem.to_string(), text);
    }
}
