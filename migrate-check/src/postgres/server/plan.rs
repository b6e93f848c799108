//! What the server-backed dry run does, decided before it connects to
//! anything: the runtime's transactions, history rows and setting resets,
//! around every statement of every migration, in order.

use std::ops::Range;

use migrate_format::history::{self, Dialect, Row, TableName};
use migrate_format::lexer::{self, Flavor};
use migrate_format::transaction::refused_in_transaction_on;
use migrate_format::{SourceFile, SourceMigration, checksum, session};

/// The savepoint that undoes a down migration inside the transaction of the
/// migrations, after its check.
const DOWN_SAVEPOINT: &str = "migrate_check_down";

/// One thing the dry run does. An error in a step stops the dry run, except
/// in a down migration's check, which is undone and reported, after which
/// the dry run goes on with the next migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step<'a> {
    /// SQL of the dry run itself, after `file`: a transaction, a history
    /// row, the reset of the settings. It fails only when a migration broke
    /// what the runtime relies on (say, dropped the history table), which
    /// would fail at run time too, so it is reported on the migration.
    Internal { file: &'a SourceFile, sql: String },
    /// A statement of a migration, sent on its own so that the server's
    /// error position, and the statement that failed, map back to the file.
    Statement {
        file: &'a SourceFile,
        range: Range<usize>,
    },
    /// A statement of a `-- migrate:no-check` file: run so that what it
    /// creates exists for the migrations after it, but its errors are not
    /// reported. In a transaction a savepoint keeps an error from aborting
    /// it.
    Unchecked {
        file: &'a SourceFile,
        range: Range<usize>,
        in_transaction: bool,
    },
    /// A statement that the server refuses in a transaction, in a migration
    /// that runs in one: reported without being sent.
    Refused {
        file: &'a SourceFile,
        range: Range<usize>,
        command: &'static str,
    },
    /// A down migration, checked against the state its up migration left
    /// and then undone: `open`, its statements, `undo`. An error skips the
    /// rest of its statements, is reported, and is undone too.
    Down {
        file: &'a SourceFile,
        open: String,
        statements: Vec<Range<usize>>,
        undo: String,
    },
    /// A `no-transaction` down migration, which nothing can undo: checked on
    /// a copy of the database, statement by statement.
    DownOnCopy {
        file: &'a SourceFile,
        statements: Vec<Range<usize>>,
    },
}

