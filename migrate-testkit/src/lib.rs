//! The test harness of migrate: a real, throwaway PostgreSQL server.
//!
//! The first test that asks for a database starts one server for the whole
//! test process, from the server binaries installed on the machine (`initdb`
//! and `postgres`, found on `PATH` or under `/usr/lib/postgresql/*/bin`), with
//! a temporary data directory and a unix socket in a temporary directory. It
//! listens on no TCP port, so test processes never collide. Every test then
//! gets a database of its own ([`TestDb::create`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), migrate_testkit::BoxError> {
//! let db = migrate_testkit::TestDb::create().await?;
//! let client = db.connect().await?;
//! client.batch_execute("CREATE TABLE t (id int)").await?;
//! # Ok(())
//! # }
//! ```
//!
//! # A server on TCP
//!
//! Tests of what only happens over TCP, TLS above all, start a separate
//! server of their own with [`TcpServer::start`]: it listens on 127.0.0.1 on
//! a free port, with the options of [`TcpServerOptions`] (a certificate and
//! key to turn TLS on, `pg_hba.conf` rules), and stops when it is dropped.
//!
//! # Root
//!
//! PostgreSQL refuses to run as root. When the tests run as root (in CI, in a
//! container), `initdb` and the server run as the `postgres` user, which the
//! Debian package creates, and the temporary directory is handed to it.
//!
//! # Stopping the server
//!
//! Destructors of statics never run, and a test process may also end by a
//! panic or a signal. So the server is started by a small shell, the
//! watchdog, whose standard input is a pipe from the test process. When the
//! test process ends, however it ends, the kernel closes that pipe, the
//! watchdog reads end-of-file, stops the server (immediate shutdown: the data
//! is thrown away anyway) and deletes the temporary directory.
//!
//! # Missing binaries
//!
//! Without the server binaries every test fails with a message that says how
//! to install them. The tests never skip.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use tokio_postgres::{Client, Config, NoTls};

mod tcp;

pub use tcp::{TcpServer, TcpServerOptions};

/// The error type of the harness: any error, with its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The port number in the socket's file name (`.s.PGSQL.5432`). No TCP port
/// is opened, so it cannot collide with another server.
pub const PORT: u16 = 5432;

/// How long the server may take to start before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL_HINT: &str = "PostgreSQL server binaries (`initdb` and `postgres`) were not found on PATH or under /usr/lib/postgresql/*/bin; the PostgreSQL tests need a real server: install it, e.g. `apt-get install postgresql` on Debian or Ubuntu, or `brew install postgresql` on macOS";

/// The server of this test process, started by the first test that needs it.
/// A failure to start is kept too, so that every test reports it.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// Numbers the databases of this test process.
static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(1);

/// A fresh, empty database on the test server.
#[derive(Debug, Clone)]
pub struct TestDb {
    name: String,
    config: Config,
    socket_dir: PathBuf,
}

impl TestDb {
    /// Starts the server if this process has not yet, and creates a new
    /// database on it, named `test_<n>`.
    pub async fn create() -> Result<TestDb, BoxError> {
        let server = server()?;
        let name = format!("test_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        let admin = connect(&server.config("postgres")).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(TestDb {
            config: server.config(&name),
            socket_dir: server.socket_dir.clone(),
            name,
        })
    }

    /// Opens a new connection to the database. Its connection task is
    /// spawned on the current tokio runtime.
    pub async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        connect(&self.config).await
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory of the server's unix socket, `.s.PGSQL.5432`.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The connection settings, to connect in another way.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A `postgresql://` URL of the database, with the socket directory as
    /// the percent-encoded host, as libpq and tokio-postgres read it.
    pub fn url(&self) -> String {
        format!(
            "postgresql://postgres@{}:{PORT}/{}",
            percent_encode(&self.socket_dir.to_string_lossy()),
            self.name
        )
    }
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    // The connection task ends when the client is dropped or the server
    // closes the session; its error is then the client's to report.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The running server.
#[derive(Debug)]
struct Server {
    socket_dir: PathBuf,
    /// Held, never used: it keeps the write end of the pipe to the
    /// watchdog's standard input open until this process ends.
    _watchdog: Mutex<Child>,
}

impl Server {
    fn config(&self, dbname: &str) -> Config {
        let mut config = Config::new();
        config
            .host_path(&self.socket_dir)
            .port(PORT)
            .user("postgres")
            .dbname(dbname)
            .application_name("migrate-testkit")
            .connect_timeout(Duration::from_secs(10));
        config
    }
}

