//! Migrating a fleet: many databases with the same migrations, such as one
//! SQLite file per tenant or one PostgreSQL schema per tenant, a bounded
//! number at a time.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use migrate_core::fleet::{self, Fleet, Verdict};
//!
//! static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
//!
//! # let dir = tempfile::tempdir()?;
//! # let tenants: Vec<std::path::PathBuf> = (0..3).map(|n| dir.path().join(format!("tenant{n}.db"))).collect();
//! # for path in &tenants { std::fs::File::create(path)?; }
//! // `tenants` holds the paths of existing SQLite files.
//! let report = Fleet::new(MIGRATIONS.runner())
//!     .parallel(8)
//!     .member_timeout(Duration::from_secs(30))
//!     .apply_sqlite(tenants, fleet::open_existing);
//! assert_eq!(report.count(Verdict::Applied), 3);
//! for (path, error) in report.failures() {
//!     eprintln!("{}: {error}", path.display());
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
//!
//! A member is one database: a target of your choice (a path, a URL, a
//! configuration) and the function that opens it. The fleet runs the same
//! operation as [`Runner::run`] or [`Runner::status`] on every member, at
//! most [`parallel`](Fleet::parallel) at a time, and goes on past members
//! that fail: the [`FleetReport`] says, for each member in the order given,
//! what happened, and [`Verdict`] sums it up. On SQLite the members run on
//! threads of a scoped pool; on PostgreSQL they are futures polled together
//! on the caller's task, so the fleet needs no runtime of its own.
//!
//! # The member timeout
//!
//! [`member_timeout`](Fleet::member_timeout) bounds how long a member may
//! *wait* before it starts to change anything: for its connection to open,
//! and for another runner's migration lock. It never interrupts a
//! statement, a migration or a release of the lock, so a timeout leaves no
//! member half-applied and no lock held. Exactly:
//!
//! - PostgreSQL: opening the connection is raced against the timeout (a
//!   connection that is not open yet holds nothing, so it is dropped). The
//!   runner's [`lock_timeout`](Runner::lock_timeout) is then lowered to the
//!   time the member has left, so the engine, which polls the lock and
//!   checks its timeout between attempts, gives up in time and reports the
//!   session holding the lock. The reads before the lock, and the lock's
//!   attempts, are single round trips that are not interrupted, and the
//!   lock's timeout counts its pauses between attempts, so a member can end
//!   its wait late by those round trips.
//! - SQLite: until the member's first change, every statement waits for
//!   other connections' locks (SQLite's busy timeout, `BEGIN IMMEDIATE`
//!   included) at most until the member's deadline; from its first change
//!   on, the runner's own [`busy_timeout`](Runner::busy_timeout) applies.
//!   The wait for another process's `no-transaction` migration is bounded
//!   the same way.
//! - Once a member holds the lock and applies, it finishes, however long its
//!   migrations take; [`Member::elapsed`] says how long it took.
//!
//! A member that gives up waiting, for its own timeout or the runner's, is
//! [`Skip::Waiting`]: nothing was changed, and running the fleet again
//! retries it. A timeout is per member, measured from the moment it starts,
//! not from the start of the fleet.
//!
//! # PostgreSQL schema per tenant
//!
//! A member is a connection whose `search_path` names the tenant's schema:
//! in a URL, `options=-csearch_path%3Dtenant_42` (the `options` parameter,
//! which tokio-postgres sends at start-up), or
//! [`Config::options`](tokio_postgres::Config::options) with
//! `-csearch_path=tenant_42`. The unqualified history table, `_migrations`,
//! and the migrations' unqualified tables are then created in that schema,
//! and the migration lock is keyed by the schema, so tenants do not wait
//! for each other. The schema must exist.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod standing;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::engine::Output;
use crate::{Error, Report, Result, Runner, Status};

#[cfg(feature = "sqlite")]
pub use sqlite::open_existing;
pub use standing::Standing;

/// Migrates many databases, a bounded number at a time.
///
/// Built from a [`Runner`], whose settings (history table, transaction
/// mode, target version, …) every member uses. The runner's
/// [`on_progress`](Runner::on_progress) callback, if any, is called for
/// every member's migrations, from the fleet's threads, without saying
/// which member: use [`on_member`](Fleet::on_member) for the fleet's
/// progress.
#[derive(Debug, Clone)]
pub struct Fleet<'a> {
    runner: Runner<'a>,
    parallel: usize,
    member_timeout: Option<Duration>,
    max_failures: Option<usize>,
    hook: Option<MemberHook<'a>>,
}

