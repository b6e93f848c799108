static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/malformed-name");

fn main() {
    let _ = MIGRATIONS.len();
}
