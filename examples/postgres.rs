//! Applies the PostgreSQL migrations of the example service and prints what
//! was done.
//!
//! ```sh
//! cargo run --example postgres -- postgresql://postgres@localhost/app
//! cargo run --example postgres -- "host=/var/run/postgresql user=postgres dbname=app"
//! ```
//!
//! Both URL and `key=value` connection strings work. Run it twice: the second
//! run finds everything applied, in one query and without taking the lock.

use migrate_core::Migrations;
use migrate_core::tokio_postgres::{self, NoTls};

/// `migrations-postgres/` is the PostgreSQL form of `migrations/`, which is
/// written for SQLite; see its README.
static MIGRATIONS: Migrations = migrate_core::embed_migrations!("migrations-postgres");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::args().nth(1) else {
        return Err(
            "usage: cargo run --example postgres -- <postgresql:// URL or key=value string>".into(),
        );
    };
    let (mut client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    // The connection does the actual I/O; it ends when the client is dropped.
    let driver = tokio::spawn(connection);
    let report = MIGRATIONS.run_async(&mut client).await?;
    println!("{report}");
    println!("{}", MIGRATIONS.status_async(&client).await?);
    drop(client);
    driver.await??;
    Ok(())
}
