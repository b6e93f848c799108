//! Applying: the order of the actions, the batches, the checks before the
//! lock, the lock itself, and what a failure leaves behind.

use std::time::Duration;

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform, with_no_transaction};
use crate::driver::{Dialect, Purpose};
use crate::{Error, Migration, Migrations, Operation, Progress, Script, TransactionMode};

#[test]
fn a_new_database_gets_every_migration_in_one_batch() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        let versions = applied(perform(&four.runner(), &mut recorder, Operation::Apply));
        assert_eq!(versions, [1, 2, 3, 4], "{dialect:?}");
        assert_eq!(recorder.batches(), [vec![1, 2, 3, 4]], "{dialect:?}");
        assert_eq!(recorder.finished(), [1, 2, 3, 4], "{dialect:?}");
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
        assert!(!recorder.locked(), "{dialect:?}: the lock is released");
    }
}

#[test]
fn the_first_postgresql_run_is_six_actions() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    perform(&four.runner(), &mut recorder, Operation::Apply).unwrap();
    use Purpose::*;
    assert_eq!(
        recorder.purposes(),
        [ReadFingerprint, ReadHistory, Lock, Lock, Batch, Unlock]
    );
}

#[test]
fn an_up_to_date_start_is_one_read() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        perform(&four.runner(), &mut recorder, Operation::Apply).unwrap();
        recorder.clear_log();
        let versions = applied(perform(&four.runner(), &mut recorder, Operation::Apply));
        assert!(versions.is_empty());
        assert_eq!(
            recorder.purposes(),
            [Purpose::ReadFingerprint],
            "{dialect:?}"
        );
    }
}

#[test]
fn per_migration_mode_commits_each_migration_alone() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        let runner = four
            .runner()
            .transaction_mode(TransactionMode::PerMigration);
        applied(perform(&runner, &mut recorder, Operation::Apply));
        assert_eq!(
            recorder.batches(),
            [vec![1], vec![2], vec![3], vec![4]],
            "{dialect:?}"
        );
    }
}

#[test]
fn a_no_transaction_migration_splits_the_batch_and_records_its_progress() {
    let (_dir, folder) = with_no_transaction();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &folder);
        let versions = applied(perform(&folder.runner(), &mut recorder, Operation::Apply));
        assert_eq!(versions, [1, 2, 3]);
        assert_eq!(recorder.batches(), [vec![1], vec![3]], "{dialect:?}");
        assert_eq!(recorder.statements().len(), 3, "{dialect:?}");
        assert_eq!(recorder.progress_records(), [1, 2], "{dialect:?}");
        assert_eq!(recorder.finished(), [1, 2, 3], "{dialect:?}");
    }
}

#[test]
fn drift_is_refused_before_the_lock() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::applied(1, "edited")]);
        let error = perform(&four.runner(), &mut recorder, Operation::Apply).unwrap_err();
        assert!(matches!(error, Error::Drift { version: 1, .. }), "{error}");
        assert!(!recorder.purposes().contains(&Purpose::Lock), "{dialect:?}");
    }
}

#[test]
fn drift_is_refused_even_below_an_allowed_gap() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    recorder.set_history(&[
        Entry::of(&four, 1),
        Entry::of(&four, 2),
        Entry::applied(3, "x"),
    ]);
    let runner = four.runner().allow_missing(true).allow_out_of_order(true);
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    assert!(matches!(error, Error::Drift { version: 3, .. }), "{error}");
}

#[test]
fn a_newer_database_is_refused_unless_allowed() {
    let (_dir, four) = four();
    for allow in [false, true] {
        let mut recorder = Recorder::new(Dialect::Postgres, &four);
        let mut history: Vec<Entry> = (1..=4).map(|v| Entry::of(&four, v)).collect();
        history.push(Entry::applied(5, "from a newer binary"));
        recorder.set_history(&history);
        let result = perform(
            &four.runner().allow_missing(allow),
            &mut recorder,
            Operation::Apply,
        );
        match allow {
            false => assert!(matches!(result, Err(Error::Missing { version: 5, .. }))),
            true => assert!(applied(result).is_empty()),
        }
    }
}

