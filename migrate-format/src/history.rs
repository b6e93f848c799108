//! The history table: its name, its columns, and the SQL that creates and
//! fills it on each engine.
//!
//! This is the one definition of the table. The runtime (`migrate-core`)
//! writes it, and the build-time dry runs (`migrate-check`) create the same
//! table, under the same name, so that a migration that reads or alters the
//! history behaves at build time as it will in production.

use std::borrow::Cow;
use std::fmt;

/// The history table's name when none is given.
pub const DEFAULT_TABLE: &str = "_migrations";

/// [`DEFAULT_TABLE`] quoted: the default name is borrowed, not built, so
/// that a runner with the default table allocates nothing for its name.
const DEFAULT_TABLE_QUOTED: &str = "\"_migrations\"";

/// The columns of the history table, in the order every insert lists them.
pub const COLUMNS: &str =
    "version, description, checksum, applied_at, execution_ms, finished, statements_done";

/// The engines whose SQL differs for the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A validated history table name: a plain identifier, optionally qualified
/// by a schema, quoted for SQL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    /// As given, for messages.
    plain: Cow<'static, str>,
    /// Each part double-quoted, joined by `.`.
    quoted: Cow<'static, str>,
}

/// Why a history table name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTableName {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for InvalidTableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid history table name `{}`: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for InvalidTableName {}

impl TableName {
    /// Validates `name`: `table` or `schema.table`, each part ASCII letters,
    /// digits and `_`, not starting with a digit, at most 63 bytes.
    ///
    /// The temporary schemas (`temp` on SQLite, `pg_temp` on PostgreSQL) are
    /// refused: a history kept there vanishes with the connection, and the
    /// next start-up would apply every migration again.
    pub fn parse(name: &str) -> Result<TableName, InvalidTableName> {
        let invalid = |reason| InvalidTableName {
            name: name.to_owned(),
            reason,
        };
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 2 {
            return Err(invalid("expected `table` or `schema.table`"));
        }
        for part in &parts {
            check_identifier(part).map_err(invalid)?;
        }
        if parts.len() == 2 && is_temporary_schema(parts[0]) {
            return Err(invalid(
                "the temporary schema is private to one connection, so the history would be lost when it closes; name a real schema, or none",
            ));
        }
        let quoted = parts
            .iter()
            .map(|part| format!("\"{part}\""))
            .collect::<Vec<_>>()
            .join(".");
        Ok(TableName {
            plain: Cow::Owned(name.to_owned()),
            quoted: Cow::Owned(quoted),
        })
    }

    /// The same table in `schema`: how the PostgreSQL backend pins an
    /// unqualified name to the schema it resolved to, so that a migration
    /// changing `search_path` cannot redirect the history writes. The schema
    /// name comes from the server and is quoted whatever it contains.
    pub fn in_schema(&self, schema: &str) -> TableName {
        let table = self.table();
        TableName {
            plain: Cow::Owned(format!("{schema}.{table}")),
            quoted: Cow::Owned(format!("\"{}\".\"{table}\"", schema.replace('"', "\"\""))),
        }
    }

    /// The name as given.
    pub fn plain(&self) -> &str {
        &self.plain
    }

    /// The name quoted for SQL, as [`Display`](fmt::Display) writes it.
    pub fn quoted(&self) -> &str {
        &self.quoted
    }

    /// The schema part, if the name is qualified.
    pub fn schema(&self) -> Option<&str> {
        self.plain.split_once('.').map(|(schema, _)| schema)
    }

    /// The table part, without its schema.
    pub fn table(&self) -> &str {
        self.plain
            .rsplit_once('.')
            .map_or(&*self.plain, |(_, table)| table)
    }

    /// A name for a companion object in the same schema: the table's name
    /// followed by `suffix`, or `None` when that would pass PostgreSQL's
    /// 63-byte limit and be truncated.
    pub fn with_suffix(&self, suffix: &str) -> Option<TableName> {
        if self.table().len() + suffix.len() > 63 {
            return None;
        }
        let quoted = self.quoted.strip_suffix('"')?;
        Some(TableName {
            plain: Cow::Owned(format!("{}{suffix}", self.plain)),
            quoted: Cow::Owned(format!("{quoted}{suffix}\"")),
        })
    }
}

