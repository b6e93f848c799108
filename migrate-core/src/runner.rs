//! How a run is configured.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use migrate_format::history::TableName;

use crate::driver::{AsyncDriver, Driver};
use crate::engine::{self, Operation, Output};
use crate::{Applied, Error, Migration, Migrations, Result};

/// The default history table, `_migrations`.
pub use migrate_format::history::DEFAULT_TABLE;

/// How pending migrations are grouped into transactions.
///
/// Every migration commits together with its history row either way; the
/// choice is how many migrations share one commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionMode {
    /// All pending migrations in one transaction: the run applies all of them
    /// or none. One commit is also the fastest way to apply many migrations,
    /// since every commit waits for the disk. The default.
    #[default]
    Single,
    /// One transaction per migration: a failure keeps the migrations before it
    /// applied, and locks are held for one migration at a time.
    PerMigration,
}

/// How a run on PostgreSQL keeps other runners out while it changes the
/// database, so that replicas that start together apply each migration once.
///
/// Every strategy reads the history again once it holds the lock, and
/// decides what to apply from that read. On SQLite the lock is always the
/// database's write lock (`BEGIN IMMEDIATE`), which every process on the
/// file shares, and this setting is ignored.
///
/// | | direct connection | transaction pooler (PgBouncer `pool_mode = transaction`) | CockroachDB | `no-transaction` migrations |
/// |---|---|---|---|---|
/// | [`Session`](LockStrategy::Session) (default) | yes | yes, unless a `no-transaction` migration runs | becomes `Table` | yes (direct connection) |
/// | [`Transaction`](LockStrategy::Transaction) | yes | yes | refused | refused |
/// | [`Table`](LockStrategy::Table) | yes | yes | yes | yes |
///
/// ```
/// # static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
/// use std::time::Duration;
/// use migrate_core::LockStrategy;
///
/// // Behind PgBouncer in transaction mode, with `no-transaction` migrations.
/// let runner = MIGRATIONS
///     .runner()
///     .lock_strategy(LockStrategy::Table)
///     .lease_ttl(Duration::from_secs(600));
/// # drop(runner);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockStrategy {
    /// A session-level advisory lock keyed by the database and the history
    /// table, polled with `pg_try_advisory_lock` (never a blocking wait,
    /// which could deadlock with `CREATE INDEX CONCURRENTLY`). The default.
    ///
    /// Use it on a direct connection, or through a pooler in session mode.
    /// It also works through a pooler in transaction mode: the lock is taken
    /// inside a transaction, and every message up to its release leaves a
    /// transaction open (the release travels with the last `COMMIT`), so the
    /// pooler keeps the run on one server session. A `no-transaction`
    /// migration breaks that, since its statements must run outside any
    /// transaction: a run that must apply one and has seen its server session
    /// change is refused before anything runs ([`Error::Lock`](crate::Error::Lock)),
    /// and so is a lock attempt on a server session that already holds the
    /// lock for another client. Behind a pooler, with `no-transaction`
    /// migrations, use [`Table`](LockStrategy::Table).
    ///
    /// On CockroachDB, whose advisory lock functions lock nothing, the
    /// default becomes [`Table`](LockStrategy::Table); asking for `Session`
    /// there explicitly is refused.
    Session,
    /// A transaction-level advisory lock, polled with
    /// `pg_try_advisory_xact_lock` inside each transaction of the run, and
    /// released by its `COMMIT`; the history is read again under it in
    /// every transaction that decides what to apply.
    ///
    /// Use it behind a pooler in transaction mode when every migration runs
    /// in a transaction: the lock cannot outlive a transaction, so no pooler
    /// can ever leave it behind. A run that would apply or revert a
    /// `no-transaction` migration is refused before anything runs, since
    /// nothing would hold the lock while its statements run outside a
    /// transaction. A rollback's reverts share one transaction, whatever the
    /// [`TransactionMode`], since the lock lives in it. Refused on
    /// CockroachDB.
    Transaction,
    /// A lease: one row in `<table>_lock`, next to the history table, with
    /// an owner, an expiry and a fencing token. Taking it is one conditional
    /// `UPDATE`; a holder that dies is replaced once its lease expires (see
    /// [`Runner::lease_ttl`]).
    ///
    /// Use it behind any pooler with `no-transaction` migrations, and on
    /// engines without working advisory locks (CockroachDB). Every
    /// transaction that writes the history first checks, and renews, that the
    /// lease is still this runner's and holds its row until `COMMIT`, so a
    /// long transactional migration keeps the lease however long it runs,
    /// and a runner whose lease was taken over cannot record anything
    /// ([`Error::LeaseLost`](crate::Error::LeaseLost)). Between statements
    /// and transactions the lease is renewed by every write; a single
    /// statement of a `no-transaction` migration must finish within the
    /// lease's time to live.
    Table,
}

impl fmt::Display for LockStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockStrategy::Session => "session",
            LockStrategy::Transaction => "transaction",
            LockStrategy::Table => "table",
        })
    }
}

