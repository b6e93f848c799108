//! The `migrate` binary, run as a user would, against real databases.

// `adopt` and `verify` on a database golang-migrate left behind.
mod adopt_verify;
// The commands that work on the folder alone, and the help.
mod folder;
// The scenarios, written once for every database.
mod scenarios;
// The scenarios against a SQLite file.
mod sqlite;
// The scenarios against a throwaway PostgreSQL server.
mod postgres;
// TLS to PostgreSQL servers of their own on 127.0.0.1.
mod tls;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch folder holding a copy of a migrations fixture and a database.
#[derive(Debug)]
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// Copies `tests/fixtures/<fixture>` into `migrations/` of a new scratch folder.
    pub fn with_fixture(fixture: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("temporary folder");
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        let target = dir.path().join("migrations");
        std::fs::create_dir(&target).expect("migrations folder");
        for entry in std::fs::read_dir(source).expect("fixture") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), target.join(entry.file_name())).expect("copy");
        }
        Workspace { dir }
    }

    /// A scratch folder with no `migrations/` folder in it.
    pub fn empty() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.path().join("migrations")
    }

    /// Runs `migrate` in the scratch folder with `DATABASE_URL` set, and
    /// the scratch folder as `HOME`, so that no file of the user's home
    /// (`~/.postgresql/root.crt`) changes what a test does.
    pub fn migrate(&self, database_url: &str, args: &[&str]) -> Run {
        self.migrate_with_env(database_url, args, &[])
    }

    /// Runs `migrate` as [`Workspace::migrate`] does, with these
    /// environment variables too.
    pub fn migrate_with_env(&self, database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_migrate"))
            .args(args)
            .current_dir(self.dir.path())
            .env("DATABASE_URL", database_url)
            .env("HOME", self.dir.path())
            .envs(env.iter().copied())
            .output()
            .expect("run migrate");
        Run {
            code: output.status.code().expect("an exit code"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What one run of `migrate` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}
