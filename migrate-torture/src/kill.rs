//! The kill trials: each applies the generated folder to a fresh database in
//! child processes, kills them with `-9` at random points, resolves what a
//! kill left incomplete as an operator would, and checks the result.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use migrate_core::{Migrations, Resolution};
use migrate_testkit::TestDb;

use crate::Engine;
use crate::child::INCOMPLETE;
use crate::folder::{self, MIGRATIONS, SLOW_ROWS};
use crate::rng::Rng;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The longest a run may take before the trial calls it a hang.
const HANG: Duration = Duration::from_secs(600);
/// How many runs a trial may need after its kills, each resolving at most
/// one incomplete migration.
const RUNS: usize = 50;

/// Runs `trials` trials; returns whether every one was consistent.
pub(crate) fn run(engine: Engine, trials: usize, seed: u64) -> Result<bool, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let scratch = tempfile::tempdir()?;
    let folder = scratch.path().join("migrations");
    folder::write(engine, &folder)?;
    let migrations = Migrations::from_folder(&folder)?;
    let mut rng = Rng::new(seed);
    println!("kill trials on {engine:?}, seed {seed}, folder of {MIGRATIONS} migrations");

    // A full run without a kill, to know how long one takes.
    let mut db = Db::create(engine, &runtime, scratch.path(), 0)?;
    let started = Instant::now();
    let status = spawn(engine, &db, &folder, false)?.wait()?;
    if !status.success() {
        return Err(format!("the calibration run failed: {status}").into());
    }
    let full = started.elapsed();
    let mut trial = Trial::new(&runtime, &migrations, &mut db);
    let calibration = trial.check_complete();
    if !calibration.is_empty() {
        return Err(format!("the calibration run is inconsistent: {calibration:?}").into());
    }
    println!("a full run takes {full:?}");

    let (mut killed, mut inconsistent) = (0, 0);
    for number in 1..=trials {
        let mut db = Db::create(engine, &runtime, scratch.path(), number)?;
        let mut trial = Trial::new(&runtime, &migrations, &mut db);
        let outcome = trial.run(engine, &folder, &mut rng, full);
        killed += usize::from(trial.killed);
        match outcome {
            Ok(problems) if problems.is_empty() => {}
            Ok(problems) => {
                inconsistent += 1;
                println!("trial {number}: INCONSISTENT: {}", problems.join("; "));
            }
            Err(error) => {
                inconsistent += 1;
                println!("trial {number}: INCONSISTENT: {error}");
            }
        }
        if number % 10 == 0 {
            println!(
                "{number} trials so far, {killed} killed mid-run, {inconsistent} inconsistent"
            );
        }
    }
    println!("{trials} trials, {killed} killed mid-run, {inconsistent} inconsistent");
    Ok(inconsistent == 0)
}

fn spawn(engine: Engine, db: &Db, folder: &Path, per_migration: bool) -> Result<Child, Error> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("child")
        .arg("--engine")
        .arg(match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        })
        .arg("--database")
        .arg(db.address())
        .arg("--folder")
        .arg(folder)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if per_migration {
        command.arg("--per-migration");
    }
    Ok(command.spawn()?)
}

/// A trial's database.
enum Db {
    Sqlite(PathBuf),
    Postgres(Box<TestDb>),
}

impl Db {
    fn create(
        engine: Engine,
        runtime: &tokio::runtime::Runtime,
        scratch: &Path,
        number: usize,
    ) -> Result<Db, Error> {
        Ok(match engine {
            Engine::Sqlite => {
                let path = scratch.join(format!("trial-{number}.db"));
                for suffix in ["", "-journal", "-wal", "-shm", "-migrating"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Db::Sqlite(path)
            }
            Engine::Postgres => Db::Postgres(Box::new(runtime.block_on(TestDb::create())?)),
        })
    }

    /// What a child is given: the file, or the URL.
    fn address(&self) -> String {
        match self {
            Db::Sqlite(path) => path.display().to_string(),
            Db::Postgres(db) => db.url(),
        }
    }
}

/// One trial on one database.
struct Trial<'a> {
    runtime: &'a tokio::runtime::Runtime,
    migrations: &'a Migrations,
    db: &'a mut Db,
    killed: bool,
}

/// What a child's run ended with.
enum Ended {
    Applied,
    Incomplete { version: i64, statements_done: i64 },
    Failed(String),
}

