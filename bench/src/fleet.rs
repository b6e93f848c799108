//! Fleet throughput: databases migrated per second by `migrate up --fleet`
//! at parallelism 1, 4 and 8, against a loop that runs `migrate up` once per
//! database, a process each, as a deploy script would.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- --fleet [--files N] [--schemas N] [--rounds N]
//! ```
//!
//! Both sides run the same `migrate` binary (built here, in release) on the
//! same folder, read at run time: the first `MIGRATIONS` migrations of the
//! generated set. Each measure starts from fresh members (empty SQLite files
//! on the disk, or new schemas in a new database of the testkit's server),
//! times the apply, then times a second run that finds every member at head;
//! after the apply every member is checked to hold all the tables.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use migrate_testkit::TestDb;
use tokio::runtime::Runtime;

use crate::common::{Result, median};

/// How many of the generated migrations each member gets.
pub const MIGRATIONS: usize = 10;
/// The parallelism of the fleet measured.
const PARALLEL: [usize; 3] = [1, 4, 8];

pub struct Options {
    pub files: usize,
    pub schemas: usize,
    pub rounds: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            files: 200,
            schemas: 100,
            rounds: 3,
        }
    }
}

/// How the members are migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// `migrate up --database-url …`, a process per member, one at a time.
    Loop,
    /// `migrate up --fleet FILE --parallel N`.
    Fleet(usize),
}

impl Way {
    fn all() -> Vec<Way> {
        std::iter::once(Way::Loop)
            .chain(PARALLEL.map(Way::Fleet))
            .collect()
    }

    fn heading(self) -> String {
        match self {
            Way::Loop => "loop of `migrate up`".to_owned(),
            Way::Fleet(n) => format!("`--fleet --parallel {n}`"),
        }
    }
}

/// The medians of one engine: for each way, the apply and the run at head.
struct Row {
    engine: &'static str,
    members: usize,
    apply: Vec<Duration>,
    at_head: Vec<Duration>,
}

