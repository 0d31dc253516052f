//! The caregrade rules language: parse → check → compile → evaluate, and format.
//!
//! No IO beyond the source text handed in, no database, no HTTP, no global state. The entry
//! point for most callers is [`Library`]: add sources, then [`Library::compile`] a ruleset by
//! id (its `extends` chain is resolved among the sources added) and [`eval::evaluate`] it.

// Diagnostics are the cold path; boxing them to shrink `Result` would buy nothing measurable.
#![allow(clippy::result_large_err)]

// pest without its `std` feature (see Cargo.toml) generates code that names `alloc`.
extern crate alloc;

pub mod ast;
pub mod date;
pub mod diag;
pub mod eval;
pub mod fmt;
pub mod ir;
pub mod lower;
pub mod num;
pub mod parse;
pub mod report;
pub mod synth;
pub mod testing;
pub mod tool;

use diag::{Diagnostic, Span};
use sha2::{Digest, Sha256};

/// One source file: its path (for messages) and its text.
#[derive(Clone, Debug)]
pub struct Source {
    /// Path shown in diagnostics.
    pub path: String,
    /// The text.
    pub text: String,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// A set of rules sources, parsed, from which rulesets are compiled.
#[derive(Default)]
pub struct Library {
    /// The sources, in the order added (diagnostics name them by index).
    pub sources: Vec<Source>,
    parsed: Vec<Option<(ast::Ruleset, String)>>,
    diags: Vec<Diagnostic>,
}

/// The result of compiling one ruleset.
pub struct Compilation {
    /// The compiled form, when there were no errors.
    pub compiled: Option<ir::Compiled>,
    /// Errors and warnings, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Library {
    /// An empty library.
    pub fn new() -> Library {
        Library::default()
    }

    /// Adds a source from raw bytes; returns its index. Problems with the bytes (size, encoding)
    /// or the syntax are kept and reported by [`Library::diagnostics_for`] and by compilation.
    pub fn add(&mut self, path: impl Into<String>, bytes: &[u8]) -> usize {
        let file = self.sources.len();
        let path = path.into();
        match parse::decode(file, bytes) {
            Ok(text) => {
                let text = text.to_string();
                let p = parse::parse_file(file, &text);
                self.diags.extend(p.diagnostics);
                let parsed = p.ruleset.map(|r| {
                    let hash = sha256_hex(canonical(&text, &r).as_bytes());
                    (r, hash)
                });
                self.sources.push(Source { path, text });
                self.parsed.push(parsed);
            }
            Err(d) => {
                self.diags.push(d);
                // Keep what can be shown, so the diagnostic can quote the line it is about.
                let shown = if bytes.len() <= parse::MAX_SOURCE_BYTES {
                    String::from_utf8_lossy(bytes).replace('\0', "\u{fffd}")
                } else {
                    String::new()
                };
                self.sources.push(Source { path, text: shown });
                self.parsed.push(None);
            }
        }
        file
    }

    /// The parsed ruleset of file `file`, when it parsed.
    pub fn ruleset(&self, file: usize) -> Option<&ast::Ruleset> {
        self.parsed.get(file)?.as_ref().map(|p| &p.0)
    }

    /// Ids of every ruleset that parsed, with their file index.
    pub fn ids(&self) -> Vec<(usize, String)> {
        self.parsed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|(r, _)| (i, r.id.text.clone())))
            .collect()
    }

    /// Input and syntax diagnostics of one file.
    pub fn diagnostics_for(&self, file: usize) -> Vec<Diagnostic> {
        self.diags
            .iter()
            .filter(|d| d.file == file)
            .cloned()
            .collect()
    }

    /// Checks and compiles the ruleset in file `file`, with its `extends` chain resolved among
    /// the library's sources.
    pub fn compile_file(&self, file: usize) -> Compilation {
        let own = self.diagnostics_for(file);
        if self.parsed.get(file).is_none_or(Option::is_none) {
            return Compilation {
                compiled: None,
                diagnostics: own,
            };
        }
        let mut chain: Vec<lower::Unit<'_>> = Vec::new();
        let mut cur = file;
        loop {
            let Some(Some((r, hash))) = self.parsed.get(cur) else {
                let d = Diagnostic::error(
                    "E0505",
                    file,
                    Span::default(),
                    "a ruleset this one extends does not parse",
                );
                return Compilation {
                    compiled: None,
                    diagnostics: vec![d],
                };
            };
            if chain.iter().any(|u| u.file == cur) {
                let d = Diagnostic::error(
                    "E0506",
                    file,
                    r.id.span,
                    format!("`{}` extends itself through a chain of rulesets", r.id.text),
                );
                return Compilation {
                    compiled: None,
                    diagnostics: vec![d],
                };
            }
            chain.push(lower::Unit {
                file: cur,
                ast: r,
                hash: hash.clone(),
            });
            let Some(base) = &r.extends else { break };
            let found = self
                .parsed
                .iter()
                .position(|p| p.as_ref().is_some_and(|(b, _)| b.id.text == base.text));
            match found {
                Some(b) => cur = b,
                None => {
                    let help = diag::did_you_mean(&base.text, self.ids().iter().map(|(_, id)| id.as_str()))
                        .or_else(|| Some("check the base ruleset together with this one (same folder or command line)".into()));
                    let d = Diagnostic::error(
                        "E0505",
                        cur,
                        base.span,
                        format!(
                            "`{}` extends `{}`, which is not among the rulesets given",
                            r.id.text, base.text
                        ),
                    )
                    .with_help_opt(help);
                    return Compilation {
                        compiled: None,
                        diagnostics: vec![d],
                    };
                }
            }
        }
        chain.reverse();
        let (compiled, mut diagnostics) = lower::compile(&chain);
        let own_error = own.iter().any(Diagnostic::is_error);
        diagnostics.extend(own);
        diagnostics.sort_by_key(|d| (d.file, d.span.start, d.code));
        Compilation {
            compiled: if own_error { None } else { compiled },
            diagnostics,
        }
    }

    /// Compiles the ruleset with id `id`.
    pub fn compile(&self, id: &str) -> Option<Compilation> {
        let file = self.ids().into_iter().find(|(_, i)| i == id)?.0;
        Some(self.compile_file(file))
    }
}

/// The canonical text of a source whose identity is hashed. Formatting is canonicalisation:
/// two sources that format alike are the same ruleset.
fn canonical(text: &str, ruleset: &ast::Ruleset) -> String {
    fmt::format(text, ruleset)
}
