static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/nul-byte");

fn main() {
    let _ = MIGRATIONS.len();
}
