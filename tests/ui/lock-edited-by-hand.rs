static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/lock-edited-by-hand");

fn main() {
    let _ = MIGRATIONS.len();
}
