//! `-- migrate:allow` silences the rules it names, in its file.
static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(
    "fixtures-sql/pass-lints-allowed",
    dialect = "postgres",
    lints = "deny"
);

fn main() {
    assert_eq!(MIGRATIONS.len(), 3);
}
