//! The peers' half of the benchmark: refinery, sqlx, diesel_migrations and
//! rusqlite_migration, each in its default settings, on the same generated
//! migrations as migrate. Run by the `migrate-bench` driver, which reads the
//! `RESULT` line it prints:
//!
//! ```text
//! migrate-bench-peers <sqlite|postgres> <tool> <n> <applies> <boots> [<socket dir> <port> <user>]
//! ```

#[path = "../../common.rs"]
mod common;

use std::path::PathBuf;

use common::{PgServer, Protocol, Proxy, Result};
use diesel::Connection as _;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use sqlx::Connection as _;

mod refinery_100 {
    refinery::embed_migrations!("../generated/n100/refinery");
}
mod refinery_1000 {
    refinery::embed_migrations!("../generated/n1000/refinery");
}

static SQLX_100: sqlx::migrate::Migrator = sqlx::migrate!("../generated/n100/sqlx");
static SQLX_1000: sqlx::migrate::Migrator = sqlx::migrate!("../generated/n1000/sqlx");

const DIESEL_100: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../generated/n100/diesel");
const DIESEL_1000: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../generated/n1000/diesel");

static RUSQLITE_MIGRATION_100: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../generated/n100/rusqlite_migration");
static RUSQLITE_MIGRATION_1000: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../generated/n1000/rusqlite_migration");

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: migrate-bench-peers <sqlite|postgres> <tool> <n> <applies> <boots> [<socket dir> <port> <user>]";
    let [engine, tool, n, applies, boots, pg @ ..] = args.as_slice() else {
        return Err(usage.into());
    };
    let n: usize = n.parse()?;
    let applies: usize = applies.parse()?;
    let boots: usize = boots.parse()?;
    // Leaked: the measuring closures outlive `main`'s borrow checker view.
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    ));
    let outcome = match engine.as_str() {
        // The raw limit on this binary's SQLite, which is not migrate's.
        "sqlite" if tool == "raw" => {
            let generated = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated");
            common::raw_sqlite(&common::generated_sql(&generated, n)?).measure(applies, boots)?
        }
        "sqlite" => sqlite(tool, n, runtime)?.measure(applies, boots)?,
        "postgres" => {
            let [socket_dir, port, user] = pg else {
                return Err(usage.into());
            };
            let server = PgServer {
                socket_dir: PathBuf::from(socket_dir),
                port: port.parse()?,
                user: user.clone(),
            };
            let mut outcome = postgres(tool, n, runtime, &server, None)?.measure(applies, boots)?;
            let proxy = Proxy::start(server.socket())?;
            postgres(tool, n, runtime, &server, Some(&proxy))?.count_trips(&proxy, &mut outcome)?;
            outcome
        }
        _ => return Err(usage.into()),
    };
    println!("{}", outcome.to_line());
    Ok(())
}

/// A connection of whichever kind the tool takes.
enum Conn {
    Rusqlite(rusqlite::Connection),
    SqlxSqlite(sqlx::SqliteConnection),
    DieselSqlite(diesel::SqliteConnection),
    TokioPostgres(tokio_postgres::Client),
    SqlxPostgres(sqlx::PgConnection),
    DieselPostgres(diesel::PgConnection),
}

use common::SqliteTarget as Target;

