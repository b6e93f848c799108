//! The history table: its name and its rows.

use std::fmt;

use crate::{Error, Result};

/// A validated history table name, quoted for SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    /// As given, for messages.
    plain: String,
    /// Each part double-quoted, joined by `.`.
    quoted: String,
}

impl TableName {
    pub(crate) fn parse(name: &str) -> Result<TableName> {
        let invalid = |reason| Error::InvalidTableName {
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
        let quoted = parts
            .iter()
            .map(|part| format!("\"{part}\""))
            .collect::<Vec<_>>()
            .join(".");
        Ok(TableName {
            plain: name.to_owned(),
            quoted,
        })
    }

    /// The same table in `schema`: how the PostgreSQL backend pins an
    /// unqualified name to the schema it resolved to, so that a migration
    /// changing `search_path` cannot redirect the history writes. The schema
    /// name comes from the server and is quoted whatever it contains.
    #[allow(dead_code)] // Used by the PostgreSQL backend.
    pub(crate) fn in_schema(&self, schema: &str) -> TableName {
        let table = self.table();
        TableName {
            plain: format!("{schema}.{table}"),
            quoted: format!("\"{}\".\"{table}\"", schema.replace('"', "\"\"")),
        }
    }

    /// The name as given.
    pub(crate) fn plain(&self) -> &str {
        &self.plain
    }

    /// The schema part, if the name is qualified.
    #[allow(dead_code)] // Used by the PostgreSQL backend.
    pub(crate) fn schema(&self) -> Option<&str> {
        self.plain.split_once('.').map(|(schema, _)| schema)
    }

    /// The table part, without its schema.
    #[allow(dead_code)] // Used by the PostgreSQL backend.
    pub(crate) fn table(&self) -> &str {
        self.plain
            .rsplit_once('.')
            .map_or(&self.plain, |(_, table)| table)
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

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    pub(crate) version: i64,
    pub(crate) description: String,
    pub(crate) checksum: String,
    pub(crate) applied_at: String,
    /// False while a `no-transaction` migration runs, and after it failed.
    pub(crate) finished: bool,
    /// For an unfinished migration, how many statements completed.
    pub(crate) statements_done: Option<i64>,
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
}
