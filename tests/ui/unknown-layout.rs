static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/mixed-layouts", layout = "sqlx");

fn main() {
    let _ = MIGRATIONS.len();
}