/// Applies migrations, or reports their status, with settings.
///
/// Get one from [`Migrations::runner`]; [`Migrations::run`] uses the defaults.
///
/// ```
/// # static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
/// use std::time::Duration;
/// use migrate_core::TransactionMode;
///
/// let runner = MIGRATIONS
///     .runner()
///     .history_table("schema_history")
///     .transaction_mode(TransactionMode::PerMigration)
///     .busy_timeout(Duration::from_secs(60));
/// ```
///
#[cfg_attr(not(feature = "sqlite"), doc = "[`Migrations::run`]: crate#features")]
#[derive(Debug, Clone)]
pub struct Runner<'a> {
    pub(crate) migrations: &'a Migrations,
    table: std::result::Result<TableName, migrate_format::history::InvalidTableName>,
    pub(crate) allow_missing: bool,
    pub(crate) allow_out_of_order: bool,
    pub(crate) transaction_mode: TransactionMode,
    pub(crate) target: Option<i64>,
    pub(crate) busy_timeout: Duration,
    pub(crate) lock_timeout: Duration,
    /// `None`: the default, [`LockStrategy::Session`] or, on CockroachDB,
    /// [`LockStrategy::Table`].
    pub(crate) lock_strategy: Option<LockStrategy>,
    pub(crate) lease_ttl: Duration,
    progress: Option<ProgressHook<'a>>,
    pub(crate) track_user_version: bool,
    pub(crate) verify_after: bool,
}

/// What a run reports while it works, through [`Runner::on_progress`].
///
/// Migrations that share a transaction are applied together and commit
/// together, so they are reported together: with
/// [`TransactionMode::Single`] all the transactional migrations of a run
/// start and finish as one batch, on PostgreSQL in one round trip.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// These migrations' scripts are about to run, in one transaction: their
    /// up scripts, or their down scripts in a rollback. A `no-transaction`
    /// migration starts alone.
    Started(&'a [&'a Migration]),
    /// Statement `done` of the `of` statements of a `no-transaction`
    /// script completed.
    Statement {
        /// The migration.
        migration: &'a Migration,
        /// How many statements are done.
        done: usize,
        /// How many it has.
        of: usize,
    },
    /// These migrations' scripts ran and committed, with their history rows.
    Finished(&'a [Applied]),
}

/// The callback of [`Runner::on_progress`]. A mutex lets the runner stay
/// `Sync` while the callback is `FnMut`.
type Callback<'a> = dyn FnMut(Progress<'_>) + Send + 'a;

#[derive(Clone)]
struct ProgressHook<'a>(Arc<Mutex<Box<Callback<'a>>>>);

