static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!("fixtures/unterminated-dollar-quote");

fn main() {
    let _ = MIGRATIONS.len();
}
