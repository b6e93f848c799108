static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-unknown-column", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