impl fmt::Debug for ProgressHook<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl<'a> Runner<'a> {
    pub(crate) fn new(migrations: &'a Migrations) -> Runner<'a> {
        Runner {
            migrations,
            table: Ok(TableName::default()),
            allow_missing: false,
            allow_out_of_order: false,
            transaction_mode: TransactionMode::default(),
            target: None,
            busy_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(60),
            lock_strategy: None,
            lease_ttl: Duration::from_secs(300),
            progress: None,
            track_user_version: true,
            verify_after: false,
        }
    }

    /// Calls `hook` as migrations start and finish, to show progress.
    ///
    /// ```
    /// # static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    /// use migrate_core::Progress;
    ///
    /// let mut finished = Vec::new();
    /// let runner = MIGRATIONS.runner().on_progress(|event| {
    ///     if let Progress::Finished(applied) = event {
    ///         finished.extend(applied.iter().map(|a| a.version));
    ///     }
    /// });
    /// # drop(runner);
    /// ```
    pub fn on_progress(mut self, hook: impl FnMut(Progress<'_>) + Send + 'a) -> Self {
        self.progress = Some(ProgressHook(Arc::new(Mutex::new(Box::new(hook)))));
        self
    }

    pub(crate) fn notify(&self, event: Progress<'_>) {
        if let Some(ProgressHook(hook)) = &self.progress {
            let mut hook = hook.lock().unwrap_or_else(PoisonError::into_inner);
            hook(event);
        }
    }

    /// The table that records applied migrations, `_migrations` by default.
    ///
    /// A plain identifier (letters, digits, `_`), optionally qualified by a
    /// schema as `schema.table`. It is validated and quoted, so no SQL can be
    /// injected through it. An invalid name makes every operation of this
    /// runner fail with [`Error::InvalidTableName`] before it touches the
    /// database; [`try_history_table`](Runner::try_history_table) reports it
    /// at once instead.
    pub fn history_table(mut self, table: impl AsRef<str>) -> Self {
        self.table = TableName::parse(table.as_ref());
        self
    }

    /// [`history_table`](Runner::history_table), validating the name at
    /// once: for a name that comes from configuration.
    ///
    /// ```
    /// # static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    /// assert!(MIGRATIONS.runner().try_history_table("app.schema_history").is_ok());
    /// assert!(MIGRATIONS.runner().try_history_table("bad name").is_err());
    /// ```
    pub fn try_history_table(self, table: impl AsRef<str>) -> Result<Self> {
        let runner = self.history_table(table);
        runner.table()?;
        Ok(runner)
    }

    /// The validated history table.
    pub(crate) fn table(&self) -> Result<&TableName> {
        self.table
            .as_ref()
            .map_err(|invalid| Error::InvalidTableName {
                name: invalid.name.clone(),
                reason: invalid.reason,
            })
    }

    /// Accepts applied migrations that this binary does not have (the database
    /// is newer than the binary), instead of failing with [`Error::Missing`](crate::Error::Missing).
    pub fn allow_missing(mut self, allow: bool) -> Self {
        self.allow_missing = allow;
        self
    }

    /// Applies pending migrations whose version is below the highest applied
    /// one, instead of failing with [`Error::OutOfOrder`](crate::Error::OutOfOrder).
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.allow_out_of_order = allow;
        self
    }

    /// How pending migrations share transactions; see [`TransactionMode`].
    pub fn transaction_mode(mut self, mode: TransactionMode) -> Self {
        self.transaction_mode = mode;
        self
    }

    /// Applies pending migrations up to and including this version only.
    pub fn target(mut self, version: i64) -> Self {
        self.target = Some(version);
        self
    }

    /// SQLite: how long to wait for another connection's write lock, and for
    /// another process's `no-transaction` migration to finish. 30 s by default.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// SQLite: keep a fingerprint of the history in `PRAGMA user_version`, so
    /// that a start-up with nothing pending reads that one pragma instead of
    /// the history table (which makes SQLite parse the whole schema). On by
    /// default.
    ///
    /// migrate only writes the pragma when the database's `application_id`
    /// is migrate's ("migr"), or when both are still 0, in which case it sets
    /// `application_id` to claim them. It is written in the same transaction
    /// as every change to the history, so it is never stale. Turn this off
    /// if your application uses `user_version` itself and has not set it
    /// yet; an application that already set either pragma is left alone.
    pub fn track_user_version(mut self, track: bool) -> Self {
        self.track_user_version = track;
        self
    }

    /// Runs the checks of [`verify`][Runner::verify] after every run, and
    /// fails with [`Error::Unverified`] when they find anything, so that a
    /// service does not start on a database that is corrupt, breaks a
    /// foreign key, or has an invalid index. Off by default.
    ///
    /// The checks read the whole database (SQLite's `integrity_check` reads
    /// every page), so they cost time on every start-up, also those with
    /// nothing to apply. The migrations the run applied stay applied: they
    /// committed before the checks ran, and the error lists them.
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[Runner::verify]: crate#features")]
    pub fn verify_after(mut self, verify: bool) -> Self {
        self.verify_after = verify;
        self
    }

    /// PostgreSQL: how long to wait for another runner's migration lock.
    /// 60 s by default.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// PostgreSQL: how this run keeps other runners out; see
    /// [`LockStrategy`]. By default, [`LockStrategy::Session`], or
    /// [`LockStrategy::Table`] on CockroachDB.
    pub fn lock_strategy(mut self, strategy: LockStrategy) -> Self {
        self.lock_strategy = Some(strategy);
        self
    }

    /// [`LockStrategy::Table`]: how long a lease lasts unless renewed. 5
    /// minutes by default.
    ///
    /// A runner renews its lease with every write to the history, and a
    /// transaction that writes the history holds the lease's row until it
    /// commits, so a transactional migration keeps the lease however long it
    /// runs. What the time to live bounds is the rest:
    ///
    /// - a holder that dies is replaced at the latest this long after its
    ///   last renewal (its open transaction, if any, ends with its session
    ///   first; setting `client_connection_check_interval` on the server
    ///   makes PostgreSQL notice a vanished client during a long statement);
    /// - one statement of a `no-transaction` migration (a `CREATE INDEX
    ///   CONCURRENTLY` on a large table) runs without any renewal, so set
    ///   this above the longest of them. Should it run longer, another
    ///   runner may take the lease over: that runner stops at the
    ///   migration's unfinished history row ([`Error::Incomplete`](crate::Error::Incomplete)),
    ///   and this one at its next write ([`Error::LeaseLost`](crate::Error::LeaseLost)),
    ///   so nothing runs twice, but the migration needs `resolve`.
    ///
    /// The expiry is decided by the database's clock, so the runners' clocks
    /// do not matter. A runner that waits for a lease waits up to
    /// [`lock_timeout`](Runner::lock_timeout); to outlast a dead holder's
    /// lease, make that longer than this.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// Runs `operation` on a connection of your own driver: the entry point
    /// for drivers other than rusqlite's and tokio-postgres's (see
    /// [`driver`](crate::driver)). [`run`][Runner::run] and the other
    /// methods are this, on the built-in drivers.
    ///
    #[cfg_attr(not(feature = "sqlite"), doc = "[Runner::run]: crate#features")]
    pub fn perform(&self, operation: Operation, driver: &mut impl Driver) -> Result<Output<'a>> {
        engine::drive(self, operation, driver)
    }

    /// [`perform`](Runner::perform) on an asynchronous driver.
    pub async fn perform_async(
        &self,
        operation: Operation,
        driver: &mut impl AsyncDriver,
    ) -> Result<Output<'a>> {
        engine::drive_async(self, operation, driver).await
    }
}
