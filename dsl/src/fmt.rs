//! The canonical formatter: prints a parsed ruleset back as source text.
//!
//! The output is canonical (4-space indentation, one statement per line, statements of a block
//! in a fixed order, minimal parentheses, normalised numbers and strings), so that two sources
//! which format alike are the same ruleset; the identity of a ruleset is the hash of this text.
//!
//! Comments are silent in the grammar and absent from the AST, so they are recovered from the
//! source text: every comment is printed exactly once, either on its own line before the first
//! printed line whose construct ends after the comment starts, or trailing the printed line of
//! the construct that ends on the comment's source line, or before the closing brace of the
//! block it was left in, or at the end of the file.

use crate::ast::*;
use crate::num::Num;

/// Lines wider than this (in columns; a Chinese character takes two) are broken: option lists and match arms go one per
/// line.
pub const MAX_WIDTH: usize = 100;

const INDENT: &str = "    ";

/// Formats `ruleset`, parsed from `text`, canonically; comments are taken from `text`.
pub fn format(text: &str, ruleset: &Ruleset) -> String {
    let mut p = Printer::new(text);
    p.ruleset(ruleset);
    p.finish()
}

/// A comment found in the source: byte range and text (trailing whitespace removed).
#[derive(Clone, Debug)]
struct Comment {
    start: usize,
    end: usize,
    text: String,
}

/// Finds every `#` and `//` comment outside string literals.
fn scan_comments(text: &str) -> Vec<Comment> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i),
            b'#' => i = push_comment(text, i, &mut out),
            b'/' if b.get(i + 1) == Some(&b'/') => i = push_comment(text, i, &mut out),
            _ => i += 1,
        }
    }
    out
}

fn push_comment(text: &str, start: usize, out: &mut Vec<Comment>) -> usize {
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    out.push(Comment {
        start,
        end,
        text: text[start..end].trim_end().to_string(),
    });
    end
}

/// Position after the string literal opening at `i` (or after the line, if unterminated).
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    (i + 1).min(b.len())
}

/// Skips a comment starting at `i`, if any; returns the position after it.
fn skip_comment(b: &[u8], i: usize) -> Option<usize> {
    let starts = b[i] == b'#' || (b[i] == b'/' && b.get(i + 1) == Some(&b'/'));
    starts.then(|| {
        b[i..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |n| i + n)
    })
}

/// The first `{` at or after `from`, outside strings and comments.
fn find_open(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if let Some(next) = skip_comment(b, i) {
            i = next;
            continue;
        }
        match b[i] {
            b'{' => return Some(i),
            b'"' => i = skip_string(b, i),
            _ => i += 1,
        }
    }
    None
}

/// Whether `c` is a whitespace byte of the grammar, or part of a non-ASCII character (the only
/// non-ASCII characters allowed between tokens are the ideographic space and the BOM).
fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n') || c >= 0x80
}

/// The next token at or after `from` when it is `}` (skipping whitespace and comments).
fn close_after(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        if let Some(next) = skip_comment(b, i) {
            i = next;
        } else if is_blank(b[i]) {
            i += 1;
        } else {
            return (b[i] == b'}').then_some(i);
        }
    }
    None
}

/// Escapes a string literal as the grammar reads it back.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number literal: `2.5`, or `40%` for a percentage (whose value is already divided by 100).
fn num_lit(n: &NumLit) -> String {
    if n.percent {
        format!("{}%", n.value.times(Num::int(100)))
    } else {
        n.value.to_string()
    }
}

fn duration(d: &Duration) -> String {
    let unit = match (d.unit, d.amount == 1) {
        (DurationUnit::Days, true) => "day",
        (DurationUnit::Days, false) => "days",
        (DurationUnit::Months, true) => "month",
        (DurationUnit::Months, false) => "months",
        (DurationUnit::Years, true) => "year",
        (DurationUnit::Years, false) => "years",
    };
    format!("{} {unit}", d.amount)
}

fn date(d: Date) -> String {
    crate::date::format(d)
}

/// Display width in columns: East Asian wide characters (Chinese text) take two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

// ───────────────────────────── expressions ─────────────────────────────

/// Binding strength of an expression's outermost operator, as in the Pratt parser of
/// `parse.rs`: or < and < not < comparisons < + - < * / < unary minus < operands. `if` binds
/// loosest of all: its `else` branch extends as far as it can.
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) => 0,
        ExprKind::Binary(op, ..) => binop_prec(*op),
        ExprKind::Not(_) => 3,
        ExprKind::Neg(_) => 7,
        _ => 8,
    }
}

fn binop_prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
        BinOp::Add | BinOp::Sub => 5,
        BinOp::Mul | BinOp::Div => 6,
    }
}

fn has_match(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Match(..) => true,
        ExprKind::Not(x) | ExprKind::Neg(x) | ExprKind::Agg(_, _, x) => has_match(x),
        ExprKind::Binary(_, a, b) => has_match(a) || has_match(b),
        ExprKind::If(a, b, c) => has_match(a) || has_match(b) || has_match(c),
        ExprKind::Call(_, args) => args.iter().any(has_match),
        _ => false,
    }
}

