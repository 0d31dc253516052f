//! `caregrade rules …`: the rules-language tools (check, test, fmt, score).
//!
//! Owned by the language crate's author; the CLI only dispatches here.

use std::process::ExitCode;

/// Arguments of `caregrade rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Which tool to run.
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// The `caregrade rules` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Check rules files and print diagnostics (exit 1 on errors).
    Check {
        /// Files or folders of `*.rules` files.
        paths: Vec<std::path::PathBuf>,
    },
}

/// Runs one `caregrade rules` subcommand and returns the process exit code.
pub fn run(args: RulesArgs) -> ExitCode {
    match args.command {
        RulesCommand::Check { paths } => {
            eprintln!("rules check is being built; {} path(s) given", paths.len());
            ExitCode::from(2)
        }
    }
}
