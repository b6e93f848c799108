static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/postgres-allow-sqlite-lint", dialect = "postgres");

fn main() {
    let _ = MIGRATIONS.len();
}