/// Prints expressions; `broken` puts the arms of every match on lines of their own.
struct ExprPrinter {
    broken: bool,
}

impl ExprPrinter {
    /// `e` at relative indentation `ind` (used by broken matches only).
    fn expr(&self, e: &Expr, ind: usize) -> String {
        match &e.kind {
            ExprKind::Num(n) => n.to_string(),
            ExprKind::Percent(n) => format!("{}%", n.times(Num::int(100))),
            ExprKind::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
            ExprKind::Date(d) => date(*d),
            ExprKind::Duration(d) => duration(d),
            ExprKind::Text(t) => quote(t),
            ExprKind::Answer => "answer".to_string(),
            ExprKind::Total => "total".to_string(),
            ExprKind::AsOf => "as_of".to_string(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Not(x) => format!("not {}", self.child(x, 3, ind)),
            ExprKind::Neg(x) => format!("-{}", self.child(x, 7, ind)),
            ExprKind::Binary(op, l, r) => {
                let p = binop_prec(*op);
                format!(
                    "{} {} {}",
                    self.child(l, p, ind),
                    op.symbol(),
                    self.child(r, p + 1, ind)
                )
            }
            ExprKind::If(c, a, b) => {
                format!(
                    "if {} then {} else {}",
                    self.expr(c, ind),
                    self.expr(a, ind),
                    self.expr(b, ind)
                )
            }
            ExprKind::Match(s, arms) => self.match_expr(s, arms, ind),
            ExprKind::Ref(f, path) => {
                let f = match f {
                    RefFn::Points => "points",
                    RefFn::Answer => "answer",
                    RefFn::Answered => "answered",
                };
                format!("{f}({})", path.text)
            }
            ExprKind::Agg(f, path, cond) => {
                let f = match f {
                    AggFn::Count => "count",
                    AggFn::Sum => "sum",
                    AggFn::Min => "min",
                    AggFn::Max => "max",
                };
                format!("{f}({}: {})", path.text, self.expr(cond, ind))
            }
            ExprKind::Call(f, args) => {
                let args: Vec<String> = args.iter().map(|a| self.expr(a, ind)).collect();
                format!("{}({})", f.text, args.join(", "))
            }
        }
    }

    /// `e` as an operand that must bind at least as tightly as `min`.
    fn child(&self, e: &Expr, min: u8, ind: usize) -> String {
        let s = self.expr(e, ind);
        if prec(e) < min { format!("({s})") } else { s }
    }

    fn match_expr(&self, scrutinee: &Expr, arms: &[MatchArm], ind: usize) -> String {
        let head = format!("match {} {{", self.expr(scrutinee, ind));
        let arm = |a: &MatchArm, ind: usize| {
            let keys = if a.keys.is_empty() {
                "_".to_string()
            } else {
                a.keys
                    .iter()
                    .map(|k| k.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            format!("{keys} => {}", self.expr(&a.value, ind))
        };
        if self.broken {
            let mut s = head;
            for a in arms {
                s.push('\n');
                s.push_str(&INDENT.repeat(ind + 1));
                s.push_str(&arm(a, ind + 1));
                s.push(',');
            }
            s.push('\n');
            s.push_str(&INDENT.repeat(ind));
            s.push('}');
            s
        } else {
            let arms: Vec<String> = arms.iter().map(|a| arm(a, ind)).collect();
            format!("{head} {} }}", arms.join(", "))
        }
    }
}

// ───────────────────────────── the printer ─────────────────────────────

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    /// Index of the first comment not yet printed.
    next: usize,
    out: String,
    indent: usize,
    /// A blank line is wanted before the next line printed (unless at the start of a block).
    blank: bool,
    /// Every `{` outside strings and comments with its matching `}`, sorted by position: found
    /// in one pass, because searching per block made formatting quadratic in nesting depth.
    pairs: Vec<(usize, Option<usize>)>,
}

/// All brace pairs of `text` outside strings and comments, sorted by the opening brace.
fn brace_pairs(text: &str) -> Vec<(usize, Option<usize>)> {
    let b = text.as_bytes();
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(next) = skip_comment(b, i) {
            i = next;
            continue;
        }
        match b[i] {
            b'{' => {
                open.push(pairs.len());
                pairs.push((i, None));
            }
            b'}' => {
                if let Some(k) = open.pop() {
                    pairs[k].1 = Some(i);
                }
            }
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    pairs
}

impl<'a> Printer<'a> {
    fn new(src: &'a str) -> Printer<'a> {
        Printer {
            src,
            comments: scan_comments(src),
            pairs: brace_pairs(src),
            next: 0,
            out: String::new(),
            indent: 0,
            blank: false,
        }
    }

    fn finish(mut self) -> String {
        self.indent = 0;
        self.flush_before(usize::MAX);
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out
    }

    /// Starts a physical line at the current indentation (after a blank line if one is due).
    fn start_line(&mut self) {
        if self.blank {
            self.blank = false;
            if !self.out.is_empty() && !self.out.ends_with("{\n") && !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
        }
        self.out.push_str(&INDENT.repeat(self.indent));
    }

    /// Prints, on lines of their own, the comments not yet printed that start before `pos`.
    fn flush_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= pos {
                break;
            }
            let text = c.text.clone();
            self.next += 1;
            self.start_line();
            self.out.push_str(&text);
            self.out.push('\n');
        }
    }

    /// Whether a comment not yet printed starts strictly between `open` and `close`.
    fn comments_within(&self, open: usize, close: usize) -> bool {
        self.comments[self.next..]
            .iter()
            .any(|c| c.start > open && c.start < close)
    }

    /// Prints one line (possibly several physical lines, for broken matches) for a construct
    /// ending at source byte `end`: first the comments before `end`, then the text, then the
    /// comment trailing it on its source line, if any. With `end` = `None` (the source place is
    /// unknown) comments are left for the next line.
    fn line(&mut self, text: &str, end: Option<usize>) {
        let end = end.map(|e| self.trim_end(e));
        if let Some(end) = end {
            self.flush_before(end);
        }
        self.start_line();
        let base = INDENT.repeat(self.indent);
        for (i, l) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.push('\n');
                self.out.push_str(&base);
            }
            self.out.push_str(l);
        }
        if let Some(end) = end {
            self.trailing(end);
        }
        self.out.push('\n');
    }

