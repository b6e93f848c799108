static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/begin-in-migration");

fn main() {
    let _ = MIGRATIONS.len();
}
