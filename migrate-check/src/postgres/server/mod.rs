//! The server-backed dry run: every migration run on a real PostgreSQL, in a
//! throwaway database, as the runtime would run it.
//!
//! # Why a throwaway database
//!
//! A transaction that is always rolled back would be simpler, but it cannot
//! run what migrations need outside one: `CREATE INDEX CONCURRENTLY`,
//! `VACUUM`, or an enum value added by one migration and used by the next
//! (PostgreSQL refuses a new value in the transaction that added it). A
//! database of its own runs every migration for real, commits where the
//! runtime commits, and is dropped at the end, on success and on failure.
//!
//! - It is created from `template0`, so it starts as empty as a new
//!   production database, whatever `template1` holds on the check server.
//! - Its name, `migrate_check_<server epoch>_<unique>`, is unique per
//!   check, so concurrent builds (two crates, `cargo build` and
//!   rust-analyzer) never meet in a database. They take turns all the same,
//!   through an advisory lock in the URL's database: a role that a
//!   migration creates belongs to the whole server, and two checks creating
//!   it at once would fail.
//! - A build killed mid-check cannot drop its database. Every check
//!   therefore first drops the `migrate_check_…` databases that are more than
//!   [`STALE_AFTER`] old by the server's clock: no live check lasts that
//!   long ([`DEADLINE`]). A database in use is never forced.
//! - Creating databases needs the `CREATEDB` privilege; without it the check
//!   fails with a message that says so.
//!
//! Objects that belong to the whole server rather than to a database (roles,
//! tablespaces, `ALTER SYSTEM` settings) outlive the throwaway database: a
//! migration that creates a role leaves it on the check server. Give the
//! check server the roles production has, and create roles idempotently.
//!
//! # Bounds
//!
//! Connecting gives up after [`CONNECT_TIMEOUT`] (unless the URL sets
//! `connect_timeout`), every statement after [`STATEMENT_TIMEOUT`]
//! (`statement_timeout`, which a migration's own `SET` can change only until
//! the end of that migration), and the whole check after [`DEADLINE`];
//! dropping the database has its own [`CLEANUP_TIMEOUT`].

mod cache;
mod plan;

use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use migrate_format::history::{self, Dialect, TableName};
use migrate_format::lexer;
use migrate_format::{Problem, SourceFile, SourceMigration};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::{DbError, ErrorPosition, SqlState};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

use super::transaction::refused;
use cache::{Cache, Pass};
use plan::Step;

/// How long connecting may take, unless the URL says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The `statement_timeout` of the check's sessions.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the whole check may take, from the first connection to the end
/// of the last migration.
pub const DEADLINE: Duration = Duration::from_secs(300);
/// How long dropping the throwaway database may take.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(15);
/// The age, by the server's clock, after which a throwaway database is
/// certainly abandoned: three times what a check can take.
pub const STALE_AFTER: Duration =
    Duration::from_secs(3 * (DEADLINE.as_secs() + CLEANUP_TIMEOUT.as_secs()));

/// Every throwaway database's name starts with this.
const PREFIX: &str = "migrate_check_";
/// The savepoint around a statement of a `no-check` file in a transaction.
const UNCHECKED_SAVEPOINT: &str = "migrate_check_unchecked";
/// The first release that has `DROP DATABASE … WITH (FORCE)`.
const DROP_FORCE: u32 = 130_000;

/// What the server-backed check needs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The server, as a `postgresql://` URL or a `key=value` string: the
    /// value of `MIGRATE_CHECK_POSTGRES_URL`. Its database is only used to
    /// create and drop the throwaway databases; nothing is written to it.
    pub url: String,
    /// The runtime's history table.
    pub history_table: TableName,
    /// A folder for the verdict cache, in the build's `OUT_DIR`. Without
    /// one, every check connects.
    pub cache: Option<PathBuf>,
}

/// What the server said about the migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVerdict {
    /// The server's `server_version`, such as `15.4 (Debian 15.4-1)`.
    pub server_version: String,
    /// The server's `server_version_num`, such as `150004`.
    pub server_version_num: u32,
    /// The problems: empty when every migration ran.
    pub problems: Vec<Problem>,
    /// Whether the verdict came from the cache, without connecting.
    pub cached: bool,
}

