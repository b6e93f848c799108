//! Reading other tools' history tables, as each tool reads its own.
//!
//! Each tool's table is read with one `SELECT` of the columns its own code
//! reads, the same on both engines, and the rows are read back into a
//! [`ToolHistory`]: what the tool counts as applied, and the states it
//! refuses to go on from. The tables' definitions, from each tool's source,
//! are in the integration tests that create them (`tests/it/adopt.rs`).

use migrate_format::history::TableName;

use crate::adopt::{AdoptProblem, Named, Tool, ToolHistory, UpTo};
use crate::driver::Row;

/// The statement that reads `tool`'s history from `table`.
pub(crate) fn read(tool: Tool, table: &TableName) -> String {
    let columns = match tool {
        // sqlx: `dirty_version` and `list_applied_migrations` in
        // sqlx-sqlite's and sqlx-postgres's `migrate.rs`.
        Tool::Sqlx => r#""version", "success""#,
        // golang-migrate: `Version()`, which reads one row.
        Tool::GolangMigrate => r#""version", "dirty""#,
        // diesel: `applied_migrations`, versions as text.
        Tool::Diesel => r#""version""#,
        // refinery: `GET_APPLIED_MIGRATIONS_QUERY`.
        Tool::Refinery => r#""version""#,
        // Wrangler: `listAppliedMigrations`, the file names.
        Tool::D1 => r#""name""#,
        // Prisma: a row per attempt, finished or rolled back or neither.
        Tool::Prisma => {
            r#""migration_name", "finished_at" IS NOT NULL, "rolled_back_at" IS NOT NULL"#
        }
        // Flyway: every row, in the order Flyway applied them, since an
        // undo or a deletion cancels an earlier row.
        Tool::Flyway => r#""version", "type", "success""#,
    };
    let order = match tool {
        Tool::Flyway => r#" ORDER BY "installed_rank""#,
        _ => "",
    };
    format!("SELECT {columns} FROM {table}{order}")
}

/// What `tool`'s rows, as [`read`] selects them, say was applied.
pub(crate) fn parse(tool: Tool, rows: &[Row]) -> Result<ToolHistory, AdoptProblem> {
    let mut history = ToolHistory::default();
    match tool {
        Tool::Sqlx => {
            for row in rows {
                let version = text(row, 0);
                if !boolean(row, 1)? {
                    return Err(failed(
                        &version,
                        "is recorded as failed (`success` is false); undo or finish it by hand and delete its row, as sqlx itself asks",
                    ));
                }
                history.applied.push(Named::Version(version));
            }
        }
        Tool::GolangMigrate => parse_golang_migrate(rows, &mut history)?,
        Tool::Diesel | Tool::Refinery => {
            history
                .applied
                .extend(rows.iter().map(|row| Named::Version(text(row, 0))));
        }
        Tool::D1 => {
            history
                .applied
                .extend(rows.iter().map(|row| Named::File(text(row, 0))));
        }
        Tool::Prisma => parse_prisma(rows, &mut history)?,
        Tool::Flyway => parse_flyway(rows, &mut history)?,
    }
    Ok(history)
}

/// golang-migrate keeps one row: the version it reached, and whether the
/// migration to it stopped part-way.
fn parse_golang_migrate(rows: &[Row], history: &mut ToolHistory) -> Result<(), AdoptProblem> {
    let [row] = rows else {
        return match rows {
            [] => Ok(()),
            _ => Err(AdoptProblem::Unreadable {
                value: format!("{} rows", rows.len()),
                reason: "is not what golang-migrate writes: it keeps exactly one row".to_owned(),
            }),
        };
    };
    let version = text(row, 0);
    if boolean(row, 1)? {
        return Err(failed(
            &version,
            "is recorded as dirty (`dirty` is true): it failed part-way; fix the database by hand and clear the flag with golang-migrate's `migrate force`",
        ));
    }
    history.up_to = Some(UpTo {
        version: Named::Version(version),
        needs_file: true,
    });
    Ok(())
}

