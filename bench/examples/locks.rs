//! The lock strategies' costs, and the issue's measurement through PgBouncer.
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml --example locks -- [--costs] [--pgbouncer] [--runs N] [--trials N]
//! ```
//!
//! - `--costs`: for each strategy, on a direct connection to the tests'
//!   throwaway server, the first deploy of 20 migrations, a deploy of one
//!   more, and an up-to-date boot: the median time of each call over
//!   `--runs` fresh databases (25 by default; the boot 5 times each), the
//!   strategies taking turns, and its round trips counted
//!   by the benchmark's counting proxy.
//! - `--pgbouncer`: the measurement of issue 13, 16 replicas starting
//!   together through PgBouncer in transaction pooling mode with Debian's
//!   defaults (migrate-testkit's), `--trials` times (3 by default), for each
//!   strategy: how many replicas failed and why, whether each migration ran
//!   exactly once, and the advisory locks and leases left behind.
//!
//! Built with `--cfg migrate_before_lock_strategies` against a checkout of
//! the commit before the lock strategies (with this file and the testkit of
//! this one copied in), it measures that version's default alone.

// Set by hand for the build against the commit before the lock strategies.
#![allow(unexpected_cfgs)]

#[path = "../common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{BoxError, PgServer, Proxy, Result, median};
use migrate_core::{Migrations, Runner};
use migrate_testkit::{Pooling, TestDb};
use tokio_postgres::Client;

const REPLICAS: usize = 16;
const MIGRATIONS: usize = 20;

#[cfg(not(migrate_before_lock_strategies))]
const STRATEGIES: [&str; 4] = ["default", "session", "transaction", "table"];
#[cfg(migrate_before_lock_strategies)]
const STRATEGIES: [&str; 1] = ["default"];

#[cfg(not(migrate_before_lock_strategies))]
fn configure<'a>(runner: Runner<'a>, strategy: &str) -> Runner<'a> {
    use migrate_core::LockStrategy;
    match strategy {
        "session" => runner.lock_strategy(LockStrategy::Session),
        "transaction" => runner.lock_strategy(LockStrategy::Transaction),
        "table" => runner.lock_strategy(LockStrategy::Table),
        _ => runner,
    }
}

#[cfg(migrate_before_lock_strategies)]
fn configure<'a>(runner: Runner<'a>, _: &str) -> Runner<'a> {
    runner
}

/// Migration `i` of the issue's measurement: a table each, and a row that
/// counts how many times it ran.
fn sql(i: usize) -> String {
    let log = match i {
        1 => "CREATE TABLE applied_log (version int NOT NULL);\n",
        _ => "",
    };
    format!(
        "{log}CREATE TABLE t{i} (id int PRIMARY KEY, name text NOT NULL);\nINSERT INTO applied_log VALUES ({i});\n"
    )
}

/// A folder of the first `n` migrations, read at run time.
fn folder(n: usize) -> Result<(tempfile::TempDir, &'static Migrations)> {
    let dir = tempfile::tempdir()?;
    for i in 1..=n {
        std::fs::write(dir.path().join(format!("{i:04}_create_t{i}.sql")), sql(i))?;
    }
    let migrations = Migrations::from_folder(dir.path())?;
    Ok((dir, Box::leak(Box::new(migrations))))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str, default: usize| -> Result<usize> {
        match args.iter().position(|a| a == name) {
            Some(i) => Ok(args.get(i + 1).ok_or("a number")?.parse()?),
            None => Ok(default),
        }
    };
    let (runs, trials) = (value("--runs", 25)?, value("--trials", 3)?);
    let all = !args.iter().any(|a| a == "--costs" || a == "--pgbouncer");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if all || args.iter().any(|a| a == "--costs") {
            costs(runs).await?;
        }
        if all || args.iter().any(|a| a == "--pgbouncer") {
            pgbouncer(trials).await?;
        }
        Ok::<_, BoxError>(())
    })
}

// --- Costs ---

/// One strategy's three calls: round trips, and the times of every run.
#[derive(Debug, Default)]
struct Cost {
    trips: [u64; 3],
    times: [Vec<Duration>; 3],
}

