//! Rolling back, baselining, repairing and resolving.

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform, with_no_transaction};
use crate::driver::Dialect;
use crate::engine::Output;
use crate::{Error, Irreversibility, Operation, Resolution, Rollback, TransactionMode};

#[test]
fn rollback_reverts_newest_first_in_one_batch() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::of(&four, 1), Entry::of(&four, 2)]);
        let reverted = applied(perform(
            &four.runner(),
            &mut recorder,
            Operation::Rollback(Rollback::To(0)),
        ));
        assert_eq!(reverted, [2, 1]);
        assert_eq!(recorder.reverted_batches(), [vec![2, 1]], "{dialect:?}");
        assert!(recorder.finished().is_empty());
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
    }
}

#[test]
fn rollback_per_migration_commits_each_revert() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    recorder.set_history(&[Entry::of(&four, 1), Entry::of(&four, 2)]);
    let runner = four
        .runner()
        .transaction_mode(TransactionMode::PerMigration);
    applied(perform(
        &runner,
        &mut recorder,
        Operation::Rollback(Rollback::Steps(2)),
    ));
    assert_eq!(recorder.reverted_batches(), [vec![2], vec![1]]);
}

#[test]
fn rollback_through_an_irreversible_migration_reverts_nothing() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        let history: Vec<Entry> = (1..=4).map(|v| Entry::of(&four, v)).collect();
        recorder.set_history(&history);
        let error = perform(
            &four.runner(),
            &mut recorder,
            Operation::Rollback(Rollback::To(2)),
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                Error::Irreversible {
                    version: 3,
                    reason: Irreversibility::NoDownScript,
                    ..
                }
            ),
            "{error}"
        );
        assert!(recorder.reverted_batches().is_empty());
        assert_eq!(recorder.finished(), [1, 2, 3, 4]);
        assert!(!recorder.locked());
    }
}

#[test]
fn rollback_of_a_migration_missing_from_the_binary_is_refused() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.set_history(&[Entry::of(&four, 1), Entry::applied(9, "newer")]);
    let error = perform(
        &four.runner(),
        &mut recorder,
        Operation::Rollback(Rollback::Steps(1)),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Irreversible {
                version: 9,
                reason: Irreversibility::MissingFromBinary,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_no_transaction_down_script_runs_statement_by_statement() {
    let (_dir, folder) = migrations(&[
        ("1_a.up.sql", "CREATE TABLE a (id INT);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        (
            "2_index.up.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON a (id);",
        ),
        (
            "2_index.down.sql",
            "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY i;\nVACUUM;",
        ),
    ]);
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &folder);
        recorder.set_history(&[Entry::of(&folder, 1), Entry::of(&folder, 2)]);
        let reverted = applied(perform(
            &folder.runner(),
            &mut recorder,
            Operation::Rollback(Rollback::To(0)),
        ));
        assert_eq!(reverted, [2, 1]);
        assert_eq!(recorder.statements().len(), 2, "{dialect:?}");
        assert_eq!(recorder.reverted_batches(), [vec![1]], "{dialect:?}");
        assert!(recorder.finished().is_empty(), "{dialect:?}");
    }
}

// --- Baseline, repair, resolve ---

#[test]
fn baseline_records_only_what_is_not_applied() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::of(&four, 1)]);
        let recorded = applied(perform(
            &four.runner(),
            &mut recorder,
            Operation::Baseline(3),
        ));
        assert_eq!(recorded, [2, 3]);
        assert_eq!(recorder.finished(), [1, 2, 3]);
        assert!(recorder.batches().is_empty(), "nothing ran");
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
    }
}

#[test]
fn baseline_of_an_unknown_version_is_refused() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    let error = perform(&four.runner(), &mut recorder, Operation::Baseline(7)).unwrap_err();
    assert!(
        matches!(error, Error::UnknownVersion { version: 7 }),
        "{error}"
    );
    assert!(!recorder.locked());
}

#[test]
fn repair_restamps_a_drifted_migration_once() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::applied(1, "edited")]);
        let changed = |output| matches!(output, Ok(Output::Repaired(true)));
        assert!(changed(perform(
            &four.runner(),
            &mut recorder,
            Operation::Repair(1)
        )));
        assert!(!changed(perform(
            &four.runner(),
            &mut recorder,
            Operation::Repair(1)
        )));
        assert_eq!(
            recorder.checksum_of(1),
            Some(four.get(1).unwrap().checksum_hex())
        );
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
    }
}

#[test]
fn repair_of_what_is_not_applied_is_refused() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    let error = perform(&four.runner(), &mut recorder, Operation::Repair(2)).unwrap_err();
    assert!(matches!(error, Error::NotApplied { version: 2 }), "{error}");
}

#[test]
fn resolve_settles_a_failed_no_transaction_migration_either_way() {
    let (_dir, folder) = with_no_transaction();
    for dialect in BOTH {
        for (resolution, finished) in [
            (Resolution::Completed, vec![1, 2]),
            (Resolution::RolledBack, vec![1]),
        ] {
            let mut recorder = Recorder::new(dialect, &folder);
            recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
            let output = perform(
                &folder.runner(),
                &mut recorder,
                Operation::Resolve(2, resolution),
            );
            assert!(matches!(output, Ok(Output::Resolved)), "{output:?}");
            assert_eq!(recorder.finished(), finished, "{dialect:?} {resolution:?}");
            assert!(recorder.unfinished().is_empty());
            assert!(
                recorder.fingerprint_is_current(),
                "{dialect:?} {resolution:?}"
            );
        }
    }
}

#[test]
fn resolve_of_a_finished_migration_is_refused() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    recorder.set_history(&[Entry::of(&folder, 1)]);
    let error = perform(
        &folder.runner(),
        &mut recorder,
        Operation::Resolve(1, Resolution::Completed),
    )
    .unwrap_err();
    assert!(
        matches!(error, Error::NotIncomplete { version: 1 }),
        "{error}"
    );
}

#[test]
fn after_a_resolve_the_run_goes_on() {
    let (_dir, folder) = with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 2)]);
    perform(
        &folder.runner(),
        &mut recorder,
        Operation::Resolve(2, Resolution::Completed),
    )
    .unwrap();
    let versions = applied(perform(&folder.runner(), &mut recorder, Operation::Apply));
    assert_eq!(versions, [3]);
}
