static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/flyway-dotted-version");

fn main() {
    let _ = MIGRATIONS.len();
}
