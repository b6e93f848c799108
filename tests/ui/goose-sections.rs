static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/goose-sections");

fn main() {
    let _ = MIGRATIONS.len();
}
