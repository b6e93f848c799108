//! Checkpoints of the dry run, so that editing the newest migration of a
//! long history does not re-run all the others.
//!
//! A dry run of 1000 migrations takes seconds, mostly because SQLite parses
//! its whole schema again after every `ALTER TABLE` and every rolled-back
//! down migration. But the state after the first `c` migrations depends only
//! on those migrations, the options and the checker, so it is saved under a
//! hash of exactly that, and a later run that starts with the same `c`
//! migrations restores it and runs only the rest.
//!
//! Only a prefix that ran without a problem is saved, so restoring one never
//! hides an error. The cache is an optimization: when it cannot be read or
//! written, the dry run simply runs in full. A folder that passed leaves an
//! empty marker under the key of all its migrations, so that a build that
//! changed none of them (`touch src/main.rs`) does not run anything.
//!
//! A checkpoint holds the `main` database only, which is all the state there
//! is between two migrations: the dry run puts the connection's settings
//! back after each migration, refuses TEMP objects, attached databases and
//! deferred foreign key violations left behind, and counts the steps of each
//! statement the same way whatever ran before it on the connection. So a
//! run that resumes from a checkpoint gives the same verdict, and the same
//! messages, as one that does not.

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};

use migrate_format::checksum::{checksum, to_hex};
use migrate_format::directive::SqliteFunction;
use migrate_format::{SourceFile, SourceMigration};

use super::SqliteOptions;
use super::ffi::{Db, Movable};

/// Checkpoints are saved every this many migrations, at fixed positions so
/// that they stay valid when migrations are added after them. Replaying 25
/// migrations on a schema of 1000 tables takes about 2 s in a dev build.
const EVERY: usize = 25;

/// How far back from the newest migration the fixed checkpoints go. An
/// edit further back re-runs everything up to it; that is rare, since an
/// applied migration must not be edited. Each checkpoint is a copy of the
/// database, about 8 KB per table and index.
const REACH: usize = 100;

/// The meaning of a dry run's checkpoints and markers. Bumped whenever the
/// dry run starts to judge the same migrations differently, so that the
/// caches of an earlier checker, which may survive in `OUT_DIR` across an
/// upgrade of a path or git dependency, are not used.
const FORMAT: u32 = 2;

/// The cache folder of one dry run, and the key of each prefix.
pub(crate) struct Cache {
    folder: PathBuf,
    /// `keys[c]` names the state after the first `c` migrations.
    keys: Vec<String>,
    /// The thread writing the newest checkpoint, which waits for the one
    /// before it: the dry run goes on while the disk works. Joined on drop.
    writer: RefCell<Option<JoinHandle<()>>>,
}

impl Cache {
    pub(crate) fn new(
        folder: &Path,
        migrations: &[SourceMigration],
        options: &SqliteOptions,
        functions: &[SqliteFunction],
    ) -> Cache {
        let mut key = to_hex(&checksum(&environment(options, functions)));
        let mut keys = vec![key.clone()];
        for migration in migrations {
            key = to_hex(&checksum(&format!("{key}\n{}", describe(migration))));
            keys.push(key.clone());
        }
        Cache {
            folder: folder.to_owned(),
            keys,
            writer: RefCell::new(None),
        }
    }

    /// The longest saved prefix, as the number of migrations it holds and
    /// a new in-memory database holding its state. A checkpoint that cannot
    /// be read is skipped, never half-restored.
    pub(crate) fn restore(&self) -> Option<(usize, Db)> {
        let found = (1..self.keys.len())
            .rev()
            .find(|&count| self.path(count).is_file())?;
        let saved = Db::open_file(&self.path(found), false).ok()?;
        let db = Db::open().ok()?;
        saved.backup_to(&db).ok()?;
        Some((found, db))
    }

    /// Where to save checkpoints: after every hundredth migration among the
    /// newest few hundred, and before the newest migration, the one that is
    /// being written and edited.
    pub(crate) fn is_checkpoint(&self, count: usize) -> bool {
        is_checkpoint(count, self.keys.len() - 1)
    }