/// Prisma writes a row per attempt: finished, failed (neither finished nor
/// rolled back), or marked rolled back by `prisma migrate resolve`.
fn parse_prisma(rows: &[Row], history: &mut ToolHistory) -> Result<(), AdoptProblem> {
    for row in rows {
        let name = text(row, 0);
        match (boolean(row, 1)?, boolean(row, 2)?) {
            (_, true) => history.rolled_back.push(Named::Directory(name)),
            (true, false) => history.applied.push(Named::Directory(name)),
            (false, false) => {
                return Err(failed(
                    &name,
                    "is recorded as failed or still running (`finished_at` is NULL); settle it with `prisma migrate resolve --applied` or `--rolled-back`",
                ));
            }
        }
    }
    Ok(())
}

/// Flyway's rows, in the order it wrote them: migrations, a baseline below
/// which everything counts as applied, undos and deletions that cancel a
/// version, its schema-creation marker, and repeatable migrations (no
/// version), which migrate does not have.
fn parse_flyway(rows: &[Row], history: &mut ToolHistory) -> Result<(), AdoptProblem> {
    for row in rows {
        let Some(version) = row.first().cloned().flatten() else {
            continue;
        };
        let kind = text(row, 1);
        if !boolean(row, 2)? {
            return Err(failed(
                &version,
                "is recorded as failed (`success` is false); fix the database, then remove the failed row with `flyway repair`",
            ));
        }
        let named = Named::Version(version);
        match kind.as_str() {
            "SCHEMA" => {}
            "BASELINE" => {
                history.up_to = Some(UpTo {
                    version: named,
                    needs_file: false,
                });
            }
            "DELETE" => history.applied.retain(|applied| *applied != named),
            undo if undo.starts_with("UNDO") => history.applied.retain(|applied| *applied != named),
            _ => history.applied.push(named),
        }
    }
    Ok(())
}

fn failed(migration: &str, state: &str) -> AdoptProblem {
    AdoptProblem::Failed {
        migration: format!("`{migration}`"),
        state: state.to_owned(),
    }
}

fn text(row: &Row, index: usize) -> String {
    row.get(index).cloned().flatten().unwrap_or_default()
}

