// The benchmark's migrations, and the folder layout each tool requires.
//
// Shared by the build scripts of `migrate-bench` and `migrate-bench-peers`
// (with `#[path]`), because every tool embeds its folder at compile time: the
// files must exist before the crates that embed them compile. They are
// generated instead of committed, since 2 × 1100 migrations in five layouts
// would be 11,000 files in the history.

use std::fs;
use std::io;
use std::path::Path;

/// The sizes measured.
pub const SIZES: [usize; 2] = [100, 1000];

/// The SQL of migration `i` (1-based). Deterministic, so that every build and
/// every tool sees the same text, and valid on SQLite and PostgreSQL alike.
///
/// Every migration creates one table with constraints and an index, so the
/// schema grows with N as a real one does (SQLite re-parses all of it on
/// `ALTER TABLE` and on the first statement of a connection); then one of
/// four extras in turn: a column added to the previous table, a view, a few
/// rows, or a second index.
pub fn sql(i: usize) -> String {
    let parent = if i > 1 {
        format!(",\n    parent_id INTEGER REFERENCES t{}(id)", i - 1)
    } else {
        String::new()
    };
    let mut sql = format!(
        "-- Migration {i}: table t{i}.\n\
         CREATE TABLE t{i} (\n    \
             id INTEGER PRIMARY KEY,\n    \
             name VARCHAR(100) NOT NULL UNIQUE,\n    \
             amount NUMERIC(12, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),\n    \
             created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP{parent}\n\
         );\n\
         CREATE INDEX t{i}_created_idx ON t{i} (created_at);\n"
    );
    match i % 4 {
        0 if i > 1 => sql.push_str(&format!(
            "ALTER TABLE t{} ADD COLUMN note_{i} TEXT;\n",
            i - 1
        )),
        1 => sql.push_str(&format!(
            "CREATE VIEW v{i} AS SELECT id, name, amount FROM t{i} WHERE amount > 0;\n"
        )),
        2 => sql.push_str(&format!(
            "INSERT INTO t{i} (id, name, amount) VALUES (1, 'first', 1.50), (2, 'second', 2.25), (3, 'third', 0);\n"
        )),
        _ => sql.push_str(&format!(
            "CREATE INDEX t{i}_name_amount_idx ON t{i} (name, amount);\n"
        )),
    }
    sql
}

/// The down script of migration `i`, for the layouts that want one.
pub fn down_sql(i: usize) -> String {
    format!("DROP TABLE t{i};\n")
}

/// Writes every layout for every size under `root` (`bench/generated`).
pub fn generate(root: &Path) -> io::Result<()> {
    for n in SIZES {
        let base = root.join(format!("n{n}"));
        for i in 1..=n {
            let up = sql(i);
            // migrate: `<version>_<description>.sql`.
            write(&base.join(format!("migrate/{i:04}_create_t{i}.sql")), &up)?;
            // refinery: `V{n}__{name}.sql`.
            write(&base.join(format!("refinery/V{i}__create_t{i}.sql")), &up)?;
            // sqlx: `{version}_{description}.sql`.
            write(&base.join(format!("sqlx/{i:04}_create_t{i}.sql")), &up)?;
            // diesel: `{version}_{name}/up.sql` and `down.sql`, versions
            // compared as strings, hence the padding.
            let diesel = base.join(format!("diesel/{i:04}_create_t{i}"));
            write(&diesel.join("up.sql"), &up)?;
            write(&diesel.join("down.sql"), &down_sql(i))?;
            // rusqlite_migration: `{id}-{name}/up.sql`.
            write(
                &base.join(format!("rusqlite_migration/{i:04}-create_t{i}/up.sql")),
                &up,
            )?;
        }
    }
    Ok(())
}

/// Writes only when the content differs: an unchanged mtime keeps the
/// crates that embed the file from rebuilding.
fn write(path: &Path, content: &str) -> io::Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, content)
}
