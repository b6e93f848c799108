static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/several-problems", history_table = "temp.history");

fn main() {
    let _ = MIGRATIONS.len();
}
