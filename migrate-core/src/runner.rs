//! How a run is configured.

use std::time::Duration;

use std::fmt;

use crate::{Applied, Migration, Migrations};

/// The default history table.
pub const DEFAULT_TABLE: &str = "_migrations";

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
#[cfg_attr(not(feature = "sqlite"), doc = "[`Migrations::run`]: crate#features")]
#[derive(Debug, Clone)]
pub struct Runner<'a> {
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres")),
        expect(dead_code, reason = "only a backend runs the migrations")
    )]
    pub(crate) migrations: &'a Migrations,
    pub(crate) table: String,
    pub(crate) allow_missing: bool,
    pub(crate) allow_out_of_order: bool,
    pub(crate) transaction_mode: TransactionMode,
    pub(crate) target: Option<i64>,
    pub(crate) busy_timeout: Duration,
    pub(crate) lock_timeout: Duration,
    pub(crate) progress: Option<ProgressHook<'a>>,
    pub(crate) track_user_version: bool,
}

/// What a run reports while it works, through [`Runner::on_progress`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A migration's script is about to run: its up script, or its down
    /// script in a rollback.
    Started(&'a Migration),
    /// A migration's script finished. With [`TransactionMode::Single`] it
    /// commits with the rest of the run. On PostgreSQL, migrations sent
    /// together in one message are reported when the message completes.
    Finished(&'a Applied),
}

/// The callback of [`Runner::on_progress`].
#[derive(Clone, Copy)]
pub(crate) struct ProgressHook<'a>(
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres")),
        expect(dead_code, reason = "only a backend reports progress")
    )]
    &'a (dyn Fn(Progress<'_>) + Sync),
);

impl fmt::Debug for ProgressHook<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl<'a> Runner<'a> {
    pub(crate) fn new(migrations: &'a Migrations) -> Runner<'a> {
        Runner {
            migrations,
            table: DEFAULT_TABLE.to_owned(),
            allow_missing: false,
            allow_out_of_order: false,
            transaction_mode: TransactionMode::default(),
            target: None,
            busy_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(60),
            progress: None,
            track_user_version: true,
        }
    }

    /// Calls `hook` as each migration starts and finishes, to show progress.
    pub fn on_progress(mut self, hook: &'a (dyn Fn(Progress<'_>) + Sync)) -> Self {
        self.progress = Some(ProgressHook(hook));
        self
    }

    /// Runs one migration's script, reporting its start and end.
    #[cfg(feature = "sqlite")]
    pub(crate) fn step(
        &self,
        migration: &Migration,
        run: impl FnOnce() -> crate::Result<Applied>,
    ) -> crate::Result<Applied> {
        self.notify_started(migration);
        let applied = run()?;
        self.notify_finished(&applied);
        Ok(applied)
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn notify_started(&self, migration: &Migration) {
        if let Some(ProgressHook(hook)) = self.progress {
            hook(Progress::Started(migration));
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn notify_finished(&self, applied: &Applied) {
        if let Some(ProgressHook(hook)) = self.progress {
            hook(Progress::Finished(applied));
        }
    }

    /// The table that records applied migrations, `_migrations` by default.
    ///
    /// A plain identifier (letters, digits, `_`), optionally qualified by a
    /// schema as `schema.table`. It is validated and quoted, so no SQL can be
    /// injected through it.
    pub fn history_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
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

    /// PostgreSQL: how long to wait for another runner's migration lock.
    /// 60 s by default.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }
}