fn server() -> Result<&'static Server, BoxError> {
    SERVER
        .get_or_init(|| start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| message.clone().into())
}

/// Who runs the server: this process's user, or `postgres` when it is root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn start() -> Result<Server, BoxError> {
    let bin = find_bin_dir().ok_or(INSTALL_HINT)?;
    let run_as = run_as()?;
    let base = make_temp_dir(run_as)?;
    let data = base.join("data");
    init_cluster(&bin, &data, run_as)?;
    let watchdog = spawn_watchdog(&bin, &data, &base, ("", PORT), run_as)?;
    let watchdog = wait_until_ready(watchdog, &data, &base)?;
    Ok(Server {
        socket_dir: base,
        _watchdog: Mutex::new(watchdog),
    })
}

/// Where Debian and Ubuntu install the server binaries, one folder per major
/// version, without putting them on `PATH`.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The directory holding `initdb` and `postgres`: the one of `initdb` on
/// `PATH` (symbolic links followed, since distributions link it into
/// `/usr/bin` or `/usr/local/bin` away from `postgres`), else the newest
/// `/usr/lib/postgresql/<major>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    find_bin_dir_in(std::env::var_os("PATH"), Path::new(DEBIAN_ROOT))
}

fn find_bin_dir_in(path: Option<std::ffi::OsString>, debian_root: &Path) -> Option<PathBuf> {
    let on_path = path
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("initdb"))
        .filter(|initdb| initdb.is_file())
        .filter_map(|initdb| fs::canonicalize(initdb).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_path_buf));
    on_path
        .chain(versioned_bin_dirs(debian_root))
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

/// `<root>/<major>/bin`, newest major version first.
fn versioned_bin_dirs(root: &Path) -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_string_lossy().parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// The `postgres` user's ids when this process is root, since PostgreSQL
/// refuses to run as root; otherwise this process's own ids.
fn run_as() -> Result<Option<RunAs>, BoxError> {
    if effective_uid()? != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd")?;
    let fields = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .ok_or("the tests run as root, and PostgreSQL refuses to; the harness runs the server as the `postgres` user, but there is none: install the server with `apt-get install postgresql`, which creates it, or run the tests as another user")?;
    Ok(Some(RunAs {
        uid: fields[2].parse()?,
        gid: fields[3].parse()?,
    }))
}

/// The user this process runs as: the owner of `/proc/self` on Linux, else
/// what `id -u` says.
fn effective_uid() -> Result<u32, BoxError> {
    if let Ok(metadata) = fs::metadata("/proc/self") {
        return Ok(metadata.uid());
    }
    let output = Command::new("id").arg("-u").output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

/// A new directory for the data and the socket, owned by whoever runs the
/// server.
fn make_temp_dir(run_as: Option<RunAs>) -> Result<PathBuf, BoxError> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .subsec_nanos();
    // Several servers may start in one process, in the same nanosecond.
    static NEXT_DIR: AtomicUsize = AtomicUsize::new(1);
    let dir = std::env::temp_dir().join(format!(
        "migrate-testkit-{}-{}-{nanos}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir)?;
    if let Some(user) = run_as {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))?;
    }
    Ok(dir)
}

fn command(program: impl AsRef<std::ffi::OsStr>, run_as: Option<RunAs>) -> Command {
    let mut command = Command::new(program);
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    command
}

