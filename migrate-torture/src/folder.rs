//! The generated folder of the kill trials: 200 migrations, every tenth a
//! `no-transaction` one of four statements, some transactional ones slow,
//! and what each leaves in the database, to check it against.

use std::fs;
use std::path::Path;

use crate::Engine;

/// How many migrations the folder has.
pub(crate) const MIGRATIONS: i64 = 200;
/// The rows of a slow statement.
pub(crate) const SLOW_ROWS: i64 = 5_000;

/// Whether migration `version` runs outside a transaction.
pub(crate) fn no_transaction(version: i64) -> bool {
    version % 10 == 5
}

/// Whether transactional migration `version` inserts [`SLOW_ROWS`] rows.
fn slow(version: i64) -> bool {
    version % 13 == 3
}

/// The rows transactional migration `version` leaves in `t_<version>`.
pub(crate) fn rows_of(version: i64) -> i64 {
    2 + if slow(version) { SLOW_ROWS } else { 0 }
}

/// `SLOW_ROWS` generated rows of `(id, payload)`, in the engine's SQL.
fn slow_rows(engine: Engine, offset: i64) -> String {
    match engine {
        Engine::Sqlite => format!(
            "WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < {SLOW_ROWS}) \
             SELECT n + {offset}, hex(randomblob(16)) FROM counter"
        ),
        Engine::Postgres => {
            format!("SELECT g + {offset}, md5(g::text) FROM generate_series(1, {SLOW_ROWS}) AS g")
        }
    }
}

/// The statements of `no-transaction` migration `version`, in order; the
/// checks of the trials know what each one leaves behind.
pub(crate) fn no_transaction_statements(engine: Engine, version: i64) -> Vec<String> {
    let concurrently = match engine {
        Engine::Sqlite => "",
        Engine::Postgres => "CONCURRENTLY ",
    };
    vec![
        format!("CREATE TABLE nt_{version} (id INTEGER NOT NULL, payload TEXT NOT NULL);"),
        format!(
            "INSERT INTO nt_{version} (id, payload) {};",
            slow_rows(engine, 0)
        ),
        format!("CREATE INDEX {concurrently}nt_{version}_id ON nt_{version} (id);"),
        format!("INSERT INTO applied_log (version) VALUES ({version});"),
    ]
}

/// Writes the folder.
pub(crate) fn write(engine: Engine, folder: &Path) -> std::io::Result<()> {
    fs::create_dir_all(folder)?;
    for version in 1..=MIGRATIONS {
        let sql = if version == 1 {
            "CREATE TABLE applied_log (version INTEGER NOT NULL);\n\
             INSERT INTO applied_log (version) VALUES (1);\n"
                .to_owned()
        } else if no_transaction(version) {
            let mut sql = "-- migrate:no-transaction\n".to_owned();
            for statement in no_transaction_statements(engine, version) {
                sql.push_str(&statement);
                sql.push('\n');
            }
            sql
        } else {
            let mut sql = format!(
                "CREATE TABLE t_{version} (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n\
                 -- A semicolon in a string and a comment: ';'\n\
                 INSERT INTO t_{version} (id, note) VALUES (-1, 'a;b'), (-2, '-- not a comment');\n"
            );
            if slow(version) {
                sql.push_str(&format!(
                    "INSERT INTO t_{version} (id, note) {};\n",
                    slow_rows(engine, 0)
                ));
            }
            sql.push_str(&format!(
                "INSERT INTO applied_log (version) VALUES ({version});\n"
            ));
            sql
        };
        fs::write(folder.join(format!("{version:04}_step.sql")), sql)?;
    }
    Ok(())
}
