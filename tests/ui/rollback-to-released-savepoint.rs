static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/rollback-to-released-savepoint");

fn main() {
    let _ = MIGRATIONS.len();
}
