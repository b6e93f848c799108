static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/chosen-layout-does-not-fit", layout = "prisma");

fn main() {
    let _ = MIGRATIONS.len();
}
