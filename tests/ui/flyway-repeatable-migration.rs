static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/flyway-repeatable-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
