static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-attach-computed-file-name", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
