//! PostgreSQL, on tokio-postgres: the public entry points, each one
//! operation of the engine on the [`PostgresDriver`].
//!
//! Exactly-once across replicas rests on the migration lock, as the
//! runner's [`LockStrategy`](crate::LockStrategy) takes it: the history is
//! read again once the lock is held, so a migration that another replica
//! applied first is seen before anything is done.

mod driver;

use tokio_postgres::Client;

use crate::engine::{Operation, Output};
use crate::report::{Report, Status};
use crate::{
    Adoption, Migration, Migrations, Resolution, Result, Rollback, Runner, Source, Verification,
};
use driver::PostgresDriver;

impl Migrations {
    /// Applies the pending migrations to a PostgreSQL database, with the
    /// default settings of [`Runner`]. See [`Runner::run_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn run_async(&self, client: &mut Client) -> Result<Report> {
        self.runner().run_async(client).await
    }

    /// Reports the state of every migration in a PostgreSQL database, changing
    /// nothing. See [`Runner::status_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn status_async(&self, client: &Client) -> Result<Status> {
        self.runner().status_async(client).await
    }
}

impl<'a> Runner<'a> {
    /// Applies the pending migrations to a PostgreSQL database.
    ///
    /// ```no_run
    /// use migrate_core::tokio_postgres::{self, NoTls};
    ///
    /// static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    ///
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut client, connection) =
    ///     tokio_postgres::connect("postgresql://app@localhost/app", NoTls).await?;
    /// tokio::spawn(connection);
    /// let report = MIGRATIONS.runner().run_async(&mut client).await?;
    /// println!("{report}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// - When everything is applied, this is one round trip that reads one
    ///   row, whatever the length of the history, and takes no lock: see
    ///   [The fingerprint](#the-fingerprint). When that row does not vouch
    ///   for the binary's migrations, the history is read in a second round
    ///   trip and checked in full, still without the lock if nothing is
    ///   pending.
    /// - Otherwise it takes the migration lock of its
    ///   [`LockStrategy`](crate::LockStrategy) (by default a session-level
    ///   advisory lock keyed by the database and the history table), polling
    ///   for up to [`lock_timeout`](Runner::lock_timeout) ([`Error::LockTimeout`](crate::Error::LockTimeout)
    ///   names the session or runner holding it), reads the history again,
    ///   applies what is still pending, and releases the lock, on success and
    ///   on failure.
    /// - Before anything is applied, drifted, missing and out-of-order
    ///   migrations are refused as on SQLite, and so is a migration that runs
    ///   in a transaction but contains a statement PostgreSQL refuses there,
    ///   such as `CREATE INDEX CONCURRENTLY` ([`Error::RefusedInTransaction`](crate::Error::RefusedInTransaction)).
    /// - Each migration is sent with its history row and the `COMMIT` in one
    ///   message: one round trip per migration, or one for all of them with
    ///   [`TransactionMode::Single`](crate::TransactionMode::Single). The history's `execution_ms` is what
    ///   the server measured for each migration's SQL, from
    ///   `clock_timestamp()` before it to its history insert; for a
    ///   `no-transaction` migration it is the runner's wall time over its
    ///   statements, round trips included. [`Applied::duration`](crate::Applied::duration) has the same
    ///   measures in microseconds.
    /// - `no-transaction` migrations run one statement at a time outside a
    ///   transaction. Their row is inserted unfinished first and records each
    ///   statement as started before it is sent, so a failure part-way is
    ///   reported by the next run, with the statement in doubt, as
    ///   [`Error::Incomplete`](crate::Error::Incomplete) and never re-run silently.
    ///
    /// # When a `no-transaction` migration fails
    ///
    /// PostgreSQL cannot undo the statements of a `no-transaction` migration
    /// that completed before the one that failed (an index built
    /// concurrently stays built; a failed `CREATE INDEX CONCURRENTLY` leaves
    /// an `INVALID` index behind). So its history row is written before the
    /// first statement, unfinished, and records each statement as started
    /// before sending it. A run that finds such a row stops with
    /// [`Error::Incomplete`](crate::Error::Incomplete), which says which
    /// statements completed and which one may or may not have, and applies nothing until a person has
    /// finished or undone the rest by hand (dropping an invalid index, say)
    /// and said which with [`resolve_async`](Runner::resolve_async) (or
    /// `migrate resolve`): completed, or rolled back, in which case the next
    /// run runs the migration again from its first statement. [`status_async`](Runner::status_async) shows it as
    /// [`State::Incomplete`](crate::State::Incomplete).
    ///
    /// # The history table
    ///
    /// [`history_table`](Runner::history_table) may name a schema
    /// (`"app.schema_history"`); the schema is created if it does not exist.
    /// An unqualified name is found through the connection's `search_path`,
    /// as any table is; when it does not exist yet, it is created in the
    /// first existing schema of the `search_path` (`current_schema()`,
    /// normally `public`). The lock is keyed by the database, the resolved
    /// schema and the table, so runners that spell the same table
    /// differently still exclude each other, and runners of different
    /// history tables in one database do not wait for each other.
    ///
    /// # The fingerprint
    ///
    /// Next to the history table, in its schema, migrate keeps a one-row
    /// table `<table>_state`, which holds the history's fingerprint: the
    /// set checksum of the versions and checksums it holds, computed as
    /// [`Migrations::checksum`] is, and the oid of the history table it was
    /// written for. Every transaction in which migrate changes the history
    /// writes it last, and a statement-level trigger on the history table,
    /// `<table>_state_reset`, sets it to NULL after any `INSERT`, `UPDATE`,
    /// `DELETE`, `TRUNCATE` or `COPY` made outside migrate. A start-up whose
    /// binary has the same fingerprint, for the same table, has nothing to
    /// apply and reads nothing else. So editing the history by hand is safe,
    /// but disabling that trigger (`ALTER TABLE … DISABLE TRIGGER`,
    /// `session_replication_role = replica`) while doing so is not. Both
    /// are created under the lock by the first run, or by the first run that
    /// finds a history table without them; a history table name's table part
    /// may therefore have at most 51 bytes.
    ///
    /// # Pooled connections
    ///
    /// Pools hand out objects that dereference to a [`Client`]. Pass
    /// `&mut *object` from deadpool-postgres, or `&mut *connection` from
    /// bb8-postgres's `PooledConnection`. The lock is released before this
    /// returns, whatever happened, so the connection can go back to the pool.
    /// If the connection broke, its session ended and PostgreSQL released the
    /// lock with it. Do not drop the future before it completes (under a
    /// `tokio::time::timeout`, say): the session may then still hold the lock
    /// or an open transaction, so discard that connection instead of returning
    /// it to the pool.
    ///
    /// Behind PgBouncer in transaction pooling mode, the default keeps the
    /// run on one server session from its lock to its release, and refuses a
    /// `no-transaction` migration once it has seen the pooler move it; use
    /// [`LockStrategy::Table`](crate::LockStrategy::Table) there for
    /// `no-transaction` migrations, and see [`LockStrategy`](crate::LockStrategy)
    /// for the choice. Every action is one simple-query message, so no named
    /// prepared statement is ever created, which PgBouncer before 1.21 would
    /// break. Statement pooling, which allows no transaction of more than one
    /// statement, cannot run migrations.
    ///
    /// Runs on a tokio runtime with the time driver enabled.
    ///
    /// [`Error::LockTimeout`]: crate::Error::LockTimeout
    /// [`Error::RefusedInTransaction`]: crate::Error::RefusedInTransaction
    /// [`Error::Incomplete`]: crate::Error::Incomplete
    /// [`TransactionMode::Single`]: crate::TransactionMode::Single
    /// [`Applied::duration`]: crate::Applied::duration
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn run_async(&self, client: &mut Client) -> Result<Report> {
        self.perform_postgres(client, Operation::Apply)
            .await
            .map(Output::into_report)
    }

    /// The migrations a run would apply now, in order, or the error it would
    /// fail with; it changes nothing. This is a dry run of
    /// [`Runner::run_async`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn pending_async(&self, client: &Client) -> Result<Vec<&'a Migration>> {
        self.perform_postgres(client, Operation::Pending)
            .await
            .map(Output::into_pending)
    }

    /// Reports the state of every migration in a PostgreSQL database:
    /// applied, pending, drifted, missing or incomplete. It is one query,
    /// writes nothing, takes no lock and does not create the history table.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn status_async(&self, client: &Client) -> Result<Status> {
        self.perform_postgres(client, Operation::Status)
            .await
            .map(Output::into_status)
    }

    /// Reverts applied migrations with their down scripts, newest first, each
    /// together with the removal of its history row, under the migration
    /// lock. The PostgreSQL twin of `Runner::rollback`,
    /// with the same checks before anything runs.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn rollback_async(&self, client: &mut Client, rollback: Rollback) -> Result<Report> {
        self.perform_postgres(client, Operation::Rollback(rollback))
            .await
            .map(Output::into_report)
    }

    /// Records the migrations up to and including `version` as applied
    /// without running them. The PostgreSQL twin of `Runner::baseline`.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn baseline_async(&self, client: &mut Client, version: i64) -> Result<Report> {
        self.perform_postgres(client, Operation::Baseline(version))
            .await
            .map(Output::into_report)
    }

    /// Replaces the recorded checksum of one applied migration with the
    /// binary's, after a deliberate edit. Returns whether the record changed.
    /// The PostgreSQL twin of `Runner::repair`.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn repair_async(&self, client: &mut Client, version: i64) -> Result<bool> {
        self.perform_postgres(client, Operation::Repair(version))
            .await
            .map(Output::into_repaired)
    }

    /// Settles a `no-transaction` migration that stopped part-way. The
    /// PostgreSQL twin of `Runner::resolve`.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn resolve_async(
        &self,
        client: &mut Client,
        version: i64,
        resolution: Resolution,
    ) -> Result<()> {
        self.perform_postgres(client, Operation::Resolve(version, resolution))
            .await
            .map(drop)
    }

    /// Records in migrate's history every migration that another tool
    /// recorded as applied, under the migration lock, in one transaction.
    /// The PostgreSQL twin of `Runner::adopt`, with the same refusals.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn adopt_async(
        &self,
        client: &mut Client,
        source: impl Into<Source>,
    ) -> Result<Adoption> {
        self.perform_postgres(client, Operation::Adopt(source.into()))
            .await
            .map(Output::into_adopted)
    }

    /// Checks a migrated PostgreSQL database, changing nothing: invalid
    /// indexes (`pg_index.indisvalid` false, as a failed `CREATE INDEX
    /// CONCURRENTLY` leaves them), constraints added `NOT VALID` and never
    /// validated, sequences whose next value is already in their column,
    /// and migrations the history records as incomplete. See
    /// [`Verification`].
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn verify_async(&self, client: &Client) -> Result<Verification> {
        self.perform_postgres(client, Operation::Verify)
            .await
            .map(Output::into_verified)
    }

    /// Runs any [`Operation`] on a PostgreSQL connection, as the methods
    /// above do: for a tool that dispatches commands, like the `migrate`
    /// command line.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn perform_postgres(
        &self,
        client: &Client,
        operation: Operation,
    ) -> Result<Output<'a>> {
        self.perform_async(operation, &mut PostgresDriver(client))
            .await
    }
}
