//! Applies the example migrations to a SQLite file and prints what it did.
//!
//! ```text
//! cargo run --example quickstart [-- PATH]
//! ```
//!
//! The first run applies every migration; the next says the database is up
//! to date.

use std::error::Error;
use std::process::ExitCode;

use migrate_core::Migrations;
use migrate_core::rusqlite::Connection;

/// The top-level `migrations/` folder, checked and embedded at compile time.
static MIGRATIONS: Migrations = migrate_core::embed_migrations!("migrations", dialect = "sqlite");

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "quickstart.db".to_owned());
    match migrate(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", chain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn migrate(path: &str) -> Result<(), Box<dyn Error>> {
    let mut conn = Connection::open(path)?;
    let report = MIGRATIONS.run(&mut conn)?;
    println!("{path}: {report}");
    let posts: i64 =
        conn.query_row("SELECT count(*) FROM published_posts", [], |row| row.get(0))?;
    println!("{path}: {posts} published post(s)");
    Ok(())
}

/// The error and its causes, as `outer: inner: innermost`.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