/// The steps of the dry run of `migrations`, with the history table
/// `table` (already created) on a server of version `server_version_num`.
///
/// As the runtime does in its default `TransactionMode::Single`:
/// consecutive transactional migrations share one transaction, each
/// followed by its history row; a `no-transaction` migration commits what
/// comes before it, then runs one statement at a time outside a
/// transaction, its history row written unfinished first and counting the
/// statements done. After each migration the settings it made are reset
/// ([`session::POSTGRES_RESET`]). Each down migration is checked right
/// after its up migration.
pub(super) fn plan<'a>(
    migrations: &'a [SourceMigration],
    table: &TableName,
    server_version_num: u32,
) -> Vec<Step<'a>> {
    let mut steps = Vec::new();
    let mut in_transaction = false;
    for migration in migrations {
        let up = &migration.up;
        let statements = lexer::lex(&up.sql, Flavor::Postgres).statements;
        if up.directives.no_transaction {
            if in_transaction {
                steps.push(internal(up, "COMMIT"));
                in_transaction = false;
            }
            steps.push(internal(up, &record(migration, table, false)));
            let count = statements.len();
            for (index, range) in statements.into_iter().enumerate() {
                steps.push(statement(up, range, false));
                if index + 1 < count {
                    let progress = format!(
                        "UPDATE {table} SET statements_done = {} WHERE version = {}",
                        index + 1,
                        migration.version
                    );
                    steps.push(internal(up, &progress));
                }
            }
            let finish = format!(
                "UPDATE {table} SET finished = true, statements_done = NULL WHERE version = {}",
                migration.version
            );
            steps.push(internal(up, &finish));
        } else {
            if !in_transaction {
                steps.push(internal(up, "BEGIN"));
                in_transaction = true;
            }
            for range in statements {
                let refused =
                    refused_in_transaction_on(&up.sql[range.clone()], Some(server_version_num));
                match refused {
                    Some(command) => steps.push(Step::Refused {
                        file: up,
                        range,
                        command,
                    }),
                    None => steps.push(statement(up, range, true)),
                }
            }
            steps.push(internal(up, &record(migration, table, true)));
        }
        steps.push(internal(up, session::POSTGRES_RESET));
        if let Some(down) = migration.down.as_ref().filter(|d| !d.directives.no_check) {
            let statements = lexer::lex(&down.sql, Flavor::Postgres).statements;
            if down.directives.no_transaction {
                if in_transaction {
                    steps.push(internal(up, "COMMIT"));
                    in_transaction = false;
                }
                steps.push(Step::DownOnCopy {
                    file: down,
                    statements,
                });
            } else {
                let (open, undo) = if in_transaction {
                    (
                        format!("SAVEPOINT {DOWN_SAVEPOINT}"),
                        format!(
                            "ROLLBACK TO SAVEPOINT {DOWN_SAVEPOINT}; RELEASE SAVEPOINT {DOWN_SAVEPOINT}"
                        ),
                    )
                } else {
                    ("BEGIN".to_owned(), "ROLLBACK".to_owned())
                };
                steps.push(Step::Down {
                    file: down,
                    open,
                    statements,
                    undo,
                });
            }
        }
    }
    if let (true, Some(last)) = (in_transaction, migrations.last()) {
        steps.push(internal(&last.up, "COMMIT"));
    }
    steps
}

fn internal<'a>(file: &'a SourceFile, sql: &str) -> Step<'a> {
    Step::Internal {
        file,
        sql: sql.to_owned(),
    }
}

fn statement(file: &SourceFile, range: Range<usize>, in_transaction: bool) -> Step<'_> {
    if file.directives.no_check {
        Step::Unchecked {
            file,
            range,
            in_transaction,
        }
    } else {
        Step::Statement { file, range }
    }
}

