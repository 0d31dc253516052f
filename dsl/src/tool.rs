//! What `caregrade rules check|test|score` do, as functions returning text and an exit code,
//! so the binary only prints and the behaviour is testable here. Reads source files; nothing else.

use crate::diag::Severity;
use crate::eval::{self, RawInput};
use crate::{Library, report, testing};
use std::path::{Path, PathBuf};

/// What a command printed and how it exits.
#[derive(Debug, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// 0 clean, 1 problems found, 2 usage or IO error.
    pub code: u8,
}

/// Rules files named by `paths`: files as given, folders searched recursively for `*.rules`.
fn expand(paths: &[PathBuf], errors: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) => {
                        errors.push(format!("{}: {e}", dir.display()));
                        continue;
                    }
                };
                for e in entries.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().is_some_and(|x| x == "rules") {
                        out.push(path);
                    }
                }
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            errors.push(format!("{}: no such file or folder", p.display()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Loads the target files, plus sibling `*.rules` files so that `extends` finds its base.
/// Returns the library and the indices of the targets.
pub fn load(paths: &[PathBuf]) -> (Library, Vec<usize>, Vec<String>) {
    let mut errors = Vec::new();
    let targets = expand(paths, &mut errors);
    let mut dirs: Vec<PathBuf> = targets
        .iter()
        .filter_map(|t| t.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut siblings = expand(&dirs, &mut Vec::new());
    siblings.retain(|s| !targets.contains(s));
    let mut lib = Library::new();
    let mut idx = Vec::new();
    for (k, path) in targets.iter().chain(siblings.iter()).enumerate() {
        match std::fs::read(path) {
            Ok(bytes) => {
                let i = lib.add(path.display().to_string(), &bytes);
                if k < targets.len() {
                    idx.push(i);
                }
            }
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    (lib, idx, errors)
}

/// `caregrade rules check PATH…`
pub fn check(paths: &[PathBuf]) -> Output {
    let (lib, targets, errors) = load(paths);
    let mut out = Output::default();
    for e in &errors {
        out.stderr.push_str(&format!("error: {e}\n"));
    }
    let (mut n_err, mut n_warn) = (0, 0);
    for &t in &targets {
        let comp = lib.compile_file(t);
        for d in &comp.diagnostics {
            match d.severity {
                Severity::Error => n_err += 1,
                Severity::Warning => n_warn += 1,
            }
            out.stderr.push_str(&d.render(&lib.sources));
            out.stderr.push('\n');
        }
    }
    out.stdout.push_str(&format!(
        "checked {} ruleset(s): {n_err} error(s), {n_warn} warning(s)\n",
        targets.len()
    ));
    out.code = if !errors.is_empty() {
        2
    } else if n_err > 0 || targets.is_empty() {
        1
    } else {
        0
    };
    out
}

/// `caregrade rules test PATH…`: runs the tests of every ruleset and reports coverage.
pub fn test(paths: &[PathBuf]) -> Output {
    let (lib, targets, errors) = load(paths);
    let mut out = Output::default();
    for e in &errors {
        out.stderr.push_str(&format!("error: {e}\n"));
    }
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    let mut full = true;
    for &t in &targets {
        let path = &lib.sources[t].path;
        let comp = lib.compile_file(t);
        let (Some(c), Some(ast)) = (comp.compiled, lib.ruleset(t)) else {
            broken += 1;
            for d in comp.diagnostics.iter().filter(|d| d.is_error()) {
                out.stderr.push_str(&d.render(&lib.sources));
                out.stderr.push('\n');
            }
            out.stdout
                .push_str(&format!("{path}: does not compile, tests not run\n"));
            continue;
        };
        let (results, cov) = testing::run(ast, &c);
        out.stdout
            .push_str(&format!("{path} ({} {}):\n", c.kind.keyword(), c.id));
        for r in &results {
            let (line, _) = crate::diag::line_col(&lib.sources[t].text, r.span.start as usize);
            if r.failures.is_empty() {
                passed += 1;
                out.stdout.push_str(&format!("  test {} ... ok\n", r.name));
            } else {
                failed += 1;
                out.stdout
                    .push_str(&format!("  test {} ... FAILED ({path}:{line})\n", r.name));
                for f in &r.failures {
                    out.stdout.push_str(&format!("      {f}\n"));
                }
            }
        }
        out.stdout.push_str(&format!("  {}\n", cov.summary()));
        for g in &cov.gaps {
            out.stdout.push_str(&format!("    not covered: {g}\n"));
        }
        full &= cov.is_full();
    }
    if broken > 0 {
        out.stdout
            .push_str(&format!("{broken} ruleset(s) did not compile\n"));
    }
    out.stdout
        .push_str(&format!("{passed} passed, {failed} failed\n"));
    out.code = if !errors.is_empty() {
        2
    } else if failed > 0 || broken > 0 || targets.is_empty() {
        1
    } else {
        0
    };
    let _ = full;
    out
}

/// `caregrade rules score RULESET --input I.json`: the outcome as JSON.
pub fn score(ruleset: &Path, input: &RawInput) -> Output {
    let (lib, targets, errors) = load(&[ruleset.to_path_buf()]);
    let mut out = Output::default();
    if !errors.is_empty() || targets.len() != 1 {
        out.stderr = errors.iter().map(|e| format!("error: {e}\n")).collect();
        if targets.len() > 1 {
            out.stderr
                .push_str("error: give exactly one ruleset file to score\n");
        }
        out.code = 2;
        return out;
    }
    let comp = lib.compile_file(targets[0]);
    let Some(c) = comp.compiled else {
        for d in comp.diagnostics.iter().filter(|d| d.is_error()) {
            out.stderr.push_str(&d.render(&lib.sources));
            out.stderr.push('\n');
        }
        out.code = 1;
        return out;
    };
    let bound = c.bind(input);
    let o = eval::evaluate(&c, &bound);
    let r = report::report(&c, &bound, &o);
    match serde_json::to_string_pretty(&r) {
        Ok(s) => {
            out.stdout = s;
            out.stdout.push('\n');
        }
        Err(e) => {
            out.stderr = format!("error: {e}\n");
            out.code = 2;
        }
    }
    out
}

/// `caregrade rules fmt [--check] PATH…`: formats every file. With `check`, changes nothing and
/// exits 1 when a file is not formatted; otherwise hands each changed file's new text to `write`
/// (the caller does the writing: this crate only reads).
pub fn fmt(
    paths: &[PathBuf],
    check: bool,
    mut write: impl FnMut(&Path, &str) -> std::io::Result<()>,
) -> Output {
    let mut out = Output::default();
    let mut errors = Vec::new();
    let files = expand(paths, &mut errors);
    for e in &errors {
        out.stderr.push_str(&format!("error: {e}\n"));
    }
    let (mut changed, mut broken) = (0usize, 0usize);
    for path in &files {
        let mut lib = Library::new();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                errors.push(e.to_string());
                out.stderr
                    .push_str(&format!("error: {}: {e}\n", path.display()));
                continue;
            }
        };
        let file = lib.add(path.display().to_string(), &bytes);
        let Some(ast) = lib.ruleset(file) else {
            broken += 1;
            for d in lib.diagnostics_for(file) {
                out.stderr.push_str(&d.render(&lib.sources));
                out.stderr.push('\n');
            }
            continue;
        };
        let text = &lib.sources[file].text;
        let formatted = crate::fmt::format(text, ast);
        if formatted == *text {
            continue;
        }
        changed += 1;
        if check {
            out.stdout
                .push_str(&format!("would reformat {}\n", path.display()));
        } else if let Err(e) = write(path, &formatted) {
            errors.push(e.to_string());
            out.stderr
                .push_str(&format!("error: {}: {e}\n", path.display()));
        } else {
            out.stdout
                .push_str(&format!("formatted {}\n", path.display()));
        }
    }
    let verb = if check {
        "would be reformatted"
    } else {
        "reformatted"
    };
    out.stdout.push_str(&format!(
        "{} file(s): {changed} {verb}, {broken} not parsed\n",
        files.len()
    ));
    out.code = if !errors.is_empty() {
        2
    } else if broken > 0 || (check && changed > 0) {
        1
    } else {
        0
    };
    out
}
