//! The engine's decisions and the order of its actions, on a driver that
//! records what it is asked and answers from a history it keeps in memory.
//! No database is involved: these are tables of cases over the protocol
//! that the real drivers perform (their own tests run it on SQLite files and
//! a PostgreSQL server).

use std::time::Duration;

use super::Output;
use crate::driver::{Dialect, Driver, Executed, Failure, FailureKind, Marker, Piece, Purpose, Row};
use crate::{Error, Migrations, Operation, Runner};

mod adopt_verify;
mod apply;
mod lifecycle;
mod recorder;

use recorder::{Entry, Recorder};

/// A folder of migrations, as `(file name, SQL)`.
pub(super) fn migrations(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, sql) in files {
        std::fs::write(dir.path().join(name), sql).expect("a migration file");
    }
    let migrations = Migrations::from_folder(dir.path()).expect("a valid folder");
    (dir, migrations)
}

/// Four transactional migrations.
pub(super) fn four() -> (tempfile::TempDir, Migrations) {
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
pub(super) fn with_no_transaction() -> (tempfile::TempDir, Migrations) {
    migrations(&[
        ("1_a.sql", "CREATE TABLE a (id INT);"),
        (
            "2_index.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\nVACUUM;\nANALYZE a;",
        ),
        ("3_c.sql", "CREATE TABLE c (id INT);"),
    ])
}

pub(super) fn perform<'m>(
    runner: &Runner<'m>,
    recorder: &mut Recorder<'_>,
    operation: Operation,
) -> crate::Result<Output<'m>> {
    runner.perform(operation, recorder)
}

pub(super) fn applied(output: crate::Result<Output<'_>>) -> Vec<i64> {
    match output.expect("the operation succeeds") {
        Output::Report(report) => report.migrations().iter().map(|m| m.version).collect(),
        other => panic!("expected a report, got {other:?}"),
    }
}

pub(super) const BOTH: [Dialect; 2] = [Dialect::Sqlite, Dialect::Postgres];

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
