//! Connection settings: what a migration may change on the connection that
//! applies it, and how migrate puts it back.
//!
//! **A connection setting made by a migration lasts until the end of that
//! migration.** A `PRAGMA` belongs to the connection, not to the database, so
//! without this rule a setting would reach the migrations after it only when
//! they run in the same process: the same folder could succeed when applied
//! in one deploy and fail when applied over two. After each migration the
//! runtime (`migrate-core`) and the build-time dry run (`migrate-check`)
//! therefore set every setting of [`SQLITE_SETTINGS`] back to what it was
//! before the migration, with the SQL of [`sqlite_read`] and
//! [`sqlite_restore`]. A migration that needs foreign keys off for a table
//! rebuild turns them off itself, in the `-- migrate:no-transaction`
//! migration that rebuilds the table.
//!
//! The list holds the settings that change what later SQL does, or whether
//! it succeeds, and those that would leave the application's connection
//! unsafe. Settings that only tune speed or memory (`cache_size`,
//! `automatic_index`, `threads`, `mmap_size`, `temp_store`, …) are left
//! alone. `journal_mode` is left alone too: in WAL mode it belongs to the
//! database file, and a migration that switches to WAL means it to last.
//! `case_sensitive_like` cannot be read back, so it cannot be restored: the
//! dry run refuses it.
//!
//! Temporary objects (`CREATE TEMP TABLE`, temporary views, triggers and
//! indexes) and attached databases are connection state too. A migration
//! must not leave any behind: a later migration would see them only when
//! both run in one process. [`SQLITE_LEFTOVERS`] lists them.

use crate::lexer::Lexed;

/// A connection setting that migrate restores after each migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The pragma's name, as in `PRAGMA foreign_keys`.
    pub name: &'static str,
    /// What it changes, for messages and documentation.
    pub effect: &'static str,
    /// The words of SQLite's messages that a change of this setting can
    /// explain, to hint at it when a later migration fails with one.
    pub symptoms: &'static [&'static str],
    /// How to read it and write it back.
    kind: Kind,
}

/// How a setting is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An integer, read from the pragma's table-valued function.
    Integer,
    /// `locking_mode`, read as 1 for `EXCLUSIVE` and 0 for `NORMAL`.
    LockingMode,
}

/// The settings that a migration can change on SQLite and that matter,
/// in the order of [`sqlite_read`]'s columns.
pub const SQLITE_SETTINGS: &[Setting] = &[
    Setting {
        name: "foreign_keys",
        effect: "whether foreign keys are enforced",
        symptoms: &["FOREIGN KEY constraint failed"],
        kind: Kind::Integer,
    },
    Setting {
        name: "defer_foreign_keys",
        effect: "whether foreign keys are checked at COMMIT instead of at each statement",
        symptoms: &["FOREIGN KEY constraint failed"],
        kind: Kind::Integer,
    },
    Setting {
        name: "ignore_check_constraints",
        effect: "whether CHECK constraints are enforced",
        symptoms: &["CHECK constraint failed"],
        kind: Kind::Integer,
    },
    Setting {
        name: "legacy_alter_table",
        effect: "how ALTER TABLE … RENAME rewrites the views and triggers that use a table",
        symptoms: &[
            "no such table",
            "no such column",
            "error in view",
            "error in trigger",
        ],
        kind: Kind::Integer,
    },
    Setting {
        name: "recursive_triggers",
        effect: "whether a trigger fires the triggers of the rows it changes",
        symptoms: &["too many levels of trigger recursion", "constraint failed"],
        kind: Kind::Integer,
    },
    Setting {
        name: "reverse_unordered_selects",
        effect: "the order of the rows of a query without ORDER BY",
        symptoms: &["constraint failed"],
        kind: Kind::Integer,
    },
    Setting {
        name: "trusted_schema",
        effect: "which functions views, triggers and defaults may call",
        symptoms: &["unsafe use of"],
        kind: Kind::Integer,
    },
    Setting {
        name: "writable_schema",
        effect: "whether sqlite_schema can be written",
        symptoms: &["may not be modified"],
        kind: Kind::Integer,
    },
    Setting {
        name: "query_only",
        effect: "whether anything can be written at all",
        symptoms: &["attempt to write a readonly database"],
        kind: Kind::Integer,
    },
    Setting {
        name: "count_changes",
        effect: "whether INSERT, UPDATE and DELETE return a row (deprecated), which breaks the application's `execute` calls",
        symptoms: &[],
        kind: Kind::Integer,
    },
    Setting {
        name: "synchronous",
        effect: "whether the application's later commits wait for the disk",
        symptoms: &[],
        kind: Kind::Integer,
    },
    Setting {
        name: "locking_mode",
        effect: "whether the connection keeps its lock after each transaction, shutting other processes out",
        symptoms: &["database is locked"],
        kind: Kind::LockingMode,
    },
];

