static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/prisma-directory-without-migration-sql");

fn main() {
    let _ = MIGRATIONS.len();
}
