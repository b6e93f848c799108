//! The lock strategies, on PostgreSQL: what each asks for, in which order,
//! and what it refuses. The recorder plays the server, a pooler in
//! transaction mode that moves the run between server sessions, and
//! CockroachDB, whose advisory locks always succeed.

use std::time::Duration;

use super::recorder::{Entry, Recorder};
use super::{applied, four, migrations, perform, with_no_transaction};
use crate::driver::{Dialect, Purpose};
use crate::{Error, LockProblem, LockStrategy, Operation, Rollback, TransactionMode};

use Purpose::*;

const UNLOCK: &str = "SELECT pg_advisory_unlock(42), pg_backend_pid()";

/// Whether `piece` is the lease's check at the start of a write.
fn is_guard(piece: &str) -> bool {
    piece.starts_with("DO $migrate$") && piece.contains("_lock")
}

// --- The session strategy, the default ---

#[test]
fn the_session_lock_keeps_a_transaction_open_from_its_attempt_to_its_release() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    applied(perform(&four.runner(), &mut recorder, Operation::Apply));
    assert_eq!(
        recorder.purposes(),
        [ReadFingerprint, ReadHistory, Lock, Lock, Batch, Unlock]
    );
    let sent = recorder.sent();
    assert_eq!(
        sent[1][1], "SELECT pg_backend_pid()",
        "the read before the lock notes its session"
    );
    assert_eq!(sent[2][0], "BEGIN", "the attempt opens a transaction");
    assert_eq!(
        sent[3][sent[3].len() - 2..],
        ["COMMIT", "BEGIN"],
        "what the read creates is committed"
    );
    assert_eq!(
        sent[4].last().map(String::as_str),
        Some("BEGIN"),
        "the batch ends in a transaction"
    );
    assert_eq!(
        sent[5],
        ["COMMIT", UNLOCK],
        "the release goes with the last COMMIT"
    );
    assert!(!recorder.locked());
}

#[test]
fn behind_a_transaction_pooler_the_session_lock_stays_on_one_server_session() {
    let (_dir, four) = four();
    for mode in [TransactionMode::Single, TransactionMode::PerMigration] {
        let mut recorder = Recorder::new(Dialect::Postgres, &four);
        recorder.move_between_sessions();
        let runner = four.runner().transaction_mode(mode);
        assert_eq!(
            applied(perform(&runner, &mut recorder, Operation::Apply)),
            [1, 2, 3, 4]
        );
        assert!(
            !recorder.locked(),
            "{mode:?}: released on the session that took it"
        );
    }
}

#[test]
fn behind_a_transaction_pooler_a_no_transaction_migration_is_refused_before_it_runs() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    // The read of the history before the lock notes its server session; a
    // first deploy, whose read fails, has only the lock's attempts to go by.
    recorder.set_history(&[]);
    recorder.move_between_sessions();
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    let Error::Lock {
        problem: LockProblem::TransactionPooling { before, after },
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_ne!(before, after);
    let message = error.to_string();
    assert!(message.contains("transaction pooling"), "{message}");
    assert!(message.contains("--lock table"), "{message}");
    assert_eq!(
        recorder.finished(),
        [1],
        "the migration before it was applied"
    );
    assert!(recorder.statements().is_empty(), "nothing of it ran");
    assert!(recorder.unfinished().is_empty());
    assert!(!recorder.locked(), "released while still pinned");
}

#[test]
fn a_server_session_that_already_holds_the_session_lock_is_refused() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.share_session();
    let error = perform(&four.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Lock {
                problem: LockProblem::SharedSession { pid: 100 },
                ..
            }
        ),
        "{error}"
    );
    assert!(recorder.batches().is_empty());
    assert!(
        recorder
            .sent()
            .iter()
            .all(|sent| !sent.contains(&UNLOCK.to_owned())),
        "a lock it does not hold is not released"
    );
}

#[test]
fn a_session_lock_left_on_another_server_session_is_reported_after_the_run() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    // The pooler keeps the run on one server session until the migration
    // that runs outside a transaction, then moves it.
    recorder.move_between_sessions_after(5);
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    let Error::Lock {
        problem: LockProblem::LeftBehind { holder, now },
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(*holder, 100);
    assert_ne!(now, holder);
    assert!(
        error.to_string().contains("pg_terminate_backend(100)"),
        "{error}"
    );
    assert_eq!(recorder.finished(), [1, 2, 3], "what ran is recorded");
}

// --- The transaction strategy ---

