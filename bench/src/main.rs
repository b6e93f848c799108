//! The benchmark of migrate against refinery, sqlx `migrate!`,
//! diesel_migrations, rusqlite_migration and the raw limit.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml [-- --no-sqlite] [--no-postgres] [--no-rebuild] [--sizes 100,1000]
//! cargo run --release --manifest-path bench/Cargo.toml -- --fleet [--files N] [--schemas N] [--rounds N]
//! ```
//!
//! This binary measures migrate and the raw limit itself, builds and runs
//! `peers/` for the peers (see README.md for why they are two binaries),
//! times the incremental rebuilds (`rebuild.rs`), and prints a Markdown table.

#[path = "../common.rs"]
mod common;
mod dryrun;
mod fleet;
mod postgres;
mod rebuild;
mod table;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{APPLIES, BOOTS, Outcome, Protocol, Result};
use migrate_core::{Migrations, TransactionMode};

use crate::table::{Engine, Results};

static MIGRATE_100: Migrations = migrate_core::embed_migrations!("generated/n100/migrate");
static MIGRATE_1000: Migrations = migrate_core::embed_migrations!("generated/n1000/migrate");

/// The peers, in the order of the table's columns.
pub const PEERS: [&str; 4] = ["refinery", "sqlx", "diesel", "rusqlite_migration"];

struct Options {
    sizes: Vec<usize>,
    sqlite: bool,
    postgres: bool,
    rebuild: bool,
    /// The build-time SQLite dry run against SQLite's own apply.
    dry_run: bool,
    /// Only the dry run, which needs neither the peers nor a server.
    dry_run_only: bool,
    rebuild_tools: Vec<String>,
    /// Only the PostgreSQL start-up query diagnostic.
    pg_boot_queries: bool,
    /// Restricts the runtime measures to these tools (for profiling).
    tools: Option<Vec<String>>,
    applies: usize,
    boots: usize,
    /// Only the fleet's throughput (`fleet.rs`).
    fleet: bool,
    fleet_options: fleet::Options,
}

fn options() -> Result<Options> {
    let mut options = Options {
        sizes: common_sizes(),
        sqlite: true,
        postgres: true,
        rebuild: true,
        dry_run: true,
        dry_run_only: false,
        rebuild_tools: rebuild::TOOLS.map(String::from).to_vec(),
        tools: None,
        pg_boot_queries: false,
        applies: APPLIES,
        boots: BOOTS,
        fleet: false,
        fleet_options: fleet::Options::default(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-sqlite" => options.sqlite = false,
            "--no-postgres" => options.postgres = false,
            "--no-rebuild" => options.rebuild = false,
            "--no-dry-run" => options.dry_run = false,
            "--dry-run-only" => options.dry_run_only = true,
            "--pg-boot-queries" => options.pg_boot_queries = true,
            "--sizes" => {
                let list = args.next().ok_or("--sizes needs a list, as in 100,1000")?;
                options.sizes = list.split(',').map(str::parse).collect::<Result<_, _>>()?;
                if let Some(n) = options.sizes.iter().find(|n| ![100, 1000].contains(*n)) {
                    return Err(format!("size {n} is not generated; sizes are 100 and 1000").into());
                }
            }
            "--rebuild-tools" => {
                let list = args
                    .next()
                    .ok_or("--rebuild-tools needs a list, as in sqlx,migrate")?;
                options.rebuild_tools = list.split(',').map(String::from).collect();
            }
            "--tools" => {
                let list = args
                    .next()
                    .ok_or("--tools needs a list, as in raw,migrate")?;
                options.tools = Some(list.split(',').map(String::from).collect());
            }
            "--applies" => options.applies = args.next().ok_or("--applies N")?.parse()?,
            "--boots" => options.boots = args.next().ok_or("--boots N")?.parse()?,
            "--fleet" => options.fleet = true,
            "--files" => options.fleet_options.files = args.next().ok_or("--files N")?.parse()?,
            "--schemas" => {
                options.fleet_options.schemas = args.next().ok_or("--schemas N")?.parse()?;
            }
            "--rounds" => {
                options.fleet_options.rounds = args.next().ok_or("--rounds N")?.parse()?
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; expected --no-sqlite, --no-postgres, --no-rebuild, --no-dry-run, --dry-run-only, --rebuild-tools LIST, --tools LIST, --pg-boot-queries, --sizes 100,1000, --applies N, --boots N, --fleet [--files N --schemas N --rounds N]"
                )
                .into());
            }
        }
    }
    Ok(options)
}

impl Options {
    /// Whether `tool` is measured in this run.
    fn wants(&self, tool: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|tools| tools.iter().any(|t| t == tool))
    }
}

fn common_sizes() -> Vec<usize> {
    vec![100, 1000]
}

