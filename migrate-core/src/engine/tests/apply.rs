//! Applying: the order of the actions, the batches, the checks before the
//! lock, the lock itself, and what a failure leaves behind.

use std::time::Duration;

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform, with_no_transaction};
use crate::driver::{Dialect, Purpose, Running};
use crate::engine::Output;
use crate::{Error, Migration, Migrations, Operation, Progress, Rollback, Script, TransactionMode};

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
fn settings_a_migration_changes_are_put_back_after_it_in_the_same_batch() {
    let (_dir, folder) = migrations(&[
        ("1_a.sql", "SET search_path = s3;\nCREATE TABLE a (id INT);"),
        ("2_b.sql", "CREATE TABLE b (id INT);"),
        (
            "3_c.sql",
            "PRAGMA recursive_triggers = 1;\nCREATE TABLE c (id INT);",
        ),
    ]);
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap();
    assert_eq!(
        recorder.batches(),
        [vec![1, 2, 3]],
        "one batch, one message"
    );
    let batch = recorder.batch_sql();
    let save = batch
        .iter()
        .position(|sql| {
            sql.contains("set_config('migrate.saved_1', coalesce(current_setting('search_path'")
        })
        .expect("saved");
    let script = batch
        .iter()
        .position(|sql| sql.starts_with("SET search_path"))
        .expect("script");
    let restore = batch
        .iter()
        .position(|sql| {
            sql.contains("set_config('search_path', current_setting('migrate.saved_1'), false)")
        })
        .expect("restored");
    let marker = batch
        .iter()
        .position(|sql| sql.starts_with("INSERT INTO") && sql.contains("VALUES (1,"))
        .expect("marker");
    assert!(
        save < script && script < restore && restore < marker,
        "{batch:#?}"
    );
    assert_eq!(
        batch
            .iter()
            .filter(|sql| sql.contains("migrate.saved"))
            .count(),
        2,
        "only around migration 1"
    );

    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap();
    assert!(
        recorder.purposes().contains(&Purpose::Settings),
        "read before the batch"
    );
    let batch = recorder.batch_sql();
    let script = batch
        .iter()
        .position(|sql| sql.starts_with("PRAGMA recursive_triggers = 1"))
        .expect("script");
    assert_eq!(
        batch[script + 1],
        "PRAGMA recursive_triggers = 0;",
        "{batch:#?}"
    );
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
fn an_incomplete_migration_names_the_statement_in_doubt() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(
            "statement 1 completed, and statement 2, if there is one, was started and may or may not have completed"
        ),
        "{message}"
    );
    let Output::Status(status) =
        perform(&folder.runner(), &mut recorder, Operation::Status).unwrap()
    else {
        panic!("status");
    };
    assert_eq!(
        status.entries()[1].state.to_string(),
        "incomplete: 1 statement completed, the next may or may not have"
    );
}

#[test]
fn an_incomplete_migration_whose_file_was_fixed_is_reported_incomplete_not_drifted() {
    let (_dir, folder) = with_no_transaction();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &folder);
        recorder.set_history(&[
            Entry::of(&folder, 1),
            Entry::unfinished_edited(2, "the file before its fix", 1),
        ]);
        let runner = folder.runner().busy_timeout(Duration::ZERO);
        let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Incomplete {
                    version: 2,
                    statements_done: 1,
                    edited: true,
                    ..
                }
            ),
            "{dialect:?}: {error}"
        );
        assert!(
            error
                .to_string()
                .contains("`--as rolled-back` lets the next run apply the edited file"),
            "{error}"
        );
        let rollback = perform(&runner, &mut recorder, Operation::Rollback(Rollback::To(0)));
        assert!(
            matches!(rollback, Err(Error::Incomplete { edited: true, .. })),
            "{dialect:?}: {rollback:?}"
        );
        let Output::Status(status) = perform(&runner, &mut recorder, Operation::Status).unwrap()
        else {
            panic!("status");
        };
        assert!(
            matches!(
                status.entries()[1].state,
                crate::State::Incomplete { statements_done: 1 }
            ),
            "{dialect:?}"
        );
        assert!(recorder.statements().is_empty());
    }
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
fn under_sqlite_s_lock_an_incomplete_migration_that_no_runner_runs_is_reported_at_once() {
    let (_dir, folder) = with_no_transaction();
    for (probe, waits) in [(Some(false), false), (Some(true), true), (None, true)] {
        let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
        recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
        recorder.probe_answers(probe);
        let runner = folder.runner().busy_timeout(Duration::from_millis(100));
        let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
        assert!(
            matches!(error, Error::Incomplete { version: 2, .. }),
            "{error}"
        );
        let slept = recorder.slept();
        assert_eq!(slept > Duration::ZERO, waits, "{probe:?}: slept {slept:?}");
        assert!(!recorder.locked());
    }
}

#[test]
fn a_sqlite_no_transaction_migration_shows_the_mark_while_its_row_is_unfinished() {
    let (_dir, folder) = with_no_transaction();
    for fail in [None, Some(2)] {
        let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
        if let Some(statement) = fail {
            recorder.fail_statement(statement);
        }
        let _ = perform(&folder.runner(), &mut recorder, Operation::Apply);
        let marks = recorder.marks();
        let [(Running::Start, start), (Running::Stop, stop)] = marks[..] else {
            panic!("{fail:?}: {marks:?}");
        };
        let first_statement = recorder
            .purposes()
            .iter()
            .position(|p| *p == Purpose::Statement)
            .expect("a statement");
        // Shown before the unfinished row's record, the action before the
        // first statement; withdrawn after the migration's last action.
        assert_eq!(recorder.purposes()[first_statement - 1], Purpose::Record);
        assert!(start < first_statement, "{fail:?}: {marks:?}");
        let last_statement = recorder
            .purposes()
            .iter()
            .rposition(|p| *p == Purpose::Statement)
            .expect("a statement");
        let after = match fail {
            None => last_statement + 2,
            Some(_) => last_statement + 1,
        };
        assert_eq!(stop, after, "{fail:?}: {marks:?}");
    }
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap();
    assert!(recorder.marks().is_empty(), "PostgreSQL's lock covers it");
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
