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
//! operation as `Runner::run` or `Runner::status` on every member, at
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
//! `tokio_postgres::Config::options` with
//! `-csearch_path=tenant_42`. The unqualified history table, `_migrations`,
//! and the migrations' unqualified tables are then created in that schema,
//! and the migration lock is keyed by the schema, so tenants do not wait
//! for each other. The schema must exist.

mod board;
mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
mod report;
#[cfg(feature = "sqlite")]
mod sqlite;
mod standing;
// The tests embed the crate's test folder, which needs the macro.
#[cfg(all(test, feature = "macros"))]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Runner;

pub use outcome::{Outcome, Skip, Verdict};
pub use report::{FleetReport, Member, Summary};
#[cfg(feature = "sqlite")]
pub use sqlite::open_existing;
pub use standing::Standing;

use outcome::{Task, classify};

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
}
