//! `up --fleet FILE` and `status --fleet FILE`: one command over every
//! database listed in a file, a bounded number at a time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::Args;
use migrate_core::fleet::{self, Fleet, Outcome as MemberOutcome, Skip, Standing, Verdict};
use migrate_core::{Migrations, Report};

use crate::database;
use crate::execute::{Failure, Outcome, configure, locking};
use crate::output::string;
use crate::{DatabaseArgs, DatabaseCommand};

/// Options of `up --fleet` and `status --fleet`.
#[derive(Debug, Clone, Default, Args)]
pub struct FleetArgs {
    /// Run `up` or `status` on every database listed in FILE, one URL per
    /// line (`sqlite:<path>`, relative to FILE's folder, or `postgres://…`;
    /// blank lines and lines starting with `#` are ignored), instead of the
    /// one of --database-url, which is then ignored.
    #[arg(long, value_name = "FILE", global = true)]
    pub fleet: Option<PathBuf>,
    /// With --fleet: how many databases at a time.
    #[arg(long, value_name = "N", global = true, default_value_t = fleet::DEFAULT_PARALLEL,
          value_parser = parse_parallel)]
    pub parallel: usize,
    /// With --fleet: how long a database may wait, to connect and for
    /// another runner's lock, before it starts to change; then it is
    /// skipped, unchanged (`30s`, `500ms`, `2m`).
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration)]
    pub member_timeout: Option<Duration>,
    /// With --fleet: start no further database once N have failed.
    #[arg(long, value_name = "N", global = true)]
    pub max_failures: Option<usize>,
}

/// One database of a fleet file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The name shown for it: the URL as written, without its password.
    pub(crate) name: String,
    pub(crate) target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// The file, resolved against the fleet file's folder.
    Sqlite(PathBuf),
    /// The URL as written.
    Postgres(String),
}

/// Reads a fleet file: one database URL per line. Every problem is
/// reported, each as `file:line: message`.
pub(crate) fn parse(text: &str, file: &Path) -> Result<Vec<Member>, String> {
    let base = file.parent().unwrap_or(Path::new(""));
    let mut members = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<Target, usize> = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let url = line.trim();
        if url.is_empty() || url.starts_with('#') {
            continue;
        }
        let target = match target(url, base) {
            Ok(target) => target,
            Err(problem) => {
                problems.push(format!("{}:{number}: {problem}", file.display()));
                continue;
            }
        };
        if let Some(first) = seen.insert(target.clone(), number) {
            problems.push(format!(
                "{}:{number}: the same database as line {first}",
                file.display()
            ));
            continue;
        }
        members.push(Member {
            name: database::redact(url),
            target,
        });
    }
    if members.is_empty() && problems.is_empty() {
        problems.push(format!("{}: lists no database", file.display()));
    }
    match problems.is_empty() {
        true => Ok(members),
        false => Err(problems.join("\n")),
    }
}

fn target(url: &str, base: &Path) -> Result<Target, String> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err(format!("`{url}` names no file"));
        }
        return Ok(Target::Sqlite(base.join(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    Err(format!(
        "unsupported database URL `{}`: expected sqlite:<path> or postgres://…",
        database::redact(url)
    ))
}

/// A number of databases at a time: 1 or more.
fn parse_parallel(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 database at a time".to_owned()),
        Ok(parallel) => Ok(parallel),
        Err(_) => Err(format!("`{text}` is not a number of databases")),
    }
}

/// `30s`, `500ms`, `2m`, or a number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s, 500ms or 2m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(number)),
        "ms" => Ok(Duration::from_millis(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        _ => Err(format!(
            "`{text}` has an unknown unit `{unit}`: use ms, s or m"
        )),
    }
}

/// What the fleet does to each member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Up,
    Status,
}

/// What `up --fleet` or `status --fleet` did.
#[derive(Debug)]
pub struct FleetOutcome {
    task: Task,
    parallel: usize,
    rows: Vec<Row>,
    elapsed: Duration,
}

/// One database of the fleet, and what happened to it.
#[derive(Debug)]
struct Row {
    name: String,
    verdict: Verdict,
    ended: Ended,
    elapsed: Duration,
}

/// What happened to a database, as the command shows it.
#[derive(Debug)]
enum Ended {
    Report(Report),
    Standing(Standing),
    Failed(Failure),
    Skipped {
        /// A short, stable name of the reason, for `--json`.
        reason: &'static str,
        message: String,
        /// Whether the skip itself makes the command fail, rather than the
        /// failures that caused it.
        counts: bool,
    },
}

