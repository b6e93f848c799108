static MIGRATIONS: migrate_core::Migrations =
    migrate_core::embed_migrations!("fixtures-sql/lint-double-quoted-string", dialect = "sqlite", lints = "deny");

fn main() {
    let _ = MIGRATIONS.len();
}
