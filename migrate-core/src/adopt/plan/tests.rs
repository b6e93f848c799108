//! The adoption's decision, case by case, on folders written to disk.

use super::*;

fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Migrations) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, sql) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
        std::fs::write(path, sql).expect("a migration file");
    }
    let migrations = Migrations::from_folder(dir.path()).expect("a valid folder");
    (dir, migrations)
}

fn flat() -> (tempfile::TempDir, Migrations) {
    folder(&[
        ("0001_users.sql", "CREATE TABLE users (id INT);"),
        ("0002_posts.sql", "CREATE TABLE posts (id INT);"),
        ("0003_tags.sql", "CREATE TABLE tags (id INT);"),
    ])
}

fn versions(texts: &[&str]) -> ToolHistory {
    ToolHistory {
        applied: texts.iter().map(|t| Named::Version((*t).into())).collect(),
        ..ToolHistory::default()
    }
}

fn row(migrations: &Migrations, version: i64) -> HistoryRow {
    HistoryRow {
        version,
        description: String::new(),
        checksum: migrations
            .get(version)
            .map_or_else(String::new, |m| m.checksum_hex()),
        applied_at: String::new(),
        finished: true,
        statements_done: None,
    }
}

fn recorded(plan: &AdoptPlan<'_>) -> Vec<i64> {
    plan.record.iter().map(|m| m.version()).collect()
}

#[test]
fn every_version_the_tool_applied_is_recorded_once() {
    let (_dir, migrations) = flat();
    let plan = plan_adopt(&migrations, &[], &versions(&["2", "1"])).unwrap();
    assert_eq!(recorded(&plan), [1, 2]);
    let again = plan_adopt(
        &migrations,
        &[row(&migrations, 1), row(&migrations, 2)],
        &versions(&["1", "2"]),
    )
    .unwrap();
    assert!(again.record.is_empty());
    assert_eq!(again.already, [1, 2]);
}

#[test]
fn a_recorded_migration_without_a_file_is_refused_with_every_one_named() {
    let (_dir, migrations) = flat();
    let problem = plan_adopt(&migrations, &[], &versions(&["1", "7", "9"])).unwrap_err();
    let AdoptProblem::NoFile {
        migrations: missing,
    } = &problem
    else {
        panic!("{problem}");
    };
    assert_eq!(missing, &["`7` (version 7)", "`9` (version 9)"]);
}

#[test]
fn everything_up_to_golang_migrate_s_version_counts_and_that_version_needs_a_file() {
    let (_dir, migrations) = flat();
    let up_to = |version: &str, needs_file| ToolHistory {
        up_to: Some(UpTo {
            version: Named::Version(version.into()),
            needs_file,
        }),
        ..ToolHistory::default()
    };
    assert_eq!(
        recorded(&plan_adopt(&migrations, &[], &up_to("2", true)).unwrap()),
        [1, 2]
    );
    assert!(matches!(
        plan_adopt(&migrations, &[], &up_to("5", true)),
        Err(AdoptProblem::NoFile { .. })
    ));
    // Flyway's baseline is a version with no file of its own.
    assert_eq!(
        recorded(&plan_adopt(&migrations, &[], &up_to("5", false)).unwrap()),
        [1, 2, 3]
    );
}