/// What [`Fleet::on_member`] is told as each member finishes.
#[derive(Debug)]
#[non_exhaustive]
pub struct Event<'e> {
    /// The member's position among the targets, from 0.
    pub index: usize,
    /// How many members have finished, this one included.
    pub finished: usize,
    /// How many members the fleet has.
    pub total: usize,
    /// What happened to the member.
    pub outcome: &'e Outcome,
    /// How long the member took.
    pub elapsed: Duration,
}

type Callback<'a> = dyn FnMut(&Event<'_>) + Send + 'a;

#[derive(Clone)]
struct MemberHook<'a>(Arc<Mutex<Box<Callback<'a>>>>);

impl fmt::Debug for MemberHook<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberHook")
    }
}

/// The default of [`Fleet::parallel`].
pub const DEFAULT_PARALLEL: usize = 4;

impl<'a> Fleet<'a> {
    /// A fleet whose members are migrated with `runner`'s settings, at most
    /// [`DEFAULT_PARALLEL`] at a time, without a member timeout.
    pub fn new(runner: Runner<'a>) -> Fleet<'a> {
        Fleet {
            runner,
            parallel: DEFAULT_PARALLEL,
            member_timeout: None,
            max_failures: None,
            hook: None,
        }
    }

    /// How many members are migrated at the same time; 0 is read as 1.
    pub fn parallel(mut self, parallel: usize) -> Self {
        self.parallel = parallel.max(1);
        self
    }

    /// How long a member may wait, for its connection and for another
    /// runner's lock, before it starts to change anything; see
    /// [the member timeout](self#the-member-timeout). None by default: the
    /// runner's lock and busy timeouts alone apply.
    pub fn member_timeout(mut self, timeout: Duration) -> Self {
        self.member_timeout = Some(timeout);
        self
    }

    /// Starts no further member once this many have failed: the rest are
    /// [`Skip::AfterFailures`]. Members already running finish. By default
    /// the fleet goes on whatever fails.
    pub fn max_failures(mut self, failures: usize) -> Self {
        self.max_failures = Some(failures);
        self
    }

    /// Calls `hook` each time a member finishes, to show progress. Calls
    /// never overlap, and come in the order members finish.
    pub fn on_member(mut self, hook: impl FnMut(&Event<'_>) + Send + 'a) -> Self {
        self.hook = Some(MemberHook(Arc::new(Mutex::new(Box::new(hook)))));
        self
    }

    /// The runner of one member: the fleet's, with the waits for other
    /// runners' locks bounded by the time the member has left.
    fn member_runner(&self, deadline: Option<Instant>) -> Runner<'a> {
        let runner = self.runner.clone();
        let Some(left) =
            deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
        else {
            return runner;
        };
        let lock_timeout = runner.lock_timeout.min(left);
        let busy_timeout = runner.busy_timeout.min(left);
        runner.lock_timeout(lock_timeout).busy_timeout(busy_timeout)
    }

    fn board(&self, total: usize) -> Board<'_, 'a> {
        Board {
            fleet: self,
            total,
            started: Instant::now(),
            failed: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
        }
    }
}

/// What the fleet does to every member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Apply,
    Status,
}

impl Task {
    fn operation(self) -> crate::Operation {
        match self {
            Task::Apply => crate::Operation::Apply,
            Task::Status => crate::Operation::Status,
        }
    }

    fn outcome(self, output: Output<'_>) -> Outcome {
        match self {
            Task::Apply => Outcome::Applied(output.into_report()),
            Task::Status => Outcome::Status(output.into_status()),
        }
    }
}

/// The bookkeeping of one run of a fleet, shared by its workers.
struct Board<'f, 'a> {
    fleet: &'f Fleet<'a>,
    total: usize,
    started: Instant,
    failed: AtomicUsize,
    finished: AtomicUsize,
}

impl Board<'_, '_> {
    /// Why a member must not start, if it must not.
    fn refusal(&self) -> Option<Skip> {
        let failed = self.failed.load(Ordering::SeqCst);
        self.fleet
            .max_failures
            .filter(|max| failed >= *max)
            .map(|_| Skip::AfterFailures { failures: failed })
    }