/// A boolean as either engine and each tool's driver stores it: PostgreSQL's
/// `t` and `f`, SQLite's integers, and the text some drivers write.
fn boolean(row: &Row, index: usize) -> Result<bool, AdoptProblem> {
    let value = text(row, index);
    match value.to_ascii_lowercase().as_str() {
        "t" | "true" | "1" => Ok(true),
        "f" | "false" | "0" => Ok(false),
        _ => Err(AdoptProblem::Unreadable {
            value,
            reason: format!("is not a boolean (column {})", index + 1),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(values: &[&[Option<&str>]]) -> Vec<Row> {
        values
            .iter()
            .map(|row| row.iter().map(|v| v.map(str::to_owned)).collect())
            .collect()
    }

    fn version(text: &str) -> Named {
        Named::Version(text.to_owned())
    }

    #[test]
    fn each_tool_is_read_from_its_own_columns() {
        let table = TableName::parse("_sqlx_migrations").unwrap();
        assert_eq!(
            read(Tool::Sqlx, &table),
            r#"SELECT "version", "success" FROM "_sqlx_migrations""#
        );
        let table = TableName::parse("flyway_schema_history").unwrap();
        assert!(read(Tool::Flyway, &table).ends_with(r#"ORDER BY "installed_rank""#));
    }

    #[test]
    fn sqlx_refuses_a_failed_row() {
        let ok = rows(&[&[Some("1"), Some("1")], &[Some("2"), Some("t")]]);
        assert_eq!(
            parse(Tool::Sqlx, &ok).unwrap().applied,
            [version("1"), version("2")]
        );
        let failed = rows(&[&[Some("1"), Some("1")], &[Some("2"), Some("0")]]);
        let problem = parse(Tool::Sqlx, &failed).unwrap_err();
        assert!(
            problem
                .to_string()
                .starts_with("migration `2` is recorded as failed"),
            "{problem}"
        );
    }

    #[test]
    fn golang_migrate_counts_up_to_its_version_unless_dirty() {
        let clean = parse(Tool::GolangMigrate, &rows(&[&[Some("3"), Some("false")]])).unwrap();
        assert_eq!(
            clean.up_to,
            Some(UpTo {
                version: version("3"),
                needs_file: true
            })
        );
        assert_eq!(
            parse(Tool::GolangMigrate, &[]).unwrap(),
            ToolHistory::default()
        );
        let dirty = parse(Tool::GolangMigrate, &rows(&[&[Some("3"), Some("1")]])).unwrap_err();
        assert!(dirty.to_string().contains("dirty"), "{dirty}");
        let nil_and_dirty =
            parse(Tool::GolangMigrate, &rows(&[&[Some("-1"), Some("t")]])).unwrap_err();
        assert!(matches!(nil_and_dirty, AdoptProblem::Failed { .. }));
        let two = rows(&[&[Some("3"), Some("f")], &[Some("4"), Some("f")]]);
        assert!(matches!(
            parse(Tool::GolangMigrate, &two),
            Err(AdoptProblem::Unreadable { .. })
        ));
    }

    #[test]
    fn prisma_tells_finished_failed_and_rolled_back_attempts_apart() {
        let history = parse(
            Tool::Prisma,
            &rows(&[
                &[Some("0001_init"), Some("t"), Some("f")],
                &[Some("0002_more"), Some("f"), Some("t")],
                &[Some("0002_more"), Some("1"), Some("0")],
            ]),
        )
        .unwrap();
        assert_eq!(
            history.applied,
            [
                Named::Directory("0001_init".into()),
                Named::Directory("0002_more".into())
            ]
        );
        assert_eq!(history.rolled_back, [Named::Directory("0002_more".into())]);
        let failed = rows(&[&[Some("0003_x"), Some("f"), Some("f")]]);
        let problem = parse(Tool::Prisma, &failed).unwrap_err();
        assert!(
            problem.to_string().contains("prisma migrate resolve"),
            "{problem}"
        );
    }

    #[test]
    fn flyway_undos_deletions_baselines_and_repeatables() {
        let history = parse(
            Tool::Flyway,
            &rows(&[
                &[Some("0"), Some("SCHEMA"), Some("t")],
                &[Some("1"), Some("BASELINE"), Some("t")],
                &[Some("2"), Some("SQL"), Some("t")],
                &[None, Some("SQL"), Some("t")],
                &[Some("3"), Some("SQL"), Some("1")],
                &[Some("3"), Some("UNDO_SQL"), Some("1")],
                &[Some("4"), Some("JDBC"), Some("t")],
                &[Some("4"), Some("DELETE"), Some("t")],
                &[Some("5"), Some("SQL"), Some("t")],
            ]),
        )
        .unwrap();
        assert_eq!(history.applied, [version("2"), version("5")]);
        assert_eq!(
            history.up_to,
            Some(UpTo {
                version: version("1"),
                needs_file: false
            })
        );
        let failed = rows(&[&[Some("2"), Some("SQL"), Some("f")]]);
        assert!(
            parse(Tool::Flyway, &failed)
                .unwrap_err()
                .to_string()
                .contains("flyway repair")
        );
    }

    #[test]
    fn an_unreadable_boolean_is_refused() {
        let odd = rows(&[&[Some("1"), Some("yes please")]]);
        assert!(matches!(
            parse(Tool::Sqlx, &odd),
            Err(AdoptProblem::Unreadable { .. })
        ));
    }
}
