//! A service whose single binary carries its migrations and the commands to
//! manage them, so that a deploy needs no other tool and no migration files.
//!
//! ```text
//! cargo run --example service -- serve --database service.db
//! cargo run --example service -- migrate status --database-url sqlite:service.db
//! cargo run --example service -- migrate down --steps 1 --database-url sqlite:service.db
//! ```

use std::process::ExitCode;

use clap::Parser;
use migrate_core::Migrations;
use migrate_core::rusqlite::Connection;

static MIGRATIONS: Migrations = migrate_core::embed_migrations!("migrations", dialect = "sqlite");

#[derive(Debug, Parser)]
#[command(name = "service")]
enum Cli {
    /// Apply pending migrations, then serve.
    Serve {
        /// The SQLite database file.
        #[arg(long, default_value = "service.db")]
        database: String,
    },
    /// Inspect or change the database's migrations: status, up, down,
    /// baseline, repair, resolve.
    Migrate(migrate_cli::MigrateArgs),
}

fn main() -> ExitCode {
    match Cli::parse() {
        Cli::Serve { database } => serve(&database),
        Cli::Migrate(args) => migrate_cli::run(&MIGRATIONS, &args),
    }
}

fn serve(database: &str) -> ExitCode {
    match migrate_then_serve(database) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cannot start: {error}");
            ExitCode::FAILURE
        }
    }
}

fn migrate_then_serve(database: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = Connection::open(database)?;
    println!("{}", MIGRATIONS.run(&mut conn)?);
    println!("serving with {database} (this example stops here)");
    Ok(())
}
