static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/down-without-up");

fn main() {
    let _ = MIGRATIONS.len();
}
