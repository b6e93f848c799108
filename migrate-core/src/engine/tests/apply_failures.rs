//! What a failed apply leaves behind: a batch rolled back, a `no-transaction`
//! migration's unfinished row, the incomplete migrations that later runs
//! refuse or await, and a driver that loses markers.

use std::time::Duration;

use super::recorder::{Entry, Recorder};
use super::{BOTH, four, perform, with_no_transaction};
use crate::driver::{Dialect, Purpose, Running};
use crate::engine::Output;
use crate::{Error, Operation, Rollback};

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
fn a_driver_that_loses_markers_is_caught() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.drop_markers();
    let error = perform(&four.runner(), &mut recorder, Operation::Apply).unwrap_err();
    assert!(matches!(error, Error::UnexpectedAnswer { .. }), "{error}");
}
