// What both benchmark binaries share: the measuring protocol, the result
// lines the driver reads back, PostgreSQL databases and the round-trip
// counting proxy. Included by both with `#[path]`: the two binaries cannot
// share a library crate, since they resolve different SQLite bindings.

#![allow(dead_code)] // Each binary uses part of it.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// How many times each call is measured: the reference's protocol.
pub const APPLIES: usize = 5;
pub const BOOTS: usize = 10;

/// What one tool did on one engine at one size.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub apply: Vec<Duration>,
    pub boot: Vec<Duration>,
    /// PostgreSQL only: client turns during one apply and one boot, counted
    /// by the proxy.
    pub apply_trips: Option<u64>,
    pub boot_trips: Option<u64>,
}

impl Outcome {
    pub fn apply_median(&self) -> Duration {
        median(&self.apply)
    }

    pub fn boot_median(&self) -> Duration {
        median(&self.boot)
    }

    /// One line for the driver to read back from the peers' binary.
    pub fn to_line(&self) -> String {
        let list = |v: &[Duration]| {
            v.iter()
                .map(|d| d.as_nanos().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut line = format!(
            "RESULT apply={} boot={}",
            list(&self.apply),
            list(&self.boot)
        );
        if let Some(trips) = self.apply_trips {
            let _ = write!(line, " apply_trips={trips}");
        }
        if let Some(trips) = self.boot_trips {
            let _ = write!(line, " boot_trips={trips}");
        }
        line
    }

    pub fn from_line(line: &str) -> Option<Outcome> {
        let rest = line.strip_prefix("RESULT ")?;
        let mut outcome = Outcome::default();
        let list = |v: &str| -> Option<Vec<Duration>> {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().ok().map(Duration::from_nanos))
                .collect()
        };
        for field in rest.split(' ') {
            let (key, value) = field.split_once('=')?;
            match key {
                "apply" => outcome.apply = list(value)?,
                "boot" => outcome.boot = list(value)?,
                "apply_trips" => outcome.apply_trips = value.parse().ok(),
                "boot_trips" => outcome.boot_trips = value.parse().ok(),
                _ => return None,
            }
        }
        Some(outcome)
    }
}

pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The protocol, the same for every tool and engine:
/// - apply: `APPLIES` times, a fresh database and a new connection, then the
///   migration call alone is timed;
/// - boot: all migrations applied once, then `BOOTS` times a new connection
///   (a boot opens one) and the same call timed again.
///
/// Opening connections is not timed: it is the same for every tool. After
/// the first apply, `verify` checks that the schema is really there, so a
/// tool that silently did nothing cannot look fast.
pub struct Protocol<T, C> {
    pub fresh: Box<dyn FnMut() -> Result<T>>,
    pub connect: OnTarget<T, C>,
    pub call: OnConnection<C>,
    pub verify: OnTarget<T, ()>,
    pub cleanup: Box<dyn FnMut(T) -> Result<()>>,
}

/// A step of the protocol on a database.
pub type OnTarget<T, Out> = Box<dyn FnMut(&T) -> Result<Out>>;

/// The timed call, on a connection.
pub type OnConnection<C> = Box<dyn FnMut(&mut C) -> Result<()>>;

impl<T, C> Protocol<T, C> {
    pub fn measure(&mut self, applies: usize, boots: usize) -> Result<Outcome> {
        let mut outcomes = measure_in_turn(&mut [self], applies, boots)?;
        Ok(outcomes.remove(0))
    }

    /// One apply to a fresh database, verified on the first round.
    fn apply_once(&mut self, verify: bool) -> Result<Duration> {
        let target = (self.fresh)()?;
        let mut conn = (self.connect)(&target)?;
        let started = Instant::now();
        (self.call)(&mut conn)?;
        let elapsed = started.elapsed();
        drop(conn);
        if verify {
            (self.verify)(&target)?;
        }
        (self.cleanup)(target)?;
        Ok(elapsed)
    }

    /// A database with every migration applied, for the boots.
    fn applied_target(&mut self) -> Result<T> {
        let target = (self.fresh)()?;
        (self.call)(&mut (self.connect)(&target)?)?;
        (self.verify)(&target)?;
        Ok(target)
    }

