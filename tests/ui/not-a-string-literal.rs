static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(migrations);

fn main() {
    let _ = MIGRATIONS.len();
}