#[test]
fn an_out_of_order_migration_is_refused_unless_allowed() {
    let (_dir, four) = four();
    for allow in [false, true] {
        let mut recorder = Recorder::new(Dialect::Sqlite, &four);
        recorder.set_history(&[Entry::of(&four, 1), Entry::of(&four, 3)]);
        let runner = four.runner().allow_out_of_order(allow);
        let result = perform(&runner, &mut recorder, Operation::Apply);
        match allow {
            false => assert!(matches!(
                result,
                Err(Error::OutOfOrder {
                    version: 2,
                    highest_applied: 3,
                    ..
                })
            )),
            true => assert_eq!(applied(result), [2, 4]),
        }
    }
}

#[test]
fn a_target_stops_at_its_version() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    let versions = applied(perform(
        &four.runner().target(2),
        &mut recorder,
        Operation::Apply,
    ));
    assert_eq!(versions, [1, 2]);
    assert_eq!(recorder.finished(), [1, 2]);
}

#[test]
fn a_failing_batch_names_the_migration_and_rolls_back() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.fail_batch_after(2);
        let error = perform(&four.runner(), &mut recorder, Operation::Apply).unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Migration {
                    version: 3,
                    statement: None,
                    ..
                }
            ),
            "{dialect:?}: {error}"
        );
        assert!(
            recorder.finished().is_empty(),
            "{dialect:?}: nothing committed"
        );
        assert!(recorder.rolled_back(), "{dialect:?}");
        assert!(!recorder.locked(), "{dialect:?}");
    }
}

#[test]
fn a_failing_no_transaction_statement_leaves_its_row_unfinished() {
    let (_dir, folder) = with_no_transaction();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &folder);
        recorder.fail_statement(2);
        let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Migration {
                    version: 2,
                    statement: Some(2),
                    ..
                }
            ),
            "{dialect:?}: {error}"
        );
        assert_eq!(recorder.finished(), [1]);
        assert_eq!(recorder.unfinished(), [(2, Some(1))], "{dialect:?}");
        assert!(!recorder.locked(), "{dialect:?}");
    }
}

#[test]
fn an_incomplete_migration_is_never_rerun() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Incomplete {
                version: 2,
                statements_done: 1,
                ..
            }
        ),
        "{error}"
    );
    assert!(recorder.statements().is_empty());
    assert!(!recorder.locked());
}

#[test]
fn under_sqlite_s_lock_an_incomplete_migration_is_awaited_up_to_the_busy_timeout() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
    let runner = folder.runner().busy_timeout(Duration::from_millis(100));
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(error, Error::Incomplete { version: 2, .. }),
        "{error}"
    );
    assert_eq!(recorder.slept(), Duration::from_millis(100));
    assert!(!recorder.locked());
}

#[test]
fn a_statement_refused_in_a_transaction_stops_the_run_before_the_lock() {
    let (_dir, folder) = migrations(&[(
        "1_index.sql",
        "CREATE TABLE a (id INT);\nCREATE INDEX CONCURRENTLY a_id ON a (id);",
    )]);
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(error, Error::RefusedInTransaction { line: 2, .. }),
        "{error}"
    );
    assert!(!recorder.purposes().contains(&Purpose::Lock));
}

#[test]
fn a_stale_fingerprint_is_rewritten_once_under_the_lock() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        let history: Vec<Entry> = (1..=4).map(|v| Entry::of(&four, v)).collect();
        recorder.set_history(&history);
        let versions = applied(perform(&four.runner(), &mut recorder, Operation::Apply));
        assert!(versions.is_empty());
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
        assert!(recorder.batches().is_empty());
        recorder.clear_log();
        perform(&four.runner(), &mut recorder, Operation::Apply).unwrap();
        assert_eq!(
            recorder.purposes(),
            [Purpose::ReadFingerprint],
            "{dialect:?}"
        );
    }
}

