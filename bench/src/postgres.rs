//! The PostgreSQL half: the testkit's throwaway server, the raw limit,
//! migrate, and the peers through their binary.

use std::path::Path;

use migrate_core::tokio_postgres::{self, Client, config::Host};
use tokio::runtime::Runtime;

use crate::common::{Outcome, PgServer, Protocol, Proxy, Result};
use crate::table::{Engine, Results};

pub fn run(
    sizes: &[usize],
    applies: usize,
    boots: usize,
    wanted: &dyn Fn(&str) -> bool,
    peers: &Path,
    results: &mut Results,
) -> Result<()> {
    // Leaked: the measuring closures borrow it for the rest of the process.
    let runtime: &'static Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    ));
    // The first database starts the server, as in the tests; it lives until
    // this process ends.
    let first = runtime.block_on(migrate_testkit::TestDb::create())?;
    let server = server_of(first.config())?;
    let version = runtime.block_on(async {
        let client = server.connect(&server.config("postgres")).await?;
        let row = client.query_one("SHOW server_version", &[]).await?;
        Result::<String>::Ok(row.get(0))
    })?;
    eprintln!(
        "PostgreSQL {version} (migrate-testkit's server, unix socket {})",
        server.socket_dir.display()
    );
    let proxy = Proxy::start(server.socket())?;
    let socket_dir = server.socket_dir.to_string_lossy().into_owned();
    let port = server.port.to_string();

    for &n in sizes {
        let sql = crate::common::generated_sql(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("generated"),
            n,
        )?;
        // The limit and migrate are measured in turn, so that their ratio
        // does not move with the machine's load (see `measure_in_turn`);
        // then each is measured once more through the counting proxy.
        let make = |tool: &str, proxy: Option<u16>| match tool {
            "raw" => raw(runtime, &server, proxy, &sql),
            _ => ours(runtime, &server, proxy, n),
        };
        let tools: Vec<&str> = ["raw", "migrate"]
            .into_iter()
            .filter(|tool| wanted(tool))
            .collect();
        let mut in_turn: Vec<Protocol<String, Client>> =
            tools.iter().map(|tool| make(tool, None)).collect();
        let mut protocols: Vec<_> = in_turn.iter_mut().collect();
        let outcomes = crate::common::measure_in_turn(&mut protocols, applies, boots)?;
        for (tool, mut outcome) in tools.into_iter().zip(outcomes) {
            make(tool, Some(proxy.port)).count_trips(&proxy, &mut outcome)?;
            report(n, tool, &outcome);
            results.insert(Engine::Postgres, tool, n, outcome);
        }
        for tool in ["refinery", "sqlx", "diesel"] {
            if !wanted(tool) {
                continue;
            }
            let what = ["postgres", tool, &socket_dir, &port, &server.user];
            let outcome = crate::run_peer(peers, &what, n, applies, boots)?;
            report(n, tool, &outcome);
            results.insert(Engine::Postgres, tool, n, outcome);
        }
    }
    Ok(())
}

fn report(n: usize, tool: &str, outcome: &Outcome) {
    eprintln!(
        "Postgres n={n} {tool}: apply {:?}, boot {:?}, round trips {:?} + {:?}",
        outcome.apply_median(),
        outcome.boot_median(),
        outcome.apply_trips,
        outcome.boot_trips
    );
}

/// The socket directory, port and user of the testkit's server.
fn server_of(config: &tokio_postgres::Config) -> Result<PgServer> {
    let socket_dir = config
        .get_hosts()
        .iter()
        .find_map(|host| match host {
            Host::Unix(path) => Some(path.clone()),
            Host::Tcp(_) => None,
        })
        .ok_or("the testkit's server has no unix socket")?;
    Ok(PgServer {
        socket_dir,
        port: config.get_ports().first().copied().unwrap_or(5432),
        user: config.get_user().unwrap_or("postgres").to_owned(),
    })
}

/// Fresh databases, connections (directly, or through the proxy when
/// counting round trips), the schema check and the cleanup, for a `call`.
fn protocol(
    runtime: &'static Runtime,
    server: &PgServer,
    proxy: Option<u16>,
    n: usize,
    call: impl FnMut(&mut Client) -> Result<()> + 'static,
) -> Protocol<String, Client> {
    let (fresh, connect, verify, cleanup) = (
        server.clone(),
        server.clone(),
        server.clone(),
        server.clone(),
    );
    Protocol {
        fresh: Box::new(move || runtime.block_on(fresh.create_database("bench"))),
        connect: Box::new(move |database: &String| {
            let config = match proxy {
                Some(port) => connect.proxy_url(port, database).parse()?,
                None => connect.config(database),
            };
            runtime.block_on(connect.connect(&config))
        }),
        call: Box::new(call),
        verify: Box::new(move |database: &String| runtime.block_on(verify.verify(database, n))),
        cleanup: Box::new(move |database: String| {
            runtime.block_on(cleanup.drop_database(&database))
        }),
    }
}

