static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/abort-in-postgres-migration", dialect = "postgres");

fn main() {
    let _ = MIGRATIONS.len();
}
