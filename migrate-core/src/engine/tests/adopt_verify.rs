//! Adopting another tool's history, verifying a database, and the foreign
//! key check after a SQLite migration that turned foreign keys off, on the
//! recording driver.

use super::recorder::{Entry, Recorder};
use super::{BOTH, applied, four, migrations, perform};
use crate::driver::{Dialect, Purpose, Row};
use crate::engine::Output;
use crate::{AdoptProblem, Error, Finding, Operation, Source, Tool};

fn adopted(output: crate::Result<Output<'_>>) -> (Vec<i64>, Vec<i64>) {
    match output.expect("the adoption succeeds") {
        Output::Adopted(adoption) => (
            adoption.recorded().iter().map(|a| a.version).collect(),
            adoption.already_recorded().to_vec(),
        ),
        other => panic!("expected an adoption, got {other:?}"),
    }
}

fn findings(output: crate::Result<Output<'_>>) -> Vec<Finding> {
    match output.expect("the checks run") {
        Output::Verified(verification) => verification.findings().to_vec(),
        other => panic!("expected a verification, got {other:?}"),
    }
}

fn sqlx() -> Operation {
    Operation::Adopt(Source::new(Tool::Sqlx))
}

fn text(values: &[&str]) -> Row {
    values.iter().map(|v| Some((*v).to_owned())).collect()
}

// --- Adopting ---

#[test]
fn an_adoption_records_what_the_tool_applied_once_under_the_lock() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_tool_rows(&[&["1", "1"], &["2", "t"]]);
        let runner = four.runner();
        assert_eq!(
            adopted(perform(&runner, &mut recorder, sqlx())),
            (vec![1, 2], vec![])
        );
        assert_eq!(recorder.finished(), [1, 2], "{dialect:?}");
        assert!(recorder.fingerprint_is_current(), "{dialect:?}");
        assert!(!recorder.locked(), "{dialect:?}");
        let purposes = recorder.purposes();
        let lock = purposes.iter().position(|p| *p == Purpose::Lock);
        let read = purposes.iter().position(|p| *p == Purpose::Adopt);
        assert!(
            lock < read,
            "{dialect:?}: the tool's table is read under the lock"
        );
        assert_eq!(
            purposes.iter().filter(|p| **p == Purpose::Record).count(),
            1,
            "{dialect:?}: one transaction"
        );
        recorder.clear_log();
        assert_eq!(
            adopted(perform(&runner, &mut recorder, sqlx())),
            (vec![], vec![1, 2]),
            "{dialect:?}: adopting again changes nothing"
        );
        assert!(!recorder.purposes().contains(&Purpose::Record));
        let versions = applied(perform(&runner, &mut recorder, Operation::Apply));
        assert_eq!(
            versions,
            [3, 4],
            "{dialect:?}: a run applies only what is new"
        );
    }
}

#[test]
fn on_postgresql_the_history_table_is_created_in_the_adoption_s_transaction() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.set_tool_rows(&[&["1", "t"], &["2", "t"], &["3", "t"], &["4", "t"]]);
    adopted(perform(&four.runner(), &mut recorder, sqlx()));
    assert_eq!(recorder.finished(), [1, 2, 3, 4]);
    recorder.clear_log();
    applied(perform(&four.runner(), &mut recorder, Operation::Apply));
    assert_eq!(
        recorder.purposes(),
        [Purpose::ReadFingerprint],
        "the adoption wrote the companion and its fingerprint"
    );
}

#[test]
fn a_refused_adoption_writes_nothing() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_tool_rows(&[&["1", "t"], &["2", "f"]]);
        let error = perform(&four.runner(), &mut recorder, sqlx()).unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Adopt {
                    tool: Tool::Sqlx,
                    problem: AdoptProblem::Failed { .. },
                    ..
                }
            ),
            "{dialect:?}: {error}"
        );
        assert!(error.to_string().contains("nothing was written"), "{error}");
        assert!(recorder.finished().is_empty(), "{dialect:?}");
        assert!(!recorder.purposes().contains(&Purpose::Record));
        assert!(!recorder.locked(), "{dialect:?}");
    }
}