fn sqlite(
    tool: &str,
    n: usize,
    runtime: &'static tokio::runtime::Runtime,
) -> Result<Protocol<Target, Conn>> {
    let tool = tool.to_owned();
    let connect_tool = tool.clone();
    let connect = move |(_, path): &Target| -> Result<Conn> {
        Ok(match connect_tool.as_str() {
            "sqlx" => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                Conn::SqlxSqlite(runtime.block_on(sqlx::SqliteConnection::connect_with(&options))?)
            }
            "diesel" => Conn::DieselSqlite(diesel::SqliteConnection::establish(
                path.to_str().ok_or("path is not UTF-8")?,
            )?),
            _ => Conn::Rusqlite(rusqlite::Connection::open(path)?),
        })
    };
    let call = move |conn: &mut Conn| -> Result<()> {
        match (tool.as_str(), conn) {
            ("refinery", Conn::Rusqlite(conn)) => {
                match n {
                    100 => refinery_100::migrations::runner().run(conn)?,
                    _ => refinery_1000::migrations::runner().run(conn)?,
                };
            }
            ("sqlx", Conn::SqlxSqlite(conn)) => {
                let migrator = if n == 100 { &SQLX_100 } else { &SQLX_1000 };
                runtime.block_on(migrator.run(conn))?;
            }
            ("diesel", Conn::DieselSqlite(conn)) => {
                let migrations = if n == 100 { DIESEL_100 } else { DIESEL_1000 };
                conn.run_pending_migrations(migrations)?;
            }
            ("rusqlite_migration", Conn::Rusqlite(conn)) => {
                // Loading the embedded directory is part of every boot.
                let dir = if n == 100 {
                    &RUSQLITE_MIGRATION_100
                } else {
                    &RUSQLITE_MIGRATION_1000
                };
                rusqlite_migration::Migrations::from_directory(dir)?.to_latest(conn)?;
            }
            (tool, _) => return Err(format!("unknown SQLite tool {tool}").into()),
        }
        Ok(())
    };
    Ok(Protocol {
        fresh: Box::new(common::fresh_sqlite_file),
        connect: Box::new(connect),
        call: Box::new(call),
        verify: Box::new(move |(_, path): &Target| common::verify_sqlite(path, n)),
        cleanup: Box::new(|_| Ok(())),
    })
}

fn postgres(
    tool: &str,
    n: usize,
    runtime: &'static tokio::runtime::Runtime,
    server: &PgServer,
    proxy: Option<&Proxy>,
) -> Result<Protocol<String, Conn>> {
    let tool = tool.to_owned();
    let connect_tool = tool.clone();
    let (fresh_server, connect_server, verify_server, cleanup_server) = (
        server.clone(),
        server.clone(),
        server.clone(),
        server.clone(),
    );
    let proxy_port = proxy.map(|p| p.port);
    let connect = move |database: &String| -> Result<Conn> {
        let url = match proxy_port {
            Some(port) => connect_server.proxy_url(port, database),
            None => connect_server.url(database),
        };
        Ok(match connect_tool.as_str() {
            "sqlx" => Conn::SqlxPostgres(runtime.block_on(sqlx::PgConnection::connect(&url))?),
            "diesel" => Conn::DieselPostgres(diesel::PgConnection::establish(&url)?),
            _ => {
                let config: tokio_postgres::Config = url.parse()?;
                Conn::TokioPostgres(runtime.block_on(connect_server.connect(&config))?)
            }
        })
    };
    let call = move |conn: &mut Conn| -> Result<()> {
        match (tool.as_str(), conn) {
            ("refinery", Conn::TokioPostgres(client)) => {
                runtime.block_on(async {
                    match n {
                        100 => refinery_100::migrations::runner().run_async(client).await,
                        _ => refinery_1000::migrations::runner().run_async(client).await,
                    }
                })?;
            }
            ("sqlx", Conn::SqlxPostgres(conn)) => {
                let migrator = if n == 100 { &SQLX_100 } else { &SQLX_1000 };
                runtime.block_on(migrator.run(conn))?;
            }
            ("diesel", Conn::DieselPostgres(conn)) => {
                let migrations = if n == 100 { DIESEL_100 } else { DIESEL_1000 };
                conn.run_pending_migrations(migrations)?;
            }
            (tool, _) => return Err(format!("unknown PostgreSQL tool {tool}").into()),
        }
        Ok(())
    };
    Ok(Protocol {
        fresh: Box::new(move || runtime.block_on(fresh_server.create_database("peer"))),
        connect: Box::new(connect),
        call: Box::new(call),
        verify: Box::new(move |database: &String| {
            runtime.block_on(verify_server.verify(database, n))
        }),
        cleanup: Box::new(move |database: String| {
            runtime.block_on(cleanup_server.drop_database(&database))
        }),
    })
}
