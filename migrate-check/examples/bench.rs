//! The cost of the engine checks, as the macro pays it: loading a folder of
//! generated migrations and checking it, for 100 and 1000 migrations per
//! dialect. A benchmark, not a test:
//!
//! ```sh
//! cargo run -p migrate-check --example bench --features sqlite,postgres
//! ```
//!
//! Run it in the dev profile to see what `cargo build` pays: proc-macros and
//! their dependencies, SQLite included, are compiled without optimization
//! unless `[profile.dev.build-override]` says otherwise.
//!
//! It prints its own timings; `bench/README.md` has the measured numbers
//! of the SQLite dry run against SQLite's own apply, in both profiles.
//!
//! "limit" is SQLite applying the same up migrations in one transaction on
//! a new in-memory database, through the same SQLite build: the dry run
//! pays that, plus one schema re-parse for each down migration it checks
//! and rolls back (a down on every fifth here). A cold dry run with a cache
//! also copies its checkpoints to disk, in a thread of their own. The large
//! files are one migration of INSERTs each: their cost grows linearly with
//! their size.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use migrate_format::{Flavor, SourceMigration, folder};

fn main() -> std::io::Result<()> {
    for count in [100, 1000] {
        let sqlite = Folder::generate(count, Flavor::Sqlite, sqlite_migration)?;
        let postgres = Folder::generate(count, Flavor::Postgres, postgres_migration)?;
        let (loaded, parsed) = postgres.time(migrate_check::check_postgres);
        println!("postgres {count:>5} migrations: load {loaded:>8.1?}, parse {parsed:>8.1?}");
        let migrations = load(sqlite.dir.path(), Flavor::Sqlite);
        let started = Instant::now();
        apply_in_memory(&migrations);
        let limit = started.elapsed();
        let (loaded, checked) = sqlite.time(migrate_check::check_sqlite);
        println!(
            "sqlite   {count:>5} migrations: limit {limit:>8.1?}, load {loaded:>8.1?}, dry run {checked:>8.1?} (no cache)"
        );
        let cache = tempfile::tempdir()?;
        let options = migrate_check::SqliteOptions::default();
        let cached = |m: &[SourceMigration]| {
            migrate_check::check_sqlite_cached(m, options.clone(), cache.path())
        };
        let (_, cold) = sqlite.time(cached);
        let (_, warm) = sqlite.time(cached);
        sqlite.edit_newest()?;
        let (_, edited) = sqlite.time(cached);
        println!(
            "sqlite   {count:>5} migrations: with a cache: cold {cold:>8.1?}, unchanged {warm:>8.1?}, after editing the newest migration {edited:>8.1?}"
        );
    }
    for megabytes in [4, 10] {
        let file = Folder::one_large_file(megabytes)?;
        let (loaded, checked) = file.time(migrate_check::check_sqlite);
        println!(
            "sqlite   one file of {megabytes} MB: load {loaded:>8.1?}, dry run {checked:>8.1?}"
        );
    }
    Ok(())
}

/// A folder of generated migrations.
struct Folder {
    dir: tempfile::TempDir,
    flavor: Flavor,
    newest: std::path::PathBuf,
}

impl Folder {
    fn generate(
        count: usize,
        flavor: Flavor,
        generate: fn(usize) -> (String, Option<String>),
    ) -> std::io::Result<Folder> {
        let dir = tempfile::tempdir()?;
        let mut newest = dir.path().to_owned();
        for n in 1..=count {
            let (up, down) = generate(n);
            newest = match down {
                Some(down) => {
                    std::fs::write(dir.path().join(format!("{n:05}_m.down.sql")), down)?;
                    dir.path().join(format!("{n:05}_m.up.sql"))
                }
                None => dir.path().join(format!("{n:05}_m.sql")),
            };
            std::fs::write(&newest, up)?;
        }
        Ok(Folder {
            dir,
            flavor,
            newest,
        })
    }

    /// Times loading the folder, then checking it; every check must pass.
    fn time(
        &self,
        check: impl Fn(&[SourceMigration]) -> Vec<migrate_format::Problem>,
    ) -> (Duration, Duration) {
        let started = Instant::now();
        let migrations = load(self.dir.path(), self.flavor);
        let loaded = started.elapsed();
        let started = Instant::now();
        let problems = check(&migrations);
        let checked = started.elapsed();
        assert!(problems.is_empty(), "{problems:#?}");
        (loaded, checked)
    }

