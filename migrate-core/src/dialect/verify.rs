//! The checks of a migrated database, as SQL of each engine, and their rows
//! read back as [`Finding`]s.

use migrate_format::history::{Dialect, quote_literal};

use crate::driver::Row;
use crate::verify::{Finding, ForeignKeyViolation};

/// How many rows of one check are listed; a longer answer ends with a
/// [`Finding::Truncated`].
pub(crate) const LISTED: usize = 1000;

/// SQLite's check of every page, index and constraint of the database. It
/// lists at most 100 problems.
pub(crate) const SQLITE_INTEGRITY: &str = "PRAGMA integrity_check";

/// SQLite's tables, to check one by one when the whole check stopped on a
/// page too corrupt to read, so that the findings name the table.
pub(crate) const SQLITE_TABLES: &str =
    "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name";

/// SQLite's check of one table and its indexes.
pub(crate) fn sqlite_table_integrity(table: &str) -> String {
    format!(
        "PRAGMA integrity_check({})",
        quote_literal(Dialect::Sqlite, table)
    )
}

/// SQLite's rows that break a foreign key, each with its table, rowid,
/// parent table and the key's columns (`child -> parent`, `(primary key)`
/// when the key names none).
pub(crate) fn sqlite_foreign_keys() -> String {
    format!(
        "SELECT k.\"table\", k.rowid, k.parent, \
                (SELECT group_concat(f.\"from\" || ' -> ' || coalesce(f.\"to\", '(primary key)'), ', ') \
                 FROM pragma_foreign_key_list(k.\"table\") f WHERE f.id = k.fkid) \
         FROM pragma_foreign_key_check k LIMIT {}",
        LISTED + 1
    )
}

/// PostgreSQL's indexes marked invalid: left by a `CREATE INDEX
/// CONCURRENTLY` (or `REINDEX CONCURRENTLY`) that failed, or being built.
pub(crate) const POSTGRES_INVALID_INDEXES: &str = "\
SELECT n.nspname, c.relname, t.relname \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indexrelid \
JOIN pg_class t ON t.oid = i.indrelid \
JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE NOT i.indisvalid \
ORDER BY 1, 2";

/// PostgreSQL's constraints added `NOT VALID` and never validated, on
/// tables and on domains.
pub(crate) const POSTGRES_NOT_VALID: &str = "\
SELECT n.nspname, c.conname, coalesce(t.relname, d.typname) \
FROM pg_constraint c \
LEFT JOIN pg_class t ON t.oid = c.conrelid \
LEFT JOIN pg_type d ON d.oid = c.contypid \
JOIN pg_namespace n ON n.oid = c.connamespace \
WHERE NOT c.convalidated \
ORDER BY 1, 3, 2";

/// PostgreSQL's sequences owned by an integer column (`serial`, identity,
/// `OWNED BY`) whose next value is already in that column: at or below its
/// maximum, or for a descending sequence at or above its minimum.
///
/// The column's maximum is read on the server with `query_to_xml` over a
/// query that `format(%I)` quotes, so that no SQL is built from catalog
/// names on the client. Sequences and columns this role may not read are
/// left out, since their values cannot be compared.
pub(crate) const POSTGRES_SEQUENCES: &str = "\
SELECT schema_name, sequence_name, table_name, column_name, next::text, extreme FROM ( \
  SELECT sn.nspname AS schema_name, sc.relname AS sequence_name, \
         tn.nspname || '.' || t.relname AS table_name, a.attname AS column_name, \
         s.seqincrement AS increment, \
         coalesce(pg_sequence_last_value(s.seqrelid)::numeric + s.seqincrement, s.seqstart::numeric) AS next, \
         (xpath('/row/m/text()', query_to_xml( \
             format('SELECT %s(%I)::text AS m FROM %I.%I', \
                    CASE WHEN s.seqincrement > 0 THEN 'max' ELSE 'min' END, \
                    a.attname, tn.nspname, t.relname), \
             false, true, '')))[1]::text AS extreme \
  FROM pg_sequence s \
  JOIN pg_class sc ON sc.oid = s.seqrelid \
  JOIN pg_namespace sn ON sn.oid = sc.relnamespace \
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid \
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 \
                  AND d.deptype IN ('a', 'i') \
  JOIN pg_class t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p') \
  JOIN pg_namespace tn ON tn.oid = t.relnamespace \
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid \
  WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype) \
    AND has_sequence_privilege(s.seqrelid, 'SELECT,USAGE') \
    AND has_column_privilege(t.oid, a.attnum, 'SELECT') \
) owned \
WHERE extreme IS NOT NULL \
  AND CASE WHEN increment > 0 THEN next <= extreme::numeric ELSE next >= extreme::numeric END \
ORDER BY 1, 2";

