static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/empty-folder");

fn main() {
    let _ = MIGRATIONS.len();
}
