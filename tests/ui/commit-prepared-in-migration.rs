static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/commit-prepared-in-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
