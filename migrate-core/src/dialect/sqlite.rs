//! SQLite's SQL: the write lock, the fingerprint in `PRAGMA user_version`,
//! and the timing of a migration in a batch.
//!
//! Exactly-once across processes rests on SQLite's write lock: the history
//! is read inside a `BEGIN IMMEDIATE` transaction, which one connection at a
//! time can hold, so a migration another process applied first is seen
//! before anything is done. The lock is the transaction, so it ends with
//! every `COMMIT`.

use migrate_format::checksum::Checksum;
use migrate_format::history::{self, Dialect, TableName};
use migrate_format::{lexer, session};

use super::Stored;
use crate::history::Ledger;

/// The `application_id` of a database whose `user_version` migrate keeps:
/// "migr" in ASCII.
pub(crate) const APPLICATION_ID: i32 = 0x6d69_6772;

/// The fast path's read: the fingerprint in `PRAGMA user_version`.
///
/// Reading a pragma costs a fraction of what reading any table does: the
/// first statement that touches a table makes SQLite parse the whole schema,
/// milliseconds for a large one.
pub(crate) const READ_FINGERPRINT: &str = "PRAGMA user_version";

/// The statements that take the write lock and read, under it, the database
/// clock, the pragmas that hold the fingerprint, and the history.
pub(crate) fn lock_and_read(table: &TableName, history: String) -> Vec<String> {
    vec![
        "BEGIN IMMEDIATE".to_owned(),
        history::create_table(Dialect::Sqlite, table),
        format!(
            "SELECT {}, a.application_id, u.user_version FROM pragma_application_id a, pragma_user_version u",
            history::now(Dialect::Sqlite)
        ),
        history,
    ]
}

/// The `user_version` that says the history table `table` holds exactly the
/// migrations whose set checksum is `set`, all finished.
///
/// The table's name is mixed in so that two history tables in one database
/// never share a value.
pub(crate) fn fingerprint(set: &Checksum, table: &TableName) -> i32 {
    // FNV-1a, which is enough to tell table names apart.
    let table_hash = table.plain().bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    let value = i32::from_le_bytes([set[0], set[1], set[2], set[3]])
        ^ i32::from_le_bytes(table_hash.to_le_bytes());
    // Zero is SQLite's default, which must never mean "up to date".
    if value == 0 { 1 } else { value }
}

/// Whether the stored pragma says that the history holds `expected`.
pub(crate) fn vouches(stored: &Stored, expected: Option<&Checksum>, table: &TableName) -> bool {
    match (stored, expected) {
        (Stored::Pragmas { user_version, .. }, Some(expected)) => {
            *user_version == fingerprint(expected, table)
        }
        _ => false,
    }
}

/// The statements that record `ledger`'s fingerprint, when migrate may: the
/// database's `application_id` is migrate's, or both pragmas were still 0
/// (then migrate claims them). A database whose application uses them is
/// left alone, and its start-ups read the history table instead.
pub(crate) fn write_fingerprint(
    stored: &Stored,
    ledger: &Ledger,
    table: &TableName,
) -> Vec<String> {
    let Stored::Pragmas {
        user_version,
        application_id: Some(application_id),
    } = *stored
    else {
        return Vec::new();
    };
    let owned = application_id == APPLICATION_ID || (application_id == 0 && user_version == 0);
    if !owned {
        return Vec::new();
    }
    let value = ledger
        .fingerprint()
        .map_or(0, |set| fingerprint(&set, table));
    vec![
        format!("PRAGMA application_id = {APPLICATION_ID}"),
        format!("PRAGMA user_version = {value}"),
    ]
}

/// The settings of [`session::SQLITE_SETTINGS`] that the statements of `sql`
/// set, by their index in that list.
pub(crate) fn settings_changed(sql: &str, lexed: &lexer::Lexed) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for pragma in session::pragmas_set(sql, lexed) {
        if let Some(setting) = session::sqlite_setting(&pragma.name)
            && !names.iter().any(|name| name == setting.name)
        {
            names.push(setting.name.to_owned());
        }
    }
    names
}

/// The statements that put back the settings `names` to `saved`, as
/// [`session::sqlite_read`] read them before the migration, whatever they
/// are now: inside a batch, where they cannot be read again.
pub(crate) fn restore_settings(saved: &[i64], names: &[String]) -> String {
    // `sqlite_restore` writes the settings whose value changed: mark those
    // the migration sets as changed.
    let current: Vec<i64> = session::SQLITE_SETTINGS
        .iter()
        .zip(saved)
        .map(
            |(setting, value)| match names.iter().any(|name| name == setting.name) {
                true => value ^ 1,
                false => *value,
            },
        )
        .collect();
    session::sqlite_restore(saved, &current)
}

/// The milliseconds since `previous`, an SQL expression of a time as the
/// history stores it, at SQLite's clock resolution.
pub(crate) fn elapsed_ms(previous: &str) -> String {
    format!("CAST(round((julianday('now') - julianday({previous})) * 86400000) AS INTEGER)")
}

/// The time the history recorded for `version`, as an SQL expression.
pub(crate) fn applied_at_of(table: &TableName, version: i64) -> String {
    format!("(SELECT applied_at FROM {table} WHERE version = {version})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::checksum;

    #[test]
    fn the_fingerprint_depends_on_the_set_and_the_table_and_is_never_zero() {
        let set = checksum::checksum("SELECT 1;");
        let table = TableName::default();
        let other = TableName::parse("schema_history").unwrap();
        assert_ne!(fingerprint(&set, &table), fingerprint(&set, &other));
        assert_ne!(
            fingerprint(&set, &table),
            fingerprint(&checksum::checksum("SELECT 2;"), &table)
        );
        assert_ne!(fingerprint(&set, &table), 0);
    }

    #[test]
    fn the_settings_a_migration_sets_are_put_back_whatever_they_are_now() {
        let sql = "PRAGMA foreign_keys = OFF;\nPRAGMA legacy_alter_table(1);\nPRAGMA cache_size = 10;\nPRAGMA foreign_keys = ON;";
        let names = settings_changed(sql, &lexer::lex(sql, lexer::Flavor::Sqlite));
        assert_eq!(names, ["foreign_keys", "legacy_alter_table"]);
        let saved: Vec<i64> = session::SQLITE_SETTINGS
            .iter()
            .map(|setting| i64::from(setting.name == "foreign_keys"))
            .collect();
        assert_eq!(
            restore_settings(&saved, &names),
            "PRAGMA foreign_keys = 1;\nPRAGMA legacy_alter_table = 0;"
        );
        assert_eq!(restore_settings(&saved, &[]), "");
    }

    #[test]
    fn the_fingerprint_is_written_only_to_a_database_migrate_may_claim() {
        let table = TableName::default();
        let ledger = Ledger::default();
        let pragmas = |user_version, application_id| Stored::Pragmas {
            user_version,
            application_id: Some(application_id),
        };
        assert_eq!(write_fingerprint(&pragmas(0, 0), &ledger, &table).len(), 2);
        assert_eq!(
            write_fingerprint(&pragmas(7, APPLICATION_ID), &ledger, &table).len(),
            2
        );
        assert!(write_fingerprint(&pragmas(7, 0), &ledger, &table).is_empty());
        assert!(write_fingerprint(&pragmas(0, 42), &ledger, &table).is_empty());
        let fast_path_only = Stored::Pragmas {
            user_version: 0,
            application_id: None,
        };
        assert!(write_fingerprint(&fast_path_only, &ledger, &table).is_empty());
    }
}
