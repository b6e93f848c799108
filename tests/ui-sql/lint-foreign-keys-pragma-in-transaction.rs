static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/lint-foreign-keys-pragma-in-transaction", dialect = "sqlite", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
