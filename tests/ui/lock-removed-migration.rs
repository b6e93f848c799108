static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/lock-removed-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
