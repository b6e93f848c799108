//! Applying: the order of the actions, the batches, the targets, the
//! fingerprint, the lock itself and the progress.

use std::time::Duration;

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform, with_no_transaction};
use crate::driver::{Dialect, Purpose};
use crate::{Error, Operation, Progress, TransactionMode};

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
