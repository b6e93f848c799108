use crate::scenarios::{self, Database};

fn database() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite:{}", dir.path().join("shop.db").display());
    (
        dir,
        Database {
            url,
            missing_table: "no such table: missing_table",
        },
    )
}

#[test]
fn check_lock_and_new() {
    let (_dir, database) = database();
    scenarios::check_lock_and_new(&database);
}

#[test]
fn status_up_down_and_exit_codes() {
    let (_dir, database) = database();
    scenarios::status_up_down_and_exit_codes(&database);
}

#[test]
fn failed_no_transaction_migration_then_resolve() {
    let (_dir, database) = database();
    scenarios::failed_no_transaction_migration_then_resolve(&database);
}

#[test]
fn baseline_and_repair() {
    let (_dir, database) = database();
    scenarios::baseline_and_repair(&database);
}