#[test]
fn files_and_directories_must_be_the_ones_the_tool_named() {
    let (_dir, d1) = flat();
    let named = |name: &str| ToolHistory {
        applied: vec![Named::File(name.into())],
        ..ToolHistory::default()
    };
    assert_eq!(
        recorded(&plan_adopt(&d1, &[], &named("0002_posts.sql")).unwrap()),
        [2]
    );
    let problem = plan_adopt(&d1, &[], &named("0002_comments.sql")).unwrap_err();
    assert_eq!(
        problem,
        AdoptProblem::NoFile {
            migrations: vec![
                "`0002_comments.sql` (the folder's migration 2 is `0002_posts.sql`)".into()
            ]
        }
    );
    let (_dir, prisma) = folder(&[
        ("0001_init/migration.sql", "CREATE TABLE a (id INT);"),
        ("0002_more/migration.sql", "CREATE TABLE b (id INT);"),
    ]);
    let directory = ToolHistory {
        applied: vec![Named::Directory("0001_init".into())],
        ..ToolHistory::default()
    };
    assert_eq!(
        recorded(&plan_adopt(&prisma, &[], &directory).unwrap()),
        [1]
    );
    let unreadable = ToolHistory {
        applied: vec![Named::Directory("init".into())],
        ..ToolHistory::default()
    };
    assert!(matches!(
        plan_adopt(&prisma, &[], &unreadable),
        Err(AdoptProblem::Unreadable { .. })
    ));
}

#[test]
fn a_rolled_back_migration_still_in_the_folder_is_refused() {
    let (_dir, prisma) = folder(&[
        ("0001_init/migration.sql", "CREATE TABLE a (id INT);"),
        ("0002_more/migration.sql", "CREATE TABLE b (id INT);"),
    ]);
    let history = |applied: &[&str], rolled_back: &[&str]| ToolHistory {
        applied: applied
            .iter()
            .map(|n| Named::Directory((*n).into()))
            .collect(),
        rolled_back: rolled_back
            .iter()
            .map(|n| Named::Directory((*n).into()))
            .collect(),
        up_to: None,
    };
    let refused = plan_adopt(&prisma, &[], &history(&["0001_init"], &["0002_more"]));
    assert!(
        matches!(refused, Err(AdoptProblem::Failed { .. })),
        "{refused:?}"
    );
    // Rolled back, then applied again: the attempt that failed is history.
    let reapplied = history(&["0001_init", "0002_more"], &["0002_more"]);
    assert_eq!(
        recorded(&plan_adopt(&prisma, &[], &reapplied).unwrap()),
        [1, 2]
    );
    // Abandoned: its directory is gone.
    let abandoned = history(&["0001_init"], &["0003_gone"]);
    assert_eq!(
        recorded(&plan_adopt(&prisma, &[], &abandoned).unwrap()),
        [1]
    );
}

#[test]
fn migrate_s_history_must_agree() {
    let (_dir, migrations) = flat();
    let mut edited = row(&migrations, 1);
    edited.checksum = "0".repeat(64);
    let problem = plan_adopt(&migrations, &[edited], &versions(&["1", "2"])).unwrap_err();
    assert!(
        matches!(problem, AdoptProblem::Disagrees { version: 1, .. }),
        "{problem}"
    );
    let mut unfinished = row(&migrations, 2);
    unfinished.finished = false;
    let problem = plan_adopt(&migrations, &[unfinished], &versions(&["1", "2"])).unwrap_err();
    assert!(
        matches!(problem, AdoptProblem::Disagrees { version: 2, .. }),
        "{problem}"
    );
    // migrate applied 2, which the tool never recorded, below its 3.
    let problem =
        plan_adopt(&migrations, &[row(&migrations, 2)], &versions(&["1", "3"])).unwrap_err();
    assert!(
        matches!(problem, AdoptProblem::Disagrees { version: 2, .. }),
        "{problem}"
    );
    // migrate applied 3 after adopting 1 and 2: adopting again is fine.
    let later = [
        row(&migrations, 1),
        row(&migrations, 2),
        row(&migrations, 3),
    ];
    let plan = plan_adopt(&migrations, &later, &versions(&["1", "2"])).unwrap();
    assert!(plan.record.is_empty());
}

#[test]
fn versions_that_are_not_whole_numbers_are_refused() {
    let (_dir, migrations) = flat();
    for (text, says) in [
        ("1.1", "dotted"),
        ("abc", "whole number"),
        ("-1", "whole number"),
    ] {
        let problem = plan_adopt(&migrations, &[], &versions(&[text])).unwrap_err();
        assert!(problem.to_string().contains(says), "{text}: {problem}");
    }
}