    /// One migration of INSERTs, about `megabytes` long.
    fn one_large_file(megabytes: usize) -> std::io::Result<Folder> {
        let dir = tempfile::tempdir()?;
        let mut sql = String::from(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, payload TEXT);\n",
        );
        let mut id = 0;
        while sql.len() < megabytes * 1_000_000 {
            id += 1;
            let _ = writeln!(
                sql,
                "INSERT INTO events (id, kind, payload) VALUES ({id}, 'kind{}', '{}');",
                id % 17,
                "payload text of an event; ".repeat(6)
            );
        }
        let newest = dir.path().join("0001_events.sql");
        std::fs::write(&newest, sql)?;
        Ok(Folder {
            dir,
            flavor: Flavor::Sqlite,
            newest,
        })
    }

    /// Appends a statement to the newest migration, as while writing it.
    fn edit_newest(&self) -> std::io::Result<()> {
        let mut sql = std::fs::read_to_string(&self.newest)?;
        sql.push_str("SELECT 1;\n");
        std::fs::write(&self.newest, sql)
    }
}

fn load(folder: &Path, flavor: Flavor) -> Vec<migrate_format::SourceMigration> {
    folder::load(folder, "migrations", flavor).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// A table referencing the previous one, an index, a column added later, a
/// trigger on every tenth, seed rows, and a down migration on every fifth.
fn sqlite_migration(n: usize) -> (String, Option<String>) {
    let mut up = format!(
        "-- Migration {n}.\nCREATE TABLE t{n} (\n    id INTEGER PRIMARY KEY,\n    parent INTEGER{},\n    name TEXT NOT NULL DEFAULT 'a;b'\n);\n\
         CREATE INDEX t{n}_name ON t{n} (name);\n\
         ALTER TABLE t{n} ADD COLUMN note TEXT;\n\
         INSERT INTO t{n} (name, note) VALUES ('x', 'y'), ('z', NULL);\n",
        if n > 1 {
            format!(" REFERENCES t{} (id)", n - 1)
        } else {
            String::new()
        }
    );
    if n.is_multiple_of(10) {
        up.push_str(&format!(
            "CREATE TRIGGER t{n}_touch AFTER UPDATE ON t{n} BEGIN\n    UPDATE t{n} SET note = CASE WHEN NEW.name = '' THEN 'empty' ELSE 'set' END WHERE id = NEW.id;\nEND;\n"
        ));
    }
    let down = (n.is_multiple_of(5)).then(|| format!("DROP INDEX t{n}_name;\nDROP TABLE t{n};\n"));
    (up, down)
}

/// A table, an index, a plpgsql function in a dollar quote, a DO block on
/// every tenth, and a down migration on every fifth.
fn postgres_migration(n: usize) -> (String, Option<String>) {
    let mut up = format!(
        "-- Migration {n}.\nCREATE TABLE app.t{n} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    name text NOT NULL DEFAULT E'a\\'b',\n    data jsonb\n);\n\
         CREATE INDEX t{n}_name ON app.t{n} (lower(name)) WHERE data IS NOT NULL;\n\
         CREATE FUNCTION app.f{n}(x int) RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n    RETURN x + {n}; -- done;\nEND;\n$body$;\n"
    );
    if n.is_multiple_of(10) {
        up.push_str(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'r{n}') THEN CREATE ROLE r{n}; END IF; END $$;\n"
        ));
    }
    let down = (n.is_multiple_of(5))
        .then(|| format!("DROP FUNCTION app.f{n}(int);\nDROP TABLE app.t{n};\n"));
    (up, down)
}

/// The limit: SQLite applying every up migration in one transaction, on a
/// new in-memory database, with `sqlite3_exec` (which reads the script in
/// place).
fn apply_in_memory(migrations: &[SourceMigration]) {
    use libsqlite3_sys as sys;
    let mut script = String::from("BEGIN;\n");
    for migration in migrations {
        script.push_str(&migration.up.sql);
        script.push_str("\n;\n");
    }
    script.push_str("COMMIT;");
    let script = std::ffi::CString::new(script).expect("no NUL in the generated SQL");
    let mut db = std::ptr::null_mut();
    // SAFETY: valid C strings and out-pointer; the handle is closed last.
    unsafe {
        assert_eq!(
            sys::sqlite3_open(c":memory:".as_ptr(), &mut db),
            sys::SQLITE_OK
        );
        let code = sys::sqlite3_exec(
            db,
            script.as_ptr(),
            None,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        assert_eq!(code, sys::SQLITE_OK);
        sys::sqlite3_close(db);
    }
}