async fn costs(runs: usize) -> Result<()> {
    let (_twenty, twenty) = folder(MIGRATIONS)?;
    let (_more, more) = folder(MIGRATIONS + 1)?;
    let mut costs: Vec<Cost> = STRATEGIES.iter().map(|_| Cost::default()).collect();
    // Round trips, once per strategy, through the counting proxy.
    for (strategy, cost) in STRATEGIES.iter().zip(&mut costs) {
        let db = TestDb::create().await?;
        let server = server_of(&db);
        let proxy = Proxy::start(server.socket())?;
        let mut client = server
            .connect(&server.proxy_url(proxy.port, db.name()).parse()?)
            .await?;
        for (index, migrations) in [twenty, more, more].into_iter().enumerate() {
            proxy.reset();
            configure(migrations.runner(), strategy)
                .run_async(&mut client)
                .await?;
            cost.trips[index] = proxy.turns();
        }
    }
    // Times, on direct connections, the strategies taking turns so that the
    // machine's load falls on each alike; each run's boot is timed 5 times.
    for run in 0..runs {
        for (strategy, cost) in STRATEGIES.iter().zip(&mut costs) {
            let db = TestDb::create().await?;
            let mut client = db.connect().await?;
            for (index, migrations) in [twenty, more, more, more, more, more, more]
                .into_iter()
                .enumerate()
            {
                let runner = configure(migrations.runner(), strategy);
                let started = Instant::now();
                runner.run_async(&mut client).await?;
                cost.times[index.min(2)].push(started.elapsed());
            }
        }
        eprintln!("run {} of {runs}", run + 1);
    }
    println!(
        "\n| strategy | first deploy ({MIGRATIONS} migrations) | one more migration | up-to-date boot |"
    );
    println!("|---|---:|---:|---:|");
    for (strategy, cost) in STRATEGIES.iter().zip(&costs) {
        let cell = |i: usize| {
            format!(
                "{} round trips, {:.2} ms",
                cost.trips[i],
                median(&cost.times[i]).as_secs_f64() * 1000.0
            )
        };
        println!("| {strategy} | {} | {} | {} |", cell(0), cell(1), cell(2));
    }
    Ok(())
}

fn server_of(db: &TestDb) -> PgServer {
    PgServer {
        socket_dir: db.socket_dir().to_path_buf(),
        port: migrate_testkit::PORT,
        user: "postgres".to_owned(),
    }
}

// --- The issue's measurement through PgBouncer ---

/// What one trial of 16 replicas left.
#[derive(Debug)]
struct Trial {
    failed: usize,
    errors: BTreeMap<String, usize>,
    ran_twice: usize,
    missing: usize,
    advisory_locks: i64,
    live_leases: i64,
}

async fn pgbouncer(trials: usize) -> Result<()> {
    let (_twenty, twenty) = folder(MIGRATIONS)?;
    println!(
        "\n{REPLICAS} replicas, {MIGRATIONS} migrations, through PgBouncer in transaction pooling mode ({}):\n",
        pgbouncer_version()
    );
    println!(
        "| strategy | trial | replicas failed | errors | migrations run twice / never | advisory locks left | leases left |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|");
    for strategy in STRATEGIES {
        for trial in 1..=trials {
            let result = replicas(twenty, strategy).await?;
            let errors = result
                .errors
                .iter()
                .map(|(error, count)| format!("{count} × {error}"))
                .collect::<Vec<_>>()
                .join("; ");
            println!(
                "| {strategy} | {trial} | {} | {} | {} / {} | {} | {} |",
                result.failed,
                if errors.is_empty() { "none" } else { &errors },
                result.ran_twice,
                result.missing,
                result.advisory_locks,
                result.live_leases
            );
        }
    }
    Ok(())
}

async fn replicas(migrations: &'static Migrations, strategy: &'static str) -> Result<Trial> {
    let db = TestDb::create().await?;
    let mut clients = Vec::with_capacity(REPLICAS);
    for _ in 0..REPLICAS {
        clients.push(db.connect_pooled(Pooling::Transaction).await?);
    }
    // Every connection is open: the tasks start together at the first await.
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let runner = configure(migrations.runner(), strategy);
                runner
                    .run_async(&mut client)
                    .await
                    .map_err(|error| chain(&error))
            })
        })
        .collect();
    let mut errors = BTreeMap::new();
    let mut failed = 0;
    for task in tasks {
        if let Err(error) = tokio::time::timeout(Duration::from_secs(120), task).await?? {
            failed += 1;
            *errors.entry(error).or_insert(0) += 1;
        }
    }
    let direct = db.connect().await?;
    let counts = applied_log(&direct).await?;
    let ran_twice = counts.values().filter(|count| **count > 1).count();
    let missing = MIGRATIONS - counts.len();
    Ok(Trial {
        failed,
        errors,
        ran_twice,
        missing,
        advisory_locks: advisory_locks(&direct).await?,
        live_leases: live_leases(&direct).await?,
    })
}

/// The error and its causes, shortened to what tells errors apart.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    // Backend pids, times and table numbers differ from one replica to the
    // next; the first line says what happened.
    let line = text.lines().next().unwrap_or_default();
    let text: String = line
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    text.chars().take(160).collect()
}

async fn applied_log(client: &Client) -> Result<BTreeMap<i32, i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('applied_log') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(BTreeMap::new());
    }
    let rows = client
        .query(
            "SELECT version, count(*) FROM applied_log GROUP BY version",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

async fn advisory_locks(client: &Client) -> Result<i64> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await?
        .get(0))
}

async fn live_leases(client: &Client) -> Result<i64> {
    let exists: bool = client
        .query_one("SELECT to_regclass('_migrations_lock') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT count(*) FROM _migrations_lock WHERE expires_at > clock_timestamp()",
            &[],
        )
        .await?
        .get(0))
}

fn pgbouncer_version() -> String {
    let program = ["/usr/sbin/pgbouncer", "pgbouncer"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("pgbouncer");
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "PgBouncer".to_owned())
}
