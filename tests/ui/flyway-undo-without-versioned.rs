static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/flyway-undo-without-versioned");

fn main() {
    let _ = MIGRATIONS.len();
}
