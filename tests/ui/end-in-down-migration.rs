static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/end-in-down-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
