static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/unknown-directive");

fn main() {
    let _ = MIGRATIONS.len();
}
