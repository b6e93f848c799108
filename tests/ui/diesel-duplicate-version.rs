static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/diesel-duplicate-version");

fn main() {
    let _ = MIGRATIONS.len();
}
