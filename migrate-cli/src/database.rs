//! Database URLs, and the connections they name.

use crate::Failure;

/// An open database.
#[derive(Debug)]
pub(crate) enum Database {
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
}

/// Opens the database a URL names: `sqlite:<path>` or `sqlite://<path>`.
pub(crate) fn open(url: Option<&str>) -> Result<Database, Failure> {
    let url = url.ok_or_else(|| {
        Failure::usage(
            "no database given: pass --database-url or set DATABASE_URL, e.g. sqlite:app.db",
        )
    })?;
    if let Some(path) = sqlite_path(url) {
        return open_sqlite(path);
    }
    Err(Failure::usage(format!(
        "unsupported database URL `{url}`: expected sqlite:<path>"
    )))
}

fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
}

#[cfg(feature = "sqlite")]
fn open_sqlite(path: &str) -> Result<Database, Failure> {
    rusqlite::Connection::open(path)
        .map(Database::Sqlite)
        .map_err(|error| {
            Failure::database(format!("cannot open the SQLite database {path}"), &error)
        })
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(path: &str) -> Result<Database, Failure> {
    Err(Failure::usage(format!(
        "cannot open {path}: this build of migrate-cli has no SQLite support (feature `sqlite`)"
    )))
}
