//! The engine check of a loaded folder, chosen by the `dialect` argument,
//! and its safety lints.
//!
//! Each engine is behind a feature (`sqlite`, `postgres`), which
//! `migrate-core`'s `check-sqlite` and `check-postgres` features turn on, so
//! that a service compiles a checker only when it asks for one. Asking for a
//! dialect whose feature is off is a compile error on the dialect literal
//! that says which migrate-core feature to add, never a silent skip.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use migrate_format::{Problem, SourceMigration};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::input::Lints;
use crate::input::{Dialect, Input};

/// Why the engine check could not produce problems: its feature is off, or
/// it failed on its own.
pub(crate) type Unavailable = String;

/// The environment variable that names the PostgreSQL server of the
/// server-backed check.
pub(crate) const SERVER_VARIABLE: &str = "MIGRATE_CHECK_POSTGRES_URL";

/// What the engine check found: the errors, and the lints to show as
/// warnings (`lints = "warn"`, the default).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Checked {
    pub(crate) problems: Vec<Problem>,
    pub(crate) warnings: Vec<String>,
}

/// Checks the migrations with the engine of the input's dialect, and lints
/// them. Without a dialect there is no engine check: the folder format and
/// the lexer's checks (closed quotes, known directives) are all that runs.
/// `lock` is the folder's `migrate.lock`, whose migrations are released and
/// not linted.
pub(crate) fn check(
    input: &Input,
    migrations: &[SourceMigration],
    lock: Option<&Path>,
) -> Result<Checked, Unavailable> {
    let Some((dialect, _)) = input.dialect else {
        return Ok(Checked::default());
    };
    // The checkers do not panic on any input we know of, but a macro that
    // panics shows the user a compiler-internal-looking message; a plain
    // error is better even in that case.
    catch_unwind(AssertUnwindSafe(|| run(dialect, input, migrations, lock))).unwrap_or_else(|_| {
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
    lock: Option<&Path>,
) -> Result<Checked, Unavailable> {
    match dialect {
        Dialect::Sqlite => sqlite(input, migrations, lock),
        Dialect::Postgres => postgres(input, migrations, lock),
    }
}

/// The highest version in the folder's `migrate.lock`: the migrations up to
/// it are released. The lock was read and verified before the check, so a
/// lock that cannot be read again here only means more lints.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
fn released(lock: Option<&Path>) -> Option<i64> {
    let text = std::fs::read_to_string(lock?).ok()?;
    migrate_format::lock::Lock::parse(&text, "").ok()?.highest()
}

/// Splits lints by the level asked for: errors with `deny`, warnings with
/// `warn`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn report(input: &Input, lints: Vec<migrate_check::lint::Lint>, checked: &mut Checked) {
    match input.lints.unwrap_or(Lints::Warn) {
        Lints::Deny => checked
            .problems
            .extend(lints.iter().map(migrate_check::lint::Lint::to_problem)),
        Lints::Warn => checked
            .warnings
            .extend(lints.iter().map(ToString::to_string)),
        Lints::Off => {}
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn lints_on(input: &Input) -> bool {
    input.lints != Some(Lints::Off)
}

/// The dry run. When the crate has a build script (as the docs recommend,
/// to rebuild on new files), cargo gives it an `OUT_DIR`, where the dry run
/// keeps checkpoints so that editing the newest of many migrations does not
/// run all of them again. Without one, every expansion runs in full.
#[cfg(feature = "sqlite")]
fn sqlite(
    input: &Input,
    migrations: &[SourceMigration],
    lock: Option<&Path>,
) -> Result<Checked, Unavailable> {
    let defaults = migrate_check::SqliteOptions::default();
    let options = migrate_check::SqliteOptions {
        foreign_keys: input.foreign_keys.unwrap_or(defaults.foreign_keys),
        history_table: input.history_table.clone().unwrap_or_default(),
        step_limit: input.check_limit.unwrap_or(defaults.step_limit),
    };
    let foreign_keys = options.foreign_keys;
    let mut problems = match cache_folder(input, "migrate-check-sqlite") {
        Some(cache) => migrate_check::check_sqlite_cached(migrations, options, &cache),
        None => migrate_check::check_sqlite_with(migrations, options),
    };
    problems.extend(migrate_check::lint::misplaced_allows(
        migrations,
        migrate_format::history::Dialect::Sqlite,
    ));
    let mut checked = Checked {
        problems,
        warnings: Vec::new(),
    };
    if lints_on(input) {
        let options = migrate_check::lint::LintOptions {
            released: released(lock),
            server_version_num: None,
            foreign_keys,
        };
        report(
            input,
            migrate_check::lint::lint_sqlite(migrations, &options),
            &mut checked,
        );
    }
    Ok(checked)
}

/// A folder of the crate's `OUT_DIR` for one migrations folder's cache, so
/// that two folders of one crate do not evict each other's entries.
#[cfg(any(feature = "sqlite", feature = "postgres-server"))]
fn cache_folder(input: &Input, kind: &str) -> Option<std::path::PathBuf> {
    let out_dir = std::env::var_os("OUT_DIR")?;
    let folder = migrate_format::checksum::checksum(&input.folder.value());
    let name = migrate_format::checksum::to_hex(&folder)[..16].to_owned();
    Some(Path::new(&out_dir).join(kind).join(name))
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &Input, _: &[SourceMigration], _: Option<&Path>) -> Result<Checked, Unavailable> {
    Err(feature_off("sqlite"))
}

/// The grammar, the statements refused in a transaction, the dry run on the
/// server of `MIGRATE_CHECK_POSTGRES_URL` when the grammar passes, and the
/// lints (told the server's version, when the dry run learnt it).
#[cfg(feature = "postgres")]
fn postgres(
    input: &Input,
    migrations: &[SourceMigration],
    lock: Option<&Path>,
) -> Result<Checked, Unavailable> {
    let mut problems = migrate_check::check_postgres(migrations);
    let mut server_version_num = None;
    if problems.is_empty()
        && let Some(url) = server_url()?
    {
        let (found, version) = server(input, migrations, url)?;
        problems = found;
        server_version_num = Some(version);
    }
    problems.extend(migrate_check::lint::misplaced_allows(
        migrations,
        migrate_format::history::Dialect::Postgres,
    ));
    let mut checked = Checked {
        problems,
        warnings: Vec::new(),
    };
    if lints_on(input) {
        let options = migrate_check::lint::LintOptions {
            released: released(lock),
            server_version_num,
            foreign_keys: true,
        };
        report(
            input,
            migrate_check::lint::lint_postgres(migrations, &options),
            &mut checked,
        );
    }
    Ok(checked)
}

/// The server of the server-backed check, if the variable names one. An
/// empty variable is unset, as CI templates often leave it.
#[cfg(feature = "postgres")]
fn server_url() -> Result<Option<String>, Unavailable> {
    match std::env::var(SERVER_VARIABLE) {
        Ok(url) if url.trim().is_empty() => Ok(None),
        Ok(url) => Ok(Some(url)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("{SERVER_VARIABLE} is not valid UTF-8"))
        }
    }
}

/// The dry run on the server: its problems and the server's version. The
/// verdict is cached in `OUT_DIR`, when the crate has one.
#[cfg(feature = "postgres-server")]
fn server(
    input: &Input,
    migrations: &[SourceMigration],
    url: String,
) -> Result<(Vec<Problem>, u32), Unavailable> {
    let options = migrate_check::ServerOptions {
        url,
        history_table: input.history_table.clone().unwrap_or_default(),
        cache: cache_folder(input, "migrate-check-postgres"),
    };
    let verdict = migrate_check::check_postgres_server(migrations, &options)?;
    Ok((verdict.problems, verdict.server_version_num))
}

/// Without the feature, a server named by the variable is an error rather
/// than a check silently not made.
#[cfg(all(feature = "postgres", not(feature = "postgres-server")))]
fn server(_: &Input, _: &[SourceMigration], _: String) -> Result<(Vec<Problem>, u32), Unavailable> {
    Err(format!(
        "{SERVER_VARIABLE} is set, so migrate would dry-run the migrations on that server, which needs the `check-postgres-server` feature of migrate-core: add it to the features of migrate-core in Cargo.toml, or unset the variable to check the grammar only"
    ))
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &Input, _: &[SourceMigration], _: Option<&Path>) -> Result<Checked, Unavailable> {
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
        assert_eq!(
            check(&input(r#""migrations""#), &[], None),
            Ok(Checked::default())
        );
    }

    // Only a build without the engine's feature can see this error.
    #[cfg(not(feature = "sqlite"))]
    #[test]
    fn a_dialect_without_its_feature_says_which_feature() {
        let error = check(&input(r#""migrations", dialect = "sqlite""#), &[], None).unwrap_err();
        assert!(
            error.contains("needs the `check-sqlite` feature of migrate-core"),
            "{error}"
        );
    }

    // Only a build with the grammar but without the server check sees this.
    #[cfg(all(feature = "postgres", not(feature = "postgres-server")))]
    #[test]
    fn a_server_without_the_server_feature_says_which_feature() {
        let input = input(r#""migrations", dialect = "postgres""#);
        let error =
            server(&input, &[], "postgresql://check@localhost/check".to_owned()).unwrap_err();
        assert!(
            error.contains("needs the `check-postgres-server` feature of migrate-core"),
            "{error}"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn postgres_without_its_feature_says_which_feature() {
        let error = check(&input(r#""migrations", dialect = "postgres""#), &[], None).unwrap_err();
        assert!(
            error.contains("needs the `check-postgres` feature of migrate-core"),
            "{error}"
        );
    }
}
