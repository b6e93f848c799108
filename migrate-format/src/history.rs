//! The shape of the history table, where compile time must mirror run time:
//! the SQLite dry run creates the same table the SQLite runner does.

/// `CREATE TABLE IF NOT EXISTS` of the SQLite history table, named by
/// `quoted_table`, an already validated and quoted name.
pub fn sqlite_create_table(quoted_table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {quoted_table} (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            execution_ms INTEGER NOT NULL,
            finished INTEGER NOT NULL,
            statements_done INTEGER
        )"
    )
}