    /// One boot: a new connection, then the timed call.
    fn boot_once(&mut self, target: &T) -> Result<Duration> {
        let mut conn = (self.connect)(target)?;
        let started = Instant::now();
        (self.call)(&mut conn)?;
        Ok(started.elapsed())
    }

    /// One apply and one boot through the counting proxy: the client turns
    /// of the call alone, the connection's start-up excluded.
    pub fn count_trips(&mut self, proxy: &Proxy, outcome: &mut Outcome) -> Result<()> {
        let target = (self.fresh)()?;
        let mut conn = (self.connect)(&target)?;
        proxy.reset();
        (self.call)(&mut conn)?;
        outcome.apply_trips = Some(proxy.turns());
        drop(conn);
        let mut conn = (self.connect)(&target)?;
        proxy.reset();
        (self.call)(&mut conn)?;
        outcome.boot_trips = Some(proxy.turns());
        drop(conn);
        (self.cleanup)(target)
    }
}

/// Measures the protocols in turn, sample by sample: one apply of each, then
/// the next round, and likewise for the boots. A change in the machine's load
/// during the run (neighbours on a shared host come and go within seconds)
/// then falls on every protocol alike, where measuring one protocol's samples
/// and then the next one's would credit it to whichever ran during it.
pub fn measure_in_turn<T, C>(
    protocols: &mut [&mut Protocol<T, C>],
    applies: usize,
    boots: usize,
) -> Result<Vec<Outcome>> {
    let mut outcomes: Vec<Outcome> = protocols.iter().map(|_| Outcome::default()).collect();
    for round in 0..applies {
        for (protocol, outcome) in protocols.iter_mut().zip(&mut outcomes) {
            outcome.apply.push(protocol.apply_once(round == 0)?);
        }
    }
    let targets = protocols
        .iter_mut()
        .map(|protocol| protocol.applied_target())
        .collect::<Result<Vec<T>>>()?;
    for _ in 0..boots {
        for ((protocol, outcome), target) in protocols.iter_mut().zip(&mut outcomes).zip(&targets) {
            outcome.boot.push(protocol.boot_once(target)?);
        }
    }
    for (protocol, target) in protocols.iter_mut().zip(targets) {
        (protocol.cleanup)(target)?;
    }
    Ok(outcomes)
}

/// A SQLite database file in a directory of its own, removed afterwards, on
/// a real disk (the system temporary directory here is on the same disk as
/// the project; never a tmpfs, where commits would cost nothing).
pub fn fresh_sqlite_file() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::Builder::new()
        .prefix("migrate-bench-")
        .tempdir()?;
    let path = dir.path().join("bench.db");
    Ok((dir, path))
}

/// The SQL of the generated migrations of size `n`, in order, read from the
/// migrate layout (the text is the same in every layout).
pub fn generated_sql(generated: &Path, n: usize) -> Result<Vec<String>> {
    let folder = generated.join(format!("n{n}/migrate"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    files
        .iter()
        .map(|file| std::fs::read_to_string(file).map_err(Into::into))
        .collect()
}

/// Where the PostgreSQL server listens: a unix socket directory and port.
#[derive(Debug, Clone)]
pub struct PgServer {
    pub socket_dir: PathBuf,
    pub port: u16,
    pub user: String,
}

impl PgServer {
    /// The socket file, `.s.PGSQL.<port>` in the socket directory.
    pub fn socket(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{}", self.port))
    }

    pub fn config(&self, database: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(self.port)
            .user(&self.user)
            .dbname(database);
        config
    }

    /// A libpq/sqlx URL over the socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgresql://{}@localhost:{}/{database}?host={}",
            self.user,
            self.port,
            self.socket_dir.display()
        )
    }

    /// A URL through the counting proxy, over TCP on loopback.
    pub fn proxy_url(&self, proxy_port: u16, database: &str) -> String {
        format!(
            "postgresql://{}@127.0.0.1:{proxy_port}/{database}",
            self.user
        )
    }

    pub async fn connect(&self, config: &tokio_postgres::Config) -> Result<tokio_postgres::Client> {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Creates an empty database and returns its name.
    pub async fn create_database(&self, prefix: &str) -> Result<String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = self.connect(&self.config("postgres")).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(name)
    }

    pub async fn drop_database(&self, name: &str) -> Result<()> {
        let admin = self.connect(&self.config("postgres")).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        Ok(())
    }

    /// Checks that all `n` tables of the generated migrations exist.
    pub async fn verify(&self, database: &str, n: usize) -> Result<()> {
        let client = self.connect(&self.config(database)).await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name ~ '^t[0-9]+$'",
                &[],
            )
            .await?;
        let count: i64 = row.get(0);
        if usize::try_from(count)? != n {
            return Err(format!("{database}: expected {n} tables, found {count}").into());
        }
        Ok(())
    }
}

