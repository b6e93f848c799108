//! The engine check of a loaded folder, chosen by the `dialect` argument.
//!
//! Each engine is behind a feature (`sqlite`, `postgres`), which
//! `migrate-core`'s `check-sqlite` and `check-postgres` features turn on, so
//! that a service compiles a checker only when it asks for one. Asking for a
//! dialect whose feature is off is a compile error on the dialect literal
//! that says which migrate-core feature to add, never a silent skip.

use std::panic::{AssertUnwindSafe, catch_unwind};

use migrate_format::{Problem, SourceMigration};

use crate::input::{Dialect, Input};

/// Why the engine check could not produce problems: its feature is off, or
/// it failed on its own.
pub(crate) type Unavailable = String;

/// Checks the migrations with the engine of the input's dialect. Without a
/// dialect there is no engine check: the folder format and the lexer's
/// checks (closed quotes, known directives) are all that runs.
pub(crate) fn check(
    input: &Input,
    migrations: &[SourceMigration],
) -> Result<Vec<Problem>, Unavailable> {
    let Some((dialect, _)) = input.dialect else {
        return Ok(Vec::new());
    };
    // The checkers do not panic on any input we know of, but a macro that
    // panics shows the user a compiler-internal-looking message; a plain
    // error is better even in that case.
    catch_unwind(AssertUnwindSafe(|| run(dialect, input, migrations))).unwrap_or_else(|_| {
        Err(
            "the SQL check failed unexpectedly; please report this as a bug in migrate, and mark the migration `-- migrate:no-check` meanwhile"
                .to_owned(),
        )
    })
}

fn run(
    dialect: Dialect,
    input: &Input,
    migrations: &[SourceMigration],
) -> Result<Vec<Problem>, Unavailable> {
    match dialect {
        Dialect::Sqlite => sqlite(input, migrations),
        Dialect::Postgres => postgres(migrations),
    }
}

/// The dry run. When the crate has a build script (as the docs recommend,
/// to rebuild on new files), cargo gives it an `OUT_DIR`, where the dry run
/// keeps checkpoints so that editing the newest of many migrations does not
/// run all of them again. Without one, every expansion runs in full.
#[cfg(feature = "sqlite")]
fn sqlite(input: &Input, migrations: &[SourceMigration]) -> Result<Vec<Problem>, Unavailable> {
    let defaults = migrate_check::SqliteOptions::default();
    let options = migrate_check::SqliteOptions {
        foreign_keys: input.foreign_keys.unwrap_or(defaults.foreign_keys),
        history_table: input.history_table.clone().unwrap_or_default(),
        step_limit: input.check_limit.unwrap_or(defaults.step_limit),
    };
    let problems = match std::env::var_os("OUT_DIR") {
        Some(out_dir) => {
            // One cache per folder, so that two folders of one crate do not
            // evict each other's checkpoints.
            let folder = migrate_format::checksum::checksum(&input.folder.value());
            let name = migrate_format::checksum::to_hex(&folder)[..16].to_owned();
            let cache = std::path::Path::new(&out_dir)
                .join("migrate-check-sqlite")
                .join(name);
            migrate_check::check_sqlite_cached(migrations, options, &cache)
        }
        None => migrate_check::check_sqlite_with(migrations, options),
    };
    Ok(problems)
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &Input, _: &[SourceMigration]) -> Result<Vec<Problem>, Unavailable> {
    Err(feature_off("sqlite"))
}

#[cfg(feature = "postgres")]
fn postgres(migrations: &[SourceMigration]) -> Result<Vec<Problem>, Unavailable> {
    Ok(migrate_check::check_postgres(migrations))
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &[SourceMigration]) -> Result<Vec<Problem>, Unavailable> {
    Err(feature_off("postgres"))
}

#[cfg(any(not(feature = "sqlite"), not(feature = "postgres")))]
fn feature_off(dialect: &str) -> Unavailable {
    format!(
        "`dialect = \"{dialect}\"` checks the migrations with the {dialect} engine at build time, which needs the `check-{dialect}` feature of migrate-core: add \"check-{dialect}\" to the `features` of migrate-core in Cargo.toml"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(arguments: &str) -> Input {
        syn::parse_str(arguments).expect("valid arguments")
    }

    #[test]
    fn without_a_dialect_there_is_no_engine_check() {
        assert_eq!(check(&input(r#""migrations""#), &[]), Ok(Vec::new()));
    }

    // Only a build without the engine's feature can see this error.
    #[cfg(not(feature = "sqlite"))]
    #[test]
    fn a_dialect_without_its_feature_says_which_feature() {
        let error = check(&input(r#""migrations", dialect = "sqlite""#), &[]).unwrap_err();
        assert!(
            error.contains("needs the `check-sqlite` feature of migrate-core"),
            "{error}"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_without_its_feature_says_which_feature() {
        let error = check(&input(r#""migrations", dialect = "postgres""#), &[]).unwrap_err();
        assert!(
            error.contains("needs the `check-postgres` feature of migrate-core"),
            "{error}"
        );
    }
}
