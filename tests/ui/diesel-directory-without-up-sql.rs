static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures/diesel-directory-without-up-sql");

fn main() {
    let _ = MIGRATIONS.len();
}