impl<'a> Trial<'a> {
    fn new(
        runtime: &'a tokio::runtime::Runtime,
        migrations: &'a Migrations,
        db: &'a mut Db,
    ) -> Trial<'a> {
        Trial {
            runtime,
            migrations,
            db,
            killed: false,
        }
    }

    /// Kills one to three runs at random points, then runs until the folder
    /// is applied, resolving incomplete migrations. Returns the problems
    /// found.
    fn run(
        &mut self,
        engine: Engine,
        folder: &Path,
        rng: &mut Rng,
        full: Duration,
    ) -> Result<Vec<String>, Error> {
        let mut problems = Vec::new();
        let kills = 1 + rng.below(3);
        // Within the first 60% of a full run's time: each kill lands
        // further in, since a run goes on from where the last one stopped.
        let full_ms = (full.as_millis() * 3 / 5).max(1);
        for _ in 0..kills {
            let delay = Duration::from_millis(rng.next() % u64::try_from(full_ms).unwrap_or(1));
            let mut child = spawn(engine, self.db, folder, rng.one_in(3))?;
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait()? {
                    break Some(status);
                }
                if started.elapsed() >= delay {
                    break None;
                }
                thread::sleep(Duration::from_millis(1));
            };
            match status {
                None => {
                    child.kill()?;
                    child.wait()?;
                    self.killed = true;
                }
                Some(status) => match self.ended(child, status)? {
                    Ended::Applied => break,
                    Ended::Incomplete {
                        version,
                        statements_done,
                    } => problems.extend(self.resolve(engine, version, statements_done, rng)?),
                    Ended::Failed(message) => return Ok(vec![format!("a run failed: {message}")]),
                },
            }
        }
        for _ in 0..RUNS {
            let mut child = spawn(engine, self.db, folder, rng.one_in(3))?;
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait()? {
                    break status;
                }
                if started.elapsed() > HANG {
                    child.kill()?;
                    return Ok(vec![format!("a run did not end within {HANG:?}")]);
                }
                thread::sleep(Duration::from_millis(2));
            };
            match self.ended(child, status)? {
                Ended::Applied => {
                    problems.extend(self.check_complete());
                    return Ok(problems);
                }
                Ended::Incomplete {
                    version,
                    statements_done,
                } => problems.extend(self.resolve(engine, version, statements_done, rng)?),
                Ended::Failed(message) => {
                    problems.push(format!("a run failed: {message}"));
                    return Ok(problems);
                }
            }
        }
        problems.push(format!("still not applied after {RUNS} runs"));
        Ok(problems)
    }

    fn ended(&self, child: Child, status: ExitStatus) -> Result<Ended, Error> {
        let output = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        Ok(match status.code() {
            Some(0) => Ended::Applied,
            Some(code) if code == i32::from(INCOMPLETE) => {
                let mut words = stdout.split_whitespace().skip(1);
                let mut number = || words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
                Ended::Incomplete {
                    version: number(),
                    statements_done: number(),
                }
            }
            _ => Ended::Failed(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        })
    }

    /// What an operator does with an incomplete migration: looks at which
    /// of its statements took effect (which must be the ones the report
    /// says completed, and perhaps the one it says may have), then either
    /// undoes them and resolves it as rolled back, or completes the rest by
    /// hand and resolves it as completed.
    fn resolve(
        &mut self,
        engine: Engine,
        version: i64,
        statements_done: i64,
        rng: &mut Rng,
    ) -> Result<Vec<String>, Error> {
        let mut problems = Vec::new();
        if !folder::no_transaction(version) {
            return Ok(vec![format!(
                "migration {version} reported incomplete runs in a transaction"
            )]);
        }
        let effects = self.effects(version)?;
        let present = effects.iter().take_while(|effect| **effect).count();
        if effects[present..].iter().any(|effect| *effect) {
            problems.push(format!(
                "migration {version}: its statements took effect out of order: {effects:?}"
            ));
        }
        let present = i64::try_from(present).unwrap_or(i64::MAX);
        if present < statements_done || present > statements_done + 1 {
            problems.push(format!(
                "migration {version}: the report says {statements_done} statements completed and the next may have, but {present} took effect"
            ));
        }
        let statements = folder::no_transaction_statements(engine, version);
        let resolution = if rng.one_in(2) {
            self.execute(&format!("DROP TABLE IF EXISTS nt_{version}"))?;
            self.execute(&format!(
                "DELETE FROM applied_log WHERE version = {version}"
            ))?;
            Resolution::RolledBack
        } else {
            for statement in &statements[usize::try_from(present).unwrap_or(0)..] {
                self.execute(statement)?;
            }
            Resolution::Completed
        };
        let runner = self.migrations.runner();
        match &mut self.db {
            Db::Sqlite(path) => {
                let mut conn = migrate_core::rusqlite::Connection::open(&*path)?;
                runner.resolve(&mut conn, version, resolution)?;
            }
            Db::Postgres(db) => self.runtime.block_on(async {
                let mut client = db.connect().await?;
                runner
                    .resolve_async(&mut client, version, resolution)
                    .await?;
                Ok::<_, Error>(())
            })?,
        }
        Ok(problems)
    }

    /// Which of the four statements of `no-transaction` migration `version`
    /// took effect.
    fn effects(&mut self, version: i64) -> Result<[bool; 4], Error> {
        let table = self.table_exists(&format!("nt_{version}"))?;
        let rows = match table {
            true => self.count(&format!("SELECT count(*) FROM nt_{version}"))?,
            false => 0,
        };
        if rows != 0 && rows != SLOW_ROWS {
            return Err(
                format!("migration {version}: a statement half-applied, {rows} rows").into(),
            );
        }
        let index = self.index_exists(&format!("nt_{version}_id"))?;
        let logged = self.count(&format!(
            "SELECT count(*) FROM applied_log WHERE version = {version}"
        ))?;
        if logged > 1 {
            return Err(format!("migration {version}: logged {logged} times").into());
        }
        Ok([table, rows == SLOW_ROWS, index, logged == 1])
    }

    /// The schema and the history against the folder, after a run that
    /// applied everything.
    fn check_complete(&mut self) -> Vec<String> {
        match self.problems_when_complete() {
            Ok(problems) => problems,
            Err(error) => vec![format!("checking the result: {error}")],
        }
    }

    fn problems_when_complete(&mut self) -> Result<Vec<String>, Error> {
        let mut problems = Vec::new();
        let history =
            self.rows("SELECT version, checksum, finished FROM _migrations ORDER BY version")?;
        let expected: Vec<Vec<String>> = self
            .migrations
            .iter()
            .map(|m| {
                vec![
                    m.version().to_string(),
                    m.checksum_hex(),
                    "finished".to_owned(),
                ]
            })
            .collect();
        let history: Vec<Vec<String>> = history
            .into_iter()
            .map(|mut row| {
                if matches!(row[2].as_str(), "1" | "t" | "true") {
                    row[2] = "finished".to_owned();
                }
                row
            })
            .collect();
        if history != expected {
            problems.push(format!(
                "the history has {} rows that differ from the folder's {}",
                history.len(),
                expected.len()
            ));
        }
        let log = self
            .rows("SELECT version, count(*) FROM applied_log GROUP BY version ORDER BY version")?;
        let once: Vec<Vec<String>> = (1..=MIGRATIONS)
            .map(|v| vec![v.to_string(), "1".to_owned()])
            .collect();
        if log != once {
            let wrong: Vec<&Vec<String>> = log.iter().filter(|row| row[1] != "1").take(5).collect();
            problems.push(format!(
                "applied_log has {} versions, not each once: {wrong:?}",
                log.len()
            ));
        }
        for version in 2..=MIGRATIONS {
            if folder::no_transaction(version) {
                if self.effects(version)? != [true; 4] {
                    problems.push(format!("no-transaction migration {version} is not whole"));
                }
            } else {
                let rows = self.count(&format!("SELECT count(*) FROM t_{version}"))?;
                if rows != folder::rows_of(version) {
                    problems.push(format!(
                        "t_{version} has {rows} rows, not {}",
                        folder::rows_of(version)
                    ));
                }
            }
        }
        Ok(problems)
    }

    fn table_exists(&mut self, name: &str) -> Result<bool, Error> {
        let sql = match self.db {
            Db::Sqlite(_) => format!(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '{name}'"
            ),
            Db::Postgres(_) => {
                format!("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname = '{name}'")
            }
        };
        Ok(self.count(&sql)? == 1)
    }

    fn index_exists(&mut self, name: &str) -> Result<bool, Error> {
        let sql = match self.db {
            Db::Sqlite(_) => format!(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = '{name}'"
            ),
            Db::Postgres(_) => {
                format!("SELECT count(*) FROM pg_class WHERE relkind = 'i' AND relname = '{name}'")
            }
        };
        Ok(self.count(&sql)? == 1)
    }

    fn count(&mut self, sql: &str) -> Result<i64, Error> {
        let rows = self.rows(sql)?;
        Ok(rows
            .first()
            .and_then(|row| row.first())
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("no count from {sql}"))?)
    }

    fn execute(&mut self, sql: &str) -> Result<(), Error> {
        match &self.db {
            Db::Sqlite(path) => {
                let conn = migrate_core::rusqlite::Connection::open(path)?;
                conn.busy_timeout(HANG)?;
                conn.execute_batch(sql)?;
            }
            Db::Postgres(db) => self.runtime.block_on(async {
                let client = db.connect().await?;
                client.batch_execute(sql).await?;
                Ok::<_, Error>(())
            })?,
        }
        Ok(())
    }

    /// Every row of a query, every column as text.
    fn rows(&mut self, sql: &str) -> Result<Vec<Vec<String>>, Error> {
        match &self.db {
            Db::Sqlite(path) => {
                let conn = migrate_core::rusqlite::Connection::open(path)?;
                conn.busy_timeout(HANG)?;
                let mut statement = conn.prepare(sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query([])?;
                let mut all = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut values = Vec::with_capacity(columns);
                    for index in 0..columns {
                        let value: migrate_core::rusqlite::types::Value = row.get(index)?;
                        values.push(match value {
                            migrate_core::rusqlite::types::Value::Integer(i) => i.to_string(),
                            migrate_core::rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        });
                    }
                    all.push(values);
                }
                Ok(all)
            }
            Db::Postgres(db) => self.runtime.block_on(async {
                let client = db.connect().await?;
                let messages = client.simple_query(sql).await?;
                Ok(messages
                    .into_iter()
                    .filter_map(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|index| row.get(index).unwrap_or("NULL").to_owned())
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect())
            }),
        }
    }
}
