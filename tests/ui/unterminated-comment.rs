static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/unterminated-comment");

fn main() {
    let _ = MIGRATIONS.len();
}
