//! `lints = "off"` turns the lints off: these hazards build.
static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(
    "fixtures-sql/pass-lints-off",
    dialect = "postgres",
    lints = "off"
);

fn main() {
    assert_eq!(MIGRATIONS.len(), 2);
}
