//! Applying refused before anything runs: drift, a newer database, an
//! out-of-order migration, a statement that cannot run in a transaction, a
//! script that cannot be split, an invalid history table.

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform};
use crate::driver::{Dialect, Purpose};
use crate::{Error, Migration, Migrations, Operation, Script};

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