impl Default for TableName {
    fn default() -> Self {
        TableName {
            plain: Cow::Borrowed(DEFAULT_TABLE),
            quoted: Cow::Borrowed(DEFAULT_TABLE_QUOTED),
        }
    }
}

impl fmt::Display for TableName {
    /// The quoted form, ready to splice into SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted)
    }
}

fn check_identifier(part: &str) -> Result<(), &'static str> {
    let mut bytes = part.bytes();
    match bytes.next() {
        None => return Err("a name part is empty"),
        Some(first) if !(first.is_ascii_alphabetic() || first == b'_') => {
            return Err("a name must start with a letter or `_`");
        }
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err("a name may only contain ASCII letters, digits and `_`");
    }
    // PostgreSQL truncates longer identifiers, which would make two names collide.
    if part.len() > 63 {
        return Err("a name part is longer than 63 bytes");
    }
    Ok(())
}

/// SQLite's `temp` (and its alias `temporary`) and PostgreSQL's `pg_temp`,
/// which both engines match without regard to case.
fn is_temporary_schema(schema: &str) -> bool {
    let lower = schema.to_ascii_lowercase();
    lower == "temp" || lower == "temporary" || lower.starts_with("pg_temp")
}

/// `CREATE TABLE IF NOT EXISTS` of the history table.
pub fn create_table(dialect: Dialect, table: &TableName) -> String {
    let (integer, timestamp, boolean) = match dialect {
        Dialect::Sqlite => ("INTEGER", "TEXT", "INTEGER"),
        Dialect::Postgres => ("BIGINT", "TIMESTAMPTZ", "BOOLEAN"),
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            version {integer} PRIMARY KEY,
            description TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at {timestamp} NOT NULL,
            execution_ms {integer} NOT NULL,
            finished {boolean} NOT NULL,
            statements_done {integer}
        )"
    )
}

/// The values of one history row, for [`insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row<'a> {
    /// The migration's version.
    pub version: i64,
    /// Its description.
    pub description: &'a str,
    /// Its checksum, in lower-case hexadecimal.
    pub checksum: &'a str,
    /// An SQL expression of the milliseconds its SQL took, such as `12`.
    pub execution_ms: &'a str,
    /// False for a `no-transaction` migration that has not finished.
    pub finished: bool,
    /// For an unfinished migration, how many statements are done. Each
    /// statement's completion is recorded before the next one is sent, so
    /// the statement after them may have been started, and may or may not
    /// have completed.
    pub statements_done: Option<i64>,
}

/// One `INSERT` of `rows` into the history table, stamped with the
/// database's current time. `rows` must not be empty.
pub fn insert(dialect: Dialect, table: &TableName, rows: &[Row<'_>]) -> String {
    let now = now(dialect);
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "({}, {}, {}, {now}, {}, {}, {})",
                row.version,
                quote_literal(dialect, row.description),
                quote_literal(dialect, row.checksum),
                row.execution_ms,
                boolean(dialect, row.finished),
                row.statements_done
                    .map_or_else(|| "NULL".to_owned(), |done| done.to_string()),
            )
        })
        .collect();
    format!(
        "INSERT INTO {table} ({COLUMNS}) VALUES {}",
        values.join(",\n    ")
    )
}

/// The database's current time as the `applied_at` column stores it. SQLite
/// has no timestamp type, so it stores ISO 8601 text in UTC.
pub fn now(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        Dialect::Postgres => "clock_timestamp()",
    }
}

/// A boolean literal: SQLite stores them as integers.
pub fn boolean(dialect: Dialect, value: bool) -> &'static str {
    match (dialect, value) {
        (Dialect::Sqlite, true) => "1",
        (Dialect::Sqlite, false) => "0",
        (Dialect::Postgres, true) => "true",
        (Dialect::Postgres, false) => "false",
    }
}

