//! The build-time SQLite dry run (`embed_migrations!(…, dialect = "sqlite")`)
//! against SQLite's own time to apply the same folder in memory.
//!
//! The folder is the benchmark's generated migrations, copied to a
//! temporary folder (editing `generated/` would rebuild this crate), with a
//! down migration on every fifth, which the dry run checks too. Each
//! measure loads the folder and checks it, as the macro does:
//!
//! - **cold**: an empty cache folder, as the first build;
//! - **warm**: nothing changed since the last check (`touch src/main.rs`);
//! - **edit newest**: a statement appended to the newest migration;
//! - **edit middle**: a statement appended to migration N/2.
//!
//! The limit is SQLite applying every up migration of the folder, in one
//! transaction, to a new in-memory database, through the same SQLite build
//! (rusqlite and migrate-check link the same `libsqlite3-sys`). Built with
//! `--release`, both run on an optimized SQLite; without it, both run on
//! the unoptimized SQLite that a default `cargo build` gives a proc macro.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use migrate_check::{SqliteOptions, check_sqlite_cached};
use migrate_format::{Flavor, folder};

use crate::common::{self, Result, median};
use crate::table::duration;

/// Medians of this many rounds, each of which measures everything once, so
/// that a busy neighbour slows the limit and the dry run alike.
const ROUNDS: usize = 3;

/// The measures of one size, in the order of the table's columns: the
/// limit, cold, warm, edit newest, edit middle.
pub struct Measured {
    n: usize,
    /// Wall-clock medians.
    wall: [Duration; 5],
    /// Medians of the time the measuring thread spent on a CPU, which a
    /// busy machine disturbs less than the wall clock. It leaves out the
    /// thread that writes checkpoints to disk.
    cpu: [Duration; 5],
}

/// Measures every size and returns the table.
pub fn run(bench_dir: &Path, sizes: &[usize]) -> Result<String> {
    let mut measured = Vec::new();
    for &n in sizes {
        let sql = common::generated_sql(&bench_dir.join("generated"), n)?;
        let result = measure(&sql)?;
        eprintln!(
            "dry run n={n}: wall {:?}, cpu {:?} (limit, cold, warm, edit newest, edit middle)",
            result.wall, result.cpu
        );
        measured.push(result);
    }
    Ok(render(&measured))
}

fn measure(sql: &[String]) -> Result<Measured> {
    let n = sql.len();
    let mut samples: [Vec<(Duration, Duration)>; 5] = Default::default();
    for _ in 0..ROUNDS {
        samples[0].push(timed(|| apply_in_memory(sql))?);
        let folder = Folder::write(sql)?;
        let cache = tempfile::tempdir()?;
        samples[1].push(timed(|| folder.check(cache.path()))?);
        samples[2].push(timed(|| folder.check(cache.path()))?);
        folder.append(n)?;
        samples[3].push(timed(|| folder.check(cache.path()))?);
        folder.append(n / 2)?;
        samples[4].push(timed(|| folder.check(cache.path()))?);
    }
    let medians = |pick: fn(&(Duration, Duration)) -> Duration| {
        samples
            .each_ref()
            .map(|runs| median(&runs.iter().map(pick).collect::<Vec<_>>()))
    };
    Ok(Measured {
        n,
        wall: medians(|sample| sample.0),
        cpu: medians(|sample| sample.1),
    })
}

/// Runs `f` and returns its wall-clock time and the time this thread spent
/// on a CPU meanwhile.
fn timed(f: impl FnOnce() -> Result<()>) -> Result<(Duration, Duration)> {
    let cpu = thread_cpu_time()?;
    let started = Instant::now();
    f()?;
    let wall = started.elapsed();
    Ok((wall, thread_cpu_time()?.saturating_sub(cpu)))
}

/// The time this thread has spent on a CPU, from Linux's scheduler
/// statistics (nanoseconds, the first field of `schedstat`).
fn thread_cpu_time() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let nanos = stat
        .split_whitespace()
        .next()
        .ok_or("empty /proc/thread-self/schedstat")?
        .parse()?;
    Ok(Duration::from_nanos(nanos))
}

/// SQLite's own time: every up migration in one transaction on a new
/// in-memory database. Each migration is one `execute_batch`, as small as
/// the files the dry run reads.
fn apply_in_memory(sql: &[String]) -> Result<()> {
    let mut conn = rusqlite::Connection::open_in_memory()?;
    let tx = conn.transaction()?;
    for migration in sql {
        tx.execute_batch(migration)?;
    }
    tx.commit()?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name GLOB 't[0-9]*'",
        [],
        |row| row.get(0),
    )?;
    if usize::try_from(tables)? != sql.len() {
        return Err(format!("the limit created {tables} tables of {}", sql.len()).into());
    }
    Ok(())
}

/// The generated migrations in a folder of their own, with a down
/// migration on every fifth.
struct Folder {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
}

impl Folder {
    fn write(sql: &[String]) -> Result<Folder> {
        let dir = tempfile::tempdir()?;
        let mut files = Vec::new();
        for (index, up) in sql.iter().enumerate() {
            let i = index + 1;
            let path = if i % 5 == 0 {
                let down = format!("DROP INDEX t{i}_created_idx;\nDROP TABLE t{i};\n");
                std::fs::write(
                    dir.path().join(format!("{i:04}_create_t{i}.down.sql")),
                    down,
                )?;
                dir.path().join(format!("{i:04}_create_t{i}.up.sql"))
            } else {
                dir.path().join(format!("{i:04}_create_t{i}.sql"))
            };
            std::fs::write(&path, up)?;
            files.push(path);
        }
        Ok(Folder { dir, files })
    }

    /// Appends a statement to migration `i` (1-based), as while writing it.
    fn append(&self, i: usize) -> Result<()> {
        let path = &self.files[i - 1];
        let mut sql = std::fs::read_to_string(path)?;
        sql.push_str("SELECT 1;\n");
        std::fs::write(path, sql)?;
        Ok(())
    }

    /// Loads and checks the folder as the macro does, with the cache in
    /// `cache`; every check must pass.
    fn check(&self, cache: &Path) -> Result<()> {
        let migrations = folder::load(self.dir.path(), "migrations", Flavor::Sqlite)
            .map_err(|problems| format!("{problems:#?}"))?;
        let problems = check_sqlite_cached(&migrations, SqliteOptions::default(), cache);
        if !problems.is_empty() {
            return Err(format!("the dry run failed: {problems:#?}").into());
        }
        Ok(())
    }
}

fn render(measured: &[Measured]) -> String {
    let profile = if cfg!(debug_assertions) {
        "dev profile: the unoptimized SQLite of a default `cargo build`"
    } else {
        "release profile: an optimized SQLite"
    };
    let mut out = format!(
        "SQLite dry run ({profile}), against SQLite applying the same folder in memory; \
         wall-clock medians, and in brackets the ratio to the limit, then the same ratio in on-CPU time:\n\n\
         | | SQLite's apply (limit) | cold | warm | edit newest | edit middle |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for m in measured.iter().rev() {
        let _ = write!(
            out,
            "| {} migrations | {} (CPU {}) |",
            m.n,
            duration(m.wall[0]),
            duration(m.cpu[0])
        );
        for measure in 1..5 {
            let ratio =
                |times: &[Duration; 5]| times[measure].as_secs_f64() / times[0].as_secs_f64();
            let _ = write!(
                out,
                " {} ({:.2}×; CPU {:.2}×) |",
                duration(m.wall[measure]),
                ratio(&m.wall),
                ratio(&m.cpu)
            );
        }
        out.push('\n');
    }
    out
}
