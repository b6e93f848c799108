//! Migrations as the binary carries them.

use std::borrow::Cow;
use std::path::Path;

use migrate_format::{Checksum, Flavor, Layout, SourceFile, checksum};

use crate::{Error, Result, Runner};

/// One `.sql` file of a migration: its up or its down script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    file: Cow<'static, str>,
    sql: Cow<'static, str>,
    no_transaction: bool,
}

impl Script {
    // Not public API. Referenced by macro-generated code.
    #[doc(hidden)]
    pub const fn __new(file: &'static str, sql: &'static str, no_transaction: bool) -> Script {
        Script {
            file: Cow::Borrowed(file),
            sql: Cow::Borrowed(sql),
            no_transaction,
        }
    }

    fn from_source(source: SourceFile) -> Script {
        Script {
            file: Cow::Owned(source.display),
            sql: Cow::Owned(source.sql),
            no_transaction: source.directives.no_transaction,
        }
    }

    /// The file, as `<folder>/<name>.sql` with the folder as the macro was given it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The SQL, with a byte-order mark removed and line endings as LF: exactly
    /// the text that was checksummed.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Whether the file starts with `-- migrate:no-transaction`.
    pub fn no_transaction(&self) -> bool {
        self.no_transaction
    }
}

/// One migration: a version, an up script, and optionally a down script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    version: i64,
    description: Cow<'static, str>,
    up: Script,
    down: Option<Script>,
    checksum: Checksum,
}

impl Migration {
    // Not public API. Referenced by macro-generated code.
    #[doc(hidden)]
    pub const fn __new(
        version: i64,
        description: &'static str,
        up: Script,
        down: Option<Script>,
        checksum: Checksum,
    ) -> Migration {
        Migration {
            version,
            description: Cow::Borrowed(description),
            up,
            down,
            checksum,
        }
    }

    /// The version from the file name, compared numerically.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The description from the file name.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The up file, as `<folder>/<name>.sql`.
    pub fn file(&self) -> &str {
        self.up.file()
    }

    /// The up script.
    pub fn up(&self) -> &Script {
        &self.up
    }

    /// The down script, if the migration has a `.down.sql` file.
    pub fn down(&self) -> Option<&Script> {
        self.down.as_ref()
    }

    /// Whether `-- migrate:no-transaction` is set on the up script.
    pub fn no_transaction(&self) -> bool {
        self.up.no_transaction
    }

    /// The SHA-256 checksum of the up script's SQL, computed at compile time.
    pub fn checksum(&self) -> &Checksum {
        &self.checksum
    }

    /// The checksum in lower-case hexadecimal, as the history table stores it.
    pub fn checksum_hex(&self) -> String {
        checksum::to_hex(&self.checksum)
    }
}

/// The migrations of a folder, sorted by version.
///
/// Usually a `static` built by [`embed_migrations!`][crate::embed_migrations]:
///
/// ```
/// static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("migrations");
///
/// assert!(MIGRATIONS.len() >= 2);
/// assert!(MIGRATIONS.iter().is_sorted_by_key(|m| m.version()));
/// ```
///
#[cfg_attr(
    not(feature = "macros"),
    doc = "[crate::embed_migrations]: crate#features"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    list: Cow<'static, [Migration]>,
    checksum: Checksum,
}

impl Migrations {
    // Not public API. Referenced by macro-generated code.
    #[doc(hidden)]
    pub const fn __new(list: &'static [Migration], checksum: Checksum) -> Migrations {
        Migrations {
            list: Cow::Borrowed(list),
            checksum,
        }
    }

    /// Reads a migrations folder at run time, with the same rules as
    /// `embed_migrations!` applies at compile time, `migrate.lock` included.
    /// The folder's layout (migrate's own files, Prisma or diesel
    /// directories, Flyway files) is detected from its entries.
    ///
    /// Services embed their migrations instead; this is for tools that work
    /// on a folder, like the `migrate` command line.
    pub fn from_folder(folder: impl AsRef<Path>) -> Result<Migrations> {
        Migrations::read_folder(folder.as_ref(), None)
    }

    /// [`from_folder`](Migrations::from_folder) in the given layout, as the
    /// macro's `layout = "…"` argument reads it: every entry that belongs to
    /// another layout is a problem.
    ///
    /// ```
    /// use migrate_format::Layout;
    ///
    /// let migrations = migrate_core::Migrations::from_folder_with_layout("migrations", Layout::Flat)?;
    /// assert!(!migrations.is_empty());
    /// # Ok::<(), migrate_core::Error>(())
    /// ```
    pub fn from_folder_with_layout(folder: impl AsRef<Path>, layout: Layout) -> Result<Migrations> {
        Migrations::read_folder(folder.as_ref(), Some(layout))
    }

    fn read_folder(folder: &Path, layout: Option<Layout>) -> Result<Migrations> {
        let display = folder.to_string_lossy();
        let invalid = |problems: Vec<migrate_format::Problem>| Error::InvalidFolder {
            folder: folder.to_path_buf(),
            problems: problems.iter().map(ToString::to_string).collect(),
        };
        let sources = migrate_format::folder::load_as(folder, &display, Flavor::Generic, layout)
            .map_err(invalid)?;
        migrate_format::lock::check_folder(folder, &display, &sources).map_err(invalid)?;
        let list = sources
            .into_iter()
            .map(|source| Migration {
                version: source.version,
                description: Cow::Owned(source.description),
                checksum: source.checksum,
                up: Script::from_source(source.up),
                down: source.down.map(Script::from_source),
            })
            .collect::<Vec<_>>();
        let checksum = checksum::set_checksum(list.iter().map(|m| (m.version, &m.checksum)));
        Ok(Migrations {
            list: Cow::Owned(list),
            checksum,
        })
    }

    /// The checksum of the whole set: SHA-256 over every version and
    /// checksum, in order, computed at compile time. Two binaries with the
    /// same migrations have the same one.
    pub fn checksum(&self) -> &Checksum {
        &self.checksum
    }

    /// The migrations, sorted by version.
    pub fn as_slice(&self) -> &[Migration] {
        &self.list
    }

    /// Iterates over the migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The migration with this version.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.list
            .binary_search_by_key(&version, Migration::version)
            .ok()
            .map(|index| &self.list[index])
    }

    /// A runner with default settings, to change before running.
    pub fn runner(&self) -> Runner<'_> {
        Runner::new(self)
    }
}

/// No migrations: for an operation that reads only the database, such as
/// [`Runner::verify`][crate::Runner::verify] from a tool without a folder.
///
#[cfg_attr(
    not(feature = "sqlite"),
    doc = "[crate::Runner::verify]: crate#features"
)]
impl Default for Migrations {
    fn default() -> Migrations {
        Migrations {
            list: Cow::Borrowed(&[]),
            checksum: checksum::set_checksum([]),
        }
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