#[test]
fn sqlite_pragmas_an_application_uses_are_left_alone() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    recorder.set_pragmas(7, 0);
    perform(&four.runner(), &mut recorder, Operation::Apply).unwrap();
    assert_eq!(recorder.pragmas(), (7, 0));
    recorder.clear_log();
    perform(&four.runner(), &mut recorder, Operation::Apply).unwrap();
    assert!(
        !recorder.purposes().contains(&Purpose::Lock),
        "a boot takes no lock it cannot use"
    );
}

#[test]
fn a_lock_held_elsewhere_is_polled_until_it_is_free() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.lock_free_after(3);
    applied(perform(&four.runner(), &mut recorder, Operation::Apply));
    assert_eq!(recorder.sleeps(), 3);
    assert!(recorder.slept() >= Duration::from_millis(10 + 20 + 40));
}

#[test]
fn a_lock_never_freed_times_out_naming_its_holder() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.lock_free_after(usize::MAX);
    let runner = four.runner().lock_timeout(Duration::from_secs(1));
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    let Error::LockTimeout { waited, holder, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!(*waited, Duration::from_secs(1));
    assert_eq!(recorder.slept(), Duration::from_secs(1));
    assert_eq!(holder.as_ref().map(|h| h.pid), Some(4242));
    assert!(recorder.batches().is_empty());
}

#[test]
fn single_mode_reports_the_batch_as_a_whole() {
    let (_dir, folder) = with_no_transaction();
    let mut events = Vec::new();
    let runner = folder.runner().on_progress(|event| {
        events.push(match event {
            Progress::Started(migrations) => format!(
                "started {:?}",
                migrations.iter().map(|m| m.version()).collect::<Vec<_>>()
            ),
            Progress::Statement { done, of, .. } => format!("statement {done}/{of}"),
            Progress::Finished(applied) => format!(
                "finished {:?}",
                applied.iter().map(|a| a.version).collect::<Vec<_>>()
            ),
        });
    });
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    perform(&runner, &mut recorder, Operation::Apply).unwrap();
    drop(runner);
    assert_eq!(
        events,
        [
            "started [1]",
            "finished [1]",
            "started [2]",
            "statement 1/3",
            "statement 2/3",
            "statement 3/3",
            "finished [2]",
            "started [3]",
            "finished [3]",
        ]
    );
}

#[test]
fn an_unsplittable_no_transaction_script_runs_nothing() {
    // The folder check refuses such a file, under the rules of the dialect
    // the binary was built with; a binary run on the other engine must
    // still refuse it before running anything.
    static BROKEN: [Migration; 1] = [Migration::__new(
        1,
        "broken",
        Script::__new("1_broken.sql", "VACUUM;\nSELECT 'never closed;", true),
        None,
        [1; 32],
    )];
    let broken = Migrations::__new(&BROKEN, [2; 32]);
    let mut recorder = Recorder::new(Dialect::Sqlite, &broken);
    let error = perform(&broken.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unsplittable {
                version: 1,
                line: 2,
                column: 8,
                ..
            }
        ),
        "{error}"
    );
    assert!(recorder.statements().is_empty());
    assert!(recorder.finished().is_empty() && recorder.unfinished().is_empty());
}

#[test]
fn an_invalid_history_table_fails_before_any_action() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    let runner = four.runner().history_table("x\"; DROP TABLE users; --");
    let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
    assert!(matches!(error, Error::InvalidTableName { .. }), "{error}");
    assert!(recorder.purposes().is_empty());
    assert!(four.runner().try_history_table("temp.history").is_err());
}

#[test]
fn a_driver_that_loses_markers_is_caught() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.drop_markers();
    let error = perform(&four.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(matches!(error, Error::UnexpectedAnswer { .. }), "{error}");
}