    /// Saves the state after the first `count` migrations: a copy in
    /// memory now, written to its file by a thread of its own.
    pub(crate) fn save(&self, db: &Db, count: usize) {
        if fs::create_dir_all(&self.folder).is_err() || self.path(count).is_file() {
            return;
        }
        let Ok(snapshot) = db.copy() else {
            return;
        };
        let partial = self.folder.join(format!("{}.partial", self.keys[count]));
        let path = self.path(count);
        let snapshot = match snapshot.movable() {
            Ok(snapshot) => snapshot,
            Err(snapshot) => return write_checkpoint(&snapshot, &partial, &path),
        };
        let previous = self.writer.take();
        let writer = thread::Builder::new()
            .name("migrate-check checkpoint".to_owned())
            .spawn(move || {
                if let Some(previous) = previous {
                    let _ = previous.join();
                }
                write_checkpoint(&Movable::into_inner(snapshot), &partial, &path);
            });
        // Without a thread, this checkpoint is simply not saved.
        *self.writer.borrow_mut() = writer.ok();
    }

    /// Waits until every checkpoint is written.
    pub(crate) fn finish_writing(&self) {
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }

    /// Whether these exact migrations passed before.
    pub(crate) fn passed(&self) -> bool {
        self.marker().is_file()
    }

    /// Records that these exact migrations passed.
    pub(crate) fn remember_passed(&self) {
        if fs::create_dir_all(&self.folder).is_ok() {
            let _ = fs::write(self.marker(), "");
        }
    }

    /// Deletes the checkpoints of other versions of the folder, which an
    /// edit has made useless.
    pub(crate) fn prune(&self) {
        self.finish_writing();
        let Ok(entries) = fs::read_dir(&self.folder) else {
            return;
        };
        let current: Vec<PathBuf> = (0..self.keys.len())
            .filter(|&count| self.is_checkpoint(count))
            .map(|count| self.path(count))
            .chain([self.marker()])
            .collect();
        for entry in entries.flatten() {
            if !current.contains(&entry.path()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, count: usize) -> PathBuf {
        self.folder.join(format!("{}.sqlite", self.keys[count]))
    }

    /// The marker of a folder that passed: under the key of all migrations.
    fn marker(&self) -> PathBuf {
        let all = self.keys.len() - 1;
        self.folder.join(format!("{}.passed", self.keys[all]))
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.finish_writing();
    }
}

/// Writes a checkpoint under a temporary name and renames it, so that a
/// build killed half-way never leaves a truncated checkpoint behind. The
/// new file needs no journal: until the rename, nothing reads it.
fn write_checkpoint(snapshot: &Db, partial: &Path, path: &Path) {
    let saved = Db::open_file(partial, true).and_then(|file| {
        file.execute("PRAGMA journal_mode = OFF")?;
        snapshot.backup_to(&file)
    });
    if saved.is_err() || fs::rename(partial, path).is_err() {
        let _ = fs::remove_file(partial);
    }
}

/// Whether the state after `count` of `total` migrations is saved.
fn is_checkpoint(count: usize, total: usize) -> bool {
    let fixed = count.is_multiple_of(EVERY) && count + REACH >= total;
    count > 0 && count < total && (fixed || count + 1 == total)
}

/// What a prefix's state and a folder's verdict depend on besides its
/// migrations: this checker, the SQLite it runs, the options, and the stubs
/// (declared anywhere in the folder, and registered for the whole run).
fn environment(options: &SqliteOptions, functions: &[SqliteFunction]) -> String {
    let stubs: Vec<String> = functions
        .iter()
        .map(|f| format!("{}/{:?}", f.name, f.arity))
        .collect();
    format!(
        "migrate-check {} format {FORMAT} sqlite {} foreign_keys={} history={} step_limit={} functions={}",
        env!("CARGO_PKG_VERSION"),
        super::ffi::version(),
        options.foreign_keys,
        options.history_table,
        options.step_limit,
        stubs.join(",")
    )
}

/// Everything about one migration that the dry run reads.
fn describe(migration: &SourceMigration) -> String {
    let file = |file: &SourceFile| to_hex(&checksum(&file.sql));
    format!(
        "{} {} {} {}",
        migration.version,
        migration.description,
        file(&migration.up),
        migration.down.as_ref().map_or_else(String::new, file)
    )
}

#[cfg(test)]
mod tests {
    use super::is_checkpoint;

    #[test]
    fn checkpoints_are_near_the_newest_migration() {
        let saved = |total| {
            (0..=total)
                .filter(|&c| is_checkpoint(c, total))
                .collect::<Vec<_>>()
        };
        assert_eq!(saved(1), Vec::<usize>::new());
        assert_eq!(saved(2), [1]);
        assert_eq!(saved(30), [25, 29]);
        assert_eq!(saved(1000), [900, 925, 950, 975, 999]);
        assert_eq!(saved(1001), [925, 950, 975, 1000]);
    }
}
