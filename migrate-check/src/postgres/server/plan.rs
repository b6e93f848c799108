//! What the server-backed dry run does, decided before it connects to
//! anything: the runtime's transactions, history rows, and the settings a
//! migration changes saved before it and restored after it, around every
//! statement of every migration, in order.

use std::ops::Range;

use migrate_format::history::{self, Dialect, Row, TableName};
use migrate_format::lexer::{self, Flavor};
use migrate_format::session::postgres as session;
use migrate_format::transaction::statements_refused_in_transaction;
use migrate_format::{SourceFile, SourceMigration, checksum};

/// The savepoint that undoes a down migration inside the transaction of the
/// migrations, after its check.
const DOWN_SAVEPOINT: &str = "migrate_check_down";

/// One thing the dry run does. An error in a step stops the dry run, except
/// in a down migration's check, which is undone and reported, after which
/// the dry run goes on with the next migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step<'a> {
    /// SQL of the dry run itself, for `file`: a transaction, a history
    /// row, the settings saved or restored. It fails only when a migration broke
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
/// statements done. The settings a migration changes with `SET` or `RESET`
/// are saved before it and restored after it, with the runtime's own SQL
/// ([`migrate_format::session::postgres`]), so that a setting lasts until
/// the end of the migration that made it. Each down migration is checked
/// right after its up migration.
pub(super) fn plan<'a>(
    migrations: &'a [SourceMigration],
    table: &TableName,
    server_version_num: u32,
) -> Vec<Step<'a>> {
    let mut steps = Vec::new();
    let mut in_transaction = false;
    for migration in migrations {
        let up = &migration.up;
        let lexed = lexer::lex(&up.sql, Flavor::Postgres);
        let changed = session::settings_changed(&up.sql, &lexed.statements);
        let in_migration = !up.directives.no_transaction;
        let save = (!changed.is_empty()).then(|| session::save(&changed, in_migration));
        let restore = (!changed.is_empty()).then(|| session::restore(&changed, in_migration));
        if up.directives.no_transaction {
            if in_transaction {
                steps.push(internal(up, "COMMIT"));
                in_transaction = false;
            }
            steps.push(internal(up, &record(migration, table, false)));
            steps.extend(save.map(|sql| Step::Internal { file: up, sql }));
            let count = lexed.statements.len();
            for (index, range) in lexed.statements.into_iter().enumerate() {
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
            steps.extend(restore.map(|sql| Step::Internal { file: up, sql }));
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
            steps.extend(save.map(|sql| Step::Internal { file: up, sql }));
            let refused =
                statements_refused_in_transaction(&up.sql, &lexed, Some(server_version_num));
            for range in lexed.statements {
                match refused.iter().find(|refusal| refusal.range == range) {
                    Some(refusal) => steps.push(Step::Refused {
                        file: up,
                        range,
                        command: refusal.command,
                    }),
                    None => steps.push(statement(up, range, true)),
                }
            }
            steps.extend(restore.map(|sql| Step::Internal { file: up, sql }));
            steps.push(internal(up, &record(migration, table, true)));
        }
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
            name: name.to_owned(),
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
            version_text: version.to_string(),
            description: format!("m{version}"),
            checksum: checksum::checksum(&up.sql),
            up,
            down,
            metadata: None,
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
                Step::Internal { sql, .. } if sql.contains("'migrate.saved_1', coalesce") => {
                    "save".to_owned()
                }
                Step::Internal { sql, .. }
                    if sql.contains("current_setting('migrate.saved_1')") =>
                {
                    "restore".to_owned()
                }
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
                "down 1.down.sql [SAVEPOINT migrate_check_down] 1 [ROLLBACK TO SAVEPOINT migrate_check_down; RELEASE SAVEPOINT migrate_check_down]",
                "2.sql: CREATE TABLE b (x int);",
                "2.sql: INSERT INTO b VALUES (1);",
                "record finished",
                "COMMIT",
                "record unfinished",
                "3.sql: CREATE INDEX CONCURRENTLY i ON b (x);",
                "UPDATE \"_migrations\" SET statements_done = 1 WHERE version = 3",
                "3.sql: VACUUM b;",
                "UPDATE \"_migrations\" SET finished = true, statements_done = NULL WHERE version = 3",
                "down 3.down.sql [BEGIN] 1 [ROLLBACK]",
                "BEGIN",
                "4.up.sql: ALTER TABLE b ADD y int;",
                "record finished",
                "COMMIT",
                "down on a copy 4.down.sql",
            ]
        );
    }

    #[test]
    fn settings_a_migration_changes_are_saved_before_it_and_restored_after_it() {
        let migrations = [
            migration(
                1,
                file(
                    "1.sql",
                    "SET search_path = app;\nCREATE TABLE a (x int);",
                    false,
                ),
                None,
            ),
            migration(2, file("2.sql", "CREATE TABLE b (x int);", false), None),
            migration(
                3,
                file(
                    "3.sql",
                    "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON b (x);",
                    true,
                ),
                None,
            ),
        ];
        let steps = plan(&migrations, &TableName::default(), 150_004);
        assert_eq!(
            outline(&steps),
            [
                "BEGIN",
                "save",
                "1.sql: SET search_path = app;",
                "1.sql: CREATE TABLE a (x int);",
                "restore",
                "record finished",
                "2.sql: CREATE TABLE b (x int);",
                "record finished",
                "COMMIT",
                "record unfinished",
                "save",
                "3.sql: SET lock_timeout = '1s';",
                "UPDATE \"_migrations\" SET statements_done = 1 WHERE version = 3",
                "3.sql: CREATE INDEX CONCURRENTLY i ON b (x);",
                "restore",
                "UPDATE \"_migrations\" SET finished = true, statements_done = NULL WHERE version = 3",
            ]
        );
        // The runtime's own SQL: transaction-local slots in a transaction,
        // session ones cleared after a `no-transaction` migration.
        let sql = |index: usize| match &steps[index] {
            Step::Internal { sql, .. } => sql.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(sql(1), session::save(&["search_path".to_owned()], true));
        assert_eq!(sql(4), session::restore(&["search_path".to_owned()], true));
        assert_eq!(sql(10), session::save(&["lock_timeout".to_owned()], false));
        assert_eq!(
            sql(14),
            session::restore(&["lock_timeout".to_owned()], false)
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
                "COMMIT"
            ]
        );
    }
}
