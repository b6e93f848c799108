static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/several-problems", dialect = "sqlite", check_limit = 0);

fn main() {
    let _ = MIGRATIONS.len();
}
