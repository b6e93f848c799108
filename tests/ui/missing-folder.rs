static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/does-not-exist");

fn main() {
    let _ = MIGRATIONS.len();
}
