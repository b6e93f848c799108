static MIGRATIONS: migrate_core::Migrations = migrate_core::embed_migrations!(
    "fixtures/several-problems",
    dialect = "postgres",
    lints = "error"
);

fn main() {
    let _ = MIGRATIONS.len();
}