    /// `end` moved back over whitespace and comments: a span that ends with an optional part
    /// left out (`count range 0..`, `evidence photo`) takes the skipped space after it along.
    fn trim_end(&self, mut end: usize) -> usize {
        let b = self.src.as_bytes();
        end = end.min(b.len());
        while end > 0 {
            let before = self.comments.partition_point(|c| c.start < end);
            if let Some(c) = before
                .checked_sub(1)
                .map(|i| &self.comments[i])
                .filter(|c| end <= c.end)
            {
                end = c.start;
            } else if is_blank(b[end - 1]) && self.src.is_char_boundary(end) {
                end -= 1;
                while end > 0 && !self.src.is_char_boundary(end) {
                    end -= 1;
                }
            } else {
                break;
            }
        }
        end
    }

    /// Appends the comment that follows `end` on the same source line with nothing but spaces
    /// between, if there is one. (A comment after `a b # c` trails the line printed for `b`.)
    fn trailing(&mut self, end: usize) {
        let Some(c) = self.comments.get(self.next) else {
            return;
        };
        let same_line = c.start >= end
            && self.src.get(end..c.start).is_some_and(|gap| {
                gap.chars()
                    .all(|ch| ch != '\n' && (ch.is_whitespace() || ch == '\u{feff}'))
            });
        if same_line {
            self.out.push(' ');
            self.out.push_str(&c.text);
            self.next += 1;
        }
    }

    /// Opens a block: `header {` for the `{` at source byte `open` (when known).
    fn open(&mut self, header: &str, open: Option<usize>) {
        self.line(&format!("{header} {{"), open.map(|o| o + 1));
        self.indent += 1;
    }

    /// Closes a block whose `}` is at source byte `close` (when known): comments left inside
    /// the block go before the brace.
    fn close(&mut self, close: Option<usize>) {
        if let Some(c) = close {
            self.flush_before(c);
        }
        self.indent = self.indent.saturating_sub(1);
        self.blank = false;
        if self.out.ends_with(" {\n") {
            // Nothing inside: `header {}` on one line.
            self.out.pop();
            self.out.push('}');
            if let Some(c) = close {
                let end = self.trim_end(c + 1);
                self.trailing(end);
            }
            self.out.push('\n');
        } else {
            self.line("}", close.map(|c| c + 1));
        }
    }

    /// The `{` of a block whose header ends at `from`, and its matching `}`.
    fn braces(&self, from: usize) -> (Option<usize>, Option<usize>) {
        let k = self.pairs.partition_point(|p| p.0 < from);
        match self.pairs.get(k) {
            Some(&(open, close)) => (Some(open), close),
            None => (None, None),
        }
    }

    /// An expression statement `prefix expr suffix`, with matches broken when too wide.
    fn expr_line(&mut self, prefix: &str, e: &Expr, suffix: &str, end: usize) {
        let flat = format!(
            "{prefix}{}{suffix}",
            ExprPrinter { broken: false }.expr(e, 0)
        );
        let text = if self.indent * 4 + width(&flat) > MAX_WIDTH && has_match(e) {
            format!(
                "{prefix}{}{suffix}",
                ExprPrinter { broken: true }.expr(e, 0)
            )
        } else {
            flat
        };
        self.line(&text, Some(end));
    }

    fn expr_text(e: &Expr) -> String {
        ExprPrinter { broken: false }.expr(e, 0)
    }

    // ───────────── ruleset ─────────────

