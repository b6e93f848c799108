static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/prisma-malformed-directory-name");

fn main() {
    let _ = MIGRATIONS.len();
}