impl Row {
    fn new(member: Member, outcome: MemberOutcome, elapsed: Duration) -> Row {
        let verdict = outcome.verdict();
        let ended = match outcome {
            MemberOutcome::Applied(report) => Ended::Report(report),
            MemberOutcome::Status(status) => Ended::Standing(Standing::of(&status)),
            MemberOutcome::Failed(error) => Ended::Failed(Failure::from(error)),
            MemberOutcome::Skipped(skip) => {
                let (reason, counts) = match &skip {
                    Skip::Connecting { .. } => ("timed-out-connecting", true),
                    Skip::Waiting { .. } => ("gave-up-waiting", true),
                    Skip::AfterFailures { .. } => ("after-failures", false),
                    _ => ("skipped", true),
                };
                Ended::Skipped {
                    reason,
                    message: skip.to_string(),
                    counts,
                }
            }
            other => Ended::Failed(Failure {
                code: 1,
                kind: "unknown",
                message: format!("an outcome this build cannot show: {other:?}"),
            }),
        };
        Row {
            name: member.name,
            verdict,
            ended,
            elapsed,
        }
    }
}

/// Runs `up` or `status` on every database of the fleet file.
pub(crate) fn execute(
    migrations: &Migrations,
    args: &DatabaseArgs,
    command: &DatabaseCommand,
) -> Result<Outcome, Failure> {
    let options = &args.fleet;
    let file = options.fleet.as_deref().unwrap_or(Path::new(""));
    let task = task(command)?;
    let text = std::fs::read_to_string(file).map_err(|error| {
        Failure::usage(format!(
            "cannot read the fleet file {}: {error}",
            file.display()
        ))
    })?;
    let members = parse(&text, file).map_err(Failure::usage)?;
    let progress = Mutex::new(Ticker::new(members.len(), !args.json));
    // SQLite's members run first on threads, then PostgreSQL's on one
    // runtime: `parallel` bounds each, and so the whole fleet.
    let (sqlite, postgres): (Vec<_>, Vec<_>) =
        (0..members.len()).partition(|&index| matches!(members[index].target, Target::Sqlite(_)));
    // The runner borrows nothing that lives shorter than the hooks' borrows.
    let runner = configure(
        locking(migrations.runner().try_history_table(&args.table)?, args),
        command,
    );
    let mut fleet = Fleet::new(runner).parallel(options.parallel);
    if let Some(timeout) = options.member_timeout {
        fleet = fleet.member_timeout(timeout);
    }
    if let Some(max) = options.max_failures {
        fleet = fleet.max_failures(max);
    }
    let started = std::time::Instant::now();
    let mut results: Vec<Option<(MemberOutcome, Duration)>> =
        (0..members.len()).map(|_| None).collect();
    for (indices, outcomes) in [
        (
            &sqlite,
            run_sqlite(&fleet, task, &members, &sqlite, &progress),
        ),
        (
            &postgres,
            run_postgres(&fleet, task, &members, &postgres, &progress)?,
        ),
    ] {
        for (index, outcome) in indices.iter().zip(outcomes) {
            results[*index] = Some(outcome);
        }
    }
    drop(fleet);
    progress
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .done();
    let rows = members
        .into_iter()
        .zip(results)
        .map(|(member, result)| {
            // Each index went to one engine, which reported every member.
            let (outcome, elapsed) = result.expect("every member was run");
            Row::new(member, outcome, elapsed)
        })
        .collect();
    Ok(Outcome::Fleet(FleetOutcome {
        task,
        parallel: options.parallel,
        rows,
        elapsed: started.elapsed(),
    }))
}

fn task(command: &DatabaseCommand) -> Result<Task, Failure> {
    match command {
        DatabaseCommand::Up { dry_run: false, .. } => Ok(Task::Up),
        DatabaseCommand::Up { dry_run: true, .. } => Err(Failure::usage(
            "--dry-run does not work with --fleet: `migrate status --fleet FILE` shows what each database would apply",
        )),
        DatabaseCommand::Status => Ok(Task::Status),
        _ => Err(Failure::usage(
            "--fleet works with `up` and `status` only; run other commands on one database at a time",
        )),
    }
}

/// The fleet with a hook that shows each member of `indices` as it ends.
fn with_progress<'a>(
    fleet: &Fleet<'a>,
    members: &'a [Member],
    indices: &'a [usize],
    progress: &'a Mutex<Ticker>,
) -> Fleet<'a> {
    fleet.clone().on_member(move |event| {
        let member = &members[indices[event.index]];
        progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .member(&member.name, event.outcome);
    })
}

