static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/postgres-unterminated-dollar-quote", dialect = "postgres");

fn main() {
    let _ = MIGRATIONS.len();
}
