//! `cpts`: the command line of the cpts platform. Messages for users are in French.

mod funding;
mod load;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cpts",
    version,
    about = "Financement des CPTS : calcul, explication, échéancier et simulation de l'ACI"
)]
struct Cli {
    /// Dossier de règles à utiliser au lieu des règles livrées (sources.yaml, parameters.yaml…)
    #[arg(long, global = true, value_name = "DOSSIER")]
    rules: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Financement ACI : calculer, expliquer, échelonner, simuler
    #[command(subcommand)]
    Funding(funding::FundingCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Funding(cmd) => funding::run(cmd, cli.rules.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}