#[cfg(feature = "sqlite")]
fn run_sqlite<'a>(
    fleet: &Fleet<'a>,
    task: Task,
    members: &'a [Member],
    indices: &'a [usize],
    progress: &'a Mutex<Ticker>,
) -> Vec<(MemberOutcome, Duration)> {
    if indices.is_empty() {
        return Vec::new();
    }
    let paths: Vec<&Path> = indices
        .iter()
        .filter_map(|&index| match &members[index].target {
            Target::Sqlite(path) => Some(path.as_path()),
            Target::Postgres(_) => None,
        })
        .collect();
    let fleet = with_progress(fleet, members, indices, progress);
    let open = |path: &&Path| fleet::open_existing(*path);
    let report = match task {
        Task::Up => fleet.apply_sqlite(paths, open),
        Task::Status => fleet.status_sqlite(paths, open),
    };
    outcomes(report)
}

#[cfg(not(feature = "sqlite"))]
fn run_sqlite(
    _: &Fleet<'_>,
    _: Task,
    members: &[Member],
    indices: &[usize],
    _: &Mutex<Ticker>,
) -> Vec<(MemberOutcome, Duration)> {
    unsupported(members, indices, "SQLite", "sqlite")
}

#[cfg(feature = "postgres")]
fn run_postgres<'a>(
    fleet: &Fleet<'a>,
    task: Task,
    members: &'a [Member],
    indices: &'a [usize],
    progress: &'a Mutex<Ticker>,
) -> Result<Vec<(MemberOutcome, Duration)>, Failure> {
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let urls: Vec<&str> = indices
        .iter()
        .filter_map(|&index| match &members[index].target {
            Target::Postgres(url) => Some(url.as_str()),
            Target::Sqlite(_) => None,
        })
        .collect();
    let fleet = with_progress(fleet, members, indices, progress);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::database("cannot start the async runtime".to_owned(), &error))?;
    let connect = async |url: &&str| {
        database::connect_postgres(url)
            .await
            .map_err(|failure| failure.message)
    };
    let report = runtime.block_on(async {
        match task {
            Task::Up => fleet.apply_postgres(urls, connect).await,
            Task::Status => fleet.status_postgres(urls, connect).await,
        }
    });
    Ok(outcomes(report))
}

#[cfg(not(feature = "postgres"))]
fn run_postgres(
    _: &Fleet<'_>,
    _: Task,
    members: &[Member],
    indices: &[usize],
    _: &Mutex<Ticker>,
) -> Result<Vec<(MemberOutcome, Duration)>, Failure> {
    Ok(unsupported(members, indices, "PostgreSQL", "postgres"))
}

/// Every member of an engine this build cannot open, failed with the reason.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn unsupported(
    members: &[Member],
    indices: &[usize],
    engine: &str,
    feature: &str,
) -> Vec<(MemberOutcome, Duration)> {
    indices
        .iter()
        .map(|&index| {
            let message = format!(
                "cannot open {}: this build of migrate-cli has no {engine} support (feature `{feature}`)",
                members[index].name
            );
            let error = migrate_core::Error::Database {
                action: "opening the database".to_owned(),
                source: message.into(),
            };
            (MemberOutcome::Failed(error), Duration::ZERO)
        })
        .collect()
}

fn outcomes<T>(report: fleet::FleetReport<T>) -> Vec<(MemberOutcome, Duration)> {
    report
        .into_members()
        .into_iter()
        .map(|member| (member.outcome, member.elapsed))
        .collect()
}

/// The progress of a fleet on standard error: on a terminal, a line of
/// counts rewritten as members end, with failed and skipped members printed
/// above it; elsewhere, only the failed and skipped members, one line each.
#[derive(Debug)]
struct Ticker {
    total: usize,
    finished: usize,
    counts: HashMap<Verdict, usize>,
    show: bool,
    terminal: bool,
}

/// Clears the terminal's current line.
const CLEAR_LINE: &str = "\r\x1b[2K";