/// Dry-runs the migrations on the PostgreSQL server of `options.url`, in a
/// throwaway database, as the runtime applies them: consecutive
/// transactional migrations in one transaction with their history rows,
/// `no-transaction` ones statement by statement outside a transaction, the
/// settings a migration changes restored after it as the runtime restores
/// them, each down migration checked right after its up migration and
/// undone. Files marked `-- migrate:no-check` run, but their errors are not
/// reported.
///
/// The dry run stops at the first up migration that fails, as the runtime
/// would. Each problem has the file, line and column of the server's error
/// position (or of the statement, when the server gives none) and the
/// server's message.
///
/// Returns an error, not problems, when the check itself cannot be made:
/// the URL is not valid, the server cannot be reached, the role may not
/// create databases, or the deadline passed.
pub fn check_postgres_server(
    migrations: &[SourceMigration],
    options: &ServerOptions,
) -> Result<ServerVerdict, String> {
    let cache = options
        .cache
        .as_ref()
        .map(|folder| Cache::new(folder, migrations, &options.history_table, &options.url));
    if let Some(pass) = cache.as_ref().and_then(Cache::lookup) {
        return Ok(ServerVerdict {
            server_version: pass.server_version,
            server_version_num: pass.server_version_num,
            problems: Vec::new(),
            cached: true,
        });
    }
    let config = session_config(&options.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("the check cannot start its runtime: {error}"))?;
    let verdict = runtime.block_on(check(migrations, &options.history_table, config))?;
    if let (Some(cache), true) = (&cache, verdict.problems.is_empty()) {
        cache.store(&Pass {
            server_version_num: verdict.server_version_num,
            server_version: verdict.server_version.clone(),
        });
    }
    Ok(verdict)
}

/// The connection settings of the check's sessions: the URL's, with the
/// check's bounds.
fn session_config(url: &str) -> Result<Config, String> {
    let mut config: Config = url.parse().map_err(|error| {
        format!("MIGRATE_CHECK_POSTGRES_URL is not a PostgreSQL connection URL: {error}")
    })?;
    if config.get_ssl_mode() == SslMode::Require {
        return Err(format!(
            "MIGRATE_CHECK_POSTGRES_URL asks for TLS (sslmode=require), which the build-time check does not speak; point it at a check server reachable without TLS, such as a local or CI one ({})",
            describe_server(&config)
        ));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let bounds = format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis());
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {bounds}"),
        _ => bounds,
    };
    config.options(options).application_name("migrate-check");
    Ok(config)
}

/// The server as messages name it: user, host, port and database, never
/// the password.
fn describe_server(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let database = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{database}")
}

/// The server's version and clock, read once.
struct Server {
    version_num: u32,
    version: String,
    /// Seconds since the epoch, by the server's clock.
    now: u64,
}

