static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-vacuum-in-transaction", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