    fn ruleset(&mut self, r: &Ruleset) {
        let mut header = format!(
            "{} {} {}",
            r.kind.keyword(),
            r.id.text,
            quote(&r.title.text)
        );
        let mut header_end = r.title.span.end as usize;
        if let Some(base) = &r.extends {
            header.push_str(&format!(" extends {}", base.text));
            header_end = base.span.end as usize;
        }
        let (open, close) = self.braces(header_end);
        self.open(&header, open);
        let mut prev_block = false;
        for (i, s) in r.body.iter().enumerate() {
            let block = is_block(s);
            if i > 0 && (block || prev_block) {
                self.blank = true;
            }
            self.stmt(s);
            prev_block = block;
        }
        self.close(close);
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Version(t) => self.line(
                &format!("version {}", quote(&t.text)),
                Some(t.span.end as usize),
            ),
            Stmt::Source(t) => self.line(
                &format!("source {}", quote(&t.text)),
                Some(t.span.end as usize),
            ),
            Stmt::Max(n) => self.line(&format!("max {}", num_lit(n)), Some(n.span.end as usize)),
            Stmt::Facts(facts, span) => {
                let open = find_open(self.src, span.start as usize);
                self.open("facts", open);
                for f in facts {
                    let prefix = format!("{} {}: ", f.id.text, quote(&f.title.text));
                    self.typed_line(&prefix, &f.ty);
                }
                self.close(Some((span.end as usize).saturating_sub(1)));
            }
            Stmt::Let(l) => {
                let prefix = format!("let {} {} = ", l.id.text, quote(&l.title.text));
                self.expr_line(&prefix, &l.expr, "", l.expr.span.end as usize);
            }
            Stmt::Event(e) => self.event(e),
            Stmt::NaPolicy(p, span) => self.line(
                &format!("if_not_applicable {}", na_word(*p)),
                Some(span.end as usize),
            ),
            Stmt::Part(sec) => self.section(sec),
            Stmt::Veto(v) => self.veto(v),
            Stmt::Grades(grades, span) => {
                let open = find_open(self.src, span.start as usize);
                self.open("grades", open);
                for (i, g) in grades.iter().enumerate() {
                    self.blank = i > 0;
                    self.grade(g);
                }
                self.close(Some((span.end as usize).saturating_sub(1)));
            }
            Stmt::Override(o) => self.override_block(o),
            Stmt::Extend(e) => {
                let open = find_open(self.src, e.path.span.end as usize);
                self.open(&format!("extend {}", e.path.text), open);
                for (i, n) in e.children.iter().enumerate() {
                    self.blank = i > 0;
                    self.node(n);
                }
                self.close(Some((e.span.end as usize).saturating_sub(1)));
            }
            Stmt::Base(n) => self.line(&format!("base {}", num_lit(n)), Some(n.span.end as usize)),
            Stmt::Levels(levels, span) => {
                let open = find_open(self.src, span.start as usize);
                self.open("levels", open);
                for l in levels {
                    let bound = match &l.from {
                        Some(n) => format!(">= {}", num_lit(n)),
                        None => "otherwise".to_string(),
                    };
                    self.line(
                        &format!("level {} {} {bound}", l.id.text, quote(&l.title.text)),
                        Some(l.span.end as usize),
                    );
                }
                self.close(Some((span.end as usize).saturating_sub(1)));
            }
            Stmt::Blacklist(b) => {
                let open = find_open(self.src, b.span.start as usize);
                self.open("blacklist", open);
                if let Some(c) = &b.clause {
                    self.line(
                        &format!("clause {}", quote(&c.text)),
                        Some(c.span.end as usize),
                    );
                }
                if let Some(d) = &b.min {
                    self.line(&format!("min {}", duration(d)), Some(d.span.end as usize));
                }
                if let Some(d) = &b.max {
                    self.line(&format!("max {}", duration(d)), Some(d.span.end as usize));
                }
                self.close(Some((b.span.end as usize).saturating_sub(1)));
            }
            Stmt::Ratio(n) => {
                self.line(&format!("ratio {}", num_lit(n)), Some(n.span.end as usize))
            }
            Stmt::Weight(n, t, e) => {
                let prefix = format!("weight {} {} when ", num_lit(n), quote(&t.text));
                self.expr_line(&prefix, e, "", e.span.end as usize);
            }
            Stmt::Team(a, b) => self.line(
                &format!("team {}..{}", num_lit(a), num_lit(b)),
                Some(b.span.end as usize),
            ),
            Stmt::Recuse(names) => {
                let list: Vec<&str> = names.iter().map(|n| n.text.as_str()).collect();
                let end = names.last().map(|n| n.span.end as usize);
                self.line(&format!("recuse {}", list.join(", ")), end);
            }
            Stmt::Always(t, e) => {
                let prefix = format!("always {} when ", quote(&t.text));
                self.expr_line(&prefix, e, "", e.span.end as usize);
            }
            Stmt::Cover(n, t, e) => {
                let prefix = format!("cover {} {} when ", num_lit(n), quote(&t.text));
                self.expr_line(&prefix, e, "", e.span.end as usize);
            }
            Stmt::Test(t) => self.test(t),
        }
    }

    /// `prefix` followed by a type; choice and multi options go one per line when there are
    /// more than two, when the line would be too wide, or when comments sit among them.
    fn typed_line(&mut self, prefix: &str, ty: &TypeDecl) {
        let span = ty.span();
        let (word, options) = match ty {
            TypeDecl::Choice(o, _) => ("choice", o),
            TypeDecl::Multi(o, _) => ("multi", o),
            _ => {
                self.line(
                    &format!("{prefix}{}", type_text(ty)),
                    Some(span.end as usize),
                );
                return;
            }
        };
        let open = find_open(self.src, span.start as usize);
        let close = (span.end as usize).saturating_sub(1);
        let texts: Vec<String> = options.iter().map(option_text).collect();
        let flat = format!("{prefix}{word} {{ {} }}", texts.join(" "));
        let commented = open.is_some_and(|o| self.comments_within(o, close));
        if options.len() <= 2 && self.indent * 4 + width(&flat) <= MAX_WIDTH && !commented {
            self.line(&flat, Some(span.end as usize));
            return;
        }
        self.open(&format!("{prefix}{word}"), open);
        for (o, text) in options.iter().zip(&texts) {
            let end = o.points.map_or(o.title.span.end, |n| n.span.end);
            self.line(text, Some(end as usize));
        }
        self.close(Some(close));
    }

    fn event(&mut self, e: &EventDecl) {
        let header = format!("event {} {}", e.id.text, quote(&e.title.text));
        let has_body = e.clause.is_some()
            || e.points.is_some()
            || e.cap.is_some()
            || e.expires.is_some()
            || e.blacklist.is_some()
            || e.repair.is_some();
        if !has_body {
            self.line(&header, Some(e.title.span.end as usize));
            return;
        }
        let open = find_open(self.src, e.title.span.end as usize);
        self.open(&header, open);
        if let Some(c) = &e.clause {
            self.line(
                &format!("clause {}", quote(&c.text)),
                Some(c.span.end as usize),
            );
        }
        if let Some(n) = &e.points {
            self.line(&format!("points {}", num_lit(n)), Some(n.span.end as usize));
        }
        if let Some((n, d)) = &e.cap {
            self.line(
                &format!("cap {} per {}", num_lit(n), duration(d)),
                Some(d.span.end as usize),
            );
        }
        if let Some(d) = &e.expires {
            self.line(
                &format!("expires {}", duration(d)),
                Some(d.span.end as usize),
            );
        }
        if let Some(s) = e.blacklist {
            self.line("blacklist", Some(s.end as usize));
        }
        if let Some(s) = e.repair {
            self.line("repair", Some(s.end as usize));
        }
        self.close(Some((e.span.end as usize).saturating_sub(1)));
    }

    fn section(&mut self, s: &Section) {
        let kw = if s.is_part { "part" } else { "group" };
        let mut header = format!("{kw} {} {}", s.id.text, quote(&s.title.text));
        if let Some(m) = &s.max {
            header.push_str(&format!(" max {}", num_lit(m)));
        }
        let (open, close) = self.braces(s.title.span.end as usize);
        self.open(&header, open);
        let mut preamble = false;
        if let Some(c) = &s.clause {
            self.line(
                &format!("clause {}", quote(&c.text)),
                Some(c.span.end as usize),
            );
            preamble = true;
        }
        if let Some(w) = &s.when {
            self.expr_line("when ", w, "", w.span.end as usize);
            preamble = true;
        }
        if let Some((p, span)) = &s.na_policy {
            self.line(
                &format!("if_not_applicable {}", na_word(*p)),
                Some(span.end as usize),
            );
            preamble = true;
        }
        for (i, n) in s.children.iter().enumerate() {
            self.blank = i > 0 || preamble;
            self.node(n);
        }
        self.close(close);
    }

    fn node(&mut self, n: &Node) {
        match n {
            Node::Group(s) => self.section(s),
            Node::Item(i) => self.item(i),
        }
    }

    fn score(&mut self, s: &ScoreRule) {
        match s {
            ScoreRule::Expr(e) => self.expr_line("score ", e, "", e.span.end as usize),
            ScoreRule::Deduct(per, count) => {
                let prefix = format!("deduct {} per ", Self::expr_text(per));
                self.expr_line(&prefix, count, "", count.span.end as usize);
            }
        }
    }

    fn item(&mut self, it: &Item) {
        let mut header = format!("item {} {}", it.id.text, quote(&it.title.text));
        if let Some(m) = &it.max {
            header.push_str(&format!(" max {}", num_lit(m)));
        }
        let (open, close) = self.braces(it.title.span.end as usize);
        self.open(&header, open);
        if let Some(c) = &it.clause {
            self.line(
                &format!("clause {}", quote(&c.text)),
                Some(c.span.end as usize),
            );
        }
        if let Some(l) = &it.local {
            self.line(
                &format!("local {}", quote(&l.text)),
                Some(l.span.end as usize),
            );
        }
        if !it.methods.is_empty() {
            let ms: Vec<&str> = it.methods.iter().map(|m| method_word(*m)).collect();
            let end = open
                .zip(close)
                .and_then(|(o, c)| method_end(self.src, o, c));
            self.line(&format!("method {}", ms.join(", ")), end);
        }
        if let Some(w) = &it.when {
            self.expr_line("when ", w, "", w.span.end as usize);
        }
        if let Some(t) = &it.ask {
            self.typed_line("ask ", t);
        }
        if let Some(s) = &it.score {
            self.score(s);
        }
        if let Some(ev) = &it.evidence {
            let mut text = "evidence photo".to_string();
            if ev.min.value != Num::ONE {
                text.push_str(&format!(" {}", num_lit(&ev.min)));
            }
            match &ev.when {
                Some(w) => self.expr_line(&format!("{text} if "), w, "", ev.span.end as usize),
                None => self.line(&text, Some(ev.span.end as usize)),
            }
        }
        let mut first = it.clause.is_none()
            && it.local.is_none()
            && it.methods.is_empty()
            && it.ask.is_none()
            && it.when.is_none()
            && it.score.is_none()
            && it.evidence.is_none();
        for h in &it.hazards {
            self.blank = !first;
            first = false;
            self.hazard(h);
        }
        self.close(close);
    }

    fn hazard(&mut self, h: &Hazard) {
        let level = match h.level {
            HazardLevel::General => "general",
            HazardLevel::Major => "major",
        };
        let pending = if h.pending { " pending" } else { "" };
        let header = format!(
            "hazard {} {level}{pending} {}",
            h.id.text,
            quote(&h.title.text)
        );
        let (open, close) = self.braces(h.title.span.end as usize);
        self.open(&header, open);
        if let Some(w) = &h.when {
            self.expr_line("when ", w, "", w.span.end as usize);
        }
        if let Some(m) = &h.measure {
            self.line(
                &format!("measure {}", quote(&m.text)),
                Some(m.span.end as usize),
            );
        }
        if let Some((days, span)) = &h.deadline {
            self.line(&deadline(*days), Some(span.end as usize));
        }
        if let Some(p) = &h.party {
            self.line(&format!("party {}", p.text), Some(p.span.end as usize));
        }
        if let Some(d) = &h.department {
            self.line(&format!("department {}", d.text), Some(d.span.end as usize));
        }
        if let Some(c) = &h.category {
            self.line(&format!("category {}", c.text), Some(c.span.end as usize));
        }
        if let Some(b) = &h.basis {
            self.line(
                &format!("basis {}", quote(&b.text)),
                Some(b.span.end as usize),
            );
        }
        if let Some(i) = &h.immediate {
            self.line(
                &format!("immediate {}", quote(&i.text)),
                Some(i.span.end as usize),
            );
        }
        if let Some(t) = &h.tag {
            self.line(
                &format!("tag {}", quote(&t.text)),
                Some(t.span.end as usize),
            );
        }
        self.close(close);
    }

    fn veto(&mut self, v: &Veto) {
        let header = format!("veto {} {}", v.id.text, quote(&v.title.text));
        let (open, close) = self.braces(v.title.span.end as usize);
        self.open(&header, open);
        if let Some(c) = &v.clause {
            self.line(
                &format!("clause {}", quote(&c.text)),
                Some(c.span.end as usize),
            );
        }
        if let Some(l) = &v.local {
            self.line(
                &format!("local {}", quote(&l.text)),
                Some(l.span.end as usize),
            );
        }
        if let Some(w) = &v.when {
            self.expr_line("when ", w, "", w.span.end as usize);
        }
        if let Some((eff, span)) = &v.effect {
            let text = match eff {
                VetoEffect::Ineligible => "effect ineligible".to_string(),
                VetoEffect::Terminate => "effect terminate".to_string(),
                VetoEffect::Cap(g) => format!("effect cap {}", g.text),
            };
            self.line(&text, Some(span.end as usize));
        }
        self.close(close);
    }

    fn grade(&mut self, g: &Grade) {
        let header = format!("grade {} {}", g.id.text, quote(&g.title.text));
        let (open, close) = self.braces(g.title.span.end as usize);
        self.open(&header, open);
        for c in &g.conds {
            match c {
                GradeCond::Total(n) => self.line(
                    &format!("total >= {}", num_lit(n)),
                    Some(n.span.end as usize),
                ),
                GradeCond::EachPart(n, span) => self.line(
                    &format!("each part >= {}", num_lit(n)),
                    Some(span.end as usize),
                ),
                GradeCond::Part(id, n) => self.line(
                    &format!("part {} >= {}", id.text, num_lit(n)),
                    Some(n.span.end as usize),
                ),
                GradeCond::Require(e, t) => {
                    let suffix = format!(" {}", quote(&t.text));
                    self.expr_line("require ", e, &suffix, t.span.end as usize);
                }
            }
        }
        self.close(close);
    }

    fn override_block(&mut self, o: &Override) {
        let open = find_open(self.src, o.path.span.end as usize);
        self.open(&format!("override {}", o.path.text), open);
        if let Some(n) = &o.max {
            self.line(&format!("max {}", num_lit(n)), Some(n.span.end as usize));
        }
        if let Some(c) = &o.clause {
            self.line(
                &format!("clause {}", quote(&c.text)),
                Some(c.span.end as usize),
            );
        }
        if let Some(w) = &o.when {
            self.expr_line("when ", w, "", w.span.end as usize);
        }
        if let Some(s) = &o.score {
            self.score(s);
        }
        if let Some(m) = &o.measure {
            self.line(
                &format!("measure {}", quote(&m.text)),
                Some(m.span.end as usize),
            );
        }
        if let Some((days, span)) = &o.deadline {
            self.line(&deadline(*days), Some(span.end as usize));
        }
        if let Some(p) = &o.party {
            self.line(&format!("party {}", p.text), Some(p.span.end as usize));
        }
        if let Some(d) = &o.department {
            self.line(&format!("department {}", d.text), Some(d.span.end as usize));
        }
        self.close(Some((o.span.end as usize).saturating_sub(1)));
    }

    // ───────────── tests ─────────────

    fn test(&mut self, t: &TestCase) {
        let header = format!("test {}", quote(&t.name.text));
        let (open, close) = self.braces(t.name.span.end as usize);
        self.open(&header, open);
        if let Some((d, span)) = &t.as_of {
            self.line(&format!("as_of {}", date(*d)), Some(span.end as usize));
        }
        if let Some((g, span)) = &t.given {
            let g = match g {
                Given::Best => "best",
                Given::Worst => "worst",
            };
            self.line(&format!("given {g}"), Some(span.end as usize));
        }
        let entries = |v: &[(Name, Literal)]| -> Vec<(usize, usize, String)> {
            v.iter()
                .map(|(k, l)| {
                    (
                        k.span.start as usize,
                        l.span().end as usize,
                        format!("{} = {}", k.text, literal(l)),
                    )
                })
                .collect()
        };
        self.map_block("facts", &entries(&t.facts));
        self.map_block("answers", &entries(&t.answers));
        let events: Vec<_> = t
            .events
            .iter()
            .map(|(k, d, s)| {
                (
                    k.span.start as usize,
                    s.end as usize,
                    format!("{} {}", k.text, date(*d)),
                )
            })
            .collect();
        self.map_block("events", &events);
        let photos: Vec<_> = t
            .photos
            .iter()
            .map(|(k, n)| {
                (
                    k.span.start as usize,
                    n.span.end as usize,
                    format!("{} = {}", k.text, num_lit(n)),
                )
            })
            .collect();
        self.map_block("photos", &photos);
        for e in &t.expects {
            let (text, end) = expect(e);
            self.line(&format!("expect {text}"), Some(end));
        }
        self.close(close);
    }

    /// `word { … }` with one entry (start, end, text) per line; omitted when empty.
    fn map_block(&mut self, word: &str, entries: &[(usize, usize, String)]) {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return;
        };
        let open = open_before(self.src, &self.comments, first.0);
        self.open(word, open);
        for (_, end, text) in entries {
            self.line(text, Some(*end));
        }
        self.close(close_after(self.src, last.1));
    }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The end of the last `method a, b` statement between `open` and `close` (the AST keeps no
/// place for it), found by reading the words outside strings and comments.
fn method_end(src: &str, open: usize, close: usize) -> Option<usize> {
    const METHODS: [&str; 4] = ["site", "records", "interview", "measure"];
    let b = src.as_bytes();
    let close = close.min(b.len());
    let word_at = |i: usize| {
        let end = b[i..close]
            .iter()
            .position(|&c| !is_ident_byte(c))
            .map_or(close, |n| i + n);
        (&src[i..end], end)
    };
    let skip_blank = |mut i: usize| {
        while i < close && is_blank(b[i]) {
            i += 1;
        }
        i
    };
    let mut found = None;
    let mut i = open + 1;
    while i < close {
        if let Some(next) = skip_comment(b, i) {
            i = next;
            continue;
        }
        match b[i] {
            b'"' => i = skip_string(b, i),
            c if is_ident_byte(c) && (i == 0 || !is_ident_byte(b[i - 1])) => {
                let (word, after) = word_at(i);
                i = after;
                if word != "method" {
                    continue;
                }
                let mut end = None;
                let mut j = skip_blank(after);
                while j < close && is_ident_byte(b[j]) {
                    let (m, after_m) = word_at(j);
                    if !METHODS.contains(&m) {
                        break;
                    }
                    end = Some(after_m);
                    j = skip_blank(after_m);
                    if b.get(j) != Some(&b',') {
                        break;
                    }
                    j = skip_blank(j + 1);
                }
                if end.is_some() {
                    found = end;
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// The `{` just before `pos`, skipping whitespace and comments backwards.
fn open_before(src: &str, comments: &[Comment], pos: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = pos.min(b.len());
    while i > 0 {
        i -= 1;
        let before = comments.partition_point(|c| c.start <= i);
        if let Some(c) = before
            .checked_sub(1)
            .map(|k| &comments[k])
            .filter(|c| i < c.end)
        {
            i = c.start;
            continue;
        }
        if b[i] == b'{' {
            return Some(i);
        }
        if !is_blank(b[i]) {
            return None;
        }
    }
    None
}

fn is_block(s: &Stmt) -> bool {
    match s {
        Stmt::Facts(..)
        | Stmt::Part(_)
        | Stmt::Veto(_)
        | Stmt::Grades(..)
        | Stmt::Override(_)
        | Stmt::Extend(_)
        | Stmt::Levels(..)
        | Stmt::Blacklist(_)
        | Stmt::Test(_) => true,
        Stmt::Event(e) => {
            e.clause.is_some()
                || e.points.is_some()
                || e.cap.is_some()
                || e.expires.is_some()
                || e.blacklist.is_some()
                || e.repair.is_some()
        }
        _ => false,
    }
}

fn na_word(p: NaPolicy) -> &'static str {
    match p {
        NaPolicy::Rescale => "rescale",
        NaPolicy::Full => "full",
        NaPolicy::Zero => "zero",
    }
}

fn method_word(m: Method) -> &'static str {
    match m {
        Method::Site => "site",
        Method::Records => "records",
        Method::Interview => "interview",
        Method::Measure => "measure",
    }
}

fn deadline(days: i64) -> String {
    match days {
        0 => "deadline immediately".to_string(),
        1 => "deadline 1 day".to_string(),
        n => format!("deadline {n} days"),
    }
}

fn option_text(o: &OptionDecl) -> String {
    match &o.points {
        Some(n) => format!("{} {} = {}", o.key.text, quote(&o.title.text), num_lit(n)),
        None => format!("{} {}", o.key.text, quote(&o.title.text)),
    }
}

fn range_text(r: &(NumLit, Option<NumLit>)) -> String {
    match &r.1 {
        Some(hi) => format!(" range {}..{}", num_lit(&r.0), num_lit(hi)),
        None => format!(" range {}..", num_lit(&r.0)),
    }
}

/// A type other than choice and multi (which [`Printer::typed_line`] lays out).
fn type_text(t: &TypeDecl) -> String {
    match t {
        TypeDecl::YesNo(_) => "yesno".to_string(),
        TypeDecl::Date(_) => "date".to_string(),
        TypeDecl::Text(_) => "text".to_string(),
        TypeDecl::Number { unit, range, .. } => {
            let mut s = "number".to_string();
            if let Some(u) = unit {
                s.push_str(&format!(" unit {}", quote(&u.text)));
            }
            if let Some(r) = range {
                s.push_str(&range_text(r));
            }
            s
        }
        TypeDecl::Count { range, .. } => {
            let mut s = "count".to_string();
            if let Some(r) = range {
                s.push_str(&range_text(r));
            }
            s
        }
        TypeDecl::Choice(o, _) | TypeDecl::Multi(o, _) => {
            let word = if matches!(t, TypeDecl::Choice(..)) {
                "choice"
            } else {
                "multi"
            };
            let texts: Vec<String> = o.iter().map(option_text).collect();
            format!("{word} {{ {} }}", texts.join(" "))
        }
    }
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Bool(b, _) => (if *b { "yes" } else { "no" }).to_string(),
        Literal::Num(n) => num_lit(n),
        Literal::Date(d, _) => date(*d),
        Literal::Text(t) => quote(&t.text),
        Literal::Key(k) => k.text.clone(),
        Literal::List(keys, _) => {
            let keys: Vec<&str> = keys.iter().map(|k| k.text.as_str()).collect();
            format!("[{}]", keys.join(", "))
        }
    }
}

/// The text after `expect`, and the source end of the expectation.
fn expect(e: &Expect) -> (String, usize) {
    match e {
        Expect::Total(n) => (format!("total == {}", num_lit(n)), n.span.end as usize),
        Expect::Points(p, n) => (
            format!("points {} == {}", p.text, num_lit(n)),
            n.span.end as usize,
        ),
        Expect::Grade(g) => (format!("grade == {}", g.text), g.span.end as usize),
        Expect::Veto(v) => (format!("veto {}", v.text), v.span.end as usize),
        Expect::NoVeto(v) => (format!("no veto {}", v.text), v.span.end as usize),
        Expect::NoVetoes(s) => ("no vetoes".to_string(), s.end as usize),
        Expect::Hazard(h) => (format!("hazard {}", h.text), h.span.end as usize),
        Expect::NoHazard(h) => (format!("no hazard {}", h.text), h.span.end as usize),
        Expect::NoHazards(s) => ("no hazards".to_string(), s.end as usize),
        Expect::Level(l) => (format!("level == {}", l.text), l.span.end as usize),
        Expect::Blacklisted(true, s) => ("blacklisted".to_string(), s.end as usize),
        Expect::Blacklisted(false, s) => ("not blacklisted".to_string(), s.end as usize),
        Expect::Weight(n) => (format!("weight == {}", num_lit(n)), n.span.end as usize),
        Expect::NotApplicable(p) => (format!("not_applicable {}", p.text), p.span.end as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_outside_strings() {
        let c = scan_comments("a \"# not\" # yes\n// two\nb");
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# yes", "// two"]);
    }

    #[test]
    fn quotes_round_trip() {
        assert_eq!(quote("a\"b\\c\nd 中文"), "\"a\\\"b\\\\c\\nd 中文\"");
    }

    #[test]
    fn matches_braces_past_strings_and_comments() {
        let src = "x { \"}\" # }\n { } }";
        let pairs = brace_pairs(src);
        assert_eq!(pairs[0], (2, Some(src.len() - 1)));
        assert_eq!(pairs.len(), 2);
    }
}