/// Connects, creates the throwaway database, dry-runs, and drops it.
async fn check(
    migrations: &[SourceMigration],
    table: &TableName,
    config: Config,
) -> Result<ServerVerdict, String> {
    let deadline = Instant::now() + DEADLINE;
    let server_name = describe_server(&config);
    let late = || {
        format!(
            "the dry run on the check server {server_name} did not finish within {} s; a migration may be waiting for a lock or running a long statement",
            DEADLINE.as_secs()
        )
    };
    let (admin, admin_task) = tokio::time::timeout_at(deadline, connect(&config))
        .await
        .map_err(|_| late())?
        .map_err(|error| {
            format!(
                "cannot connect to the check server {server_name} named by MIGRATE_CHECK_POSTGRES_URL: {}; start it, fix the variable, or unset it to check the grammar only",
                with_causes(&error)
            )
        })?;
    let prepared = tokio::time::timeout_at(deadline, async {
        let server = server_info(&admin).await?;
        take_turn(&admin).await?;
        drop_stale(&admin, &server).await;
        Ok::<Server, String>(server)
    })
    .await;
    let server = match prepared {
        Ok(prepared) => prepared?,
        Err(_) => {
            return Err(format!(
                "the check server {server_name} did not answer, or another migrate check on it held its turn, for {} s",
                DEADLINE.as_secs()
            ));
        }
    };
    let database = database_name(server.now);
    let session = Session {
        config,
        admin: &admin,
        database: database.clone(),
        server_version_num: server.version_num,
    };
    // Everything from here on ends with the database dropped, even when the
    // deadline cuts the creation short.
    let outcome = tokio::time::timeout_at(deadline, async {
        create_database(&admin, &database).await?;
        session.dry_run(migrations, table).await
    })
    .await;
    let dropped = tokio::time::timeout(
        CLEANUP_TIMEOUT,
        drop_database(&admin, &database, server.version_num),
    )
    .await
    .unwrap_or_else(|_| Err("it took too long".to_owned()));
    drop(admin);
    let _ = admin_task.await;
    let problems = outcome.map_err(|_| late())??;
    dropped.map_err(|error| {
        format!(
            "the check's throwaway database {database} on {server_name} could not be dropped ({error}); drop it by hand, or let a later check drop it once it is {} minutes old",
            STALE_AFTER.as_secs() / 60
        )
    })?;
    Ok(ServerVerdict {
        server_version: server.version,
        server_version_num: server.version_num,
        problems,
        cached: false,
    })
}

/// An error and its causes, which tokio-postgres keeps apart: "error
/// connecting to server: Connection refused (os error 111)".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let next = error.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = error.source();
    }
    text
}

/// Connects, running the connection on the current runtime. The task ends
/// when the client is dropped.
async fn connect(config: &Config) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(async move {
        // The connection's error, if any, is the client's to report.
        let _ = connection.await;
    });
    Ok((client, task))
}

async fn server_info(admin: &Client) -> Result<Server, String> {
    let sql = "SELECT current_setting('server_version_num'), current_setting('server_version'), \
               extract(epoch FROM now())::bigint";
    let row = first_row(admin, sql)
        .await
        .map_err(|error| format!("the check server does not answer: {error}"))?;
    let field = |index: usize| row.get(index).cloned().flatten().unwrap_or_default();
    let unexpected = |what: &str| format!("the check server gave an unexpected {what}: {row:?}");
    Ok(Server {
        version_num: field(0).parse().map_err(|_| unexpected("version"))?,
        version: field(1),
        now: field(2).parse().map_err(|_| unexpected("time"))?,
    })
}

/// The first row of a simple query, as text.
async fn first_row(client: &Client, sql: &str) -> Result<Vec<Option<String>>, String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|error| with_causes(&error))?;
    messages
        .into_iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|index| row.get(index).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .ok_or_else(|| "the query returned no row".to_owned())
}

/// The advisory lock that checks on one database take in turn: "migrate\0".
const TURN: i64 = 0x6d69_6772_6174_6500;

/// Waits for this check's turn on the server: checks through the same
/// database take turns, because roles, and the other objects of a whole
/// server that a migration may create, are shared by their throwaway
/// databases; two checks creating one role at once would fail. The lock is
/// the admin session's, so it ends with it, however the check ends.
async fn take_turn(admin: &Client) -> Result<(), String> {
    let mut pause = Duration::from_millis(20);
    loop {
        let row = first_row(admin, &format!("SELECT pg_try_advisory_lock({TURN})"))
            .await
            .map_err(|error| format!("the check cannot take its turn on the server: {error}"))?;
        if row.first().cloned().flatten().as_deref() == Some("t") {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// A name no other check uses: the server's clock, for [`is_stale`], and
/// this process and instant, for uniqueness.
fn database_name(server_now: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let unique = (u128::from(std::process::id()) << 64) ^ nanos;
    let unique = migrate_format::checksum::checksum(&unique.to_string());
    let unique = &migrate_format::checksum::to_hex(&unique)[..12];
    format!("{PREFIX}{server_now}_{unique}")
}

/// Whether a database is a throwaway one, abandoned by a check that was
/// killed: older than [`STALE_AFTER`] by its name's clock.
fn is_stale(name: &str, server_now: u64) -> bool {
    let Some(created) = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|seconds| seconds.parse::<u64>().ok())
    else {
        return false;
    };
    server_now.saturating_sub(created) > STALE_AFTER.as_secs()
}

/// Drops the throwaway databases of checks that were killed. One that is
/// still in use is left alone, and so is any error: the cleanup is a
/// courtesy, and the next check tries again.
async fn drop_stale(admin: &Client, server: &Server) {
    let sql = format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'");
    let Ok(messages) = admin.simple_query(&sql).await else {
        return;
    };
    let names = messages.iter().filter_map(|message| match message {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    });
    for name in names.filter(|name| is_stale(name, server.now)) {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote(name)))
            .await;
    }
}

