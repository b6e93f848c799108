//! Database URLs, and the connections they name.

use crate::Failure;
#[cfg(feature = "postgres")]
use crate::sslmode::{self, Attempt};

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
        if let Some(why) = throwaway_sqlite(path) {
            return Err(Failure::usage(format!(
                "the database URL `{url}` {why}: name a file, such as sqlite:app.db"
            )));
        }
        return open_sqlite(path);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return open_postgres(url);
    }
    Err(Failure::usage(format!(
        "unsupported database URL `{url}`: expected sqlite:<path> or postgres://…"
    )))
}

/// Why a SQLite path names a database that disappears when migrate exits,
/// if it does: SQLite reads an empty name as a temporary file deleted on
/// close, and `:memory:` (also as a `file:` URI, or `mode=memory`) as a
/// database in memory. Applying migrations to either changes nothing.
fn throwaway_sqlite(path: &str) -> Option<&'static str> {
    const EMPTY: &str = "names no file, and SQLite would apply the migrations to a temporary database deleted on exit";
    const MEMORY: &str = "is a database in memory, lost when migrate exits";
    if path.is_empty() {
        return Some(EMPTY);
    }
    if path == ":memory:" {
        return Some(MEMORY);
    }
    let uri = path.strip_prefix("file:")?;
    let (file, query) = uri.split_once('?').unwrap_or((uri, ""));
    if query.split('&').any(|pair| pair == "mode=memory") || file == ":memory:" {
        return Some(MEMORY);
    }
    // `file://host/path` and `file:///path` name the path after the authority.
    let file = file.strip_prefix("//").map_or(file, |rest| {
        rest.find('/').map_or("", |slash| &rest[slash..])
    });
    file.is_empty().then_some(EMPTY)
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
    let invalid = |message: String| Failure::usage(format!("{}: {message}", redact(url)));
    let (url_without_tls, tls) = sslmode::split_url(url).map_err(invalid)?;
    let config: tokio_postgres::Config = url_without_tls
        .parse()
        .map_err(|error| invalid(crate::execute::chain(&error)))?;
    let attempts = sslmode::attempts(&tls, sockets_only(&config), &default_root())
        .and_then(|attempts| available(attempts, cfg!(feature = "tls")))
        .map_err(invalid)?;
    #[cfg(feature = "tls")]
    for attempt in &attempts {
        if let Attempt::Tls { verify, .. } = attempt {
            crate::tls::check_settings(verify).map_err(invalid)?;
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::database("cannot start the async runtime".to_owned(), &error))?;
    let client = runtime.block_on(connect(&config, &attempts));
    client
        .map(|client| Database::Postgres(client, runtime))
        .map_err(|message| Failure {
            code: 1,
            kind: "database",
            message: format!("cannot connect to {}: {message}", redact(url)),
        })
}

/// Whether every host of the URL is a unix-domain socket, over which the
/// server offers no TLS.
#[cfg(feature = "postgres")]
fn sockets_only(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|host| match host {
            tokio_postgres::config::Host::Tcp(_) => false,
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        })
}

/// libpq's default root certificate file, `~/.postgresql/root.crt`.
#[cfg(feature = "postgres")]
fn default_root() -> sslmode::DefaultRoot {
    let path = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| std::path::PathBuf::from(home).join(".postgresql/root.crt"));
    let exists = path.as_deref().is_some_and(std::path::Path::is_file);
    sslmode::DefaultRoot { path, exists }
}

/// The attempts a build with or without TLS can make. Without TLS, as
/// libpq built without it, `prefer` and `allow` connect without TLS and the
/// modes that need it are refused.
#[cfg(feature = "postgres")]
fn available(attempts: Vec<Attempt>, tls: bool) -> Result<Vec<Attempt>, String> {
    if tls {
        return Ok(attempts);
    }
    let plain: Vec<Attempt> = attempts
        .into_iter()
        .filter(|attempt| *attempt == Attempt::Plain)
        .collect();
    if plain.is_empty() {
        return Err("this sslmode needs TLS, and this build of migrate-cli has no TLS support (feature `tls`)".to_owned());
    }
    Ok(plain)
}

