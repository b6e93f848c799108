static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-endless-query", dialect = "sqlite", check_limit = 1_000_000);

fn main() {
    let _ = MIGRATIONS.len();
}