async fn create_database(admin: &Client, database: &str) -> Result<(), String> {
    let sql = format!("CREATE DATABASE {} TEMPLATE template0", quote(database));
    admin.batch_execute(&sql).await.map_err(|error| {
        if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
            "the role of MIGRATE_CHECK_POSTGRES_URL may not create databases, and the check runs the migrations in a throwaway database of its own, dropped at the end: grant it with `ALTER ROLE <role> CREATEDB`, or use another role".to_owned()
        } else {
            format!(
                "the check cannot create its throwaway database: {}",
                with_causes(&error)
            )
        }
    })
}

/// Drops a throwaway database, ending any session still in it: the check's
/// own, if a deadline cut it short.
async fn drop_database(admin: &Client, database: &str, version_num: u32) -> Result<(), String> {
    let name = quote(database);
    let sql = if version_num >= DROP_FORCE {
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    } else {
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'; DROP DATABASE IF EXISTS {name}",
            database.replace('\'', "''")
        )
    };
    admin
        .batch_execute(&sql)
        .await
        .map_err(|error| with_causes(&error))
}

/// A quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The dry run's connection to its throwaway database.
struct Session<'a> {
    config: Config,
    admin: &'a Client,
    database: String,
    server_version_num: u32,
}

/// Why the dry run stopped early: a problem in the migrations (reported), or
/// a failure of the check itself.
enum Stop {
    Problem,
    Broken(String),
}

impl Session<'_> {
    async fn dry_run(
        &self,
        migrations: &[SourceMigration],
        table: &TableName,
    ) -> Result<Vec<Problem>, String> {
        let (mut client, mut task) = self.connect(&self.database).await?;
        let table = prepare_history(&client, table).await?;
        let steps = plan::plan(migrations, &table, self.server_version_num);
        let mut problems = Vec::new();
        for step in &steps {
            let result = match step {
                Step::DownOnCopy { file, statements } => {
                    // The copy is made with this database as its template,
                    // which must have no session open.
                    close(client, task).await;
                    let result = self.down_on_copy(file, statements, &mut problems).await;
                    (client, task) = self.connect(&self.database).await?;
                    result
                }
                step => run_step(&client, step, &mut problems).await,
            };
            match result {
                Ok(()) => {}
                Err(Stop::Problem) => break,
                Err(Stop::Broken(message)) => return Err(message),
            }
        }
        close(client, task).await;
        Ok(problems)
    }

    async fn connect(&self, database: &str) -> Result<(Client, JoinHandle<()>), String> {
        let mut config = self.config.clone();
        config.dbname(database);
        connect(&config).await.map_err(|error| {
            format!(
                "cannot connect to the check's throwaway database {database}: {}",
                with_causes(&error)
            )
        })
    }

    /// Checks a `no-transaction` down migration on a copy of the database,
    /// since nothing could undo it on the database itself. The copy is made
    /// from the database as a template, which needs every session of it
    /// closed: the caller closes its own and connects again after.
    async fn down_on_copy(
        &self,
        file: &SourceFile,
        statements: &[Range<usize>],
        problems: &mut Vec<Problem>,
    ) -> Result<(), Stop> {
        let copy = format!("{}_copy", self.database);
        let create = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote(&copy),
            quote(&self.database)
        );
        self.admin.batch_execute(&create).await.map_err(|error| {
            Stop::Broken(format!(
                "the check cannot copy its throwaway database to check {}: {}",
                file.display,
                with_causes(&error)
            ))
        })?;
        let checked = match self.connect(&copy).await {
            Ok((client, task)) => {
                for range in statements {
                    if let Err(error) = client.batch_execute(&file.sql[range.clone()]).await {
                        problems.push(located(file, range, &error).map_err(Stop::Broken)?);
                        break;
                    }
                }
                close(client, task).await;
                Ok(())
            }
            Err(message) => Err(Stop::Broken(message)),
        };
        drop_database(self.admin, &copy, self.server_version_num)
            .await
            .map_err(|error| {
                Stop::Broken(format!("the check cannot drop its copy {copy}: {error}"))
            })?;
        checked
    }
}

