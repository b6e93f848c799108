static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/non-utf8-content");

fn main() {
    let _ = MIGRATIONS.len();
}
