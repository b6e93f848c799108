static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/release-unopened-savepoint");

fn main() {
    let _ = MIGRATIONS.len();
}