/// Ends a session and waits until its connection is closed.
async fn close(client: Client, task: JoinHandle<()>) {
    drop(client);
    let _ = task.await;
}

/// Creates the history table as the runtime does, in the schema it names or
/// in the first schema of the `search_path`, and returns its name pinned to
/// that schema, as the runtime pins it, so that a migration that changes
/// the `search_path` does not move the history.
async fn prepare_history(client: &Client, table: &TableName) -> Result<TableName, String> {
    let broken = |error: tokio_postgres::Error| {
        format!(
            "the check cannot create the history table {} in its throwaway database: {}",
            table.plain(),
            with_causes(&error)
        )
    };
    if let Some(schema) = table.schema() {
        let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema));
        client.batch_execute(&sql).await.map_err(broken)?;
        client
            .batch_execute(&history::create_table(Dialect::Postgres, table))
            .await
            .map_err(broken)?;
        return Ok(table.clone());
    }
    client
        .batch_execute(&history::create_table(Dialect::Postgres, table))
        .await
        .map_err(broken)?;
    let sql = format!(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('{}')",
        table.quoted().replace('\'', "''")
    );
    let row = first_row(client, &sql).await?;
    let schema = row.into_iter().next().flatten().ok_or_else(|| {
        format!(
            "the check cannot find the history table {} it created",
            table.plain()
        )
    })?;
    Ok(table.in_schema(&schema))
}

/// Runs one step, adding what went wrong to `problems`.
async fn run_step(
    client: &Client,
    step: &Step<'_>,
    problems: &mut Vec<Problem>,
) -> Result<(), Stop> {
    match step {
        Step::Internal { file, sql } => internal(client, file, sql, problems).await,
        Step::Statement { file, range } => {
            match client.batch_execute(&file.sql[range.clone()]).await {
                Ok(()) => Ok(()),
                Err(error) => {
                    problems.push(located(file, range, &error).map_err(Stop::Broken)?);
                    Err(Stop::Problem)
                }
            }
        }
        Step::Unchecked {
            file,
            range,
            in_transaction,
        } => {
            let sql = &file.sql[range.clone()];
            if *in_transaction {
                internal(
                    client,
                    file,
                    &format!("SAVEPOINT {UNCHECKED_SAVEPOINT}"),
                    problems,
                )
                .await?;
                // The file opted out of the check: its errors are not ours to report.
                let undo = match client.batch_execute(sql).await {
                    Ok(()) => format!("RELEASE SAVEPOINT {UNCHECKED_SAVEPOINT}"),
                    Err(_) => format!(
                        "ROLLBACK TO SAVEPOINT {UNCHECKED_SAVEPOINT}; RELEASE SAVEPOINT {UNCHECKED_SAVEPOINT}"
                    ),
                };
                internal(client, file, &undo, problems).await
            } else {
                let _ignored = client.batch_execute(sql).await;
                Ok(())
            }
        }
        Step::Refused {
            file,
            range,
            command,
        } => {
            problems.push(problem_at(file, range.start, refused(command)));
            Err(Stop::Problem)
        }
        Step::Down {
            file,
            open,
            statements,
            undo,
        } => {
            internal(client, file, open, problems).await?;
            for range in statements {
                if let Err(error) = client.batch_execute(&file.sql[range.clone()]).await {
                    problems.push(located(file, range, &error).map_err(Stop::Broken)?);
                    break;
                }
            }
            internal(client, file, undo, problems).await
        }
        Step::DownOnCopy { .. } => Ok(()),
    }
}

