use clap::Parser;
use migrate_cli::{MigrateArgs, Outcome};
use migrate_core::Migrations;

static EXAMPLE: Migrations = migrate_core::embed_migrations!("migrations", dialect = "sqlite");

/// The shape of `examples/service.rs`: the service's own command line with
/// a `migrate` subcommand.
#[derive(Debug, Parser)]
enum Service {
    Migrate(MigrateArgs),
}

fn migrate(database: &std::path::Path, args: &[&str]) -> Result<Outcome, migrate_cli::Failure> {
    let url = format!("sqlite:{}", database.display());
    let argv = ["service", "migrate"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--database-url", &url]);
    let Service::Migrate(args) = Service::try_parse_from(argv).expect("valid arguments");
    migrate_cli::execute(&EXAMPLE, &args.database, &args.command)
}

#[test]
fn the_service_binary_manages_its_embedded_migrations() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = dir.path().join("service.db");
    let Ok(Outcome::Report(up)) = migrate(&database, &["up", "--to", "3"]) else {
        panic!("up applies");
    };
    assert_eq!(up.applied().len(), 3);
    let Ok(Outcome::Status(status)) = migrate(&database, &["status"]) else {
        panic!("status reads");
    };
    assert_eq!(status.pending().count(), 2);
    let Ok(Outcome::Report(down)) = migrate(&database, &["down", "--steps", "2"]) else {
        panic!("down reverts");
    };
    assert_eq!(
        down.reverted()
            .iter()
            .map(|a| a.version)
            .collect::<Vec<_>>(),
        [3, 2]
    );
    let refused =
        migrate(&database, &["down", "--steps", "1"]).expect_err("version 1 has no down file");
    assert_eq!((refused.code, refused.kind), (4, "irreversible"));
}