    /// Records a member's end and tells the hook.
    fn finish(&self, index: usize, outcome: &Outcome, elapsed: Duration) {
        if matches!(outcome, Outcome::Failed(_)) {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        let finished = self.finished.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(MemberHook(hook)) = &self.fleet.hook {
            let mut hook = hook.lock().unwrap_or_else(PoisonError::into_inner);
            hook(&Event {
                index,
                finished,
                total: self.total,
                outcome,
                elapsed,
            });
        }
    }

    /// The report, the members in the order of `targets`.
    fn report<T>(&self, targets: Vec<T>, results: Vec<(Outcome, Duration)>) -> FleetReport<T> {
        let members = targets
            .into_iter()
            .zip(results)
            .map(|(target, (outcome, elapsed))| Member {
                target,
                outcome,
                elapsed,
            })
            .collect();
        FleetReport {
            members,
            elapsed: self.started.elapsed(),
        }
    }
}

/// What a member's operation ended with, sorted: a lock not obtained in
/// time is a skip, any other error a failure. `gave_up` says the driver saw
/// a wait for another connection's lock time out before anything changed.
fn classify(task: Task, result: Result<Output<'_>>, gave_up: bool) -> Outcome {
    match result {
        Ok(output) => task.outcome(output),
        Err(error @ Error::LockTimeout { .. }) => Outcome::Skipped(Skip::Waiting { error }),
        Err(error) if gave_up => Outcome::Skipped(Skip::Waiting { error }),
        Err(error) => Outcome::Failed(error),
    }
}

/// What happened to the members of a fleet, in the order they were given.
#[derive(Debug)]
pub struct FleetReport<T> {
    members: Vec<Member<T>>,
    elapsed: Duration,
}

/// One member of a fleet and what happened to it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Member<T> {
    /// The target, as given.
    pub target: T,
    /// What happened.
    pub outcome: Outcome,
    /// How long the member took, from its start (not the fleet's).
    pub elapsed: Duration,
}

/// What happened to one member.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The migrations were applied ([`Fleet::apply_sqlite`],
    /// [`Fleet::apply_postgres`]); an empty report means the member was at
    /// head already.
    Applied(Report),
    /// The state of every migration ([`Fleet::status_sqlite`],
    /// [`Fleet::status_postgres`]).
    Status(Status),
    /// The member failed: its database could not be opened or read, it
    /// disagrees with the migrations (an edited migration, say), or a
    /// migration failed. It was left as the runner leaves a database after
    /// that error: a failed transactional migration was rolled back.
    Failed(Error),
    /// The member was not migrated, and nothing was changed.
    Skipped(Skip),
}

/// Why a member was skipped. Nothing was changed in it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Skip {
    /// The member timeout passed before its connection opened.
    Connecting {
        /// The member timeout.
        timeout: Duration,
    },
    /// The member gave up waiting for another runner's lock before it
    /// changed anything: the member timeout passed, or the runner's lock
    /// timeout (PostgreSQL) or busy timeout (SQLite) if that was shorter.
    /// The error names the lock and, on PostgreSQL, the session holding it.
    Waiting {
        /// The runner's error.
        error: Error,
    },
    /// Not started, because [`Fleet::max_failures`] members had failed.
    AfterFailures {
        /// How many members had failed when this one was to start.
        failures: usize,
    },
}

/// A member's outcome in one word, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing to apply: every migration is applied, and nothing is wrong.
    AtHead,
    /// The run applied at least one migration.
    Applied,
    /// Status: migrations are pending, and nothing is wrong.
    Behind,
    /// Status: the database has applied migrations that the binary does not
    /// have (it is newer than the binary); a run refuses to start.
    Ahead,
    /// Status: an applied migration was edited since, or a
    /// `no-transaction` migration stopped part-way, or a pending one is
    /// below the highest applied; a run refuses to start.
    Diverged,
    /// The member failed.
    Failed,
    /// The member was skipped.
    Skipped,
}

impl Verdict {
    /// Every verdict, in the order of a summary.
    pub const ALL: [Verdict; 7] = [
        Verdict::AtHead,
        Verdict::Applied,
        Verdict::Behind,
        Verdict::Ahead,
        Verdict::Diverged,
        Verdict::Failed,
        Verdict::Skipped,
    ];

