//! `caregrade rules` without the server crate, for working on rulesets quickly:
//! `cargo run -p caregrade-dsl --example rules -- check|test|fmt PATH…`,
//! `… -- fmt --check PATH…` or `… -- score RULESET INPUT.json`.

use caregrade_dsl::{eval::RawInput, tool};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
    let out = match args.first().map(String::as_str) {
        Some("check") => tool::check(&paths),
        Some("test") => tool::test(&paths),
        Some("fmt") => {
            let check = paths.first().is_some_and(|p| p.as_os_str() == "--check");
            let files: Vec<PathBuf> = paths.iter().skip(usize::from(check)).cloned().collect();
            tool::fmt(&files, check, |path, text| std::fs::write(path, text))
        }
        Some("score") if paths.len() == 2 => {
            let input: RawInput = match std::fs::read(&paths[1])
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            tool::score(&paths[0], &input)
        }
        _ => {
            eprintln!(
                "usage: rules check|test|fmt [--check] PATH… | rules score RULESET INPUT.json"
            );
            return ExitCode::from(2);
        }
    };
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.code)
}