fn main() -> Result<()> {
    let options = options()?;
    if options.pg_boot_queries {
        for &n in &options.sizes {
            println!("{}", postgres::boot_queries(n, options.boots)?);
        }
        return Ok(());
    }
    let bench_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if options.dry_run_only {
        println!("{}", dryrun::run(bench_dir, &options.sizes)?);
        return Ok(());
    }
    let target_dir = target_dir()?;
    if options.fleet {
        println!(
            "{}",
            fleet::run(bench_dir, &target_dir, &options.fleet_options)?
        );
        return Ok(());
    }
    // The peers take minutes to compile: only when one of them is measured.
    let wants_peers = std::iter::once("raw-peers")
        .chain(PEERS)
        .any(|tool| options.wants(tool));
    let peers = match wants_peers {
        true => build_peers(bench_dir, &target_dir)?,
        false => PathBuf::from("the peers' binary, not built since no peer is measured"),
    };
    let mut results = Results::default();
    eprintln!(
        "SQLite {} (bundled with rusqlite), {} applies and {} boots per measure",
        rusqlite::version(),
        options.applies,
        options.boots
    );

    let sqlite_sizes = if options.sqlite {
        &options.sizes[..]
    } else {
        &[]
    };
    for &n in sqlite_sizes {
        let sql = common::generated_sql(&bench_dir.join("generated"), n)?;
        let record = |results: &mut Results, engine, tool: &str, outcome: Outcome| {
            eprintln!(
                "{engine:?} n={n} {tool}: apply {:?}, boot {:?}{}",
                outcome.apply_median(),
                outcome.boot_median(),
                outcome
                    .apply_trips
                    .map(|t| format!(", {t} + {} round trips", outcome.boot_trips.unwrap_or(0)))
                    .unwrap_or_default()
            );
            results.insert(engine, tool, n, outcome);
        };
        let wanted = |tool: &str| options.wants(tool);
        // The limit and migrate are measured in turn, so that their ratio
        // does not move with the machine's load (see `measure_in_turn`).
        let mut in_turn = Vec::new();
        if wanted("raw") {
            in_turn.push(("raw", common::raw_sqlite(&sql)));
        }
        if wanted("migrate") {
            in_turn.push(("migrate", migrate_sqlite(n, TransactionMode::Single)));
        }
        let mut protocols: Vec<_> = in_turn.iter_mut().map(|(_, protocol)| protocol).collect();
        let outcomes = common::measure_in_turn(&mut protocols, options.applies, options.boots)?;
        for ((tool, _), outcome) in in_turn.iter().zip(outcomes) {
            record(&mut results, Engine::Sqlite, tool, outcome);
        }
        if wanted("migrate-per-migration") {
            let ours = migrate_sqlite(n, TransactionMode::PerMigration)
                .measure(options.applies, options.boots)?;
            record(&mut results, Engine::Sqlite, "migrate-per-migration", ours);
        }
        for tool in std::iter::once("raw-peers").chain(PEERS) {
            if !wanted(tool) {
                continue;
            }
            let peer_tool = if tool == "raw-peers" { "raw" } else { tool };
            let outcome = run_peer(
                &peers,
                &["sqlite", peer_tool],
                n,
                options.applies,
                options.boots,
            )?;
            record(&mut results, Engine::Sqlite, tool, outcome);
        }
    }

    if options.postgres {
        postgres::run(
            &options.sizes,
            options.applies,
            options.boots,
            &|tool| options.wants(tool),
            &peers,
            &mut results,
        )?;
    }

    if options.rebuild {
        match rebuild::run(bench_dir, &target_dir, &options.rebuild_tools) {
            Ok(rebuilds) => results.rebuilds = rebuilds,
            Err(error) => eprintln!("rebuild measurement failed: {error}"),
        }
    }

    println!("{}", table::render(&results, &options.sizes));
    if options.dry_run {
        println!("{}", dryrun::run(bench_dir, &options.sizes)?);
    }
    Ok(())
}

/// The target directory this binary was built in: the peers and the rebuild
/// fixtures are built there too (or beside it).
fn target_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    // target/release/migrate-bench
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?
        .to_path_buf())
}

/// Builds the peers' binary (in release, like this one) and returns its path.
fn build_peers(bench_dir: &Path, target_dir: &Path) -> Result<PathBuf> {
    eprintln!("building the peers' binary…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(bench_dir.join("peers/Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status()?;
    if !status.success() {
        return Err("building bench/peers failed".into());
    }
    Ok(target_dir.join("release/migrate-bench-peers"))
}

/// Runs one peer measurement in the peers' binary and reads its result.
/// `what` is the engine and the tool, then for PostgreSQL the server.
pub fn run_peer(
    peers: &Path,
    what: &[&str],
    n: usize,
    applies: usize,
    boots: usize,
) -> Result<Outcome> {
    let output = Command::new(peers)
        .args(&what[..2])
        .arg(n.to_string())
        .arg(applies.to_string())
        .arg(boots.to_string())
        .args(&what[2..])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{} {what:?} n={n} failed: {}{}",
            peers.display(),
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    stdout
        .lines()
        .find_map(Outcome::from_line)
        .ok_or_else(|| format!("no RESULT line from the peers' binary: {stdout}").into())
}

use common::SqliteTarget;

/// migrate on SQLite: `run` in its default settings, or with one transaction
/// per migration.
fn migrate_sqlite(n: usize, mode: TransactionMode) -> Protocol<SqliteTarget, rusqlite::Connection> {
    let migrations = migrations(n);
    Protocol {
        fresh: Box::new(common::fresh_sqlite_file),
        connect: Box::new(|(_, path): &SqliteTarget| Ok(rusqlite::Connection::open(path)?)),
        call: Box::new(move |conn: &mut rusqlite::Connection| {
            migrations.runner().transaction_mode(mode).run(conn)?;
            Ok(())
        }),
        verify: Box::new(move |(_, path): &SqliteTarget| common::verify_sqlite(path, n)),
        cleanup: Box::new(|_| Ok(())),
    }
}

pub fn migrations(n: usize) -> &'static Migrations {
    if n == 100 {
        &MIGRATE_100
    } else {
        &MIGRATE_1000
    }
}