    /// How the verdict is written: `at head`, `applied`, `behind`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::AtHead => "at head",
            Verdict::Applied => "applied",
            Verdict::Behind => "behind",
            Verdict::Ahead => "ahead",
            Verdict::Diverged => "diverged",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Outcome {
    /// The outcome in one word.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Applied(report) if report.was_up_to_date() => Verdict::AtHead,
            Outcome::Applied(_) => Verdict::Applied,
            Outcome::Status(status) => Standing::of(status).verdict(),
            Outcome::Failed(_) => Verdict::Failed,
            Outcome::Skipped(_) => Verdict::Skipped,
        }
    }

    /// The error of a failed member.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl<T> FleetReport<T> {
    /// Every member, in the order the targets were given.
    pub fn members(&self) -> &[Member<T>] {
        &self.members
    }

    /// Every member, by value.
    pub fn into_members(self) -> Vec<Member<T>> {
        self.members
    }

    /// How long the whole fleet took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many members have this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.members
            .iter()
            .filter(|member| member.outcome.verdict() == verdict)
            .count()
    }

    /// The failed members, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (&T, &Error)> {
        self.members
            .iter()
            .filter_map(|member| Some((&member.target, member.outcome.error()?)))
    }

    /// Whether every member was migrated or read: none failed and none was
    /// skipped.
    pub fn is_success(&self) -> bool {
        self.count(Verdict::Failed) == 0 && self.count(Verdict::Skipped) == 0
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Connecting { timeout } => {
                write!(f, "timed out after {timeout:?} opening the connection")
            }
            Skip::Waiting { error } => write!(f, "gave up waiting: {}", chain(error)),
            Skip::AfterFailures { failures } => {
                write!(
                    f,
                    "not started: {failures} member{} had failed",
                    plural(*failures)
                )
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Applied(report) => write!(f, "{}", report_line(report)),
            Outcome::Status(status) => Standing::of(status).fmt(f),
            Outcome::Failed(error) => write!(f, "failed: {}", chain(error)),
            Outcome::Skipped(skip) => write!(f, "skipped: {skip}"),
        }
    }
}

fn report_line(report: &Report) -> String {
    match report.applied() {
        [] => "at head".to_owned(),
        [one] => format!("applied {} {}", one.version, one.description),
        many => format!(
            "applied {} migrations, {} to {}",
            many.len(),
            many[0].version,
            many[many.len() - 1].version
        ),
    }
}

/// An error and its causes, as `error: cause: cause`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The counts of a [`FleetReport`], as [`FleetReport::summary`] shows them.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'r> {
    counts: [(Verdict, usize); Verdict::ALL.len()],
    members: usize,
    elapsed: Duration,
    _report: std::marker::PhantomData<&'r ()>,
}

