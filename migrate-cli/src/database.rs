//! Database URLs, and the connections they name.

use crate::Failure;

/// An open database.
pub(crate) enum Database {
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
    /// A client, and the runtime that drives its connection.
    #[cfg(feature = "postgres")]
    Postgres(tokio_postgres::Client, tokio::runtime::Runtime),
}

/// Opens the database a URL names: `sqlite:<path>`, `sqlite://<path>`,
/// `postgres://…` or `postgresql://…`.
pub(crate) fn open(url: Option<&str>) -> Result<Database, Failure> {
    let url = url.ok_or_else(|| {
        Failure::usage(
            "no database given: pass --database-url or set DATABASE_URL, e.g. sqlite:app.db",
        )
    })?;
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return open_sqlite(path);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url);
    }
    Err(Failure::usage(format!(
        "unsupported database URL `{url}`: expected sqlite:<path> or postgres://…"
    )))
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

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Database, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::database("cannot start the async runtime".to_owned(), &error))?;
    let client = runtime.block_on(connect_postgres(url))?;
    Ok(Database::Postgres(client, runtime))
}

/// Connects to the PostgreSQL database of `url` on the current tokio
/// runtime, which drives the connection in the background for as long as it
/// lives. `up --fleet` connects each member with it too.
#[cfg(feature = "postgres")]
pub(crate) async fn connect_postgres(url: &str) -> Result<tokio_postgres::Client, Failure> {
    let connected = async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok::<_, tokio_postgres::Error>(client)
    };
    connected
        .await
        .map_err(|error| Failure::database(format!("cannot connect to {}", redact(url)), &error))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(url: &str) -> Result<Database, Failure> {
    Err(Failure::usage(format!(
        "cannot open {}: this build of migrate-cli has no PostgreSQL support (feature `postgres`)",
        redact(url)
    )))
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(redact("postgres://db/app"), "postgres://db/app");
    }
}
