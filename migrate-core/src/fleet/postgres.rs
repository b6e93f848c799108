//! A fleet of PostgreSQL databases or schemas, as futures polled together.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use tokio_postgres::Client;

use super::{Fleet, FleetReport, Outcome, Skip, Task, classify};
use crate::{DriverError, Error};

impl Fleet<'_> {
    /// Applies the pending migrations to every PostgreSQL database of
    /// `targets`, each connected with `connect`, at most
    /// [`parallel`](Fleet::parallel) at a time. Returns when every member
    /// is done.
    ///
    /// `connect` opens one connection and spawns its task, with the TLS
    /// setup of your choice; each member's connection is dropped, and so
    /// closed, when the member is done. The members are futures polled
    /// together on the caller's task, so a single-threaded runtime serves;
    /// it needs tokio's time driver, for the lock's pauses and the member
    /// timeout.
    ///
    /// ```no_run
    /// use migrate_core::fleet::Fleet;
    /// use migrate_core::tokio_postgres::{self, NoTls};
    ///
    /// static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
    ///
    /// # async fn deploy() {
    /// // One schema per tenant, chosen by the connection's search_path.
    /// let tenants: Vec<String> = (1..=40)
    ///     .map(|n| format!("postgresql://app@db/app?options=-csearch_path%3Dtenant_{n}"))
    ///     .collect();
    /// let report = Fleet::new(MIGRATIONS.runner())
    ///     .parallel(8)
    ///     .apply_postgres(tenants, async |url: &String| {
    ///         let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    ///         tokio::spawn(connection);
    ///         Ok::<_, tokio_postgres::Error>(client)
    ///     })
    ///     .await;
    /// println!("{}", report.summary());
    /// for (url, error) in report.failures() {
    ///     eprintln!("{url}: {error}");
    /// }
    /// # }
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn apply_postgres<T, E>(
        &self,
        targets: impl IntoIterator<Item = T>,
        connect: impl AsyncFn(&T) -> Result<Client, E>,
    ) -> FleetReport<T>
    where
        E: Into<DriverError>,
    {
        self.postgres(Task::Apply, targets.into_iter().collect(), &connect)
            .await
    }

    /// Reads the state of every migration in every PostgreSQL database of
    /// `targets`, changing nothing and taking no lock. See
    /// [`Standing`](super::Standing) for which members are behind, ahead or
    /// diverged.
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn status_postgres<T, E>(
        &self,
        targets: impl IntoIterator<Item = T>,
        connect: impl AsyncFn(&T) -> Result<Client, E>,
    ) -> FleetReport<T>
    where
        E: Into<DriverError>,
    {
        self.postgres(Task::Status, targets.into_iter().collect(), &connect)
            .await
    }

    async fn postgres<T, E>(
        &self,
        task: Task,
        targets: Vec<T>,
        connect: &impl AsyncFn(&T) -> Result<Client, E>,
    ) -> FleetReport<T>
    where
        E: Into<DriverError>,
    {
        let board = self.board(targets.len());
        let mut results: Vec<Option<(Outcome, Duration)>> =
            (0..targets.len()).map(|_| None).collect();
        let (board_ref, targets_ref) = (&board, &targets);
        // A member's future is made, and its refusal decided, only when a
        // place among the `parallel` running ones is free.
        let mut members = stream::iter(0..targets.len())
            .map(|index| async move {
                let started = Instant::now();
                let outcome = match board_ref.refusal() {
                    Some(skip) => Outcome::Skipped(skip),
                    None => {
                        self.postgres_member(task, &targets_ref[index], connect)
                            .await
                    }
                };
                let elapsed = started.elapsed();
                board_ref.finish(index, &outcome, elapsed);
                (index, outcome, elapsed)
            })
            .buffer_unordered(self.parallel);
        while let Some((index, outcome, elapsed)) = members.next().await {
            results[index] = Some((outcome, elapsed));
        }
        drop(members);
        let results = results
            .into_iter()
            // The stream yields every index below the length once.
            .map(|result| result.expect("every member was run"))
            .collect();
        board.report(targets, results)
    }

    async fn postgres_member<T, E>(
        &self,
        task: Task,
        target: &T,
        connect: &impl AsyncFn(&T) -> Result<Client, E>,
    ) -> Outcome
    where
        E: Into<DriverError>,
    {
        let deadline = self.member_timeout.map(|timeout| Instant::now() + timeout);
        // A connection that is not open yet holds nothing, so giving up on
        // it at the deadline is safe.
        let connected = match (deadline, self.member_timeout) {
            (Some(deadline), Some(timeout)) => {
                match tokio::time::timeout_at(deadline.into(), connect(target)).await {
                    Ok(connected) => connected,
                    Err(_) => return Outcome::Skipped(Skip::Connecting { timeout }),
                }
            }
            _ => connect(target).await,
        };
        let client = match connected {
            Ok(client) => client,
            Err(error) => {
                return Outcome::Failed(Error::database(
                    "connecting to the database",
                    error.into(),
                ));
            }
        };
        let runner = self.member_runner(deadline);
        let result = runner.perform_postgres(&client, task.operation()).await;
        classify(task, result, false)
    }
}
