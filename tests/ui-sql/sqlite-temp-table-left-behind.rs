static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-temp-table-left-behind", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