/// The limit on PostgreSQL: all the SQL in one transaction with one
/// `batch_execute` (one round trip); at boot, one row in one query.
///
/// The call first tries the boot query: on a fresh database it fails, and
/// the batch follows, so an apply is two round trips in all.
fn raw(
    runtime: &'static Runtime,
    server: &PgServer,
    proxy: Option<u16>,
    sql: &[String],
) -> Protocol<String, Client> {
    let n = sql.len();
    let mut batch = String::from("BEGIN;\n");
    for migration in sql {
        batch.push_str(migration);
    }
    batch.push_str(&format!(
        "CREATE TABLE raw_state (version bigint NOT NULL);\nINSERT INTO raw_state VALUES ({n});\nCOMMIT;\n"
    ));
    protocol(runtime, server, proxy, n, move |client: &mut Client| {
        runtime.block_on(async {
            if client
                .simple_query("SELECT version FROM raw_state")
                .await
                .is_err()
            {
                client.batch_execute(&batch).await?;
            }
            Ok(())
        })
    })
}

/// migrate in its default settings.
fn ours(
    runtime: &'static Runtime,
    server: &PgServer,
    proxy: Option<u16>,
    n: usize,
) -> Protocol<String, Client> {
    let migrations = crate::migrations(n);
    protocol(runtime, server, proxy, n, move |client: &mut Client| {
        runtime.block_on(migrations.run_async(client))?;
        Ok(())
    })
}

/// Diagnostic for the PostgreSQL boot (`--pg-boot-queries`): after migrate
/// applied `n` migrations, what its start-up query and the alternatives cost
/// on a new session, each timed alone (one round trip, rows received as
/// text).
pub fn boot_queries(n: usize, boots: usize) -> Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let first = runtime.block_on(migrate_testkit::TestDb::create())?;
    let server = server_of(first.config())?;
    runtime.block_on(async {
        let database = server.create_database("diag").await?;
        let config = server.config(&database);
        let mut client = server.connect(&config).await?;
        let migrations = crate::migrations(n);
        migrations.run_async(&mut client).await?;
        client
            .batch_execute(
                "CREATE TABLE raw_state (version bigint NOT NULL); INSERT INTO raw_state VALUES (1);",
            )
            .await?;
        let queries = [
            (
                "migrate's start-up read, up to date: the fingerprint, the oid it was written for, the history's oid now",
                "SELECT fingerprint, history, '\"_migrations\"'::regclass::oid FROM \"_migrations_state\"",
            ),
            (
                "the fingerprint, if the history table exists",
                "SELECT fingerprint FROM \"_migrations_state\" WHERE '\"_migrations\"'::regclass IS NOT NULL",
            ),
            (
                "the fingerprint, the table it was written for and the history table, as `regclass` text",
                "SELECT fingerprint, history::regclass, '\"_migrations\"'::regclass FROM \"_migrations_state\"",
            ),
            (
                "the fingerprint alone",
                "SELECT fingerprint FROM \"_migrations_state\"",
            ),
            (
                "the fingerprint, the oids compared by the server",
                "SELECT fingerprint FROM \"_migrations_state\" WHERE history = '\"_migrations\"'::regclass::oid",
            ),
            (
                "the fingerprint, and the history table opened",
                "SELECT fingerprint FROM \"_migrations_state\" WHERE EXISTS (SELECT FROM \"_migrations\" WHERE false)",
            ),
            (
                "the raw limit's read, `SELECT version FROM raw_state`",
                "SELECT version FROM raw_state",
            ),
            (
                "the whole history, as `status` reads it",
                "SELECT version, description, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), finished, statements_done FROM \"_migrations\" ORDER BY version",
            ),
            (
                "the history without `applied_at`, as a stale fingerprint makes the start-up read it",
                "SELECT version, description, checksum, finished, statements_done FROM \"_migrations\"",
            ),
            (
                "one aggregate row over the history",
                "SELECT count(*), bool_and(finished), md5(string_agg(version::text || ':' || checksum, ',' ORDER BY version)) FROM \"_migrations\"",
            ),
            ("`SELECT 1` (a session's first query)", "SELECT 1"),
        ];
        let mut out = format!(
            "PostgreSQL start-up queries with {n} migrations applied, median of {boots} new sessions:\n\n\
             | query | time | rows |\n|---|---:|---:|\n"
        );
        // Interleaved, so that a noisy neighbour slows every query alike.
        let mut times = vec![Vec::new(); queries.len()];
        let mut rows = vec![0; queries.len()];
        for _ in 0..boots {
            for (index, (_, sql)) in queries.iter().enumerate() {
                let session = server.connect(&config).await?;
                let started = std::time::Instant::now();
                let messages = session.simple_query(sql).await?;
                times[index].push(started.elapsed());
                rows[index] = messages
                    .iter()
                    .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
                    .count();
            }
        }
        for (index, (label, _)) in queries.iter().enumerate() {
            out.push_str(&format!(
                "| {label} | {} | {} |\n",
                crate::table::duration(crate::common::median(&times[index])),
                rows[index]
            ));
        }
        drop(client);
        server.drop_database(&database).await?;
        Ok(out)
    })
}
