//! The locks, as the database answers them: SQLite's write lock, and the
//! PostgreSQL server's part: the server session behind a pooler, the
//! advisory locks, the lease, and what `version()` says.

use crate::driver::{Dialect, Failure, FailureKind, Row};

use super::{Recorder, between, number_after};

impl Recorder<'_> {
    /// PostgreSQL behind a pooler in transaction mode that hands every
    /// message outside a transaction to another server session.
    pub(crate) fn move_between_sessions(&mut self) {
        self.moving = true;
    }

    /// The same, once this many actions have run on one server session.
    pub(crate) fn move_between_sessions_after(&mut self, actions: usize) {
        self.moving = true;
        self.moving_after = actions;
    }

    /// PostgreSQL: the server session already holds the session lock, for
    /// another client of a pooler.
    pub(crate) fn share_session(&mut self) {
        self.shared = true;
    }

    /// CockroachDB: `version()` says so, and advisory locks always succeed.
    pub(crate) fn cockroach(&mut self) {
        self.version = "CockroachDB CCL v23.2.0 (x86_64-pc-linux-gnu, built 2024/01/16)".to_owned();
    }

    /// The table strategy: another runner takes the lease over just before
    /// the `n`th check of it.
    pub(crate) fn steal_lease_at_guard(&mut self, n: usize) {
        self.steal_at_guard = Some(n);
    }

    /// The lease's fencing token, and whether it is held.
    pub(crate) fn lease(&self) -> (i64, bool) {
        (self.lease_token, self.leased)
    }

    fn is_cockroach(&self) -> bool {
        self.version.starts_with("CockroachDB")
    }

    /// The server session of the next message: another one when a pooler
    /// moves the run and no transaction pins it.
    pub(super) fn next_session(&mut self) {
        self.actions += 1;
        if self.moving && self.actions > self.moving_after && !self.in_transaction() {
            self.pid += 1;
        }
    }

    /// An advisory lock attempt: `BEGIN`, then the attempt, and for the
    /// transaction strategy's second lock the reads under it.
    fn advisory_attempt(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let attempt = &statements[1];
        let level_transaction = attempt.contains("pg_try_advisory_xact_lock");
        self.begin();
        self.attempts += 1;
        let free = self.is_cockroach() || (self.attempts > self.free_after && !self.locked);
        let taken = match (self.shared && !level_transaction, free) {
            (true, _) => None,
            (false, true) => Some("t".to_owned()),
            (false, false) => Some("f".to_owned()),
        };
        if taken.as_deref() == Some("t") && !self.is_cockroach() {
            self.locked = true;
            self.transaction_lock = level_transaction;
            self.lock_pid = self.pid;
        }
        let pid = Some(self.pid.to_string());
        let row = match attempt.starts_with("SELECT k.key") {
            true => vec![
                Some("42".to_owned()),
                taken,
                Some("public".to_owned()),
                pid,
                Some(self.version.clone()),
            ],
            false => vec![taken, pid],
        };
        let mut results = vec![Vec::new(), vec![row]];
        if statements.len() == 4 {
            results.push(vec![self.stored_row()]);
            results.push(self.rows());
        }
        Ok(results)
    }

    fn stored_row(&self) -> Row {
        vec![
            self.stored_fingerprint.clone(),
            Some("1".to_owned()),
            Some("1".to_owned()),
        ]
    }

    /// An attempt to take the lease, after creating its table if asked.
    fn take_lease(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let (take, creates) = statements.split_last().expect("a statement");
        if creates
            .iter()
            .any(|s| s.starts_with("CREATE TABLE IF NOT EXISTS"))
        {
            self.lease_table = true;
        }
        if !self.lease_table {
            return Err(Recorder::missing().after_statements(creates.len()));
        }
        self.attempts += 1;
        let prior = (!self.lease_owner.is_empty()).then(|| self.lease_owner.clone());
        let free = self.attempts > self.free_after && !self.leased;
        let token = free.then(|| {
            self.lease_token += 1;
            self.leased = true;
            self.lease_owner = between(take, "SET owner = '", "'").to_owned();
            self.lease_token.to_string()
        });
        let row = vec![
            token,
            Some(prior.unwrap_or_else(|| "other-host:7:0badcafe".to_owned())),
            Some("4242".to_owned()),
            Some("other runner".to_owned()),
            None,
            Some("2026-12-01T00:05:00.000Z".to_owned()),
            Some("public".to_owned()),
            Some("public".to_owned()),
        ];
        let mut results: Vec<Vec<Row>> = creates.iter().map(|_| Vec::new()).collect();
        results.push(vec![row]);
        Ok(results)
    }

    /// The check of the lease at the start of a write: fails once another
    /// runner took it over.
    pub(super) fn guard(&mut self, sql: &str) -> Result<(), Failure> {
        self.guards += 1;
        if self.steal_at_guard == Some(self.guards) {
            self.lease_token += 1;
            self.lease_owner = "thief:1:00000000".to_owned();
        }
        let owner = between(sql, "owner = '", "'");
        let token: i64 = number_after(sql, "token = ");
        match owner == self.lease_owner && token == self.lease_token {
            true => Ok(()),
            false => Err(Failure::new(
                FailureKind::Other,
                "migrate: this runner no longer holds the migration lease",
            )),
        }
    }

    /// The release of the lease: a row when it was still this runner's.
    pub(super) fn release_lease(&mut self, sql: &str) -> Vec<Row> {
        let owner = between(sql, "owner = '", "'");
        let token: i64 = number_after(sql, "token = ");
        if owner == self.lease_owner && token == self.lease_token {
            self.leased = false;
            return vec![vec![Some(token.to_string())]];
        }
        Vec::new()
    }

    pub(super) fn lock(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        if self.dialect == Dialect::Sqlite {
            self.history.get_or_insert_with(Vec::new);
            self.begin();
            self.locked = true;
            let (user_version, application_id) = self.pragmas;
            let clock = vec![
                Some("2026-12-01T00:00:00.000Z".to_owned()),
                Some(application_id.to_string()),
                Some(user_version.to_string()),
            ];
            return Ok(vec![Vec::new(), Vec::new(), vec![clock], self.rows()]);
        }
        if statements
            .last()
            .is_some_and(|last| last.starts_with("WITH prior AS"))
        {
            return self.take_lease(statements);
        }
        if statements == ["ROLLBACK"] {
            // An attempt that did not take the lock gives up its transaction.
            self.staged = None;
            self.end_transaction();
            return Ok(vec![Vec::new()]);
        }
        if statements[0] == "BEGIN" {
            return self.advisory_attempt(statements);
        }
        self.read_under_lock(statements)
    }

    /// The reads under a lock, after creating what is missing, with the
    /// savepoint and transaction statements around them.
    fn read_under_lock(&mut self, statements: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
        let mut results = Vec::new();
        for statement in statements {
            let rows = match statement.as_str() {
                "COMMIT" => {
                    self.commit();
                    Vec::new()
                }
                "BEGIN" => {
                    self.begin();
                    Vec::new()
                }
                create if create.starts_with("CREATE TABLE") => {
                    self.history.get_or_insert_with(Vec::new);
                    Vec::new()
                }
                companion if companion.starts_with("DO $migrate$") => {
                    self.companion |= self.history.is_some();
                    Vec::new()
                }
                read if read.starts_with("SELECT fingerprint") => {
                    if self.history.is_none() || !self.companion {
                        return Err(Recorder::missing().after_statements(results.len()));
                    }
                    vec![self.stored_row()]
                }
                read if read.starts_with("SELECT version") => self.rows(),
                _ => Vec::new(),
            };
            results.push(rows);
        }
        Ok(results)
    }
}
