static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("/srv/app/migrations");

fn main() {
    let _ = MIGRATIONS.len();
}