/// A SQL string literal: quotes doubled. On PostgreSQL a text with a
/// backslash becomes an `E''` literal with the backslashes doubled, so that
/// it reads the same whatever `standard_conforming_strings` says; SQLite
/// never treats a backslash specially.
pub fn quote_literal(dialect: Dialect, text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if dialect == Dialect::Postgres && text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated_and_quoted() {
        assert_eq!(
            TableName::parse("_migrations").unwrap().to_string(),
            "\"_migrations\""
        );
        assert_eq!(
            TableName::default(),
            TableName::parse(DEFAULT_TABLE).unwrap()
        );
        let qualified = TableName::parse("app.schema_history").unwrap();
        assert_eq!(qualified.to_string(), "\"app\".\"schema_history\"");
        assert_eq!(qualified.schema(), Some("app"));
        assert_eq!(qualified.table(), "schema_history");
        for bad in [
            "",
            "a.b.c",
            "1abc",
            "x\"; DROP TABLE users; --",
            "a b",
            ".x",
            &"x".repeat(64),
        ] {
            assert!(TableName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn temporary_schemas_are_refused() {
        for temporary in [
            "temp.x",
            "TEMP.x",
            "temporary.x",
            "pg_temp.x",
            "pg_temp_3.x",
        ] {
            let error = TableName::parse(temporary).unwrap_err();
            assert!(error.reason.contains("temporary schema"), "{temporary}");
        }
        assert!(
            TableName::parse("temp").is_ok(),
            "a table may be named temp"
        );
        assert!(TableName::parse("template.x").is_ok());
    }

    #[test]
    fn companion_names_stay_in_the_schema_and_within_the_limit() {
        let qualified = TableName::parse("app.history").unwrap();
        let state = qualified.with_suffix("_state").unwrap();
        assert_eq!(state.to_string(), "\"app\".\"history_state\"");
        assert_eq!(state.plain(), "app.history_state");
        let resolved = TableName::parse("_migrations")
            .unwrap()
            .in_schema("my \"schema\"");
        assert_eq!(
            resolved.with_suffix("_state").unwrap().to_string(),
            "\"my \"\"schema\"\"\".\"_migrations_state\""
        );
        let long = TableName::parse(&"x".repeat(58)).unwrap();
        assert!(long.with_suffix("_state").is_none());
        assert!(long.with_suffix("_stat").is_some());
    }

    #[test]
    fn literals_are_quoted_whatever_they_contain() {
        assert_eq!(quote_literal(Dialect::Postgres, "add_users"), "'add_users'");
        assert_eq!(quote_literal(Dialect::Postgres, "it's"), "'it''s'");
        assert_eq!(quote_literal(Dialect::Postgres, r"a\'b"), r"E'a\\''b'");
        assert_eq!(quote_literal(Dialect::Sqlite, r"a\'b"), r"'a\''b'");
    }

    #[test]
    fn one_insert_lists_every_row() {
        let table = TableName::default();
        let row = |version, finished| Row {
            version,
            description: "it's",
            checksum: "ab",
            execution_ms: "0",
            finished,
            statements_done: (!finished).then_some(0),
        };
        assert_eq!(
            insert(Dialect::Sqlite, &table, &[row(1, true), row(2, false)]),
            "INSERT INTO \"_migrations\" (version, description, checksum, applied_at, execution_ms, finished, statements_done) \
             VALUES (1, 'it''s', 'ab', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, 1, NULL),\n    \
             (2, 'it''s', 'ab', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0, 0, 0)"
        );
        assert!(
            insert(Dialect::Postgres, &table, &[row(1, true)])
                .ends_with("VALUES (1, 'it''s', 'ab', clock_timestamp(), 0, true, NULL)")
        );
    }

    #[test]
    fn both_engines_create_the_same_columns() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let sql = create_table(dialect, &TableName::default());
            for column in COLUMNS.split(", ") {
                assert!(sql.contains(&format!("{column} ")), "{dialect:?} {column}");
            }
        }
    }
}