impl<T> FleetReport<T> {
    /// The counts, which display as `40 members in 1.2s: 38 applied, 2
    /// failed`. Name the members yourself, from [`members`](Self::members):
    /// only you know how to show a target without its password.
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            counts: Verdict::ALL.map(|verdict| (verdict, self.count(verdict))),
            members: self.members.len(),
            elapsed: self.elapsed,
            _report: std::marker::PhantomData,
        }
    }
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(verdict, count)| format!("{count} {verdict}"))
            .collect();
        write!(
            f,
            "{} member{} in {:.1?}: {}",
            self.members,
            plural(self.members),
            self.elapsed,
            counts.join(", ")
        )
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migrations;

    static MIGRATIONS: Migrations = crate::embed_migrations!("migrations");

    fn unrelated_error() -> Error {
        Error::UnknownVersion { version: 9 }
    }

    #[test]
    fn a_lock_not_obtained_in_time_is_a_skip_and_anything_else_a_failure() {
        let lock_timeout = || Error::LockTimeout {
            table: "_migrations".to_owned(),
            waited: Duration::from_secs(1),
            holder: None,
        };
        let skipped = |outcome: Outcome| matches!(outcome, Outcome::Skipped(Skip::Waiting { .. }));
        assert!(skipped(classify(Task::Apply, Err(lock_timeout()), false)));
        assert!(skipped(classify(Task::Apply, Err(unrelated_error()), true)));
        assert!(matches!(
            classify(Task::Apply, Err(unrelated_error()), false),
            Outcome::Failed(Error::UnknownVersion { version: 9 })
        ));
        let report = Output::Report(Report::new(Vec::new()));
        assert_eq!(
            classify(Task::Apply, Ok(report), false).verdict(),
            Verdict::AtHead
        );
    }

    #[test]
    fn a_member_runner_waits_at_most_until_the_deadline() {
        let fleet = Fleet::new(MIGRATIONS.runner().lock_timeout(Duration::from_secs(60)));
        let runner = fleet.member_runner(Some(Instant::now() + Duration::from_secs(2)));
        assert!(runner.lock_timeout <= Duration::from_secs(2));
        assert!(runner.busy_timeout <= Duration::from_secs(2));
        assert!(runner.lock_timeout > Duration::from_secs(1));

        // A deadline already past leaves one attempt and no wait.
        let runner = fleet.member_runner(Some(Instant::now() - Duration::from_secs(1)));
        assert_eq!(runner.lock_timeout, Duration::ZERO);

        // The runner's own, shorter timeouts stay, and so do all without a deadline.
        let short = Fleet::new(MIGRATIONS.runner().lock_timeout(Duration::from_millis(5)));
        let runner = short.member_runner(Some(Instant::now() + Duration::from_secs(2)));
        assert_eq!(runner.lock_timeout, Duration::from_millis(5));
        assert_eq!(
            fleet.member_runner(None).lock_timeout,
            Duration::from_secs(60)
        );
    }

    #[test]
    fn members_stop_starting_after_the_maximum_of_failures() {
        let fleet = Fleet::new(MIGRATIONS.runner()).max_failures(2);
        let board = fleet.board(5);
        let failed = Outcome::Failed(unrelated_error());
        assert!(board.refusal().is_none());
        board.finish(0, &failed, Duration::ZERO);
        assert!(board.refusal().is_none());
        board.finish(1, &failed, Duration::ZERO);
        assert!(matches!(
            board.refusal(),
            Some(Skip::AfterFailures { failures: 2 })
        ));
        let unbounded = Fleet::new(MIGRATIONS.runner());
        let board = unbounded.board(5);
        board.finish(0, &failed, Duration::ZERO);
        assert!(board.refusal().is_none());
    }

    #[test]
    fn the_hook_hears_every_member_with_the_count_so_far() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        let fleet = Fleet::new(MIGRATIONS.runner()).on_member(move |event| {
            sink.lock().unwrap().push((
                event.index,
                event.finished,
                event.total,
                event.outcome.verdict(),
            ));
        });
        let board = fleet.board(2);
        board.finish(1, &Outcome::Failed(unrelated_error()), Duration::ZERO);
        board.finish(
            0,
            &Outcome::Applied(Report::new(Vec::new())),
            Duration::ZERO,
        );
        assert_eq!(
            *heard.lock().unwrap(),
            vec![(1, 1, 2, Verdict::Failed), (0, 2, 2, Verdict::AtHead)]
        );
    }

    #[test]
    fn the_report_keeps_the_order_of_the_targets_and_counts_verdicts() {
        let fleet = Fleet::new(MIGRATIONS.runner());
        let board = fleet.board(3);
        let report = board.report(
            vec!["a", "b", "c"],
            vec![
                (Outcome::Applied(Report::new(Vec::new())), Duration::ZERO),
                (Outcome::Failed(unrelated_error()), Duration::ZERO),
                (
                    Outcome::Skipped(Skip::AfterFailures { failures: 1 }),
                    Duration::ZERO,
                ),
            ],
        );
        let targets: Vec<&str> = report.members().iter().map(|m| m.target).collect();
        assert_eq!(targets, ["a", "b", "c"]);
        assert_eq!(report.count(Verdict::AtHead), 1);
        assert_eq!(report.count(Verdict::Failed), 1);
        assert_eq!(report.count(Verdict::Skipped), 1);
        assert!(!report.is_success());
        let failures: Vec<&str> = report.failures().map(|(target, _)| *target).collect();
        assert_eq!(failures, ["b"]);
        let lines: Vec<String> = report
            .members()
            .iter()
            .map(|m| m.outcome.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "at head",
                "failed: there is no migration 9 in this binary",
                "skipped: not started: 1 member had failed"
            ]
        );
        let summary = report.summary().to_string();
        assert!(summary.starts_with("3 members in "), "{summary}");
        assert!(
            summary.ends_with(": 1 at head, 1 failed, 1 skipped"),
            "{summary}"
        );
    }
}