/// The migration's history row, as the runtime writes it: finished, or
/// unfinished with no statement done yet for a `no-transaction` migration.
fn record(migration: &SourceMigration, table: &TableName, finished: bool) -> String {
    let checksum = checksum::to_hex(&migration.checksum);
    let row = Row {
        version: migration.version,
        description: &migration.description,
        checksum: &checksum,
        execution_ms: "0",
        finished,
        statements_done: (!finished).then_some(0),
    };
    history::insert(Dialect::Postgres, table, &[row])
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::Directives;

    fn file(name: &str, sql: &str, no_transaction: bool) -> SourceFile {
        SourceFile {
            path: name.into(),
            display: name.to_owned(),
            sql: sql.to_owned(),
            directives: Directives {
                no_transaction,
                ..Directives::default()
            },
        }
    }

    fn migration(version: i64, up: SourceFile, down: Option<SourceFile>) -> SourceMigration {
        SourceMigration {
            version,
            description: format!("m{version}"),
            checksum: checksum::checksum(&up.sql),
            up,
            down,
        }
    }

    /// The steps, written as SQL for the assertions: internal SQL as it is,
    /// statements with their file.
    fn outline(steps: &[Step<'_>]) -> Vec<String> {
        steps
            .iter()
            .map(|step| match step {
                Step::Internal { sql, .. } if sql.starts_with("INSERT") => {
                    let finished = if sql.contains("true, NULL)") {
                        "finished"
                    } else {
                        "unfinished"
                    };
                    format!("record {finished}")
                }
                Step::Internal { sql, .. } if sql == session::POSTGRES_RESET => "reset".to_owned(),
                Step::Internal { sql, .. } => sql.clone(),
                Step::Statement { file, range } => {
                    format!("{}: {}", file.display, &file.sql[range.clone()])
                }
                Step::Unchecked { file, range, .. } => {
                    format!("unchecked {}: {}", file.display, &file.sql[range.clone()])
                }
                Step::Refused { command, .. } => format!("refused {command}"),
                Step::Down {
                    file,
                    open,
                    statements,
                    undo,
                } => format!(
                    "down {} [{open}] {} [{undo}]",
                    file.display,
                    statements.len()
                ),
                Step::DownOnCopy { file, .. } => format!("down on a copy {}", file.display),
            })
            .collect()
    }

    #[test]
    fn consecutive_transactional_migrations_share_a_transaction() {
        let migrations = [
            migration(
                1,
                file("1.up.sql", "CREATE TABLE a (x int);", false),
                Some(file("1.down.sql", "DROP TABLE a;", false)),
            ),
            migration(
                2,
                file(
                    "2.sql",
                    "CREATE TABLE b (x int); INSERT INTO b VALUES (1);",
                    false,
                ),
                None,
            ),
            migration(
                3,
                file(
                    "3.sql",
                    "CREATE INDEX CONCURRENTLY i ON b (x);\nVACUUM b;",
                    true,
                ),
                Some(file("3.down.sql", "DROP INDEX i;", false)),
            ),
            migration(
                4,
                file("4.up.sql", "ALTER TABLE b ADD y int;", false),
                Some(file(
                    "4.down.sql",
                    "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY i;",
                    true,
                )),
            ),
        ];
        let steps = plan(&migrations, &TableName::default(), 150_004);
        assert_eq!(
            outline(&steps),
            [
                "BEGIN",
                "1.up.sql: CREATE TABLE a (x int);",
                "record finished",
                "reset",
                "down 1.down.sql [SAVEPOINT migrate_check_down] 1 [ROLLBACK TO SAVEPOINT migrate_check_down; RELEASE SAVEPOINT migrate_check_down]",
                "2.sql: CREATE TABLE b (x int);",
                "2.sql: INSERT INTO b VALUES (1);",
                "record finished",
                "reset",
                "COMMIT",
                "record unfinished",
                "3.sql: CREATE INDEX CONCURRENTLY i ON b (x);",
                "UPDATE \"_migrations\" SET statements_done = 1 WHERE version = 3",
                "3.sql: VACUUM b;",
                "UPDATE \"_migrations\" SET finished = true, statements_done = NULL WHERE version = 3",
                "reset",
                "down 3.down.sql [BEGIN] 1 [ROLLBACK]",
                "BEGIN",
                "4.up.sql: ALTER TABLE b ADD y int;",
                "record finished",
                "reset",
                "COMMIT",
                "down on a copy 4.down.sql",
            ]
        );
    }

    #[test]
    fn adding_an_enum_value_is_refused_in_a_transaction_before_postgresql_12() {
        let migrations = [migration(
            1,
            file("1.sql", "ALTER TYPE mood ADD VALUE 'meh';", false),
            None,
        )];
        let old = outline(&plan(&migrations, &TableName::default(), 110_000));
        assert_eq!(
            old[1],
            "refused ALTER TYPE … ADD VALUE (before PostgreSQL 12)"
        );
        let new = outline(&plan(&migrations, &TableName::default(), 120_000));
        assert_eq!(new[1], "1.sql: ALTER TYPE mood ADD VALUE 'meh';");
    }

    #[test]
    fn unchecked_files_run_without_their_errors_and_their_downs_are_skipped() {
        let mut up = file("1.up.sql", "CREATE EXTENSION x;", false);
        up.directives.no_check = true;
        let mut down = file("1.down.sql", "DROP EXTENSION x;", false);
        down.directives.no_check = true;
        let migrations = [migration(1, up, Some(down))];
        let steps = outline(&plan(&migrations, &TableName::default(), 150_004));
        assert_eq!(
            steps,
            [
                "BEGIN",
                "unchecked 1.up.sql: CREATE EXTENSION x;",
                "record finished",
                "reset",
                "COMMIT"
            ]
        );
    }
}
