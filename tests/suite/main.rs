//! End-to-end tests that need whole crates or processes, in one binary.

// Compile errors of `embed_migrations!`: one mistake per case in tests/ui.
mod ui;
// The engine checks of `dialect = "sqlite"` and `"postgres"`: one mistake per case in tests/ui-sql.
mod ui_sql;
// Several processes migrating one SQLite file, and a process killed mid-migration.
mod processes;
// The `migrate` subcommand of a service's own binary, over its embedded migrations.
mod embedded_cli;
// Adding a migration file to a crate with the documented build.rs rebuilds it.
mod rebuild;
// A crate built by cargo with MIGRATE_CHECK_POSTGRES_URL: the server-backed
// check, its cache, and the lints as warnings.
mod postgres_check;
