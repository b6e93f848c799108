static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/diesel-metadata-without-setting");

fn main() {
    let _ = MIGRATIONS.len();
}
