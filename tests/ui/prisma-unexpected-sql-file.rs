static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/prisma-unexpected-sql-file");

fn main() {
    let _ = MIGRATIONS.len();
}
