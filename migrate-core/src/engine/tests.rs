//! The engine's decisions and the order of its actions, on a driver that
//! records what it is asked and answers from a history it keeps in memory.
//! No database is involved: these are tables of cases over the protocol
//! that the real drivers perform (their own tests run it on SQLite files and
//! a PostgreSQL server).

use std::time::Duration;

use super::Output;
use crate::driver::{Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row};
use crate::{
    Error, Irreversibility, Migration, Migrations, Operation, Progress, Resolution, Rollback,
    Runner, Script, TransactionMode,
};

mod locks;
mod recorder;
#[cfg(feature = "tracing")]
mod tracing;

use recorder::{Entry, Recorder};

/// A folder of migrations, as `(file name, SQL)`.
fn migrations(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).expect("a migration file");
    }
    let migrations = Migrations::from_folder(dir.path()).expect("a valid folder");
    (dir, migrations)
}

/// Four transactional migrations.
fn four() -> (tempfile::TempDir, Migrations) {
    migrations(&[
        ("1_a.up.sql", "CREATE TABLE a (id INT);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        ("2_b.up.sql", "CREATE TABLE b (id INT);"),
        ("2_b.down.sql", "DROP TABLE b;"),
        ("3_c.sql", "CREATE TABLE c (id INT);"),
        ("4_d.up.sql", "CREATE TABLE d (id INT);"),
        ("4_d.down.sql", "DROP TABLE d;"),
    ])
}

/// Two transactional migrations around a `no-transaction` one of three
/// statements.
fn with_no_transaction() -> (tempfile::TempDir, Migrations) {
    migrations(&[
        ("1_a.sql", "CREATE TABLE a (id INT);"),
        (
            "2_index.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\nVACUUM;\nANALYZE a;",
        ),
        ("3_c.sql", "CREATE TABLE c (id INT);"),
    ])
}

fn perform<'m>(
    runner: &Runner<'m>,
    recorder: &mut Recorder<'_>,
    operation: Operation,
) -> crate::Result<Output<'m>> {
    runner.perform(operation, recorder)
}

fn applied(output: crate::Result<Output<'_>>) -> Vec<i64> {
    match output.expect("the operation succeeds") {
        Output::Report(report) => report.migrations().iter().map(|m| m.version).collect(),
        other => panic!("expected a report, got {other:?}"),
    }
}

const BOTH: [Dialect; 2] = [Dialect::Sqlite, Dialect::Postgres];

// --- Applying ---

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

// --- Reading ---

#[test]
fn pending_and_status_read_without_the_lock() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::of(&four, 1)]);
        let runner = four.runner();
        let Output::Pending(pending) = perform(&runner, &mut recorder, Operation::Pending).unwrap()
        else {
            panic!("pending");
        };
        assert_eq!(
            pending.iter().map(|m| m.version()).collect::<Vec<_>>(),
            [2, 3, 4]
        );
        let Output::Status(status) = perform(&runner, &mut recorder, Operation::Status).unwrap()
        else {
            panic!("status");
        };
        assert_eq!(status.pending().count(), 3);
        assert_eq!(
            recorder.purposes(),
            [Purpose::ReadHistory, Purpose::ReadHistory]
        );
    }
}

// --- Rolling back ---

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

// --- The recorder is a driver like any other ---

#[test]
fn a_driver_of_one_s_own_needs_only_the_trait() {
    struct Nothing;
    impl Driver for Nothing {
        fn dialect(&self) -> Dialect {
            Dialect::Sqlite
        }
        fn query(&mut self, _: Purpose, _: &[String]) -> Result<Vec<Vec<Row>>, Failure> {
            Err(Failure::new(FailureKind::Other, "no connection"))
        }
        fn execute(&mut self, _: Purpose, _: &[Piece]) -> Result<Executed, Failure> {
            Ok(Executed {
                markers: vec![Marker {
                    rows: Vec::new(),
                    elapsed: None,
                }],
                elapsed: Duration::ZERO,
            })
        }
        fn sleep(&mut self, _: Duration) {}
    }
    let (_dir, four) = four();
    let error = four
        .runner()
        .perform(Operation::Status, &mut Nothing)
        .unwrap_err();
    assert!(matches!(error, Error::Database { .. }), "{error}");
    assert!(std::error::Error::source(&error).is_some_and(|s| s.to_string() == "no connection"));
}
