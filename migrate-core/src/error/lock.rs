//! What a lock error carries: why a lock strategy cannot protect a run, and
//! the session that holds the lock.

use std::fmt;

/// Why a lock strategy cannot protect a run. Its text says why, and what to
/// do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockProblem {
    /// [`LockStrategy::Transaction`](crate::LockStrategy::Transaction) and a
    /// migration that runs outside a transaction. Nothing was applied.
    NoTransaction {
        /// The migration's version.
        version: i64,
        /// The script that runs outside a transaction.
        file: String,
    },
    /// The connection changed server sessions between two round trips of the
    /// run: it goes through a pooler in transaction mode, where the session
    /// lock cannot be held while a `no-transaction` migration runs. The
    /// lock was released and nothing more was applied.
    TransactionPooling {
        /// The backend pid of the server session seen first.
        before: i32,
        /// The backend pid seen later.
        after: i32,
    },
    /// The server session already holds the session lock for another client
    /// of a pooler in transaction mode. Nothing was applied.
    SharedSession {
        /// The backend pid of that server session.
        pid: i32,
    },
    /// A pooler moved the run to another server session while a
    /// `no-transaction` migration ran, so the session lock stays with the
    /// first one. What the run applied is recorded.
    LeftBehind {
        /// The backend pid of the server session that still holds the lock.
        holder: i32,
        /// The backend pid the run ended on.
        now: i32,
    },
    /// CockroachDB, whose advisory lock functions succeed without locking.
    /// Nothing was applied.
    CockroachDb {
        /// The strategy that was asked for.
        strategy: crate::LockStrategy,
        /// The server's `version()`.
        version: String,
    },
}

const USE_TABLE: &str = "use the table strategy (`LockStrategy::Table`, `migrate --lock table`)";

impl fmt::Display for LockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockProblem::NoTransaction { version, file } => write!(
                f,
                "the transaction strategy holds its lock only inside migrate's transactions, and migration {version} ({file}) runs outside any transaction, where nothing would keep another runner out and a runner that died half-way could not be told from one still running; nothing was applied; {USE_TABLE}, whose lease outlives transactions"
            ),
            LockProblem::TransactionPooling { before, after } => write!(
                f,
                "the connection moved from server session {before} to {after} (backend pids) between two round trips of this run, so it goes through a pooler in transaction pooling mode (PgBouncer's `pool_mode = transaction`), which could move it again while a no-transaction migration runs outside any transaction and leave the session lock behind; the lock was released before that migration, and nothing more was applied; {USE_TABLE}, or connect directly"
            ),
            LockProblem::SharedSession { pid } => write!(
                f,
                "this server session (backend pid {pid}) already holds the session lock, for another client: the connection goes through a pooler in transaction pooling mode (PgBouncer's `pool_mode = transaction`), which shares server sessions, so the lock cannot keep that client out; nothing was applied; {USE_TABLE}"
            ),
            LockProblem::LeftBehind { holder, now } => write!(
                f,
                "a pooler in transaction pooling mode moved the run from server session {holder} to {now} (backend pids) while a no-transaction migration ran outside any transaction, so the session lock is still held by backend {holder} and other runners will wait for it; the migrations this run applied are recorded; release it with `SELECT pg_terminate_backend({holder})` (or let the pooler close that server connection), and {USE_TABLE} behind a pooler"
            ),
            LockProblem::CockroachDb { strategy, version } => write!(
                f,
                "the server is CockroachDB ({version}), whose advisory lock functions succeed without locking anything, so the {strategy} strategy would let every runner in at once; nothing was applied; {USE_TABLE}, which the default strategy picks on CockroachDB"
            ),
        }
    }
}

/// The database session that holds a lock, as `pg_stat_activity` shows it.
///
/// The fields other than `pid` are `None` when the role running the
/// migrations may not see other roles' sessions (it needs `pg_read_all_stats`
/// or to be the same role), or when the holder is not a client backend.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// The backend's process id, for `pg_terminate_backend`.
    pub pid: i32,
    /// The `application_name` the holder connected with.
    pub application_name: Option<String>,
    /// The holder's client address; `None` for a unix socket.
    pub client_addr: Option<String>,
    /// What the session is doing: `active`, `idle`, `idle in transaction`…
    pub state: Option<String>,
    /// When its current or last query started.
    pub query_start: Option<String>,
    /// [`LockStrategy::Table`](crate::LockStrategy::Table): the lease's
    /// owner, as the runner that took it named itself (host, process id and
    /// a random part). `pid` is then the server session it took it on.
    pub owner: Option<String>,
    /// [`LockStrategy::Table`](crate::LockStrategy::Table): when the lease
    /// expires unless its owner renews it, in UTC.
    pub expires_at: Option<String>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unknown =
            |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".to_owned());
        if let Some(owner) = &self.owner {
            return write!(
                f,
                "the lease of runner `{owner}` (application_name `{}`, client {}, taken on server session pid {}), which expires at {} unless renewed",
                unknown(&self.application_name),
                self.client_addr
                    .clone()
                    .unwrap_or_else(|| "local socket or unknown".to_owned()),
                self.pid,
                unknown(&self.expires_at),
            );
        }
        write!(
            f,
            "pid {} (application_name `{}`, client {}, state {}, query started at {})",
            self.pid,
            unknown(&self.application_name),
            self.client_addr
                .clone()
                .unwrap_or_else(|| "local socket or unknown".to_owned()),
            unknown(&self.state),
            unknown(&self.query_start),
        )
    }
}