/// Creates the cluster: trust authentication (only this machine's users can
/// reach the socket), UTF-8, and no fsync, since the data is thrown away.
fn init_cluster(bin: &Path, data: &Path, run_as: Option<RunAs>) -> Result<(), BoxError> {
    let output = command(bin.join("initdb"), run_as)
        .arg("-D")
        .arg(data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
        .args(["--no-sync", "--no-instructions"])
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// The watchdog: starts the server, waits for its standard input to close,
/// then stops the server and deletes the temporary directory. The server
/// listens on the TCP addresses `listen` names (none when it is empty), and
/// on a unix socket in the temporary directory.
///
/// `SIGQUIT` is PostgreSQL's immediate shutdown, which takes milliseconds.
/// `SIGKILL` follows after three seconds in case the server did not stop,
/// since a background job of a non-interactive shell starts with `SIGQUIT`
/// ignored and a program that keeps it so would never stop otherwise.
const WATCHDOG: &str = r#"
"$1" -D "$2" -k "$3" -p "$4" -c listen_addresses="$5" -F \
    -c max_connections=300 -c full_page_writes=off -c synchronous_commit=off \
    >"$3/server.log" 2>&1 </dev/null &
pid=$!
cat >/dev/null
kill -QUIT "$pid" 2>/dev/null
tries=0
while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 30 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
rm -rf "$3"
"#;

fn spawn_watchdog(
    bin: &Path,
    data: &Path,
    base: &Path,
    listen: (&str, u16),
    run_as: Option<RunAs>,
) -> Result<Child, BoxError> {
    let (addresses, port) = listen;
    let child = command("sh", run_as)
        .args(["-c", WATCHDOG, "migrate-testkit-watchdog"])
        .arg(bin.join("postgres"))
        .arg(data)
        .arg(base)
        .arg(port.to_string())
        .arg(addresses)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(child)
}

/// Waits until `postmaster.pid` says `ready`: from then on the server
/// accepts connections.
fn wait_until_ready(mut watchdog: Child, data: &Path, base: &Path) -> Result<Child, BoxError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let status = fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
        if status.lines().any(|line| line.trim() == "ready") {
            return Ok(watchdog);
        }
        let exited = watchdog.try_wait()?;
        if exited.is_some() || Instant::now() > deadline {
            let _ = watchdog.kill();
            let mut log = String::new();
            if let Ok(mut file) = fs::File::open(base.join("server.log")) {
                let _ = file.read_to_string(&mut log);
            }
            return Err(
                format!("the PostgreSQL test server did not start; its log says:\n{log}").into(),
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake binary: an executable file with this name in `dir`.
    fn fake(dir: &Path, name: &str, script: &str) -> Result<(), BoxError> {
        use std::os::unix::fs::PermissionsExt;
        let file = dir.join(name);
        fs::write(&file, format!("#!/bin/sh\n{script}\n"))?;
        fs::set_permissions(&file, fs::Permissions::from_mode(0o755))?;
        Ok(())
    }

    #[test]
    fn binaries_are_found_on_the_path_or_under_the_versioned_folders() -> Result<(), BoxError> {
        let scratch = tempfile::tempdir()?;
        let root = scratch.path();
        let nothing = root.join("nothing");
        fs::create_dir_all(&nothing)?;
        assert_eq!(find_bin_dir_in(None, &nothing), None);

        // Debian's layout: the newest major version wins.
        for major in ["9", "15", "13"] {
            let bin = root.join("lib").join(major).join("bin");
            fs::create_dir_all(&bin)?;
            fake(&bin, "initdb", "exit 0")?;
            fake(&bin, "postgres", "exit 0")?;
        }
        let found = find_bin_dir_in(None, &root.join("lib"));
        assert_eq!(found, Some(root.join("lib/15/bin")));

        // On PATH, through a symbolic link, as /usr/local/bin has it.
        let linked = root.join("linked");
        fs::create_dir_all(&linked)?;
        std::os::unix::fs::symlink(root.join("lib/9/bin/initdb"), linked.join("initdb"))?;
        let path = std::env::join_paths([&nothing, &linked])?;
        let found = find_bin_dir_in(Some(path), &nothing);
        assert_eq!(found, Some(fs::canonicalize(root.join("lib/9/bin"))?));
        Ok(())
    }

    #[test]
    fn the_missing_binaries_message_says_how_to_install_them() {
        assert!(INSTALL_HINT.contains("apt-get install postgresql"));
        assert!(INSTALL_HINT.contains("/usr/lib/postgresql/*/bin"));
    }

    #[test]
    fn the_watchdog_stops_the_server_and_cleans_up_when_the_pipe_closes() -> Result<(), BoxError> {
        let scratch = tempfile::tempdir()?;
        let base = scratch.path().to_path_buf();
        let bin = base.join("bin");
        fs::create_dir_all(&bin)?;
        // A stand-in server that runs until it is killed: it ignores SIGQUIT,
        // as a shell's background job does, so this covers the fallback too.
        fake(&bin, "postgres", "exec sleep 600")?;
        let mut watchdog = spawn_watchdog(&bin, &base.join("data"), &base, ("", PORT), None)?;
        thread::sleep(Duration::from_millis(100));
        assert!(
            watchdog.try_wait()?.is_none(),
            "the watchdog waits while the pipe is open"
        );

        // What the end of the test process does to the pipe.
        drop(watchdog.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while watchdog.try_wait()?.is_none() {
            assert!(Instant::now() < deadline, "the watchdog did not stop");
            thread::sleep(Duration::from_millis(20));
        }
        assert!(!base.exists(), "the temporary directory was not deleted");
        Ok(())
    }
}
