static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/lint-ban-drop-function", dialect = "postgres", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
