static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/misplaced-directive");

fn main() {
    let _ = MIGRATIONS.len();
}
