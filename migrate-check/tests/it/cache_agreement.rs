//! The cache may make a dry run faster, never change its verdict: random
//! folders, edited at random as a developer would, are checked with and
//! without the cache after every edit, and must get the same messages.
//!
//! The migrations are drawn from shapes that touch what a checkpoint does
//! not hold (connection settings, TEMP objects, attached databases,
//! deferred foreign keys), shapes that fail, and plain ones. The generator
//! is seeded, so a failure names the seed that reproduces it.

use migrate_check::{SqliteOptions, check_sqlite, check_sqlite_cached};
use migrate_format::Flavor;

use crate::{folder, messages};

/// A small deterministic generator (xorshift64*), so that no dependency is
/// needed and every run checks the same sequences.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

/// Migration `n` of one of the shapes, by number. Each creates table `t<n>`
/// so that later ones can use the tables before them.
fn migration(shape: usize, n: usize, random: &mut Random) -> (String, String) {
    let name = |kind: &str| format!("{n:04}_{kind}.sql");
    let before = 1 + random.below(n.max(2) - 1);
    match shape {
        0 => (
            name("fk_off"),
            format!(
                "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\nCREATE TABLE t{n} (id INTEGER PRIMARY KEY);"
            ),
        ),
        1 => (
            name("parent_child"),
            format!(
                "CREATE TABLE t{n} (id INTEGER PRIMARY KEY);\nCREATE TABLE c{n} (p INTEGER REFERENCES t{n} (id));\n\
                 INSERT INTO t{n} VALUES (1);\nINSERT INTO c{n} VALUES (1);"
            ),
        ),
        2 => (
            name("drop_parent"),
            format!("CREATE TABLE t{n} (a);\nDROP TABLE IF EXISTS t{before};"),
        ),
        3 => (
            name("lax_checks"),
            format!(
                "PRAGMA ignore_check_constraints = ON;\nCREATE TABLE t{n} (a INTEGER CHECK (a > 0));"
            ),
        ),
        4 => (
            name("checked_insert"),
            format!("CREATE TABLE t{n} (a INTEGER CHECK (a > 0));\nINSERT INTO t{n} VALUES (-1);"),
        ),
        5 => (
            name("legacy_alter"),
            format!("PRAGMA legacy_alter_table = ON;\nCREATE TABLE t{n} (a);"),
        ),
        6 => (
            name("rename_under_view"),
            format!(
                "CREATE TABLE t{n} (a);\nCREATE VIEW v{n} AS SELECT a FROM t{n};\n\
                 ALTER TABLE t{n} RENAME TO r{n};\nCREATE TABLE t{n} (a);"
            ),
        ),
        7 => (
            name("temp_left"),
            format!("CREATE TABLE t{n} (a);\nCREATE TEMP TABLE tmp{n} (a);"),
        ),
        8 => (
            name("temp_used"),
            format!("CREATE TABLE t{n} AS SELECT * FROM tmp{before};"),
        ),
        9 => (
            name("attach_left"),
            format!(
                "-- migrate:no-transaction\nATTACH ':memory:' AS a{n};\nCREATE TABLE t{n} (a);"
            ),
        ),
        10 => (
            name("deferred"),
            format!(
                "PRAGMA defer_foreign_keys = ON;\nCREATE TABLE t{n} (id INTEGER PRIMARY KEY, p INTEGER REFERENCES t{n} (id));\n\
                 INSERT INTO t{n} VALUES (1, 2);"
            ),
        ),
        11 => (
            name("unchecked_temp"),
            format!("-- migrate:no-check\nCREATE TABLE t{n} (a);\nCREATE TEMP TABLE tmp{n} (a);"),
        ),
        12 => (
            name("recursive"),
            format!(
                "PRAGMA recursive_triggers = ON;\nCREATE TABLE t{n} (a INTEGER);\n\
                 CREATE TRIGGER g{n} AFTER INSERT ON t{n} WHEN NEW.a < 3 BEGIN INSERT INTO t{n} VALUES (NEW.a + 1); END;"
            ),
        ),
        13 => (
            name("count_rows"),
            format!(
                "CREATE TABLE t{n} (a INTEGER);\nINSERT INTO t{n} VALUES (1);\n\
                 CREATE TABLE u{n} (total INTEGER CHECK (total < 2));\nINSERT INTO u{n} SELECT count(*) FROM t{n};"
            ),
        ),
        _ => (
            name("plain"),
            format!(
                "CREATE TABLE t{n} (id INTEGER PRIMARY KEY, a TEXT);\nINSERT INTO t{n} (a) VALUES ('x');"
            ),
        ),
    }
}

const SHAPES: usize = 14;

/// Draws a shape: plain ones most of the time, so that folders get past
/// their first failure and reach the checkpoints.
fn shape(random: &mut Random) -> usize {
    if random.below(3) == 0 {
        random.below(SHAPES)
    } else {
        SHAPES
    }
}

#[test]
fn cached_and_uncached_verdicts_agree_over_random_edits() {
    for seed in 1..=20u64 {
        let mut random = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let cache = tempfile::tempdir().unwrap();
        let count = 26 + random.below(30);
        let mut files: Vec<(String, String)> = (1..=count)
            .map(|n| {
                let shape = shape(&mut random);
                migration(shape, n, &mut random)
            })
            .collect();
        for step in 0..8 {
            let borrowed: Vec<(&str, &str)> = files
                .iter()
                .map(|(n, s)| (n.as_str(), s.as_str()))
                .collect();
            let migrations = folder(&borrowed, Flavor::Sqlite);
            let uncached = messages(&check_sqlite(&migrations));
            for pass in ["cold or partly warm", "warm"] {
                let cached = messages(&check_sqlite_cached(
                    &migrations,
                    SqliteOptions::default(),
                    cache.path(),
                ));
                assert_eq!(
                    cached,
                    uncached,
                    "seed {seed}, edit {step}, {pass} run; files: {:#?}",
                    files.iter().map(|(n, _)| n).collect::<Vec<_>>()
                );
            }
            edit(&mut files, &mut random);
        }
    }
}

/// One edit as a developer makes them: a new migration, a change to the
/// newest or to an older one, or the newest removed.
fn edit(files: &mut Vec<(String, String)>, random: &mut Random) {
    let count = files.len();
    match random.below(4) {
        0 => {
            let shape = shape(random);
            files.push(migration(shape, count + 1, random));
        }
        1 => {
            let shape = shape(random);
            files[count - 1] = migration(shape, count, random);
        }
        2 => {
            let n = 1 + random.below(count);
            let shape = shape(random);
            files[n - 1] = migration(shape, n, random);
        }
        _ if count > 2 => {
            files.pop();
        }
        _ => {}
    }
}
