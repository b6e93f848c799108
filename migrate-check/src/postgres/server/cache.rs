//! The verdict cache: a passing dry run is remembered in the build's
//! `OUT_DIR`, so that a rebuild with the same migrations and the same server
//! does not connect again.
//!
//! Only a pass is kept. A failure is the user's to fix, often on the server
//! (an extension to install, a role to create), which no key could see, so
//! it is checked again on every build until it passes.

use std::fs;
use std::path::{Path, PathBuf};

use migrate_format::history::TableName;
use migrate_format::{SourceMigration, checksum};

/// The cache file of one folder: one line with the key of the last passing
/// run, one with the server's `server_version_num`, one with its version.
const FILE_NAME: &str = "verdict";

/// Changes when the dry run changes what it checks, so that an older
/// migrate's verdict is not trusted.
const FORMAT: &str = concat!("migrate-check-postgres ", env!("CARGO_PKG_VERSION"), " 2");

/// A passing verdict found in the cache: the server it was reached on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pass {
    pub(super) server_version_num: u32,
    pub(super) server_version: String,
}

/// The cache of one folder.
pub(super) struct Cache {
    file: PathBuf,
    key: String,
}

impl Cache {
    /// The cache in `folder` for these migrations, checked with this history
    /// table on the server of `url`.
    ///
    /// The key covers every file's text (directives included), whether it
    /// runs in a transaction, versions and descriptions, the history table,
    /// and the URL: another server may have
    /// other extensions, roles or a different version. The URL is hashed, so
    /// a password in it is not written down.
    pub(super) fn new(
        folder: &Path,
        migrations: &[SourceMigration],
        table: &TableName,
        url: &str,
    ) -> Cache {
        Cache {
            file: folder.join(FILE_NAME),
            key: key(migrations, table, url),
        }
    }

    /// The cached pass, if the last passing run had the same key.
    pub(super) fn lookup(&self) -> Option<Pass> {
        let text = fs::read_to_string(&self.file).ok()?;
        parse(&text, &self.key)
    }

    /// Remembers a pass. A cache that cannot be written only costs the next
    /// build a connection, so the error is ignored. The file is replaced
    /// atomically, so that two builds writing at once leave one whole file.
    pub(super) fn store(&self, pass: &Pass) {
        let Some(folder) = self.file.parent() else {
            return;
        };
        let text = format!(
            "{}\n{}\n{}\n",
            self.key, pass.server_version_num, pass.server_version
        );
        let temporary = folder.join(format!("{FILE_NAME}.{}", std::process::id()));
        let written = fs::create_dir_all(folder)
            .and_then(|()| fs::write(&temporary, text))
            .and_then(|()| fs::rename(&temporary, &self.file));
        if written.is_err() {
            // Nothing to keep: the next build checks again.
            let _ = fs::remove_file(&temporary);
        }
    }
}

fn key(migrations: &[SourceMigration], table: &TableName, url: &str) -> String {
    let mut text = String::new();
    let mut add = |part: &str| {
        // Each part is preceded by its length, so that no two different
        // lists of parts make the same text.
        text.push_str(&part.len().to_string());
        text.push(':');
        text.push_str(part);
    };
    add(FORMAT);
    add(url);
    add(table.quoted());
    for migration in migrations {
        add(&migration.version.to_string());
        add(&migration.description);
        add(&migration.up.sql);
        add(migration.down.as_ref().map_or("", |down| &down.sql));
        add(if migration.down.is_some() {
            "down"
        } else {
            "none"
        });
        // Whether each file runs in a transaction: a directive in its text,
        // or diesel's `metadata.toml`, which the text does not hold.
        let files = std::iter::once(&migration.up).chain(&migration.down);
        for file in files {
            add(if file.directives.no_transaction {
                "no-transaction"
            } else {
                "transaction"
            });
        }
    }
    checksum::to_hex(&checksum::checksum(&text))
}

fn parse(text: &str, key: &str) -> Option<Pass> {
    let mut lines = text.lines();
    if lines.next()? != key {
        return None;
    }
    let server_version_num = lines.next()?.parse().ok()?;
    let server_version = lines.next()?.to_owned();
    Some(Pass {
        server_version_num,
        server_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_format::{Directives, SourceFile};

    fn migration(sql: &str, down: Option<&str>) -> SourceMigration {
        let file = |sql: &str| SourceFile {
            path: "1_a.sql".into(),
            display: "migrations/1_a.sql".to_owned(),
            name: "1_a.sql".to_owned(),
            sql: sql.to_owned(),
            directives: Directives::default(),
        };
        SourceMigration {
            version: 1,
            version_text: "1".to_owned(),
            description: "a".to_owned(),
            checksum: checksum::checksum(sql),
            up: file(sql),
            down: down.map(file),
            metadata: None,
        }
    }

    #[test]
    fn a_pass_is_found_again_only_with_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let table = TableName::default();
        let migrations = [migration("CREATE TABLE a (x int);", None)];
        let url = "postgresql://check@localhost/check";
        let cache = Cache::new(dir.path(), &migrations, &table, url);
        assert_eq!(cache.lookup(), None);
        let pass = Pass {
            server_version_num: 150_004,
            server_version: "15.4".to_owned(),
        };
        cache.store(&pass);
        assert_eq!(
            Cache::new(dir.path(), &migrations, &table, url).lookup(),
            Some(pass)
        );

        // diesel's `metadata.toml` can take a migration out of the
        // transaction without a change to its text.
        let mut outside = migration("CREATE TABLE a (x int);", None);
        outside.up.directives.no_transaction = true;
        let others = [
            Cache::new(dir.path(), &[outside], &table, url),
            Cache::new(
                dir.path(),
                &[migration("CREATE TABLE b (x int);", None)],
                &table,
                url,
            ),
            Cache::new(
                dir.path(),
                &[migration("CREATE TABLE a (x int);", Some("DROP TABLE a;"))],
                &table,
                url,
            ),
            Cache::new(
                dir.path(),
                &migrations,
                &TableName::parse("app.history").unwrap(),
                url,
            ),
            Cache::new(
                dir.path(),
                &migrations,
                &table,
                "postgresql://check@other/check",
            ),
        ];
        for other in others {
            assert_eq!(other.lookup(), None);
        }
        let written = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!written.contains("localhost"), "the URL is not written");
    }

    #[test]
    fn an_empty_down_differs_from_none() {
        let table = TableName::default();
        assert_ne!(
            key(&[migration("SELECT 1;", Some(""))], &table, "u"),
            key(&[migration("SELECT 1;", None)], &table, "u")
        );
    }
}