impl Ticker {
    fn new(total: usize, show: bool) -> Ticker {
        Ticker {
            total,
            finished: 0,
            counts: HashMap::new(),
            show,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn member(&mut self, name: &str, outcome: &MemberOutcome) {
        self.finished += 1;
        let verdict = outcome.verdict();
        *self.counts.entry(verdict).or_default() += 1;
        if !self.show {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(stderr, "{CLEAR_LINE}");
        }
        if matches!(verdict, Verdict::Failed | Verdict::Skipped) {
            let _ = writeln!(stderr, "{name}: {outcome}");
        }
        if self.terminal {
            let _ = write!(stderr, "{}", self.line());
        }
        let _ = stderr.flush();
    }

    /// `fleet: 120/540 done: 118 applied, 2 failed`
    fn line(&self) -> String {
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter_map(|verdict| {
                let count = self.counts.get(verdict).copied().unwrap_or(0);
                (count > 0).then(|| format!("{count} {verdict}"))
            })
            .collect();
        format!(
            "fleet: {}/{} done: {}",
            self.finished,
            self.total,
            counts.join(", ")
        )
    }

    /// Leaves the terminal's line clean for the summary.
    fn done(self) {
        if self.show && self.terminal && self.finished > 0 {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{CLEAR_LINE}{}", self.line());
        }
    }
}

impl FleetOutcome {
    /// The exit code: 0 when every database was migrated or read; when any
    /// failed or gave up waiting, the code of their failures if they share
    /// one, else 1; for `status`, 4 when any database disagrees with the
    /// migrations (ahead, or drifted, incomplete or out of order).
    pub(crate) fn exit_code(&self) -> u8 {
        let mut codes = self.rows.iter().filter_map(|row| match &row.ended {
            Ended::Failed(failure) => Some(failure.code),
            Ended::Skipped { counts: true, .. } => Some(1),
            _ => None,
        });
        if let Some(first) = codes.next() {
            return if codes.all(|code| code == first) {
                first
            } else {
                1
            };
        }
        let disagrees = |row: &Row| matches!(row.verdict, Verdict::Ahead | Verdict::Diverged);
        match self.rows.iter().any(disagrees) {
            true => 4,
            false => 0,
        }
    }

    /// A line per database that is not at head, then the counts.
    pub(crate) fn text(&self) -> String {
        let shown: Vec<&Row> = self
            .rows
            .iter()
            .filter(|row| row.verdict != Verdict::AtHead)
            .collect();
        let width = shown
            .iter()
            .map(|row| row.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp("database".len(), 60);
        let mut text = String::new();
        if !shown.is_empty() {
            let _ = writeln!(text, "{:<width$}  {:<8}  detail", "database", "result");
            for row in shown {
                let _ = writeln!(
                    text,
                    "{:<width$}  {:<8}  {}",
                    row.name,
                    row.verdict.as_str(),
                    row.detail()
                );
            }
            text.push('\n');
        }
        let _ = write!(
            text,
            "{} database{} in {:.1?}, {} at a time: {}",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" },
            self.elapsed,
            self.parallel,
            self.counts()
                .iter()
                .filter(|(_, count)| *count > 0)
                .map(|(verdict, count)| format!("{count} {verdict}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        text
    }

    fn counts(&self) -> Vec<(Verdict, usize)> {
        Verdict::ALL
            .iter()
            .map(|verdict| {
                let count = self
                    .rows
                    .iter()
                    .filter(|row| row.verdict == *verdict)
                    .count();
                (*verdict, count)
            })
            .collect()
    }

    /// One object: the counts, and every database with what happened to it.
    pub(crate) fn json(&self) -> String {
        let counts: Vec<String> = self
            .counts()
            .iter()
            .map(|(verdict, count)| {
                format!("{}:{count}", string(&verdict.as_str().replace(' ', "_")))
            })
            .collect();
        let rows: Vec<String> = self.rows.iter().map(Row::json).collect();
        format!(
            "{{\"command\":{},\"databases\":{},\"parallel\":{},\"elapsed_ms\":{:.3},\"counts\":{{{}}},\"members\":[{}]}}",
            string(match self.task {
                Task::Up => "up",
                Task::Status => "status",
            }),
            self.rows.len(),
            self.parallel,
            self.elapsed.as_secs_f64() * 1000.0,
            counts.join(","),
            rows.join(",")
        )
    }
}

impl Row {
    fn detail(&self) -> String {
        match &self.ended {
            Ended::Report(report) => {
                let versions: Vec<String> = report
                    .applied()
                    .iter()
                    .map(|a| a.version.to_string())
                    .collect();
                format!(
                    "{} migration{} ({}) in {:.1?}",
                    versions.len(),
                    if versions.len() == 1 { "" } else { "s" },
                    versions.join(", "),
                    self.elapsed
                )
            }
            Ended::Standing(standing) => standing.to_string(),
            Ended::Failed(failure) => failure.message.clone(),
            Ended::Skipped { message, .. } => message.clone(),
        }
    }

    fn json(&self) -> String {
        let detail = match &self.ended {
            Ended::Report(report) => {
                let migrations: Vec<String> = report
                    .applied()
                    .iter()
                    .map(|a| {
                        format!(
                            "{{\"version\":{},\"description\":{},\"duration_ms\":{:.3}}}",
                            a.version,
                            string(&a.description),
                            a.duration.as_secs_f64() * 1000.0
                        )
                    })
                    .collect();
                format!("\"migrations\":[{}]", migrations.join(","))
            }
            Ended::Standing(standing) => format!(
                "\"pending\":{},\"out_of_order\":{},\"missing\":{},\"drifted\":{},\"incomplete\":{}",
                versions(&standing.pending),
                versions(&standing.out_of_order),
                versions(&standing.missing),
                versions(&standing.drifted),
                versions(&standing.incomplete)
            ),
            Ended::Failed(failure) => format!(
                "\"error\":{{\"kind\":{},\"message\":{}}}",
                string(failure.kind),
                string(&failure.message)
            ),
            Ended::Skipped {
                reason, message, ..
            } => format!(
                "\"reason\":{},\"message\":{}",
                string(reason),
                string(message)
            ),
        };
        format!(
            "{{\"database\":{},\"result\":{},\"elapsed_ms\":{:.3},{detail}}}",
            string(&self.name),
            string(&self.verdict.as_str().replace(' ', "_")),
            self.elapsed.as_secs_f64() * 1000.0
        )
    }
}

fn versions(list: &[i64]) -> String {
    let items: Vec<String> = list.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_file_lists_urls_with_comments_and_blank_lines() {
        let text = "# tenants\n\nsqlite:a.db\n  sqlite:///srv/b.db  \npostgres://app:secret@db/app?options=-csearch_path%3Dt1\n";
        let members = parse(text, Path::new("conf/fleet.txt")).expect("valid");
        assert_eq!(
            members,
            [
                Member {
                    name: "sqlite:a.db".to_owned(),
                    target: Target::Sqlite(PathBuf::from("conf/a.db")),
                },
                Member {
                    name: "sqlite:///srv/b.db".to_owned(),
                    target: Target::Sqlite(PathBuf::from("/srv/b.db")),
                },
                Member {
                    name: "postgres://app:***@db/app?options=-csearch_path%3Dt1".to_owned(),
                    target: Target::Postgres(
                        "postgres://app:secret@db/app?options=-csearch_path%3Dt1".to_owned()
                    ),
                },
            ]
        );
    }

    #[test]
    fn every_problem_of_a_fleet_file_is_reported_with_its_line() {
        let text = "sqlite:a.db\nmysql://db/app\nsqlite:\nsqlite:b.db\nsqlite:a.db\n";
        let problems = parse(text, Path::new("conf/fleet.txt")).expect_err("invalid");
        assert_eq!(
            problems,
            "conf/fleet.txt:2: unsupported database URL `mysql://db/app`: expected sqlite:<path> or postgres://…\n\
             conf/fleet.txt:3: `sqlite:` names no file\n\
             conf/fleet.txt:5: the same database as line 1"
        );
        let empty = parse("# nothing yet\n\n", Path::new("fleet.txt")).expect_err("empty");
        assert_eq!(empty, "fleet.txt: lists no database");
    }

    #[test]
    fn at_least_one_database_runs_at_a_time() {
        assert_eq!(parse_parallel("8"), Ok(8));
        assert!(parse_parallel("0").is_err());
        assert!(parse_parallel("many").is_err());
    }

    #[test]
    fn durations_are_written_with_a_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(
            parse_duration("1.5s")
                .unwrap_err()
                .contains("unknown unit `.5s`")
        );
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("is not a duration")
        );
    }

    #[test]
    fn only_up_and_status_run_on_a_fleet() {
        assert_eq!(task(&DatabaseCommand::Status), Ok(Task::Status));
        let up = |dry_run| DatabaseCommand::Up {
            to: None,
            dry_run,
            allow_missing: false,
            allow_out_of_order: false,
            per_migration: false,
        };
        assert_eq!(task(&up(false)), Ok(Task::Up));
        assert_eq!(task(&up(true)).unwrap_err().code, 2);
        assert_eq!(
            task(&DatabaseCommand::Baseline { version: 1 })
                .unwrap_err()
                .code,
            2
        );
    }
}
