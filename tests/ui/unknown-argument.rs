static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/several-problems", table = "history");

fn main() {
    let _ = MIGRATIONS.len();
}
