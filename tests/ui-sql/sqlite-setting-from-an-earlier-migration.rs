static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-setting-from-an-earlier-migration", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
