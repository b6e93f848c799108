//! SQLite, on rusqlite: the public entry points, each one operation of the
//! engine on the [`SqliteDriver`].
//!
//! Exactly-once across processes rests on SQLite's write lock: the history is
//! re-read inside a `BEGIN IMMEDIATE` transaction, which only one connection
//! at a time can hold, so a migration that another process applied first is
//! seen before anything is done.

// A connection the caller lends goes through `callers`, which keeps the
// caller's busy timeout.
mod callers;
// The fleet drives members through it, with their waits bounded.
pub(crate) mod driver;

use rusqlite::Connection;

use crate::engine::{Operation, Output};
use crate::report::{Report, Status};
use crate::{
    Adoption, Error, Migration, Migrations, Resolution, Result, Rollback, Runner, Source,
    Verification,
};
use callers::CallersDriver;
use driver::SqliteDriver;

impl Migrations {
    /// Applies the pending migrations to a SQLite database, with the default
    /// settings of [`Runner`].
    ///
    /// See [`Runner::run`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn run(&self, conn: &mut Connection) -> Result<Report> {
        self.runner().run(conn)
    }

    /// Reports the state of every migration in a SQLite database, changing
    /// nothing. See [`Runner::status`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        self.runner().status(conn)
    }
}

impl<'a> Runner<'a> {
    /// Applies the pending migrations to a SQLite database.
    ///
    /// - When everything is applied, this reads one pragma (see
    ///   [`track_user_version`](Runner::track_user_version)) or, failing
    ///   that, the history table, and takes no lock.
    /// - Otherwise it takes the write lock (`BEGIN IMMEDIATE`, waiting up to
    ///   [`busy_timeout`](Runner::busy_timeout)), reads the history again and
    ///   applies what is still pending, each migration in the same transaction
    ///   as its history row.
    /// - Before anything is applied, every applied migration's checksum is
    ///   compared with the binary's ([`Error::Drift`]), and applied versions
    ///   missing from the binary and pending versions below the highest
    ///   applied one are refused unless allowed.
    /// - `no-transaction` migrations run one statement at a time outside a
    ///   transaction, with their progress recorded, so a failure part-way is
    ///   reported by the next run instead of being re-run ([`Error::Incomplete`]).
    ///
    /// The runner's busy timeout applies to every statement that waits for
    /// another connection's lock. An up-to-date start-up is the exception
    /// that keeps it one pragma read: that read runs under the connection's
    /// own timeout and, only when it gives up on a lock, is read again under
    /// the runner's, so that it waits at most the longer of the two. The
    /// connection's own setting is put back afterwards.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn run(&self, conn: &mut Connection) -> Result<Report> {
        self.perform_sqlite(conn, Operation::Apply)
            .map(Output::into_report)
    }

    /// The migrations a run would apply now, in order, or the error it would
    /// fail with; it changes nothing. This is a dry run of [`Runner::run`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn pending(&self, conn: &Connection) -> Result<Vec<&'a Migration>> {
        self.perform_sqlite(conn, Operation::Pending)
            .map(Output::into_pending)
    }

    /// Reports the state of every migration in a SQLite database: applied,
    /// pending, drifted, missing or incomplete. It writes nothing, and does not
    /// create the history table.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn status(&self, conn: &Connection) -> Result<Status> {
        self.perform_sqlite(conn, Operation::Status)
            .map(Output::into_status)
    }

    /// Reverts applied migrations with their down scripts, newest first, each
    /// together with the removal of its history row.
    ///
    /// Refuses before reverting anything when a migration to revert has no
    /// down script, is missing from the binary, was edited or is incomplete
    /// ([`Error::Irreversible`], [`Error::Drift`], [`Error::Incomplete`]).
    /// With [`TransactionMode::Single`](crate::TransactionMode::Single) the
    /// whole rollback is one transaction. A `no-transaction` down script runs
    /// one statement at a time outside a transaction.
    ///
    /// Stop the services that migrate at start-up first: one starting during
    /// the rollback would apply the reverted migrations again.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn rollback(&self, conn: &mut Connection, rollback: Rollback) -> Result<Report> {
        self.perform_sqlite(conn, Operation::Rollback(rollback))
            .map(Output::into_report)
    }

    /// Records the migrations up to and including `version` as applied
    /// without running them, for a database whose schema was created another
    /// way. Versions already applied are left alone.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn baseline(&self, conn: &mut Connection, version: i64) -> Result<Report> {
        self.perform_sqlite(conn, Operation::Baseline(version))
            .map(Output::into_report)
    }

    /// Replaces the recorded checksum of one applied migration with the
    /// binary's, after a deliberate edit (see [`Error::Drift`]). Returns
    /// whether the record changed.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn repair(&self, conn: &mut Connection, version: i64) -> Result<bool> {
        self.perform_sqlite(conn, Operation::Repair(version))
            .map(Output::into_repaired)
    }

    /// Settles a `no-transaction` migration that stopped part-way (see
    /// [`Error::Incomplete`]), after an operator finished or undid it by hand.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn resolve(
        &self,
        conn: &mut Connection,
        version: i64,
        resolution: Resolution,
    ) -> Result<()> {
        self.perform_sqlite(conn, Operation::Resolve(version, resolution))
            .map(drop)
    }

    /// Records in migrate's history every migration that another tool
    /// recorded as applied, so that a database that tool migrated
    /// continues under migrate: from then on a run applies only what is
    /// new. The tool's table is read as the tool reads it and left as it is.
    ///
    /// ```
    /// # static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    /// use migrate_core::Tool;
    /// # use migrate_core::rusqlite::Connection;
    ///
    /// let mut conn = Connection::open_in_memory()?;
    /// // The database as sqlx left it, having applied the first migration.
    /// conn.execute_batch(
    ///     "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
    ///          installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
    ///          checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
    ///      INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
    ///          VALUES (1, 'create users', TRUE, x'00', 1);",
    /// )?;
    /// # conn.execute_batch(MIGRATIONS.get(1).unwrap().up().sql())?;
    /// let adoption = MIGRATIONS.runner().adopt(&mut conn, Tool::Sqlx)?;
    /// assert_eq!(adoption.recorded().len(), 1);
    /// let report = MIGRATIONS.run(&mut conn)?;
    /// assert!(report.applied().iter().all(|applied| applied.version > 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// - It takes the migration lock, and writes every row in one
    ///   transaction with the checksums of the current files: the other
    ///   tool's checksums use other algorithms and cannot be compared.
    /// - It is idempotent: what migrate's history already holds is left
    ///   alone, so a service may adopt at every start-up, before [`run`](Runner::run).
    /// - It refuses, writing nothing ([`Error::Adopt`]), when the tool's
    ///   table records a failed or dirty migration, names a migration the
    ///   folder does not have, or when migrate's history disagrees with it.
    ///
    /// [`Source::table`](crate::Source::table) names a renamed table.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn adopt(&self, conn: &mut Connection, source: impl Into<Source>) -> Result<Adoption> {
        self.perform_sqlite(conn, Operation::Adopt(source.into()))
            .map(Output::into_adopted)
    }

    /// Checks a migrated SQLite database, changing nothing: `PRAGMA
    /// integrity_check` and `PRAGMA foreign_key_check` (each violation by
    /// table, rowid and parent table), and migrations the history records
    /// as incomplete. See [`Verification`].
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn verify(&self, conn: &Connection) -> Result<Verification> {
        self.perform_sqlite(conn, Operation::Verify)
            .map(Output::into_verified)
    }

    /// Runs any [`Operation`] on a SQLite connection, as the methods above
    /// do: for a tool that dispatches commands, like the `migrate` command
    /// line. The busy timeout is handled as [`run`](Runner::run) says; the
    /// connection's own setting is put back afterwards.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn perform_sqlite(&self, conn: &Connection, operation: Operation) -> Result<Output<'a>> {
        let mut driver = CallersDriver::new(SqliteDriver::new(conn), self.busy_timeout);
        let result = self.perform(operation, &mut driver);
        let restored = driver
            .restore()
            .map_err(|e| Error::database("restoring the busy timeout", Box::new(e)));
        let output = result?;
        restored?;
        Ok(output)
    }
}
