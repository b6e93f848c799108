static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/lock-new-migration-below-locked");

fn main() {
    let _ = MIGRATIONS.len();
}
