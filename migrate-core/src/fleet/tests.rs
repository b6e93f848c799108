//! The fleet's decisions without a database: the sorting of outcomes, the
//! member's deadline, the board and the report.

use super::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::engine::Output;
use crate::{Error, Migrations, Report};

static MIGRATIONS: Migrations = crate::embed_migrations!("migrations");

fn unrelated_error() -> Error {
    Error::UnknownVersion { version: 9 }
}

#[test]
fn a_lock_not_obtained_in_time_is_a_skip_and_anything_else_a_failure() {
    let lock_timeout = || Error::LockTimeout {
        table: "_migrations".to_owned(),
        waited: Duration::from_secs(1),
        holder: None,
    };
    let skipped = |outcome: Outcome| matches!(outcome, Outcome::Skipped(Skip::Waiting { .. }));
    assert!(skipped(classify(Task::Apply, Err(lock_timeout()), false)));
    assert!(skipped(classify(Task::Apply, Err(unrelated_error()), true)));
    assert!(matches!(
        classify(Task::Apply, Err(unrelated_error()), false),
        Outcome::Failed(Error::UnknownVersion { version: 9 })
    ));
    let report = Output::Report(Report::new(Vec::new()));
    assert_eq!(
        classify(Task::Apply, Ok(report), false).verdict(),
        Verdict::AtHead
    );
}

#[test]
fn a_member_runner_waits_at_most_until_the_deadline() {
    let fleet = Fleet::new(MIGRATIONS.runner().lock_timeout(Duration::from_secs(60)));
    let runner = fleet.member_runner(Some(Instant::now() + Duration::from_secs(2)));
    assert!(runner.lock_timeout <= Duration::from_secs(2));
    assert!(runner.busy_timeout <= Duration::from_secs(2));
    assert!(runner.lock_timeout > Duration::from_secs(1));

    // A deadline already past leaves one attempt and no wait.
    let runner = fleet.member_runner(Some(Instant::now() - Duration::from_secs(1)));
    assert_eq!(runner.lock_timeout, Duration::ZERO);

    // The runner's own, shorter timeouts stay, and so do all without a deadline.
    let short = Fleet::new(MIGRATIONS.runner().lock_timeout(Duration::from_millis(5)));
    let runner = short.member_runner(Some(Instant::now() + Duration::from_secs(2)));
    assert_eq!(runner.lock_timeout, Duration::from_millis(5));
    assert_eq!(
        fleet.member_runner(None).lock_timeout,
        Duration::from_secs(60)
    );
}

#[test]
fn members_stop_starting_after_the_maximum_of_failures() {
    let fleet = Fleet::new(MIGRATIONS.runner()).max_failures(2);
    let board = fleet.board(5);
    let failed = Outcome::Failed(unrelated_error());
    assert!(board.refusal().is_none());
    board.finish(0, &failed, Duration::ZERO);
    assert!(board.refusal().is_none());
    board.finish(1, &failed, Duration::ZERO);
    assert!(matches!(
        board.refusal(),
        Some(Skip::AfterFailures { failures: 2 })
    ));
    let unbounded = Fleet::new(MIGRATIONS.runner());
    let board = unbounded.board(5);
    board.finish(0, &failed, Duration::ZERO);
    assert!(board.refusal().is_none());
}

#[test]
fn the_hook_hears_every_member_with_the_count_so_far() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    let fleet = Fleet::new(MIGRATIONS.runner()).on_member(move |event| {
        sink.lock().unwrap().push((
            event.index,
            event.finished,
            event.total,
            event.outcome.verdict(),
        ));
    });
    let board = fleet.board(2);
    board.finish(1, &Outcome::Failed(unrelated_error()), Duration::ZERO);
    board.finish(
        0,
        &Outcome::Applied(Report::new(Vec::new())),
        Duration::ZERO,
    );
    assert_eq!(
        *heard.lock().unwrap(),
        vec![(1, 1, 2, Verdict::Failed), (0, 2, 2, Verdict::AtHead)]
    );
}

#[test]
fn the_report_keeps_the_order_of_the_targets_and_counts_verdicts() {
    let fleet = Fleet::new(MIGRATIONS.runner());
    let board = fleet.board(3);
    let report = board.report(
        vec!["a", "b", "c"],
        vec![
            (Outcome::Applied(Report::new(Vec::new())), Duration::ZERO),
            (Outcome::Failed(unrelated_error()), Duration::ZERO),
            (
                Outcome::Skipped(Skip::AfterFailures { failures: 1 }),
                Duration::ZERO,
            ),
        ],
    );
    let targets: Vec<&str> = report.members().iter().map(|m| m.target).collect();
    assert_eq!(targets, ["a", "b", "c"]);
    assert_eq!(report.count(Verdict::AtHead), 1);
    assert_eq!(report.count(Verdict::Failed), 1);
    assert_eq!(report.count(Verdict::Skipped), 1);
    assert!(!report.is_success());
    let failures: Vec<&str> = report.failures().map(|(target, _)| *target).collect();
    assert_eq!(failures, ["b"]);
    let lines: Vec<String> = report
        .members()
        .iter()
        .map(|m| m.outcome.to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "at head",
            "failed: there is no migration 9 in this binary",
            "skipped: not started: 1 member had failed"
        ]
    );
    let summary = report.summary().to_string();
    assert!(summary.starts_with("3 members in "), "{summary}");
    assert!(
        summary.ends_with(": 1 at head, 1 failed, 1 skipped"),
        "{summary}"
    );
}
