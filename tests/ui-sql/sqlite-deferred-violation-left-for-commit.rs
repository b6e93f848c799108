static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/sqlite-deferred-violation-left-for-commit", dialect = "sqlite");

fn main() {
    let _ = MIGRATIONS.len();
}
