static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/postgres-foreign-keys", dialect = "postgres", foreign_keys = "off");

fn main() {
    let _ = MIGRATIONS.len();
}