/// The findings of `PRAGMA integrity_check`: every line but `ok` and the
/// headings that name the schema.
pub(crate) fn sqlite_integrity(rows: &[Row]) -> Vec<Finding> {
    rows.iter()
        .filter_map(|row| row.first().cloned().flatten())
        .flat_map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| {
                    !line.is_empty() && *line != "ok" && !line.starts_with("*** in database")
                })
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|message| Finding::Integrity { message })
        .collect()
}

/// The findings of [`sqlite_foreign_keys`].
pub(crate) fn sqlite_foreign_key_findings(rows: &[Row]) -> Vec<Finding> {
    let text = |row: &Row, index: usize| row.get(index).cloned().flatten().unwrap_or_default();
    let mut findings: Vec<Finding> = rows
        .iter()
        .take(LISTED)
        .map(|row| {
            Finding::ForeignKey(ForeignKeyViolation {
                table: text(row, 0),
                rowid: row.get(1).cloned().flatten().and_then(|id| id.parse().ok()),
                parent: text(row, 2),
                columns: text(row, 3),
            })
        })
        .collect();
    if rows.len() > LISTED {
        findings.push(Finding::Truncated {
            check: "PRAGMA foreign_key_check",
            listed: LISTED,
        });
    }
    findings
}

/// The findings of the three PostgreSQL checks, in the order of their
/// results: invalid indexes, `NOT VALID` constraints, sequences.
pub(crate) fn postgres_findings(results: &[Vec<Row>]) -> Vec<Finding> {
    let text = |row: &Row, index: usize| row.get(index).cloned().flatten().unwrap_or_default();
    let rows = |index: usize| results.get(index).map_or(&[][..], Vec::as_slice);
    let indexes = rows(0).iter().map(|row| Finding::InvalidIndex {
        schema: text(row, 0),
        index: text(row, 1),
        table: text(row, 2),
    });
    let constraints = rows(1).iter().map(|row| Finding::NotValidConstraint {
        schema: text(row, 0),
        constraint: text(row, 1),
        on: text(row, 2),
    });
    let sequences = rows(2).iter().map(|row| Finding::SequenceBehind {
        schema: text(row, 0),
        sequence: text(row, 1),
        table: text(row, 2),
        column: text(row, 3),
        next: text(row, 4),
        highest: text(row, 5),
    });
    indexes.chain(constraints).chain(sequences).collect()
}

/// Whether a statement turns SQLite's foreign key enforcement off:
/// `PRAGMA foreign_keys = OFF`, in any of the spellings SQLite accepts
/// (`0`, `no`, `false`, quoted, `PRAGMA foreign_keys(off)`), comments and
/// whitespace anywhere.
pub(crate) fn turns_foreign_keys_off(statement: &str) -> bool {
    let compact: String = without_comments(statement)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let Some(rest) = compact.strip_prefix("pragma") else {
        return false;
    };
    let rest = rest.trim_end_matches(';');
    let (name, value) = match rest.split_once('=') {
        Some((name, value)) => (name, value),
        None => match rest.split_once('(') {
            Some((name, value)) => (name, value.strip_suffix(')').unwrap_or(value)),
            None => return false,
        },
    };
    let name = name.rsplit('.').next().unwrap_or(name);
    unquoted(name) == "foreign_keys" && matches!(unquoted(value), "0" | "off" | "no" | "false")
}

fn unquoted(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, '"' | '\'' | '`' | '[' | ']'))
}

