static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/lint-table-rebuild-with-foreign-keys-on", dialect = "sqlite", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
