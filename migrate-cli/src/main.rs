//! `migrate`: the command line over a migrations folder.

mod folder;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use migrate_cli::{DatabaseArgs, DatabaseCommand, Failure};
use migrate_core::Migrations;

/// SQL migrations checked at build time and applied safely. See the exit codes in `migrate-cli`'s docs:
/// 0 success, 1 failure, 2 usage, 3 invalid folder, 4 database and migrations disagree, 5 verify found a problem.
#[derive(Debug, Parser)]
#[command(name = "migrate", version)]
struct Cli {
    /// The migrations folder.
    #[arg(long, default_value = "migrations", global = true)]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // The database commands get the database options in `command()`.
    #[command(flatten)]
    Database(DatabaseCommand),
    /// Create the next migration file, in the folder's own version scheme.
    New {
        /// What the migration does, as in `create_users`.
        description: String,
        /// Also create a `.down.sql` file.
        #[arg(long)]
        down: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write `migrate.lock`: the checksums of every migration in the folder.
    Lock {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check the folder as `embed_migrations!` does, without compiling.
    Check {
        /// Also check the SQL with an engine: a SQLite dry run, or the
        /// PostgreSQL grammar, as `embed_migrations!(…, dialect = …)` does.
        #[arg(long, value_enum)]
        dialect: Option<folder::Dialect>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// The output option of the folder commands, which use no database.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Print JSON for programs instead of text for people.
    #[arg(long)]
    json: bool,
}

/// The command line: the database options (`--database-url`, `--table`,
/// `--json`) belong to the database commands only, so that the help of
/// `new`, `lock` and `check` lists only what they read.
fn command() -> clap::Command {
    let database_commands: Vec<String> =
        DatabaseCommand::augment_subcommands(clap::Command::new("database"))
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
    // Only the arguments: `augment_args` would also set the subcommand's
    // description to `DatabaseArgs`'s.
    let database_args = DatabaseArgs::augment_args(clap::Command::new("database"));
    database_commands.iter().fold(Cli::command(), |cli, name| {
        cli.mut_subcommand(name, |sub| {
            database_args
                .get_arguments()
                .fold(sub, |sub, arg| sub.arg(arg.clone().display_order(0)))
        })
    })
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let (result, json) = match &cli.command {
        Command::Database(command) => {
            let sub_matches = matches
                .subcommand()
                .map(|(_, sub_matches)| sub_matches)
                .unwrap_or(&matches);
            let database =
                DatabaseArgs::from_arg_matches(sub_matches).unwrap_or_else(|error| error.exit());
            let result = match command {
                // `verify` checks the database alone: it needs no folder.
                DatabaseCommand::Verify => {
                    migrate_cli::execute(&Migrations::default(), &database, command)
                }
                _ => load(&cli.dir)
                    .and_then(|migrations| migrate_cli::execute(&migrations, &database, command)),
            };
            (result, database.json)
        }
        Command::New {
            description,
            down,
            output,
        } => (folder::new(&cli.dir, description, *down), output.json),
        Command::Lock { output } => (folder::lock(&cli.dir), output.json),
        Command::Check { dialect, output } => (folder::check(&cli.dir, *dialect), output.json),
    };
    migrate_cli::finish(result, json)
}

fn load(dir: &Path) -> Result<Migrations, Failure> {
    Migrations::from_folder(dir).map_err(Failure::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        super::command().debug_assert();
    }
}