#[test]
fn the_transaction_lock_lives_in_the_run_s_transaction() {
    let (_dir, four) = four();
    let runner = four.runner().lock_strategy(LockStrategy::Transaction);
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.move_between_sessions();
    assert_eq!(
        applied(perform(&runner, &mut recorder, Operation::Apply)),
        [1, 2, 3, 4]
    );
    // The batch's COMMIT releases the lock: nothing else is needed.
    assert_eq!(
        recorder.purposes(),
        [ReadFingerprint, ReadHistory, Lock, Lock, Batch]
    );
    let sent = recorder.sent();
    assert!(
        sent[2][1].contains("pg_try_advisory_xact_lock(k.key)"),
        "{}",
        sent[2][1]
    );
    assert_eq!(sent[4].last().map(String::as_str), Some("COMMIT"));
    assert!(!recorder.locked());
}

#[test]
fn the_transaction_lock_is_taken_again_and_the_history_read_again_for_each_transaction() {
    let (_dir, four) = four();
    let runner = four
        .runner()
        .lock_strategy(LockStrategy::Transaction)
        .transaction_mode(TransactionMode::PerMigration);
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    applied(perform(&runner, &mut recorder, Operation::Apply));
    assert_eq!(recorder.batches(), [vec![1], vec![2], vec![3], vec![4]]);
    assert_eq!(
        recorder.purposes()[2..],
        [Lock, Lock, Batch, Lock, Batch, Lock, Batch, Lock, Batch]
    );
    let relock = &recorder.sent()[5];
    assert_eq!(relock[0], "BEGIN");
    assert!(relock[1].starts_with("SELECT pg_try_advisory_xact_lock(42)"));
    assert!(
        relock[3].starts_with("SELECT version"),
        "the history, read under it"
    );
    assert!(!recorder.locked());
}

