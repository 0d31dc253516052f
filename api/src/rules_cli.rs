//! `caregrade rules …`: the rules-language tools. The behaviour lives in
//! `caregrade_dsl::tool`; this module parses arguments, reads JSON input and prints.

use caregrade_dsl::eval::RawInput;
use caregrade_dsl::tool::{self, Output};
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Check rules files; print every diagnostic. Exit 0 when clean, 1 on errors.
    Check {
        /// Files, or folders searched for `*.rules`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the tests written inside rulesets; print `N passed, M failed` and coverage.
    Test {
        /// Files, or folders searched for `*.rules`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Rewrite rules files in the canonical layout (comments kept); `--check` only reports.
    Fmt {
        /// Exit 1 if a file is not formatted, changing nothing.
        #[arg(long)]
        check: bool,
        /// Files, or folders searched for `*.rules`.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Evaluate a ruleset on facts and answers; print the outcome as JSON.
    Score {
        /// The ruleset file (its base, if it extends one, is looked for beside it).
        ruleset: PathBuf,
        /// A JSON object of facts by id.
        #[arg(long)]
        facts: Option<PathBuf>,
        /// A JSON object of answers by item id.
        #[arg(long)]
        answers: Option<PathBuf>,
        /// A JSON array of events `{ "kind": …, "date": "YYYY-MM-DD" }`.
        #[arg(long)]
        events: Option<PathBuf>,
        /// A JSON object of photo counts by item id.
        #[arg(long)]
        photos: Option<PathBuf>,
        /// A whole input document (`as_of`, `facts`, `answers`, `photos`, `events`).
        #[arg(long, conflicts_with_all = ["facts", "answers", "events", "photos"])]
        input: Option<PathBuf>,
        /// Evaluation date, `YYYY-MM-DD` (default: today, UTC).
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    caregrade_dsl::date::format(caregrade_dsl::ast::Date(days as i32))
}

fn input_from(
    facts: Option<PathBuf>,
    answers: Option<PathBuf>,
    events: Option<PathBuf>,
    photos: Option<PathBuf>,
    input: Option<PathBuf>,
    as_of: Option<String>,
) -> Result<RawInput, String> {
    let mut raw: RawInput = match input {
        Some(p) => read_json(&p)?,
        None => RawInput::default(),
    };
    if let Some(p) = facts {
        raw.facts = read_json(&p)?;
    }
    if let Some(p) = answers {
        raw.answers = read_json(&p)?;
    }
    if let Some(p) = events {
        raw.events = read_json(&p)?;
    }
    if let Some(p) = photos {
        raw.photos = read_json(&p)?;
    }
    if as_of.is_some() {
        raw.as_of = as_of;
    }
    if raw.as_of.is_none() {
        raw.as_of = Some(today());
    }
    Ok(raw)
}

/// Replaces a file's contents without ever leaving it half written.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("rules.fmt-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn emit(out: Output) -> ExitCode {
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    ExitCode::from(out.code)
}

/// Runs one `caregrade rules` subcommand and returns the process exit code.
pub fn run(args: RulesArgs) -> ExitCode {
    match args.command {
        RulesCommand::Check { paths } => emit(tool::check(&paths)),
        RulesCommand::Test { paths } => emit(tool::test(&paths)),
        RulesCommand::Fmt { check, paths } => emit(tool::fmt(&paths, check, write_atomically)),
        RulesCommand::Score {
            ruleset,
            facts,
            answers,
            events,
            photos,
            input,
            as_of,
        } => match input_from(facts, answers, events, photos, input, as_of) {
            Ok(raw) => emit(tool::score(&ruleset, &raw)),
            Err(e) => emit(Output {
                stderr: format!("error: {e}\n"),
                code: 2,
                ..Output::default()
            }),
        },
    }
}
