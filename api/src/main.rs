//! The `caregrade` binary: server and command-line tools.

mod rules_cli;

use clap::Parser;
use std::process::ExitCode;

/// caregrade: grading and inspection of elderly-care institutions.
#[derive(Debug, Parser)]
#[command(name = "caregrade", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Rules-language tools: check, test, fmt, score.
    Rules(rules_cli::RulesArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Rules(args) => rules_cli::run(args),
    }
}