/// Makes the attempts in order until one connects; the message of a failure
/// gives the reason of each.
#[cfg(feature = "postgres")]
async fn connect(
    config: &tokio_postgres::Config,
    attempts: &[Attempt],
) -> Result<tokio_postgres::Client, String> {
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    for attempt in attempts {
        match connect_once(config, attempt).await {
            Ok(client) => return Ok(client),
            Err(message) => failures.push((attempt.label(), message)),
        }
    }
    Err(describe_failures(&failures))
}

#[cfg(feature = "postgres")]
async fn connect_once(
    config: &tokio_postgres::Config,
    attempt: &Attempt,
) -> Result<tokio_postgres::Client, String> {
    use tokio_postgres::config::SslMode;
    let mut config = config.clone();
    match attempt {
        Attempt::Plain => {
            config.ssl_mode(SslMode::Disable);
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|error| crate::execute::chain(&error))?;
            // The connection is driven in the background for as long as the runtime lives.
            tokio::spawn(connection);
            Ok(client)
        }
        #[cfg(feature = "tls")]
        Attempt::Tls {
            verify,
            plain_if_refused,
        } => {
            config.ssl_mode(if *plain_if_refused {
                SslMode::Prefer
            } else {
                SslMode::Require
            });
            crate::tls::connect(&config, verify).await
        }
        #[cfg(not(feature = "tls"))]
        Attempt::Tls { .. } => Err("this build has no TLS support (feature `tls`)".to_owned()),
    }
}

/// One reason, or each attempt's, in order.
#[cfg(feature = "postgres")]
fn describe_failures(failures: &[(&str, String)]) -> String {
    match failures {
        [] => "no connection was attempted".to_owned(),
        [(_, message)] => message.clone(),
        [(_, first), rest @ ..] if rest.iter().all(|(_, message)| message == first) => {
            first.clone()
        }
        many => many
            .iter()
            .map(|(label, message)| format!("{label}: {message}"))
            .collect::<Vec<_>>()
            .join("; then "),
    }
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(url: &str) -> Result<Database, Failure> {
    Err(Failure::usage(format!(
        "cannot open {}: this build of migrate-cli has no PostgreSQL support (feature `postgres`)",
        redact(url)
    )))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user information ends at the last `@` before the path or query.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let (credentials, host) = (&rest[..at], &rest[at + 1..]);
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{redact, throwaway_sqlite};

    #[test]
    fn sqlite_paths_that_keep_nothing_are_recognised() {
        for path in [
            "",
            ":memory:",
            "file:",
            "file::memory:",
            "file:app.db?mode=memory&cache=shared",
            "file://",
        ] {
            assert!(throwaway_sqlite(path).is_some(), "{path:?}");
        }
        for path in [
            "app.db",
            "/var/lib/app.db",
            "file:app.db",
            "file:///var/lib/app.db",
            "file:app.db?mode=rwc",
            " ",
        ] {
            assert_eq!(throwaway_sqlite(path), None, "{path:?}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_build_without_tls_connects_without_it_or_refuses() {
        use super::available;
        use crate::sslmode::{Attempt, Verify};
        let tls = Attempt::Tls {
            verify: Verify::Nothing,
            plain_if_refused: true,
        };
        let prefer = vec![tls.clone(), Attempt::Plain];
        assert_eq!(available(prefer.clone(), true).unwrap(), prefer);
        assert_eq!(available(prefer, false).unwrap(), vec![Attempt::Plain]);
        let error = available(vec![tls], false).unwrap_err();
        assert!(error.contains("feature `tls`"), "{error}");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn each_attempts_failure_is_told_once() {
        use super::describe_failures;
        assert_eq!(
            describe_failures(&[("with TLS", "refused".into())]),
            "refused"
        );
        assert_eq!(
            describe_failures(&[
                ("with TLS", "refused".into()),
                ("without TLS", "refused".into())
            ]),
            "refused"
        );
        assert_eq!(
            describe_failures(&[
                ("with TLS", "bad certificate".into()),
                ("without TLS", "no pg_hba.conf entry".into())
            ]),
            "with TLS: bad certificate; then without TLS: no pg_hba.conf entry"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(redact("postgres://db/app"), "postgres://db/app");
        assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(
            redact("postgres://app:p@ss@db/app?sslrootcert=/a@b.pem"),
            "postgres://app:***@db/app?sslrootcert=/a@b.pem"
        );
        assert_eq!(
            redact("postgres://db:5432/app?application_name=a:b@c"),
            "postgres://db:5432/app?application_name=a:b@c"
        );
    }
}
