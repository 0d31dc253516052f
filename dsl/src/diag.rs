//! Diagnostics: what the checker says about a rules file, with the place it says it about.
//!
//! A [`Diagnostic`] holds byte spans into one source; [`Diagnostic::render`] turns it into the
//! rustc-style text (path:line:col, the source line, a caret under the span, a help line) and
//! [`Diagnostic::located`] into the JSON form the API returns.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;
use std::ops::Range;

/// A byte range into one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The byte range, for slicing.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing, but the ruleset still compiles and evaluates.
    Warning,
    /// The ruleset cannot be compiled.
    Error,
}

/// One message about a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable code such as `E0201`, listed in the language reference.
    pub code: &'static str,
    /// One line saying what is wrong.
    pub message: String,
    /// Where: index of the file in the set of sources that was checked.
    pub file: usize,
    /// The primary span.
    pub span: Span,
    /// Text under the caret.
    pub label: Option<String>,
    /// Secondary places ("first defined here").
    pub notes: Vec<(usize, Span, String)>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span` of file `file`.
    pub fn error(
        code: &'static str,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file,
            span,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// A warning at `span` of file `file`.
    pub fn warning(
        code: &'static str,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, span, message)
        }
    }

    /// Adds the text shown under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line when `help` is `Some`.
    pub fn with_help_opt(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a secondary place, in file `file`.
    pub fn with_note(mut self, file: usize, span: Span, text: impl Into<String>) -> Diagnostic {
        self.notes.push((file, span, text.into()));
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders as rustc does: plain text, no colours, so snapshots and logs stay readable.
    pub fn render(&self, sources: &[crate::Source]) -> String {
        let Some(src) = sources.get(self.file) else {
            return format!("{}[{}]: {}", self.severity_word(), self.code, self.message);
        };
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let clamp = |s: Span, text: &str| {
            let end = (s.end as usize).min(text.len());
            let start = (s.start as usize).min(end);
            start..end
        };
        let mut primary = AnnotationKind::Primary.span(clamp(self.span, &src.text));
        if let Some(label) = &self.label {
            primary = primary.label(label.as_str());
        }
        let mut snippet = Snippet::source(src.text.as_str())
            .path(src.path.as_str())
            .annotation(primary);
        let mut other_files = Vec::new();
        for (file, span, text) in &self.notes {
            if *file == self.file {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(clamp(*span, &src.text))
                        .label(text.as_str()),
                );
            } else if let Some(other) = sources.get(*file) {
                other_files.push(
                    Snippet::source(other.text.as_str())
                        .path(other.path.as_str())
                        .annotation(
                            AnnotationKind::Context
                                .span(clamp(*span, &other.text))
                                .label(text.as_str()),
                        ),
                );
            }
        }
        let mut group: Group<'_> = level
            .primary_title(self.message.as_str())
            .id(self.code)
            .element(snippet);
        for s in other_files {
            group = group.element(s);
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        Renderer::plain().render(&[group]).to_string()
    }

    fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// The diagnostic with line and column resolved, for JSON consumers (the API).
    pub fn located(&self, sources: &[crate::Source]) -> LocatedDiagnostic {
        let (path, line, column) = match sources.get(self.file) {
            Some(src) => {
                let (l, c) = line_col(&src.text, self.span.start as usize);
                (src.path.clone(), l, c)
            }
            None => (String::new(), 0, 0),
        };
        LocatedDiagnostic {
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            path,
            line,
            column,
            span: self.span,
            label: self.label.clone(),
            help: self.help.clone(),
        }
    }
}

/// A diagnostic with its file path, line and column spelled out (1-based; columns count
/// characters, not bytes, so Chinese text lines up).
#[derive(Clone, Debug, Serialize)]
pub struct LocatedDiagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Source path.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte span.
    pub span: Span,
    /// Caret text.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

/// 1-based line and character column of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The closest candidate to `name` by edit distance, for "did you mean" help lines.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > 0.84 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        let text = "a\n名称 = x";
        assert_eq!(line_col(text, text.find('=').expect("=")), (2, 4));
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 999), (2, 7));
    }

    #[test]
    fn suggests_near_names() {
        let c = ["fire.sprinkler", "fire.alarm"];
        assert_eq!(
            did_you_mean("fire.sprinkle", c).as_deref(),
            Some("did you mean `fire.sprinkler`?")
        );
        assert_eq!(did_you_mean("kitchen", c), None);
    }
}
