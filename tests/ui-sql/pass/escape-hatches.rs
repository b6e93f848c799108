//! The escape hatches let the dry run accept what it cannot model.
static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(
    "fixtures-sql/pass-escape-hatches",
    dialect = "sqlite",
    foreign_keys = "off"
);

fn main() {
    assert_eq!(MIGRATIONS.len(), 3);
}
