static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-view-unknown-table", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