/// Runs SQL of the dry run itself after `file`.
async fn internal(
    client: &Client,
    file: &SourceFile,
    sql: &str,
    problems: &mut Vec<Problem>,
) -> Result<(), Stop> {
    match client.batch_execute(sql).await {
        Ok(()) => Ok(()),
        Err(error) => match error.as_db_error() {
            Some(db) => {
                let message = format!(
                    "migrate's own `{sql}` fails after this migration: {}",
                    describe(db)
                );
                problems.push(Problem {
                    file: file.display.clone(),
                    position: None,
                    message,
                });
                Err(Stop::Problem)
            }
            None => Err(Stop::Broken(broken_connection(file, &error))),
        },
    }
}

/// The problem of a statement of `file` at `range` that the server refused,
/// or the message of a connection that broke.
fn located(
    file: &SourceFile,
    range: &Range<usize>,
    error: &tokio_postgres::Error,
) -> Result<Problem, String> {
    let db = error
        .as_db_error()
        .ok_or_else(|| broken_connection(file, error))?;
    let offset = error_offset(&file.sql, range.clone(), db.position())
        .or_else(|| named_object(&file.sql, range.clone(), db.message()))
        .unwrap_or(range.start);
    Ok(problem_at(file, offset, describe(db)))
}

fn broken_connection(file: &SourceFile, error: &tokio_postgres::Error) -> String {
    format!(
        "the connection to the check server broke while {} ran: {}",
        file.display,
        with_causes(error)
    )
}

/// Where in the file the server's error is: its position in the statement
/// that was sent (in characters, from 1), or inside a function body or
/// `DO` block when the server gives the body's query and a position in it.
fn error_offset(sql: &str, range: Range<usize>, position: Option<&ErrorPosition>) -> Option<usize> {
    let statement = &sql[range.clone()];
    let within = match position {
        Some(ErrorPosition::Original(position)) => char_offset(statement, *position),
        Some(ErrorPosition::Internal { position, query }) => statement
            .find(query.as_str())
            .and_then(|at| char_offset(&statement[at..], *position).map(|offset| at + offset)),
        None => None,
    };
    within.map(|offset| range.start + offset)
}