pub type SqliteTarget = (tempfile::TempDir, PathBuf);

/// Checks that all `n` tables of the generated migrations exist in a SQLite file.
pub fn verify_sqlite(path: &Path, n: usize) -> Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*'",
        [],
        |row| row.get(0),
    )?;
    if usize::try_from(count)? != n {
        return Err(format!("expected {n} tables, found {count}").into());
    }
    Ok(())
}

/// The limit on SQLite: all the SQL in one transaction with one
/// `execute_batch`; at boot, `PRAGMA user_version`, which reads the file
/// header and does not make SQLite parse the schema.
pub fn raw_sqlite(sql: &[String]) -> Protocol<SqliteTarget, rusqlite::Connection> {
    let n = sql.len();
    let mut batch = String::from("BEGIN;\n");
    for migration in sql {
        batch.push_str(migration);
    }
    batch.push_str(&format!("PRAGMA user_version = {n};\nCOMMIT;\n"));
    let applied = i64::try_from(n).unwrap_or(i64::MAX);
    Protocol {
        fresh: Box::new(fresh_sqlite_file),
        connect: Box::new(|(_, path): &SqliteTarget| Ok(rusqlite::Connection::open(path)?)),
        call: Box::new(move |conn: &mut rusqlite::Connection| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            if version != applied {
                conn.execute_batch(&batch)?;
            }
            Ok(())
        }),
        verify: Box::new(move |(_, path): &SqliteTarget| verify_sqlite(path, n)),
        cleanup: Box::new(|_| Ok(())),
    }
}

/// A TCP proxy on loopback in front of the server's unix socket, counting
/// round trips.
///
/// A round trip is counted each time the client sends after having received
/// something (or first): the client turns of the conversation. A client that
/// pipelines several requests before reading the answers is credited with
/// one turn, which is what it waits for.
#[derive(Debug)]
pub struct Proxy {
    pub port: u16,
    turns: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(socket: PathBuf) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let turns = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&turns);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = UnixStream::connect(&socket) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                relay(client, server, Arc::clone(&counter));
            }
        });
        Ok(Proxy { port, turns })
    }

    pub fn reset(&self) {
        self.turns.store(0, Ordering::SeqCst);
    }

    pub fn turns(&self) -> u64 {
        self.turns.load(Ordering::SeqCst)
    }
}

fn relay(client: TcpStream, server: UnixStream, turns: Arc<AtomicU64>) {
    // True while the last bytes moved went from the server to the client.
    let server_spoke = Arc::new(AtomicBool::new(true));
    let (Ok(mut client_read), Ok(mut server_read)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let (mut client_write, mut server_write) = (client, server);
    let spoke = Arc::clone(&server_spoke);
    thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buffer) {
            if n == 0 {
                break;
            }
            // Counted before forwarding, so the answer cannot come back first.
            if spoke.swap(false, Ordering::SeqCst) {
                turns.fetch_add(1, Ordering::SeqCst);
            }
            if server_write.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = server_write.shutdown(Shutdown::Write);
    });
    thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buffer) {
            if n == 0 {
                break;
            }
            server_spoke.store(true, Ordering::SeqCst);
            if client_write.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = client_write.shutdown(Shutdown::Write);
    });
}
