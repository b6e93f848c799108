//! Statements that PostgreSQL refuses inside a transaction, in a migration
//! that migrate runs in one.

use migrate_format::lexer::{self, Flavor};
use migrate_format::transaction::statements_refused_in_transaction;
use migrate_format::{Problem, SourceFile};

/// The statements of a file that runs in a transaction (it has no
/// `-- migrate:no-transaction`) that PostgreSQL refuses there, one problem
/// each, at the statement's first token.
pub(super) fn check_file(file: &SourceFile) -> Vec<Problem> {
    if file.directives.no_transaction {
        return Vec::new();
    }
    let lexed = lexer::lex(&file.sql, Flavor::Postgres);
    // The server's version is unknown here: a supported one is assumed.
    statements_refused_in_transaction(&file.sql, &lexed, None)
        .into_iter()
        .map(|refusal| Problem {
            file: file.display.clone(),
            position: Some(lexer::line_col(&file.sql, refusal.range.start)),
            message: refused(refusal.command),
        })
        .collect()
}

/// The message for a statement refused in a transaction, with the way out.
pub(super) fn refused(command: &str) -> String {
    format!(
        "{command} cannot run inside a transaction, and this migration runs in one; add `-- migrate:no-transaction` at the top of the file, so that migrate runs its statements one at a time outside a transaction (best in a migration of its own)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::Directives;

    fn file(sql: &str, no_transaction: bool) -> SourceFile {
        SourceFile {
            path: "0001_x.sql".into(),
            display: "migrations/0001_x.sql".to_owned(),
            name: "0001_x.sql".to_owned(),
            sql: sql.to_owned(),
            directives: Directives {
                no_transaction,
                ..Directives::default()
            },
        }
    }

    #[test]
    fn refused_statements_are_reported_where_they_start() {
        let sql = "CREATE TABLE t (a int);\n\n  CREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;\n";
        let problems: Vec<String> = check_file(&file(sql, false))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "migrations/0001_x.sql:3:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction"
            ),
            "{problems:?}"
        );
        assert!(problems[0].contains("add `-- migrate:no-transaction`"));
        assert!(problems[1].starts_with("migrations/0001_x.sql:4:1: VACUUM"));
    }

    #[test]
    fn a_no_transaction_migration_may_have_them() {
        let sql = "CREATE INDEX CONCURRENTLY i ON t (a);";
        assert!(check_file(&file(sql, true)).is_empty());
    }
}