/// For the errors the server reports without a position, such as
/// `index "x" does not exist` from `DROP INDEX`: where the statement names
/// the missing object, as a whole word.
fn named_object(sql: &str, range: Range<usize>, message: &str) -> Option<usize> {
    if !message.ends_with("does not exist") {
        return None;
    }
    let name = message.split('"').nth(1)?;
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    let statement = sql[range.clone()].to_ascii_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    statement
        .match_indices(&name)
        .map(|(at, _)| at)
        .find(|&at| {
            let before = statement[..at].chars().next_back();
            let after = statement[at + name.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
        .map(|at| range.start + at)
}

/// The byte offset of the character at a 1-based `position`, or the end of
/// the text for the position just past it.
fn char_offset(text: &str, position: u32) -> Option<usize> {
    let index = usize::try_from(position.checked_sub(1)?).ok()?;
    text.char_indices()
        .map(|(offset, _)| offset)
        .chain(std::iter::once(text.len()))
        .nth(index)
}

/// The server's message, with its detail and hint, and where in a function
/// body it happened when the position cannot say.
fn describe(error: &DbError) -> String {
    let mut message = error.message().to_owned();
    if let Some(detail) = error.detail() {
        message.push_str("; ");
        message.push_str(detail);
    }
    if let Some(hint) = error.hint() {
        message.push_str("; hint: ");
        message.push_str(hint);
    }
    if let (Some(context), false) = (
        error.where_(),
        matches!(error.position(), Some(ErrorPosition::Original(_))),
    ) {
        message.push_str("; context: ");
        message.push_str(&context.replace('\n', "; "));
    }
    message
}

fn problem_at(file: &SourceFile, offset: usize, message: String) -> Problem {
    let offset = file.sql.floor_char_boundary(offset);
    Problem {
        file: file.display.clone(),
        position: Some(lexer::line_col(&file.sql, offset)),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_characters_of_the_statement_sent() {
        let sql = "SELECT 1;\n-- é\nSELECT 'é', nmae FROM t;";
        let start = sql.find("SELECT 'é'").unwrap();
        let range = start..sql.len();
        // PostgreSQL counts characters: `nmae` is the 13th of the statement.
        let offset = error_offset(sql, range.clone(), Some(&ErrorPosition::Original(13))).unwrap();
        assert_eq!(&sql[offset..offset + 4], "nmae");
        assert_eq!(error_offset(sql, range.clone(), None), None);
        let past_the_end = u32::try_from(sql[start..].chars().count() + 1).unwrap();
        assert_eq!(
            error_offset(
                sql,
                range.clone(),
                Some(&ErrorPosition::Original(past_the_end))
            ),
            Some(sql.len())
        );
        assert_eq!(
            error_offset(sql, range, Some(&ErrorPosition::Original(10_000))),
            None
        );
    }

    #[test]
    fn positions_inside_a_body_are_found_through_its_query() {
        let sql = "DO $$\nBEGIN\n    INSERT INTO postss VALUES (1);\nEND\n$$;";
        let internal = ErrorPosition::Internal {
            position: 13,
            query: "INSERT INTO postss VALUES (1)".to_owned(),
        };
        let offset = error_offset(sql, 0..sql.len(), Some(&internal)).unwrap();
        assert!(sql[offset..].starts_with("postss"));
        let rewritten = ErrorPosition::Internal {
            position: 8,
            query: "SELECT nope()".to_owned(),
        };
        assert_eq!(error_offset(sql, 0..sql.len(), Some(&rewritten)), None);
    }

    #[test]
    fn errors_without_a_position_point_at_the_object_they_name() {
        let sql = "SELECT 1;
DROP INDEX IF EXISTS a, app.Posts_Idx;";
        let range = 10..sql.len();
        let offset = named_object(sql, range.clone(), "index \"posts_idx\" does not exist");
        assert_eq!(offset.map(|at| &sql[at..at + 9]), Some("Posts_Idx"));
        assert_eq!(
            named_object(sql, range.clone(), "index \"a\" does not exist"),
            Some(31)
        );
        assert_eq!(
            named_object(sql, range.clone(), "index \"idx\" does not exist"),
            None
        );
        assert_eq!(named_object(sql, range, "deadlock detected"), None);
    }

    #[test]
    fn throwaway_databases_are_stale_after_the_longest_check() {
        let name = database_name(1_000_000);
        assert!(name.starts_with("migrate_check_1000000_"), "{name}");
        assert!(name.len() + "_copy".len() <= 63);
        assert_ne!(name, database_name(1_000_000));
        let stale = STALE_AFTER.as_secs();
        assert!(!is_stale(&name, 1_000_000 + stale));
        assert!(is_stale(&name, 1_000_001 + stale));
        assert!(is_stale(&format!("{name}_copy"), 1_000_001 + stale));
        assert!(!is_stale("migrate_check_later", u64::MAX));
        assert!(!is_stale("app", u64::MAX));
        assert!(stale > DEADLINE.as_secs() + CLEANUP_TIMEOUT.as_secs());
    }

    #[test]
    fn the_session_keeps_the_url_and_adds_the_bounds() {
        let config = session_config(
            "postgresql://check:secret@db.internal:6543/ci?options=-c%20search_path%3Dapp",
        )
        .unwrap();
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert_eq!(
            config.get_options(),
            Some("-c search_path=app -c statement_timeout=60000")
        );
        let server = describe_server(&config);
        assert_eq!(server, "check@db.internal:6543/ci");
        let timeout = session_config("host=/run/pg user=ci connect_timeout=3").unwrap();
        assert_eq!(timeout.get_connect_timeout(), Some(&Duration::from_secs(3)));
        let tls = session_config("postgresql://check@db/ci?sslmode=require").unwrap_err();
        assert!(tls.contains("does not speak"), "{tls}");
        let invalid = session_config("postgresql://check@db:notaport/ci").unwrap_err();
        assert!(
            invalid.starts_with("MIGRATE_CHECK_POSTGRES_URL is not"),
            "{invalid}"
        );
    }
}
