static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/allow-unknown-lint");

fn main() {
    let _ = MIGRATIONS.len();
}
