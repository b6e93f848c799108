//! The history table: its name and its rows.

use std::collections::BTreeMap;
use std::fmt;

use migrate_format::checksum::{self, Checksum};

#[cfg(any(test, feature = "sqlite", feature = "postgres"))]
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
    #[cfg(any(test, feature = "sqlite", feature = "postgres"))]
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
    #[cfg(any(test, feature = "sqlite", feature = "postgres"))]
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

    /// A name for a companion object in the same schema: the table's name
    /// followed by `suffix`, or `None` when that would pass PostgreSQL's
    /// 63-byte limit and be truncated.
    #[allow(dead_code)] // Used by the PostgreSQL backend.
    pub(crate) fn with_suffix(&self, suffix: &str) -> Option<TableName> {
        if self.table().len() + suffix.len() > 63 {
            return None;
        }
        let quoted = self.quoted.strip_suffix('"')?;
        Some(TableName {
            plain: format!("{}{suffix}", self.plain),
            quoted: format!("{quoted}{suffix}\""),
        })
    }
}

impl fmt::Display for TableName {
    /// The quoted form, ready to splice into SQL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted)
    }
}

#[cfg(any(test, feature = "sqlite", feature = "postgres"))]
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

/// What a history holds, as far as its fingerprint goes: each version's
/// checksum, or `None` for a migration that is unfinished or whose recorded
/// checksum is not one. It is read from the history and kept in step with
/// the changes a transaction makes, so that the fingerprint can be written
/// at the end of that transaction without reading the history again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger(BTreeMap<i64, Option<Checksum>>);

#[allow(dead_code)] // Some of it is used by the PostgreSQL backend only.
impl Ledger {
    pub(crate) fn of(history: &[HistoryRow]) -> Ledger {
        Ledger(
            history
                .iter()
                .map(|row| {
                    let sum = checksum::from_hex(&row.checksum).filter(|_| row.finished);
                    (row.version, sum)
                })
                .collect(),
        )
    }

    /// Records a migration as applied and finished with `checksum`.
    pub(crate) fn finished(&mut self, version: i64, checksum: &Checksum) {
        self.0.insert(version, Some(*checksum));
    }

    /// Records a migration as started and not finished.
    pub(crate) fn unfinished(&mut self, version: i64) {
        self.0.insert(version, None);
    }

    pub(crate) fn remove(&mut self, version: i64) {
        self.0.remove(&version);
    }

    /// The history's fingerprint: the set checksum of its versions and
    /// checksums, computed as [`Migrations::checksum`](crate::Migrations::checksum)
    /// is for the binary's migrations, so the two are equal exactly when the
    /// history holds the binary's migrations, all finished. `None` while a
    /// migration is unfinished or a checksum unreadable: no start-up may then
    /// skip reading the history.
    pub(crate) fn fingerprint(&self) -> Option<Checksum> {
        let mut entries = Vec::with_capacity(self.0.len());
        for (version, sum) in &self.0 {
            entries.push((*version, sum.as_ref()?));
        }
        Some(checksum::set_checksum(entries))
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

    fn row(version: i64, sum: &Checksum, finished: bool) -> HistoryRow {
        HistoryRow {
            version,
            description: String::new(),
            checksum: checksum::to_hex(sum),
            applied_at: String::new(),
            finished,
            statements_done: None,
        }
    }

    #[test]
    fn the_ledger_fingerprint_is_the_set_checksum_of_what_the_history_holds() {
        let (a, b) = (
            checksum::checksum("SELECT 1;"),
            checksum::checksum("SELECT 2;"),
        );
        let both = checksum::set_checksum([(1, &a), (2, &b)]);
        let mut ledger = Ledger::of(&[row(1, &a, true)]);
        assert_eq!(
            ledger.fingerprint(),
            Some(checksum::set_checksum([(1, &a)]))
        );
        ledger.unfinished(2);
        assert_eq!(ledger.fingerprint(), None, "an unfinished migration");
        ledger.finished(2, &b);
        assert_eq!(ledger.fingerprint(), Some(both));
        assert_eq!(
            Ledger::of(&[row(2, &b, true), row(1, &a, true)]).fingerprint(),
            Some(both),
            "rows in any order"
        );
        ledger.remove(2);
        assert_eq!(
            ledger.fingerprint(),
            Some(checksum::set_checksum([(1, &a)]))
        );
        assert_eq!(Ledger::of(&[row(1, &a, false)]).fingerprint(), None);
        let mut garbled = row(1, &a, true);
        garbled.checksum = "edited by hand".into();
        assert_eq!(Ledger::of(&[garbled]).fingerprint(), None);
        assert_eq!(
            Ledger::default().fingerprint(),
            Some(checksum::set_checksum([]))
        );
    }
}
