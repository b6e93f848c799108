static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/lint-rename-under-legacy-alter-table", dialect = "sqlite", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