pub fn run(bench_dir: &Path, target_dir: &Path, options: &Options) -> Result<String> {
    let migrate = build_cli(bench_dir, target_dir)?;
    let folder = migrations_folder(bench_dir)?;
    eprintln!(
        "fleet: {} SQLite files, {} PostgreSQL schemas, {MIGRATIONS} migrations each, {} rounds",
        options.files, options.schemas, options.rounds
    );
    let sqlite = measure(options.rounds, "SQLite files", options.files, |way| {
        sqlite_round(&migrate, folder.path(), options.files, way)
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let postgres = measure(
        options.rounds,
        "PostgreSQL schemas",
        options.schemas,
        |way| postgres_round(&runtime, &migrate, folder.path(), options.schemas, way),
    )?;
    Ok(table(&[sqlite, postgres]))
}

/// Builds the `migrate` binary in release, with its default features.
fn build_cli(bench_dir: &Path, target_dir: &Path) -> Result<PathBuf> {
    eprintln!("building the migrate binary…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "migrate-cli",
            "--bin",
            "migrate",
        ])
        .arg("--manifest-path")
        .arg(bench_dir.join("../Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status()?;
    if !status.success() {
        return Err("building the migrate binary failed".into());
    }
    Ok(target_dir.join("release/migrate"))
}

/// A folder with the first `MIGRATIONS` generated migrations.
fn migrations_folder(bench_dir: &Path) -> Result<tempfile::TempDir> {
    let source = bench_dir.join("generated/n100/migrate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&source)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let folder = tempfile::Builder::new()
        .prefix("migrate-bench-fleet-")
        .tempdir()?;
    for file in files.iter().take(MIGRATIONS) {
        let name = file.file_name().ok_or("a migration without a name")?;
        std::fs::copy(file, folder.path().join(name))?;
    }
    Ok(folder)
}

/// Runs `round` for every way, `rounds` times, and keeps the medians.
fn measure(
    rounds: usize,
    engine: &'static str,
    members: usize,
    mut round: impl FnMut(Way) -> Result<(Duration, Duration)>,
) -> Result<Row> {
    let ways = Way::all();
    let mut apply = vec![Vec::new(); ways.len()];
    let mut at_head = vec![Vec::new(); ways.len()];
    for _ in 0..rounds {
        for (index, way) in ways.iter().enumerate() {
            let (applied, again) = round(*way)?;
            eprintln!("fleet: {engine}, {way:?}: apply {applied:.2?}, at head {again:.2?}");
            apply[index].push(applied);
            at_head[index].push(again);
        }
    }
    Ok(Row {
        engine,
        members,
        apply: apply.iter().map(|samples| median(samples)).collect(),
        at_head: at_head.iter().map(|samples| median(samples)).collect(),
    })
}

/// Fresh SQLite files: the apply, then the run at head.
fn sqlite_round(
    migrate: &Path,
    folder: &Path,
    files: usize,
    way: Way,
) -> Result<(Duration, Duration)> {
    // On the disk, as the other SQLite measures: see README.md.
    let dir = tempfile::Builder::new()
        .prefix("migrate-bench-fleet-")
        .tempdir()?;
    let mut urls = Vec::with_capacity(files);
    for n in 0..files {
        let path = dir.path().join(format!("tenant{n:04}.db"));
        std::fs::File::create(&path)?;
        urls.push(format!("sqlite:{}", path.display()));
    }
    let applied = time(migrate, folder, &urls, way, dir.path())?;
    for n in 0..files {
        crate::common::verify_sqlite(&dir.path().join(format!("tenant{n:04}.db")), MIGRATIONS)?;
    }
    let again = time(migrate, folder, &urls, way, dir.path())?;
    Ok((applied, again))
}

/// Fresh schemas in a new database: the apply, then the run at head.
fn postgres_round(
    runtime: &Runtime,
    migrate: &Path,
    folder: &Path,
    schemas: usize,
    way: Way,
) -> Result<(Duration, Duration)> {
    let (db, admin) = runtime.block_on(async {
        let db = TestDb::create().await?;
        let admin = db.connect().await?;
        let create: String = (0..schemas)
            .map(|n| format!("CREATE SCHEMA tenant_{n};"))
            .collect();
        admin.batch_execute(&create).await?;
        Result::<_>::Ok((db, admin))
    })?;
    let urls: Vec<String> = (0..schemas)
        .map(|n| format!("{}?options=-csearch_path%3Dtenant_{n}", db.url()))
        .collect();
    let scratch = tempfile::tempdir()?;
    let applied = time(migrate, folder, &urls, way, scratch.path())?;
    runtime.block_on(async {
        let row = admin
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'tenant\\_%' AND tablename ~ '^t[0-9]+$'",
                &[],
            )
            .await?;
        let tables: i64 = row.get(0);
        if usize::try_from(tables)? != schemas * MIGRATIONS {
            return Err(format!("expected {} tables, found {tables}", schemas * MIGRATIONS).into());
        }
        Result::<()>::Ok(())
    })?;
    let again = time(migrate, folder, &urls, way, scratch.path())?;
    Ok((applied, again))
}

/// Migrates every member of `urls` one way, and returns how long it took.
fn time(
    migrate: &Path,
    folder: &Path,
    urls: &[String],
    way: Way,
    scratch: &Path,
) -> Result<Duration> {
    let started = Instant::now();
    match way {
        Way::Loop => {
            for url in urls {
                succeed(Command::new(migrate).arg("--dir").arg(folder).args([
                    "up",
                    "--database-url",
                    url,
                ]))?;
            }
        }
        Way::Fleet(parallel) => {
            let file = scratch.join("fleet.txt");
            std::fs::write(&file, urls.join("\n"))?;
            succeed(
                Command::new(migrate)
                    .arg("--dir")
                    .arg(folder)
                    .args(["up", "--parallel", &parallel.to_string(), "--fleet"])
                    .arg(&file),
            )?;
        }
    }
    Ok(started.elapsed())
}

fn succeed(command: &mut Command) -> Result<()> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// The Markdown table: databases per second, and the ratio to the loop.
fn table(rows: &[Row]) -> String {
    let ways = Way::all();
    let mut text = String::from("| | members |");
    for way in &ways {
        let _ = write!(text, " {} |", way.heading());
    }
    text.push_str("\n|---|---:|");
    text.push_str(&"---:|".repeat(ways.len()));
    for row in rows {
        let apply = format!("apply {MIGRATIONS} migrations");
        let at_head = format!("at head, {MIGRATIONS} applied");
        for (what, times) in [(apply, &row.apply), (at_head, &row.at_head)] {
            let _ = write!(text, "\n| {}, {what} | {} |", row.engine, row.members);
            let base = times[0];
            for (index, took) in times.iter().enumerate() {
                let rate = row.members as f64 / took.as_secs_f64();
                let _ = match index {
                    0 => write!(text, " {rate:.0} db/s |"),
                    _ => write!(
                        text,
                        " {rate:.0} db/s ({:.1}×) |",
                        base.as_secs_f64() / took.as_secs_f64()
                    ),
                };
            }
        }
    }
    text
}