/// Settings that a migration must not change, because SQLite cannot report
/// them and so migrate cannot restore them.
pub const SQLITE_UNRESTORABLE: &[&str] = &["case_sensitive_like"];

/// One query that reads every setting of [`SQLITE_SETTINGS`]: one row, one
/// integer column per setting, in the list's order.
pub fn sqlite_read() -> String {
    let columns: Vec<String> = SQLITE_SETTINGS
        .iter()
        .map(|setting| match setting.kind {
            Kind::Integer => format!("(SELECT * FROM pragma_{})", setting.name),
            Kind::LockingMode => {
                format!("(SELECT {0} = 'exclusive' FROM pragma_{0})", setting.name)
            }
        })
        .collect();
    format!("SELECT {}", columns.join(", "))
}

/// The statements that set back every setting whose value in `current`
/// differs from `saved`, both as [`sqlite_read`] returns them. Empty when
/// nothing changed.
///
/// Only changed settings are written: some cannot be written inside a
/// transaction (`synchronous`), and a migration can only have changed those
/// outside one, where the runtime restores them.
pub fn sqlite_restore(saved: &[i64], current: &[i64]) -> String {
    debug_assert_eq!(saved.len(), SQLITE_SETTINGS.len());
    debug_assert_eq!(current.len(), SQLITE_SETTINGS.len());
    SQLITE_SETTINGS
        .iter()
        .zip(saved.iter().zip(current))
        .filter(|(_, (saved, current))| saved != current)
        .map(|(setting, (saved, _))| match setting.kind {
            Kind::Integer => format!("PRAGMA {} = {saved};", setting.name),
            Kind::LockingMode => {
                let mode = if *saved == 0 { "NORMAL" } else { "EXCLUSIVE" };
                format!("PRAGMA {} = {mode};", setting.name)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A query that lists the connection's temporary objects and attached
/// databases: one row each, its kind (`table`, `view`, `trigger`, `index`,
/// or `database` for an attached one) and its name, in an order in which
/// [`sqlite_drop_leftover`] can remove them one by one. Empty when there
/// are none.
pub const SQLITE_LEFTOVERS: &str = "SELECT type, name FROM (\
     SELECT type, name FROM temp.sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     UNION ALL SELECT 'database', name FROM pragma_database_list WHERE name NOT IN ('main', 'temp')) \
     ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 WHEN 'table' THEN 3 ELSE 4 END, name";

/// A leftover of [`SQLITE_LEFTOVERS`] as a message names it, as in
/// `the TEMP table staging`.
pub fn sqlite_describe_leftover(kind: &str, name: &str) -> String {
    if kind == "database" {
        format!("the attached database {name}")
    } else {
        format!("the TEMP {kind} {name}")
    }
}

/// The statement that removes a leftover of [`SQLITE_LEFTOVERS`]: a `DROP`
/// in the `temp` schema, or a `DETACH`.
pub fn sqlite_drop_leftover(kind: &str, name: &str) -> String {
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match kind {
        "database" => format!("DETACH {quoted}"),
        "trigger" => format!("DROP TRIGGER IF EXISTS temp.{quoted}"),
        "view" => format!("DROP VIEW IF EXISTS temp.{quoted}"),
        "index" => format!("DROP INDEX IF EXISTS temp.{quoted}"),
        _ => format!("DROP TABLE IF EXISTS temp.{quoted}"),
    }
}

/// A `PRAGMA` statement that sets something, as found in a migration's SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PragmaSet {
    /// The pragma's name in lower case, without its schema.
    pub name: String,
    /// The byte offset of the statement.
    pub offset: usize,
}

/// Every `PRAGMA` statement of `sql` that sets a value (`PRAGMA x = v` or
/// `PRAGMA x(v)`), in order. `lexed` must be the lexer's result on `sql`.
///
/// Only such a statement can change a connection setting, so the runtime
/// needs to read and restore the settings only after a migration that has
/// one.
pub fn pragmas_set(sql: &str, lexed: &Lexed) -> Vec<PragmaSet> {
    lexed
        .statements
        .iter()
        .filter_map(|range| {
            let name = pragma_assignment(&sql[range.clone()])?;
            Some(PragmaSet {
                name,
                offset: range.start,
            })
        })
        .collect()
}

/// The setting of [`SQLITE_SETTINGS`] named `name`, ignoring case.
pub fn sqlite_setting(name: &str) -> Option<&'static Setting> {
    SQLITE_SETTINGS
        .iter()
        .find(|setting| setting.name.eq_ignore_ascii_case(name))
}

/// The pragma a statement sets, if it is `PRAGMA [schema.]name = …` or
/// `PRAGMA [schema.]name(…)`.
fn pragma_assignment(statement: &str) -> Option<String> {
    let rest = strip_keyword(statement, "PRAGMA")?;
    let (first, rest) = identifier(rest)?;
    let (name, rest) = match rest.trim_start().strip_prefix('.') {
        Some(after_dot) => identifier(after_dot)?,
        None => (first, rest),
    };
    let rest = rest.trim_start();
    (rest.starts_with('=') || rest.starts_with('(')).then(|| name.to_ascii_lowercase())
}

/// `text` after `keyword` and the spaces or comments around it, if it starts
/// with that keyword as a whole word.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    let whole_word = !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    (head.eq_ignore_ascii_case(keyword) && whole_word).then(|| skip_comments(rest))
}

/// A bare or quoted identifier at the start of `text` (after spaces and
/// comments), unquoted, and what follows it.
fn identifier(text: &str) -> Option<(&str, &str)> {
    let text = skip_comments(text);
    let quotes = [('"', '"'), ('[', ']'), ('`', '`')];
    if let Some((open, close)) = quotes.iter().find(|(open, _)| text.starts_with(*open)) {
        let inner = &text[open.len_utf8()..];
        let end = inner.find(*close)?;
        return Some((&inner[..end], &inner[end + close.len_utf8()..]));
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| (&text[..end], skip_comments(&text[end..])))
}

/// `text` without the spaces and comments at its start.
fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.find('\n').map_or("", |end| &rest[end..]);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.find("*/").map_or("", |end| &rest[end + 2..]);
        } else {
            return text;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::{Flavor, lex};

    fn set(sql: &str) -> Vec<(String, usize)> {
        pragmas_set(sql, &lex(sql, Flavor::Sqlite))
            .into_iter()
            .map(|p| (p.name, p.offset))
            .collect()
    }

    #[test]
    fn pragma_assignments_are_found() {
        let sql = "PRAGMA foreign_keys = OFF;\nPRAGMA main.Legacy_Alter_Table(1);\nPRAGMA foreign_keys;\n\
                   PRAGMA table_info(t);\nSELECT 'PRAGMA x = 1';\npragma /* c */ \"recursive_triggers\" = on;";
        assert_eq!(
            set(sql),
            [
                ("foreign_keys".to_owned(), 0),
                ("legacy_alter_table".to_owned(), 27),
                ("table_info".to_owned(), 83),
                ("recursive_triggers".to_owned(), 128),
            ]
        );
        assert!(set("CREATE TABLE pragma_x (a); SELECT pragmatic = 1 FROM t;").is_empty());
    }

    #[test]
    fn the_read_query_has_one_column_per_setting() {
        let read = sqlite_read();
        assert!(read.starts_with("SELECT (SELECT * FROM pragma_foreign_keys), "));
        assert_eq!(read.matches("FROM pragma_").count(), SQLITE_SETTINGS.len());
    }

    #[test]
    fn only_changed_settings_are_restored() {
        let saved: Vec<i64> = SQLITE_SETTINGS.iter().map(|_| 0).collect();
        assert_eq!(sqlite_restore(&saved, &saved), "");
        let mut current = saved.clone();
        current[0] = 1;
        let locking = SQLITE_SETTINGS
            .iter()
            .position(|s| s.name == "locking_mode")
            .unwrap();
        current[locking] = 1;
        assert_eq!(
            sqlite_restore(&saved, &current),
            "PRAGMA foreign_keys = 0;\nPRAGMA locking_mode = NORMAL;"
        );
        assert_eq!(
            sqlite_restore(&current, &saved),
            "PRAGMA foreign_keys = 1;\nPRAGMA locking_mode = EXCLUSIVE;"
        );
    }

    #[test]
    fn leftovers_are_named_and_removed() {
        assert_eq!(
            sqlite_describe_leftover("table", "stage"),
            "the TEMP table stage"
        );
        assert_eq!(
            sqlite_describe_leftover("database", "archive"),
            "the attached database archive"
        );
        assert_eq!(
            sqlite_drop_leftover("database", "a\"b"),
            "DETACH \"a\"\"b\""
        );
        assert_eq!(
            sqlite_drop_leftover("view", "v"),
            "DROP VIEW IF EXISTS temp.\"v\""
        );
    }

    #[test]
    fn settings_are_found_by_name() {
        assert_eq!(
            sqlite_setting("FOREIGN_KEYS").map(|s| s.name),
            Some("foreign_keys")
        );
        assert_eq!(sqlite_setting("cache_size"), None);
    }
}
