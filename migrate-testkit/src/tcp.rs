//! A separate throwaway server that listens on TCP at 127.0.0.1, for what
//! only happens over TCP: TLS, and whatever `pg_hba.conf` decides by address.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::Duration;

use tokio_postgres::{Client, Config};

use crate::{
    BoxError, INSTALL_HINT, RunAs, find_bin_dir, init_cluster, make_temp_dir, run_as,
    spawn_watchdog, wait_until_ready,
};

/// The address a [`TcpServer`] listens on.
pub const LOCALHOST: &str = "127.0.0.1";

/// How often a server is started on a new port when the free port it was
/// given was taken in the meantime.
const PORT_TRIES: usize = 3;

/// How a [`TcpServer`] is set up.
#[derive(Debug, Clone, Default)]
pub struct TcpServerOptions {
    /// The certificate chain and the private key, PEM.
    tls: Option<(String, String)>,
    hba_rules: Vec<String>,
}

impl TcpServerOptions {
    /// A server without TLS whose `pg_hba.conf` trusts every user from this
    /// machine (initdb's `-A trust`).
    pub fn new() -> TcpServerOptions {
        TcpServerOptions::default()
    }

    /// Turns TLS on (`ssl = on`), with this certificate chain and private
    /// key, both PEM. Clients may still connect without TLS unless a
    /// `hostnossl` rule rejects them.
    pub fn tls(mut self, certificate_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Adds a `pg_hba.conf` rule, such as `hostnossl all app 127.0.0.1/32
    /// reject`. The rules come before initdb's, in the order they were
    /// added; the first rule that matches a connection decides.
    pub fn hba_rule(mut self, rule: impl Into<String>) -> Self {
        self.hba_rules.push(rule.into());
        self
    }
}

/// A throwaway server of its own, listening on 127.0.0.1 on a free port
/// (and on a unix socket in its temporary directory). It is stopped, and its
/// directory deleted, when this value is dropped or the process ends.
#[derive(Debug)]
pub struct TcpServer {
    port: u16,
    socket_dir: PathBuf,
    /// Held, never used: it keeps the write end of the pipe to the
    /// watchdog's standard input open until this value is dropped.
    _watchdog: Mutex<Child>,
}

impl TcpServer {
    /// Creates a cluster and starts its server.
    pub fn start(options: TcpServerOptions) -> Result<TcpServer, BoxError> {
        let bin = find_bin_dir().ok_or(INSTALL_HINT)?;
        let run_as = run_as()?;
        let base = make_temp_dir(run_as)?;
        let started = start_in(&bin, &base, &options, run_as);
        if started.is_err() {
            let _ = fs::remove_dir_all(&base);
        }
        started
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A `postgresql://` URL of a database on this server, over TCP.
    pub fn url(&self, user: &str, dbname: &str) -> String {
        format!("postgresql://{user}@{LOCALHOST}:{}/{dbname}", self.port)
    }

    /// Connects as `postgres` over the unix socket, without TLS, to set
    /// things up (roles, databases). The connection task is spawned on the
    /// current tokio runtime.
    pub async fn connect_admin(&self, dbname: &str) -> Result<Client, tokio_postgres::Error> {
        let mut config = Config::new();
        config
            .host_path(&self.socket_dir)
            .port(self.port)
            .user("postgres")
            .dbname(dbname)
            .application_name("migrate-testkit")
            .connect_timeout(Duration::from_secs(10));
        crate::connect(&config).await
    }
}

fn start_in(
    bin: &Path,
    base: &Path,
    options: &TcpServerOptions,
    run_as: Option<RunAs>,
) -> Result<TcpServer, BoxError> {
    let data = base.join("data");
    init_cluster(bin, &data, run_as)?;
    if let Some((certificate, key)) = &options.tls {
        enable_tls(&data, base, certificate, key, run_as)?;
    }
    prepend_hba_rules(&data, &options.hba_rules)?;
    let mut failure: BoxError = "the server was not started".into();
    for _ in 0..PORT_TRIES {
        let port = free_port()?;
        let watchdog = spawn_watchdog(bin, &data, base, (LOCALHOST, port), run_as)?;
        match wait_until_ready(watchdog, &data, base) {
            Ok(watchdog) => {
                return Ok(TcpServer {
                    port,
                    socket_dir: base.to_path_buf(),
                    _watchdog: Mutex::new(watchdog),
                });
            }
            Err(error) => failure = error,
        }
    }
    Err(failure)
}

/// A port that was free a moment ago. Another process may take it before
/// the server binds it, hence the retries in [`start_in`].
fn free_port() -> Result<u16, BoxError> {
    let listener = std::net::TcpListener::bind((LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Writes the certificate and key where the server reads them (the key
/// readable by the server's user only, which PostgreSQL insists on) and
/// turns `ssl` on.
fn enable_tls(
    data: &Path,
    base: &Path,
    certificate: &str,
    key: &str,
    run_as: Option<RunAs>,
) -> Result<(), BoxError> {
    let certificate_file = base.join("server.crt");
    let key_file = base.join("server.key");
    write_for_server(&certificate_file, certificate, 0o644, run_as)?;
    write_for_server(&key_file, key, 0o600, run_as)?;
    let mut conf = fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))?;
    writeln!(
        conf,
        "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'",
        certificate_file.display(),
        key_file.display()
    )?;
    Ok(())
}

fn write_for_server(
    path: &Path,
    text: &str,
    mode: u32,
    run_as: Option<RunAs>,
) -> Result<(), BoxError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    if let Some(user) = run_as {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))?;
    }
    Ok(())
}

fn prepend_hba_rules(data: &Path, rules: &[String]) -> Result<(), BoxError> {
    if rules.is_empty() {
        return Ok(());
    }
    let file = data.join("pg_hba.conf");
    let initdbs = fs::read_to_string(&file)?;
    // Rewriting the file in place keeps its owner, the server's user.
    fs::write(&file, format!("{}\n{initdbs}", rules.join("\n")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tcp_server_applies_its_hba_rules_before_initdbs() -> Result<(), BoxError> {
        let server = TcpServer::start(
            TcpServerOptions::new().hba_rule(format!("host all turned_away {LOCALHOST}/32 reject")),
        )?;
        let admin = server.connect_admin("postgres").await?;
        admin.batch_execute("CREATE ROLE turned_away LOGIN").await?;

        let tcp = |user: &str| -> Result<Config, BoxError> {
            let mut config: Config = server.url(user, "postgres").parse()?;
            config.connect_timeout(Duration::from_secs(10));
            Ok(config)
        };
        let client = crate::connect(&tcp("postgres")?).await?;
        let row = client
            .query_one("SELECT inet_server_addr()::text", &[])
            .await?;
        assert_eq!(
            row.get::<_, String>(0),
            format!("{LOCALHOST}/32"),
            "over TCP"
        );
        let refused = crate::connect(&tcp("turned_away")?)
            .await
            .err()
            .ok_or("the rule did not apply")?;
        let message = refused.as_db_error().map(|error| error.message());
        assert!(
            message.is_some_and(|message| message.contains("rejects connection")),
            "{refused:?}"
        );

        let socket_dir = server.socket_dir.clone();
        drop(server);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while socket_dir.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server's directory was not deleted when it was dropped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}