#[test]
fn a_missing_tool_table_and_a_missing_file_are_named() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    let error = perform(&four.runner(), &mut recorder, sqlx()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Adopt {
                problem: AdoptProblem::NoTable,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("_sqlx_migrations"), "{error}");
    recorder.set_tool_rows(&[&["1", "t"], &["9", "t"]]);
    let error = perform(&four.runner(), &mut recorder, sqlx()).unwrap_err();
    assert!(error.to_string().contains("`9` (version 9)"), "{error}");
}

#[test]
fn a_renamed_table_is_read_and_an_invalid_name_refused_before_any_action() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.set_tool_rows(&[&["1"]]);
    let renamed = Operation::Adopt(Source::new(Tool::Refinery).table("app.history"));
    adopted(perform(&four.runner(), &mut recorder, renamed));
    assert_eq!(
        recorder.adopt_statements(),
        [r#"SELECT "version" FROM "app"."history""#]
    );
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    let invalid = Operation::Adopt(Source::new(Tool::Refinery).table("history; DROP TABLE x"));
    let error = perform(&four.runner(), &mut recorder, invalid).unwrap_err();
    assert!(matches!(error, Error::InvalidTableName { .. }), "{error}");
    assert!(recorder.purposes().is_empty());
}

#[test]
fn migrate_s_own_history_must_agree() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Sqlite, &four);
    recorder.set_history(&[Entry::applied(1, "edited")]);
    recorder.set_tool_rows(&[&["1", "t"]]);
    let error = perform(&four.runner(), &mut recorder, sqlx()).unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Adopt {
                problem: AdoptProblem::Disagrees { version: 1, .. },
                ..
            }
        ),
        "{error}"
    );
}

// --- Verifying ---

#[test]
fn a_clean_database_has_no_findings_and_each_engine_runs_its_checks() {
    let (_dir, four) = four();
    for (dialect, checks) in [(Dialect::Sqlite, 2), (Dialect::Postgres, 1)] {
        let mut recorder = Recorder::new(dialect, &four);
        recorder.set_history(&[Entry::of(&four, 1)]);
        assert!(findings(perform(&four.runner(), &mut recorder, Operation::Verify)).is_empty());
        let purposes = recorder.purposes();
        assert_eq!(
            purposes.iter().filter(|p| **p == Purpose::Verify).count(),
            checks,
            "{dialect:?}"
        );
        assert!(!purposes.contains(&Purpose::Lock), "{dialect:?}: no lock");
    }
}

#[test]
fn sqlite_findings_name_the_table_the_row_and_the_parent() {
    let (_dir, folder) = super::with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    recorder.set_history(&[Entry::of(&folder, 1), Entry::unfinished(&folder, 2, 1)]);
    // The whole check stops; checked one by one, the table is named.
    recorder.answer_check(None);
    recorder.answer_check(Some(vec![vec![text(&["posts"]), text(&["users"])]]));
    recorder.answer_check(None);
    recorder.answer_check(Some(vec![vec![text(&["ok"])]]));
    recorder.answer_check(Some(vec![vec![text(&[
        "posts",
        "7",
        "users",
        "author -> id",
    ])]]));
    let found = findings(perform(&folder.runner(), &mut recorder, Operation::Verify));
    let described: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        described,
        [
            "integrity: PRAGMA integrity_check could not finish: database disk image is malformed",
            "integrity: table posts cannot be read: database disk image is malformed",
            "foreign key: row 7 of posts points at no row of users (author -> id)",
            "migration 2 (migration 2) is incomplete after 1 statements: finish or undo it by hand, then `migrate resolve 2`",
        ]
    );
}

#[test]
fn postgresql_findings_come_from_one_round_trip() {
    let (_dir, four) = four();
    let mut recorder = Recorder::new(Dialect::Postgres, &four);
    recorder.answer_check(Some(vec![
        vec![text(&["public", "users_email", "users"])],
        vec![text(&["public", "posts_author", "posts"])],
        vec![],
    ]));
    let found = findings(perform(&four.runner(), &mut recorder, Operation::Verify));
    assert!(matches!(&found[0], Finding::InvalidIndex { index, .. } if index == "users_email"));
    assert!(
        matches!(&found[1], Finding::NotValidConstraint { constraint, .. } if constraint == "posts_author")
    );
}