#[test]
fn the_transaction_lock_refuses_a_no_transaction_migration_before_anything_runs() {
    let (_dir, folder) = with_no_transaction();
    let runner = folder.runner().lock_strategy(LockStrategy::Transaction);
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    let Error::Lock {
        problem: LockProblem::NoTransaction { version, file },
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(*version, 2);
    assert!(file.ends_with("2_index.sql"), "{file}");
    assert!(error.to_string().contains("--lock table"), "{error}");
    assert!(
        !recorder.purposes().contains(&Lock),
        "refused before the lock"
    );
    assert!(recorder.batches().is_empty());

    // A rollback through a no-transaction down script, likewise.
    let (_dir, reversible) = migrations(&[
        ("1_a.up.sql", "CREATE TABLE a (id INT);"),
        ("1_a.down.sql", "-- migrate:no-transaction\nDROP TABLE a;"),
    ]);
    let runner = reversible.runner().lock_strategy(LockStrategy::Transaction);
    let mut recorder = Recorder::new(Dialect::Postgres, &reversible);
    recorder.set_history(&[Entry::of(&reversible, 1)]);
    let error = perform(&runner, &mut recorder, Operation::Rollback(Rollback::To(0))).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Lock {
                problem: LockProblem::NoTransaction { version: 1, .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(recorder.statements().is_empty());
    assert_eq!(recorder.finished(), [1]);
    assert!(!recorder.locked());
}

#[test]
fn a_rollback_under_the_transaction_lock_reverts_in_the_lock_s_one_transaction() {
    let (_dir, four) = four();
    let runner = four
        .runner()
        .lock_strategy(LockStrategy::Transaction)
        .transaction_mode(TransactionMode::PerMigration);
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.set_history(&[Entry::of(&four, 1), Entry::of(&four, 2)]);
    let reverted = applied(perform(
        &runner,
        &mut recorder,
        Operation::Rollback(Rollback::To(0)),
    ));
    assert_eq!(reverted, [2, 1]);
    assert_eq!(recorder.reverted_batches(), [vec![2, 1]]);
    assert!(!recorder.locked());
}

// --- The table strategy ---

#[test]
fn the_table_strategy_takes_a_lease_and_checks_it_in_every_write() {
    let (_dir, folder) = with_no_transaction();
    let runner = folder.runner().lock_strategy(LockStrategy::Table);
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    recorder.move_between_sessions();
    assert_eq!(
        applied(perform(&runner, &mut recorder, Operation::Apply)),
        [1, 2, 3]
    );
    assert_eq!(recorder.lease(), (1, false), "taken once, then released");
    let sent = recorder.sent();
    // A new database: the lease table is created as the lease is taken.
    assert!(
        sent[2][..sent[2].len() - 1]
            .iter()
            .any(|s| s.starts_with("CREATE TABLE IF NOT EXISTS \"_migrations_lock\""))
    );
    assert!(sent[2].last().unwrap().starts_with("WITH prior AS"));
    for (purpose, pieces) in recorder.purposes().iter().zip(&sent) {
        let writes_history = matches!(purpose, Batch | Record);
        assert_eq!(
            pieces.iter().any(|piece| is_guard(piece)),
            writes_history,
            "{purpose:?}: {pieces:?}"
        );
    }
    let batch = &sent[recorder
        .purposes()
        .iter()
        .position(|p| *p == Batch)
        .unwrap()];
    assert!(is_guard(&batch[1]), "checked first: {batch:?}");
    assert!(
        batch[batch.len() - 2].contains("SET renewed_at"),
        "renewed last: {batch:?}"
    );
    assert!(
        sent.last().unwrap()[0].ends_with("RETURNING token"),
        "released"
    );
}

#[test]
fn a_runner_whose_lease_was_taken_over_records_nothing_more() {
    let (_dir, folder) = with_no_transaction();
    let runner = folder.runner().lock_strategy(LockStrategy::Table);
    // Taken over before the progress of the no-transaction migration's
    // first statement is recorded (checks: batch, start, progress).
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    recorder.steal_lease_at_guard(3);
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    let Error::LeaseLost { token, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(*token, 1);
    let cause = std::error::Error::source(&error).map(ToString::to_string);
    assert!(
        cause.is_some_and(|c| c.contains("migration 2")),
        "{error:?}"
    );
    assert_eq!(recorder.finished(), [1]);
    assert_eq!(
        recorder.unfinished(),
        [(2, Some(0))],
        "its progress was refused"
    );
    assert_eq!(recorder.statements().len(), 1);
    assert_eq!(recorder.lease().0, 2, "the other runner's token");

    // Taken over before a batch: nothing of it commits.
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.steal_lease_at_guard(1);
    let runner = four.runner().lock_strategy(LockStrategy::Table);
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(error, Error::LeaseLost { token: 1, .. }),
        "{error}"
    );
    assert!(recorder.finished().is_empty());
    assert!(recorder.rolled_back());
}

#[test]
fn a_lease_held_elsewhere_is_polled_and_its_owner_named_on_timeout() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.lock_free_after(3);
    let runner = four.runner().lock_strategy(LockStrategy::Table);
    applied(perform(&runner, &mut recorder, Operation::Apply));
    assert_eq!(recorder.sleeps(), 3);

    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.lock_free_after(usize::MAX);
    let runner = runner.lock_timeout(Duration::from_secs(1));
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    let Error::LockTimeout {
        holder: Some(holder),
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(holder.owner.as_deref(), Some("other-host:7:0badcafe"));
    assert_eq!(
        holder.expires_at.as_deref(),
        Some("2026-12-01T00:05:00.000Z")
    );
    assert!(
        error
            .to_string()
            .contains("the lease of runner `other-host:7:0badcafe`"),
        "{error}"
    );
    assert!(
        !recorder.purposes().contains(&LockHolder),
        "the attempt named the owner"
    );
    assert!(recorder.batches().is_empty());
}

// --- CockroachDB ---

#[test]
fn on_cockroachdb_the_default_takes_a_lease_and_advisory_strategies_are_refused() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.cockroach();
    assert_eq!(
        applied(perform(&four.runner(), &mut recorder, Operation::Apply)),
        [1, 2, 3, 4]
    );
    assert_eq!(recorder.lease(), (1, false), "a lease, taken and released");
    assert!(
        recorder
            .sent()
            .iter()
            .any(|sent| sent.iter().any(|piece| is_guard(piece))),
        "fenced"
    );

    for strategy in [LockStrategy::Session, LockStrategy::Transaction] {
        let mut recorder = Recorder::new(Dialect::Postgres, &four);
        recorder.cockroach();
        let runner = four.runner().lock_strategy(strategy);
        let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
        let Error::Lock {
            problem: LockProblem::CockroachDb { version, .. },
            ..
        } = &error
        else {
            panic!("{strategy}: {error}");
        };
        assert!(version.starts_with("CockroachDB CCL"));
        assert!(
            error.to_string().contains("without locking anything"),
            "{error}"
        );
        assert!(recorder.batches().is_empty());
        assert_eq!(recorder.lease(), (0, false));
    }
}

#[test]
fn sqlite_ignores_the_strategy() {
    let (_dir, four) = four();
    for strategy in [
        LockStrategy::Session,
        LockStrategy::Transaction,
        LockStrategy::Table,
    ] {
        let mut recorder = Recorder::new(Dialect::Sqlite, &four);
        let runner = four.runner().lock_strategy(strategy);
        applied(perform(&runner, &mut recorder, Operation::Apply));
        assert_eq!(recorder.sent()[2][0], "BEGIN IMMEDIATE", "{strategy}");
        assert!(!recorder.locked());
    }
}