/// `sql` with its `--` and `/* */` comments blanked out. Quotes do not
/// matter here: a pragma's name and value hold no comment markers.
fn without_comments(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |end| &after[end..]);
            out.push(' ');
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
            out.push(' ');
        } else {
            let mut chars = rest.chars();
            out.extend(chars.next());
            rest = chars.as_str();
        }
    }
    out
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

    #[test]
    fn turning_foreign_keys_off_is_recognized_in_every_spelling() {
        for off in [
            "PRAGMA foreign_keys = OFF",
            "pragma foreign_keys=0;",
            "PRAGMA foreign_keys = false",
            "PRAGMA \"foreign_keys\" = 'no'",
            "PRAGMA foreign_keys(off)",
            "PRAGMA main.foreign_keys = OFF",
            "PRAGMA /* the rebuild */ foreign_keys -- now\n = OFF",
        ] {
            assert!(turns_foreign_keys_off(off), "{off}");
        }
        for other in [
            "PRAGMA foreign_keys = ON",
            "PRAGMA foreign_keys",
            "PRAGMA foreign_key_check",
            "PRAGMA defer_foreign_keys = OFF",
            "UPDATE settings SET v = 'PRAGMA foreign_keys = OFF'",
            "CREATE TABLE foreign_keys (off INT)",
        ] {
            assert!(!turns_foreign_keys_off(other), "{other}");
        }
    }

    #[test]
    fn a_table_is_checked_by_its_name_as_a_literal() {
        assert_eq!(
            sqlite_table_integrity("it's"),
            "PRAGMA integrity_check('it''s')"
        );
    }

    #[test]
    fn integrity_lines_other_than_ok_are_findings() {
        assert!(sqlite_integrity(&rows(&[&[Some("ok")]])).is_empty());
        let found = sqlite_integrity(&rows(&[
            &[Some(
                "*** in database main ***\nPage 10: btreeInitPage() returns error code 11",
            )],
            &[Some("row 3 missing from index i")],
        ]));
        assert_eq!(
            found,
            [
                Finding::Integrity {
                    message: "Page 10: btreeInitPage() returns error code 11".into()
                },
                Finding::Integrity {
                    message: "row 3 missing from index i".into()
                }
            ]
        );
    }

    #[test]
    fn foreign_key_violations_name_table_rowid_and_parent_and_are_capped() {
        let found = sqlite_foreign_key_findings(&rows(&[
            &[
                Some("posts"),
                Some("7"),
                Some("users"),
                Some("author -> id"),
            ],
            &[
                Some("tags"),
                None,
                Some("posts"),
                Some("post -> (primary key)"),
            ],
        ]));
        assert_eq!(
            found[0].to_string(),
            "foreign key: row 7 of posts points at no row of users (author -> id)"
        );
        assert!(
            found[1]
                .to_string()
                .starts_with("foreign key: a row of tags")
        );
        let many: Vec<Row> = (0..=LISTED)
            .map(|i| {
                vec![
                    Some("t".into()),
                    Some(i.to_string()),
                    Some("p".into()),
                    None,
                ]
            })
            .collect();
        let found = sqlite_foreign_key_findings(&many);
        assert_eq!(found.len(), LISTED + 1);
        assert!(matches!(
            found[LISTED],
            Finding::Truncated { listed: LISTED, .. }
        ));
    }

    #[test]
    fn postgres_results_are_read_in_order() {
        let results = vec![
            rows(&[&[Some("public"), Some("users_email"), Some("users")]]),
            rows(&[&[Some("public"), Some("posts_author_fk"), Some("posts")]]),
            rows(&[&[
                Some("public"),
                Some("users_id_seq"),
                Some("public.users"),
                Some("id"),
                Some("3"),
                Some("10"),
            ]]),
        ];
        let found = postgres_findings(&results);
        assert_eq!(found.len(), 3);
        assert!(matches!(&found[0], Finding::InvalidIndex { index, .. } if index == "users_email"));
        assert!(
            matches!(&found[2], Finding::SequenceBehind { next, highest, .. } if next == "3" && highest == "10")
        );
    }
}