#[test]
fn verify_after_fails_a_run_whose_checks_find_something_and_keeps_what_it_applied() {
    let (_dir, four) = four();
    for dialect in BOTH {
        let mut recorder = Recorder::new(dialect, &four);
        let runner = four.runner().verify_after(true);
        recorder.answer_check(Some(match dialect {
            Dialect::Sqlite => vec![vec![text(&["row 3 missing from index i"])]],
            Dialect::Postgres => vec![vec![text(&["public", "i", "t"])], vec![], vec![]],
        }));
        let error = perform(&runner, &mut recorder, Operation::Apply).unwrap_err();
        let Error::Unverified {
            applied,
            verification,
        } = &error
        else {
            panic!("{dialect:?}: {error}");
        };
        assert_eq!(applied.len(), 4, "{dialect:?}");
        assert_eq!(verification.findings().len(), 1, "{dialect:?}");
        assert_eq!(recorder.finished(), [1, 2, 3, 4], "{dialect:?}: committed");
        assert!(
            error
                .to_string()
                .starts_with("the run applied 4 migrations, then the checks found 1 problem"),
            "{error}"
        );
        // With nothing found, the run is a run.
        let clean = applied_after_clean_checks(&four, dialect);
        assert!(clean.is_empty(), "{dialect:?}");
    }
}

fn applied_after_clean_checks(four: &crate::Migrations, dialect: Dialect) -> Vec<i64> {
    let mut recorder = Recorder::new(dialect, four);
    let history: Vec<Entry> = (1..=4).map(|v| Entry::of(four, v)).collect();
    recorder.set_history(&history);
    applied(perform(
        &four.runner().verify_after(true),
        &mut recorder,
        Operation::Apply,
    ))
}

// --- After a migration that turned foreign keys off ---

fn rebuild() -> (tempfile::TempDir, crate::Migrations) {
    migrations(&[
        (
            "1_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "2_rebuild_posts.sql",
            "-- migrate:no-transaction\n\
             PRAGMA foreign_keys = OFF;\n\
             CREATE TABLE posts_new (id INTEGER PRIMARY KEY, author INT REFERENCES users (id));\n\
             ALTER TABLE posts_new RENAME TO posts;\n\
             PRAGMA foreign_keys = ON;",
        ),
        ("3_more.sql", "CREATE TABLE more (id INT);"),
    ])
}

#[test]
fn a_violation_after_foreign_keys_were_turned_off_fails_the_run_naming_the_table() {
    let (_dir, folder) = rebuild();
    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    recorder.answer_check(Some(vec![vec![text(&[
        "posts",
        "4",
        "users",
        "author -> id",
    ])]]));
    let error = perform(&folder.runner(), &mut recorder, Operation::Apply).unwrap_err();
    let Error::ForeignKeyViolation {
        version: 2,
        violations,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(violations[0].table, "posts");
    assert!(
        error
            .to_string()
            .contains("row 4 of posts points at no row of users"),
        "{error}"
    );
    assert_eq!(recorder.finished(), [1], "migration 3 did not run");
    assert_eq!(
        recorder.unfinished(),
        [(2, Some(4))],
        "every statement counted"
    );
    assert!(!recorder.locked());
}

#[test]
fn the_foreign_key_check_runs_only_after_sqlite_migrations_that_turned_them_off() {
    let (_dir, folder) = rebuild();
    let mut recorder = Recorder::new(Dialect::Sqlite, &folder);
    assert_eq!(
        applied(perform(&folder.runner(), &mut recorder, Operation::Apply)),
        [1, 2, 3]
    );
    assert_eq!(
        recorder
            .purposes()
            .iter()
            .filter(|p| **p == Purpose::Verify)
            .count(),
        1
    );
    let mut recorder = Recorder::new(Dialect::Postgres, &folder);
    applied(perform(&folder.runner(), &mut recorder, Operation::Apply));
    assert!(
        !recorder.purposes().contains(&Purpose::Verify),
        "PostgreSQL"
    );
    let (_dir, other) = super::with_no_transaction();
    let mut recorder = Recorder::new(Dialect::Sqlite, &other);
    applied(perform(&other.runner(), &mut recorder, Operation::Apply));
    assert!(
        !recorder.purposes().contains(&Purpose::Verify),
        "foreign keys stayed on"
    );
}
