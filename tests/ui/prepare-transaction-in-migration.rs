static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/prepare-transaction-in-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
