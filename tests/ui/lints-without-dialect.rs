static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/several-problems", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
