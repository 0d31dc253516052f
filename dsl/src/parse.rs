//! Source text → spanned AST: input guards, the pest grammar, and a Pratt parser for operators.

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::num::Num;
use pest::Parser as _;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

pub use grammar::{Rule, RulesParser};

/// The generated parser lives in its own module: its items are machine-made and undocumented.
#[allow(missing_docs)]
mod grammar {
    /// The pest parser generated from `grammar/rules.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/rules.pest"]
    pub struct RulesParser;
}

/// Largest source accepted; a real national standard is well under 200 KB.
pub const MAX_SOURCE_BYTES: usize = 2 * 1024 * 1024;
/// Deepest nesting of brackets and `if`s accepted; real rules nest fewer than ten deep.
pub const MAX_NESTING: usize = 64;
/// Most operators in one expression; keeps every later pass's recursion shallow.
pub const MAX_OPERATORS: usize = 256;

/// Reads raw bytes as rules source: refuses oversize, binary and invalid UTF-8 input with a
/// diagnostic instead of failing later in confusing ways.
pub fn decode(file: usize, bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(Diagnostic::error(
            "E0001",
            file,
            Span::new(0, 0),
            format!(
                "file is {} bytes; rules files may be at most {} bytes",
                bytes.len(),
                MAX_SOURCE_BYTES
            ),
        )
        .with_help("split the ruleset, or check that this is the file you meant"));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(Diagnostic::error(
            "E0002",
            file,
            Span::new(0, 0),
            format!("this is a binary file (a zero byte at offset {at}), not rules source"),
        )
        .with_help("rules files are UTF-8 text"));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::error(
            "E0003",
            file,
            Span::new(at, at),
            format!("invalid UTF-8 at byte {at}"),
        )
        .with_help("save the file as UTF-8 (GBK and GB18030 are not accepted)")
    })
}

/// Finds nesting deeper than [`MAX_NESTING`] before the recursive-descent parser sees it, so
/// that 10,000 nested parentheses give a diagnostic rather than a stack overflow.
fn check_nesting(file: usize, text: &str) -> Result<(), Diagnostic> {
    let b = text.as_bytes();
    let (mut i, mut brackets, mut ifs) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => brackets += 1,
            b')' | b']' | b'}' => {
                brackets = brackets.saturating_sub(1);
                ifs = 0;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                match &text[start..i] {
                    "if" | "match" => ifs += 1,
                    // A new statement ends any expression, and with it its `if` nesting.
                    "item" | "group" | "part" | "when" | "score" | "deduct" | "let" | "require"
                    | "weight" | "always" | "cover" | "hazard" | "veto" | "expect" | "evidence" => {
                        ifs = 0
                    }
                    _ => {}
                }
                if brackets + ifs > MAX_NESTING {
                    return Err(too_deep(file, start));
                }
                continue;
            }
            _ => {}
        }
        if brackets + ifs > MAX_NESTING {
            return Err(too_deep(file, i));
        }
        i += 1;
    }
    Ok(())
}

fn too_deep(file: usize, at: usize) -> Diagnostic {
    Diagnostic::error(
        "E0004",
        file,
        Span::new(at, at + 1),
        format!("nesting is deeper than {MAX_NESTING} levels"),
    )
    .with_label("too deep here")
    .with_help("split the expression or the section into smaller named pieces (a `let` or a group)")
}

/// A parsed file: the tree (when the syntax was valid) and the problems found building it.
pub struct Parsed {
    /// The tree; `None` after a syntax error.
    pub ruleset: Option<Ruleset>,
    /// Problems with literals and the like, found while building the tree. They do not stop
    /// the checker, so a file shows all its errors at once.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one file. A syntax error stops at the first (the grammar cannot resynchronise
/// reliably); other problems are collected and the tree is still returned.
pub fn parse_file(file: usize, text: &str) -> Parsed {
    let fail = |d: Diagnostic| Parsed {
        ruleset: None,
        diagnostics: vec![d],
    };
    if let Err(d) = check_nesting(file, text) {
        return fail(d);
    }
    let mut pairs = match RulesParser::parse(Rule::file, text) {
        Ok(p) => p,
        Err(e) => return fail(syntax_error(file, text, e)),
    };
    let Some(file_pair) = pairs.next() else {
        return fail(Diagnostic::error(
            "E0005",
            file,
            Span::new(0, 0),
            "empty file",
        ));
    };
    let mut b = Builder {
        file,
        diags: glued_keywords(file, text, file_pair.clone()),
        pratt: std::rc::Rc::new(precedence()),
    };
    let ruleset = file_pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::ruleset)
        .map(|p| b.ruleset(p));
    match ruleset {
        Some(r) => Parsed {
            ruleset: Some(r),
            diagnostics: b.diags,
        },
        None => fail(Diagnostic::error(
            "E0005",
            file,
            Span::new(0, 0),
            "no ruleset in this file",
        )),
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Finds keywords glued to a neighbouring word (`letbig`, `max3`). Statement keywords are plain
/// strings in the grammar and pest has no word boundary for those, so `letbig` would parse as
/// `let big`. Every token the grammar names begins and ends a node of the tree; a node boundary
/// that falls between two word characters therefore splits one written word into two tokens.
/// One pass over the tree, after a successful parse.
fn glued_keywords(file: usize, text: &str, root: Pair<'_, Rule>) -> Vec<Diagnostic> {
    let bytes = text.as_bytes();
    let inside_word = |p: usize| {
        p > 0 && p < bytes.len() && is_ident_byte(bytes[p - 1]) && is_ident_byte(bytes[p])
    };
    // The token stream, not `flatten()`: a token is two integers, a `Pair` several reference
    // counts, and this walks every node of a large file.
    let mut splits: Vec<usize> = root
        .tokens()
        .map(|t| match t {
            pest::Token::Start { pos, .. } | pest::Token::End { pos, .. } => pos.pos(),
        })
        .filter(|&p| inside_word(p))
        .collect();
    splits.sort_unstable();
    splits.dedup();
    splits
        .into_iter()
        .map(|at| {
            let mut start = at;
            while start > 0 && is_ident_byte(bytes[start - 1]) {
                start -= 1;
            }
            let mut end = at;
            while end < bytes.len() && is_ident_byte(bytes[end]) {
                end += 1;
            }
            let (left, right) = (&text[start..at], &text[at..end]);
            Diagnostic::error(
                "E0006",
                file,
                Span::new(start, end),
                format!("`{}` reads as `{left} {right}`", &text[start..end]),
            )
            .with_label("two words written as one")
            .with_help(format!("put a space between `{left}` and `{right}`"))
        })
        .collect()
}

/// Parses one file; `Err` with every diagnostic when there is any error.
pub fn parse(file: usize, text: &str) -> Result<Ruleset, Vec<Diagnostic>> {
    let p = parse_file(file, text);
    match p.ruleset {
        Some(r) if !p.diagnostics.iter().any(Diagnostic::is_error) => Ok(r),
        _ => Err(p.diagnostics),
    }
}

/// Plain words for grammar rules, so that errors read "expected an item id".
pub fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::ruleset | Rule::ruleset_kind => {
            "a ruleset (`standard`, `checklist`, `credit` or `sampling`)"
        }
        Rule::ruleset_id => "a ruleset id",
        Rule::title | Rule::string => "a quoted title",
        Rule::extends => "`extends`",
        Rule::EOI => "the end of the file",
        Rule::version_stmt
        | Rule::source_stmt
        | Rule::facts_block
        | Rule::let_decl
        | Rule::event_decl
        | Rule::part
        | Rule::veto
        | Rule::grades_block
        | Rule::override_block
        | Rule::extend_block
        | Rule::base_stmt
        | Rule::levels_block
        | Rule::blacklist_block
        | Rule::ratio_stmt
        | Rule::weight_stmt
        | Rule::team_stmt
        | Rule::recuse_stmt
        | Rule::always_stmt
        | Rule::cover_stmt => {
            "a ruleset statement (`version`, `source`, `facts`, `let`, `event`, `part`, `veto`, `grades`, `test` …)"
        }
        Rule::fact_id => "a name",
        Rule::fact_decl => "a fact declaration (`name \"title\": type`)",
        Rule::value_type
        | Rule::yesno_type
        | Rule::choice_type
        | Rule::multi_type
        | Rule::number_type
        | Rule::count_type
        | Rule::date_type
        | Rule::text_type => {
            "a type (`yesno`, `choice`, `multi`, `number`, `count`, `date` or `text`)"
        }
        Rule::option | Rule::option_key => "an option (`key \"label\"`)",
        Rule::unit => "`unit`",
        Rule::range => "`range`",
        Rule::section_id => "a section id",
        Rule::item_id => "an item id",
        Rule::max_points => "`max`",
        Rule::group | Rule::item => "a group or item",
        Rule::clause_stmt
        | Rule::method_stmt
        | Rule::local_flag
        | Rule::ask_stmt
        | Rule::when_stmt
        | Rule::score_stmt
        | Rule::deduct_stmt
        | Rule::evidence_stmt
        | Rule::hazard => {
            "an item statement (`clause`, `method`, `ask`, `when`, `score`, `deduct`, `evidence`, `hazard`)"
        }
        Rule::method => "an evidence method (`site`, `records`, `interview` or `measure`)",
        Rule::hazard_id => "a hazard id",
        Rule::hazard_level => "a hazard level (`general` or `major`)",
        Rule::measure_stmt
        | Rule::deadline_stmt
        | Rule::party_stmt
        | Rule::department_stmt
        | Rule::category_stmt
        | Rule::basis_stmt
        | Rule::immediate_stmt
        | Rule::tag_stmt => {
            "a hazard statement (`when`, `measure`, `deadline`, `party`, `department`, …)"
        }
        Rule::na_policy => "`if_not_applicable`",
        Rule::na_rule => "`rescale`, `full` or `zero`",
        Rule::veto_id => "a veto id",
        Rule::effect_stmt | Rule::ineligible | Rule::terminate | Rule::cap_grade => {
            "a veto effect (`ineligible`, `terminate` or `cap GRADE`)"
        }
        Rule::grade_id => "a grade id",
        Rule::grade => "a grade",
        Rule::total_cond | Rule::each_part_cond | Rule::part_cond | Rule::require_cond => {
            "a grade condition (`total >=`, `each part >=`, `part ID >=` or `require`)"
        }
        Rule::path => "an item or section id",
        Rule::expr => "an expression",
        Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div => "an operator",
        Rule::op_not | Rule::op_neg => "a value",
        Rule::paren
        | Rule::if_expr
        | Rule::match_expr
        | Rule::ref_call
        | Rule::agg_call
        | Rule::call
        | Rule::answer_kw
        | Rule::total_kw
        | Rule::as_of_kw
        | Rule::name
        | Rule::number
        | Rule::percent
        | Rule::date
        | Rule::duration
        | Rule::boolean => "a value",
        Rule::match_arm | Rule::wildcard => "a match arm (`key => value`)",
        Rule::duration_unit => "a unit of time (`days`, `months` or `years`)",
        Rule::immediately => "`immediately` or a duration",
        Rule::test_block => "a test",
        Rule::expect_stmt => "`expect`",
        Rule::literal | Rule::list_literal => "a value",
        Rule::level | Rule::level_id => "a level",
        Rule::level_from | Rule::otherwise => "`>= N` or `otherwise`",
        Rule::recusal => {
            "a recusal rule (`same_district`, `past_employer`, `declared_relation`, `inspected_last_round`)"
        }
        Rule::given_mode => "`best` or `worst`",
        _ => "something else",
    }
}

fn syntax_error(file: usize, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let at = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Point the caret at the offending token rather than at a single byte.
    let end = text[at.min(text.len())..]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(text.len(), |(i, _)| at + i)
        .max(
            at + text[at.min(text.len())..]
                .chars()
                .next()
                .map_or(0, char::len_utf8),
        );
    let found = if at >= text.len() {
        "the end of the file".to_string()
    } else {
        let tok: String = text[at..end.min(text.len())].chars().take(24).collect();
        format!("`{tok}`")
    };
    let mut expected: Vec<&str> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().map(|r| describe_rule(*r)).collect()
        }
        ErrorVariant::CustomError { message } => vec![message.as_str()],
    };
    expected.sort_unstable();
    expected.dedup();
    let message = match expected.as_slice() {
        [] => format!("unexpected {found}"),
        [one] => format!("expected {one}, found {found}"),
        many => format!("expected one of {}, found {found}", many.join(", ")),
    };
    let help = if text.trim().is_empty() || strip_comments(text).trim().is_empty() {
        Some("a rules file starts with `standard`, `checklist`, `credit` or `sampling`, an id, a title and `{`".to_string())
    } else if text[at.min(text.len())..].starts_with('"')
        && !text[at + 1..].lines().next().unwrap_or("").contains('"')
    {
        Some("this string is not closed: strings end with `\"` on the same line".to_string())
    } else if text[..at.min(text.len())].matches('"').count() % 2 == 1 {
        Some("a string may be unterminated: strings end with `\"` on the same line".to_string())
    } else {
        None
    };
    Diagnostic::error("E0100", file, Span::new(at, end.min(text.len())), message)
        .with_label("unexpected here")
        .with_help_opt(help)
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') || t.starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Builder {
    file: usize,
    diags: Vec<Diagnostic>,
    pratt: std::rc::Rc<PrattParser<Rule>>,
}

/// Operator precedence, loosest first. Built once per file: building it allocates.
fn precedence() -> PrattParser<Rule> {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
}

fn span(p: &Pair<'_, Rule>) -> Span {
    Span::new(p.as_span().start(), p.as_span().end())
}

fn name(p: Pair<'_, Rule>) -> Name {
    Name {
        text: p.as_str().to_string(),
        span: span(&p),
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Iterates the children of a pair (a small helper to keep builder code flat).
fn kids<'i>(p: Pair<'i, Rule>) -> pest::iterators::Pairs<'i, Rule> {
    p.into_inner()
}

impl Builder {
    fn err(&mut self, code: &'static str, span: Span, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(code, self.file, span, msg));
    }

    fn text(&mut self, p: Pair<'_, Rule>) -> Text {
        // `title` wraps `string`, which wraps `string_body`.
        let sp = span(&p);
        let mut inner = p;
        while inner.as_rule() != Rule::string_body {
            match inner.clone().into_inner().next() {
                Some(next) => inner = next,
                None => {
                    return Text {
                        text: String::new(),
                        span: sp,
                    };
                }
            }
        }
        Text {
            text: unescape(inner.as_str()),
            span: sp,
        }
    }

    fn num(&mut self, p: Pair<'_, Rule>) -> NumLit {
        let sp = span(&p);
        let (raw, percent) = match p.as_rule() {
            Rule::percent => (p.as_str().trim_end_matches('%').trim().to_string(), true),
            _ => (p.as_str().to_string(), false),
        };
        let value = match Num::parse(&raw) {
            Some(v) if percent => v.checked_div(Num::int(100)).unwrap_or(Num::ZERO),
            Some(v) => v,
            None => {
                self.diags.push(
                    Diagnostic::error("E0101", self.file, sp, format!("`{raw}` is not a number this language can hold exactly"))
                        .with_help("numbers have at most 4 decimal places and at most 14 digits before the point"),
                );
                Num::ZERO
            }
        };
        NumLit {
            value,
            percent,
            span: sp,
        }
    }

    fn date(&mut self, p: Pair<'_, Rule>) -> Date {
        match crate::date::parse(p.as_str()) {
            Some(d) => d,
            None => {
                self.err(
                    "E0102",
                    span(&p),
                    format!("`{}` is not a calendar date", p.as_str()),
                );
                Date(0)
            }
        }
    }

    fn duration(&mut self, p: Pair<'_, Rule>) -> Duration {
        let sp = span(&p);
        let mut it = kids(p);
        let amount = it.next().map(|n| self.num(n)).map_or(0, |n| {
            if !n.value.is_integer() {
                self.err(
                    "E0103",
                    n.span,
                    "a duration is a whole number of days, months or years",
                );
            }
            n.value.trunc_int()
        });
        let unit = match it.next().map(|u| u.as_str().to_string()).as_deref() {
            Some("day" | "days") => DurationUnit::Days,
            Some("month" | "months") => DurationUnit::Months,
            _ => DurationUnit::Years,
        };
        Duration {
            amount,
            unit,
            span: sp,
        }
    }

    fn ruleset(&mut self, p: Pair<'_, Rule>) -> Ruleset {
        let mut it = kids(p);
        let (mut kind, mut kind_span) = (RulesetKind::Standard, Span::default());
        let (mut id, mut title, mut extends) = (
            Name {
                text: String::new(),
                span: Span::default(),
            },
            None,
            None,
        );
        let mut body = Vec::new();
        for c in it.by_ref() {
            match c.as_rule() {
                Rule::ruleset_kind => {
                    kind_span = span(&c);
                    kind = match c.as_str() {
                        "checklist" => RulesetKind::Checklist,
                        "credit" => RulesetKind::Credit,
                        "sampling" => RulesetKind::Sampling,
                        _ => RulesetKind::Standard,
                    };
                }
                Rule::ruleset_id => id = name(c),
                Rule::title => title = Some(self.text(c)),
                Rule::extends => extends = kids(c).next().map(name),
                Rule::ruleset_body => {
                    for s in kids(c) {
                        if let Some(stmt) = self.stmt(s) {
                            body.push(stmt);
                        }
                    }
                }
                _ => {}
            }
        }
        Ruleset {
            kind,
            kind_span,
            title: title.unwrap_or(Text {
                text: String::new(),
                span: id.span,
            }),
            id,
            extends,
            body,
        }
    }

    fn stmt(&mut self, p: Pair<'_, Rule>) -> Option<Stmt> {
        let sp = span(&p);
        Some(match p.as_rule() {
            Rule::version_stmt => Stmt::Version(self.text(kids(p).next()?)),
            Rule::source_stmt => Stmt::Source(self.text(kids(p).next()?)),
            Rule::max_points => Stmt::Max(self.num(kids(p).next()?)),
            Rule::facts_block => Stmt::Facts(kids(p).filter_map(|f| self.fact(f)).collect(), sp),
            Rule::let_decl => {
                let mut it = kids(p);
                let id = name(it.next()?);
                let title = self.text(it.next()?);
                let expr = self.expr(it.next()?);
                Stmt::Let(LetDecl { id, title, expr })
            }
            Rule::event_decl => Stmt::Event(self.event(p)),
            Rule::na_policy => Stmt::NaPolicy(na_rule(kids(p).next()?.as_str()), sp),
            Rule::part => Stmt::Part(self.section(p, true)),
            Rule::veto => Stmt::Veto(self.veto(p)),
            Rule::grades_block => Stmt::Grades(kids(p).map(|g| self.grade(g)).collect(), sp),
            Rule::override_block => Stmt::Override(self.override_block(p)),
            Rule::extend_block => {
                let mut it = kids(p);
                let path = name(it.next()?);
                let children = it.filter_map(|c| self.node(c)).collect();
                Stmt::Extend(Extend {
                    path,
                    children,
                    span: sp,
                })
            }
            Rule::base_stmt => Stmt::Base(self.num(kids(p).next()?)),
            Rule::levels_block => Stmt::Levels(kids(p).filter_map(|l| self.level(l)).collect(), sp),
            Rule::blacklist_block => {
                let mut bl = Blacklist {
                    clause: None,
                    min: None,
                    max: None,
                    span: sp,
                };
                for c in kids(p) {
                    match c.as_rule() {
                        Rule::clause_stmt => bl.clause = Some(self.text(kids(c).next()?)),
                        Rule::min_stmt => bl.min = Some(self.duration(kids(c).next()?)),
                        Rule::max_stmt => bl.max = Some(self.duration(kids(c).next()?)),
                        _ => {}
                    }
                }
                Stmt::Blacklist(bl)
            }
            Rule::ratio_stmt => Stmt::Ratio(self.num(kids(p).next()?)),
            Rule::weight_stmt => {
                let mut it = kids(p);
                let w = self.num(it.next()?);
                let t = self.text(it.next()?);
                let e = self.expr(it.next()?);
                Stmt::Weight(w, t, e)
            }
            Rule::team_stmt => {
                let mut it = kids(p);
                let a = self.num(it.next()?);
                let b = self.num(it.next()?);
                Stmt::Team(a, b)
            }
            Rule::recuse_stmt => Stmt::Recuse(kids(p).map(name).collect()),
            Rule::always_stmt => {
                let mut it = kids(p);
                let t = self.text(it.next()?);
                Stmt::Always(t, self.expr(it.next()?))
            }
            Rule::cover_stmt => {
                let mut it = kids(p);
                let n = self.num(it.next()?);
                let t = self.text(it.next()?);
                Stmt::Cover(n, t, self.expr(it.next()?))
            }
            Rule::test_block => Stmt::Test(self.test(p)),
            _ => return None,
        })
    }

    fn fact(&mut self, p: Pair<'_, Rule>) -> Option<FactDecl> {
        let mut it = kids(p);
        let id = name(it.next()?);
        let title = self.text(it.next()?);
        let ty = self.value_type(it.next()?);
        Some(FactDecl { id, title, ty })
    }

    fn event(&mut self, p: Pair<'_, Rule>) -> EventDecl {
        let sp = span(&p);
        let mut it = kids(p);
        let id = it.next().map(name).unwrap_or(Name {
            text: String::new(),
            span: sp,
        });
        let title = it.next().map(|t| self.text(t)).unwrap_or(Text {
            text: String::new(),
            span: sp,
        });
        let mut e = EventDecl {
            id,
            title,
            clause: None,
            points: None,
            cap: None,
            expires: None,
            blacklist: None,
            repair: None,
            span: sp,
        };
        for c in it {
            let csp = span(&c);
            match c.as_rule() {
                Rule::clause_stmt => e.clause = kids(c).next().map(|t| self.text(t)),
                Rule::points_stmt => e.points = kids(c).next().map(|n| self.num(n)),
                Rule::cap_stmt => {
                    let mut ci = kids(c);
                    if let (Some(n), Some(d)) = (ci.next(), ci.next()) {
                        e.cap = Some((self.num(n), self.duration(d)));
                    }
                }
                Rule::expires_stmt => e.expires = kids(c).next().map(|d| self.duration(d)),
                Rule::blacklist_flag => e.blacklist = Some(csp),
                Rule::repair_flag => e.repair = Some(csp),
                _ => {}
            }
        }
        e
    }

    fn range(&mut self, p: Pair<'_, Rule>) -> (NumLit, Option<NumLit>) {
        let mut it = kids(p);
        let lo = it.next().map(|n| self.num(n)).unwrap_or(NumLit {
            value: Num::ZERO,
            percent: false,
            span: Span::default(),
        });
        let hi = it.next().map(|n| self.num(n));
        (lo, hi)
    }

    fn value_type(&mut self, p: Pair<'_, Rule>) -> TypeDecl {
        let inner = match kids(p.clone()).next() {
            Some(i) => i,
            None => return TypeDecl::Text(span(&p)),
        };
        let sp = span(&inner);
        match inner.as_rule() {
            Rule::yesno_type => TypeDecl::YesNo(sp),
            Rule::choice_type => {
                TypeDecl::Choice(kids(inner).filter_map(|o| self.option(o)).collect(), sp)
            }
            Rule::multi_type => {
                TypeDecl::Multi(kids(inner).filter_map(|o| self.option(o)).collect(), sp)
            }
            Rule::number_type => {
                let (mut unit, mut range) = (None, None);
                for c in kids(inner) {
                    match c.as_rule() {
                        Rule::unit => unit = kids(c).next().map(|t| self.text(t)),
                        Rule::range => range = Some(self.range(c)),
                        _ => {}
                    }
                }
                TypeDecl::Number {
                    unit,
                    range,
                    span: sp,
                }
            }
            Rule::count_type => {
                let range = kids(inner).next().map(|r| self.range(r));
                TypeDecl::Count { range, span: sp }
            }
            Rule::date_type => TypeDecl::Date(sp),
            _ => TypeDecl::Text(sp),
        }
    }

    fn option(&mut self, p: Pair<'_, Rule>) -> Option<OptionDecl> {
        let mut it = kids(p);
        let key = name(it.next()?);
        let title = self.text(it.next()?);
        let points = it.next().map(|n| self.num(n));
        Some(OptionDecl { key, title, points })
    }

    /// The id and title that open a block. The grammar requires both; the placeholders only
    /// keep the builder total.
    fn id_and_title(
        &mut self,
        it: &mut pest::iterators::Pairs<'_, Rule>,
        full: Span,
    ) -> (Name, Text) {
        let id = it.next().map(name).unwrap_or(Name {
            text: String::new(),
            span: full,
        });
        let title = it.next().map(|t| self.text(t)).unwrap_or(Text {
            text: String::new(),
            span: full,
        });
        (id, title)
    }

    fn section(&mut self, p: Pair<'_, Rule>, is_part: bool) -> Section {
        let full = span(&p);
        let mut it = kids(p);
        let (id, title) = self.id_and_title(&mut it, full);
        let mut s = Section {
            is_part,
            span: Span::new(full.start as usize, title.span.end as usize),
            id,
            title,
            max: None,
            clause: None,
            when: None,
            na_policy: None,
            children: Vec::new(),
        };
        for c in it {
            match c.as_rule() {
                Rule::max_points => s.max = kids(c).next().map(|n| self.num(n)),
                Rule::clause_stmt => s.clause = kids(c).next().map(|t| self.text(t)),
                Rule::when_stmt => s.when = kids(c).next().map(|e| self.expr(e)),
                Rule::na_policy => {
                    let sp = span(&c);
                    s.na_policy = kids(c).next().map(|r| (na_rule(r.as_str()), sp));
                }
                Rule::group | Rule::item => {
                    if let Some(n) = self.node(c) {
                        s.children.push(n);
                    }
                }
                _ => {}
            }
        }
        s
    }

    fn node(&mut self, p: Pair<'_, Rule>) -> Option<Node> {
        match p.as_rule() {
            Rule::group => Some(Node::Group(self.section(p, false))),
            Rule::item => Some(Node::Item(self.item(p))),
            _ => None,
        }
    }

    fn item(&mut self, p: Pair<'_, Rule>) -> Item {
        let full = span(&p);
        let mut it = kids(p);
        let (id, title) = self.id_and_title(&mut it, full);
        let mut item = Item {
            span: Span::new(full.start as usize, title.span.end as usize),
            id,
            title,
            max: None,
            clause: None,
            methods: Vec::new(),
            local: None,
            ask: None,
            when: None,
            score: None,
            evidence: None,
            hazards: Vec::new(),
        };
        for c in it {
            let csp = span(&c);
            match c.as_rule() {
                Rule::max_points => item.max = kids(c).next().map(|n| self.num(n)),
                Rule::clause_stmt => item.clause = kids(c).next().map(|t| self.text(t)),
                Rule::method_stmt => {
                    item.methods = kids(c)
                        .map(|m| match m.as_str() {
                            "records" => Method::Records,
                            "interview" => Method::Interview,
                            "measure" => Method::Measure,
                            _ => Method::Site,
                        })
                        .collect()
                }
                Rule::local_flag => item.local = kids(c).next().map(|t| self.text(t)),
                Rule::ask_stmt => item.ask = kids(c).next().map(|t| self.value_type(t)),
                Rule::when_stmt => item.when = kids(c).next().map(|e| self.expr(e)),
                Rule::score_stmt => {
                    item.score = kids(c).next().map(|e| ScoreRule::Expr(self.expr(e)))
                }
                Rule::deduct_stmt => item.score = self.deduct(c),
                Rule::evidence_stmt => {
                    let mut min = NumLit {
                        value: Num::ONE,
                        percent: false,
                        span: csp,
                    };
                    let mut when = None;
                    for e in kids(c) {
                        match e.as_rule() {
                            Rule::number => min = self.num(e),
                            Rule::expr => when = Some(self.expr(e)),
                            _ => {}
                        }
                    }
                    item.evidence = Some(Evidence {
                        min,
                        when,
                        span: csp,
                    });
                }
                Rule::hazard => item.hazards.push(self.hazard(c)),
                _ => {}
            }
        }
        item
    }

    fn deduct(&mut self, p: Pair<'_, Rule>) -> Option<ScoreRule> {
        let mut it = kids(p);
        let per = self.expr(it.next()?);
        let count = self.expr(it.next()?);
        Some(ScoreRule::Deduct(per, count))
    }

    fn deadline(&mut self, p: Pair<'_, Rule>) -> Option<(i64, Span)> {
        let sp = span(&p);
        let inner = kids(p).next()?;
        if inner.as_rule() == Rule::immediately {
            return Some((0, sp));
        }
        let d = self.duration(inner);
        let days = match d.unit {
            DurationUnit::Days => d.amount,
            DurationUnit::Months => {
                self.err(
                    "E0104",
                    d.span,
                    "a rectification deadline is counted in days",
                );
                d.amount * 30
            }
            DurationUnit::Years => {
                self.err(
                    "E0104",
                    d.span,
                    "a rectification deadline is counted in days",
                );
                d.amount * 365
            }
        };
        Some((days, sp))
    }

    fn hazard(&mut self, p: Pair<'_, Rule>) -> Hazard {
        let full = span(&p);
        let mut it = kids(p).peekable();
        let id = it.next().map(name).unwrap_or(Name {
            text: String::new(),
            span: full,
        });
        let level = match it.next().map(|l| l.as_str().to_string()).as_deref() {
            Some("major") => HazardLevel::Major,
            _ => HazardLevel::General,
        };
        let pending = it.next_if(|p| p.as_rule() == Rule::pending_flag).is_some();
        let title = it.next().map(|t| self.text(t)).unwrap_or(Text {
            text: String::new(),
            span: full,
        });
        let mut h = Hazard {
            span: Span::new(full.start as usize, title.span.end as usize),
            id,
            level,
            pending,
            title,
            when: None,
            measure: None,
            deadline: None,
            party: None,
            department: None,
            category: None,
            basis: None,
            immediate: None,
            tag: None,
        };
        for c in it {
            match c.as_rule() {
                Rule::when_stmt => h.when = kids(c).next().map(|e| self.expr(e)),
                Rule::measure_stmt => h.measure = kids(c).next().map(|t| self.text(t)),
                Rule::deadline_stmt => h.deadline = self.deadline(c),
                Rule::party_stmt => h.party = kids(c).next().map(name),
                Rule::department_stmt => h.department = kids(c).next().map(name),
                Rule::category_stmt => h.category = kids(c).next().map(name),
                Rule::basis_stmt => h.basis = kids(c).next().map(|t| self.text(t)),
                Rule::immediate_stmt => h.immediate = kids(c).next().map(|t| self.text(t)),
                Rule::tag_stmt => h.tag = kids(c).next().map(|t| self.text(t)),
                _ => {}
            }
        }
        h
    }

    fn veto(&mut self, p: Pair<'_, Rule>) -> Veto {
        let full = span(&p);
        let mut it = kids(p);
        let (id, title) = self.id_and_title(&mut it, full);
        let mut v = Veto {
            span: Span::new(full.start as usize, title.span.end as usize),
            id,
            title,
            clause: None,
            when: None,
            effect: None,
            local: None,
        };
        for c in it {
            let csp = span(&c);
            match c.as_rule() {
                Rule::clause_stmt => v.clause = kids(c).next().map(|t| self.text(t)),
                Rule::when_stmt => v.when = kids(c).next().map(|e| self.expr(e)),
                Rule::local_flag => v.local = kids(c).next().map(|t| self.text(t)),
                Rule::effect_stmt => {
                    v.effect = kids(c).next().map(|e| {
                        let eff = match e.as_rule() {
                            Rule::ineligible => VetoEffect::Ineligible,
                            Rule::terminate => VetoEffect::Terminate,
                            _ => VetoEffect::Cap(kids(e).next().map(name).unwrap_or(Name {
                                text: String::new(),
                                span: csp,
                            })),
                        };
                        (eff, csp)
                    })
                }
                _ => {}
            }
        }
        v
    }

    fn grade(&mut self, p: Pair<'_, Rule>) -> Grade {
        let full = span(&p);
        let mut it = kids(p);
        let (id, title) = self.id_and_title(&mut it, full);
        let mut conds = Vec::new();
        for c in it {
            let csp = span(&c);
            let mut ci = kids(c.clone());
            match c.as_rule() {
                Rule::total_cond => {
                    if let Some(n) = ci.next() {
                        conds.push(GradeCond::Total(self.num(n)));
                    }
                }
                Rule::each_part_cond => {
                    if let Some(n) = ci.next() {
                        conds.push(GradeCond::EachPart(self.num(n), csp));
                    }
                }
                Rule::part_cond => {
                    if let (Some(id), Some(n)) = (ci.next(), ci.next()) {
                        conds.push(GradeCond::Part(name(id), self.num(n)));
                    }
                }
                Rule::require_cond => {
                    if let (Some(e), Some(t)) = (ci.next(), ci.next()) {
                        conds.push(GradeCond::Require(self.expr(e), self.text(t)));
                    }
                }
                _ => {}
            }
        }
        Grade {
            span: Span::new(full.start as usize, title.span.end as usize),
            id,
            title,
            conds,
        }
    }

    fn override_block(&mut self, p: Pair<'_, Rule>) -> Override {
        let sp = span(&p);
        let mut it = kids(p);
        let path = it.next().map(name).unwrap_or(Name {
            text: String::new(),
            span: sp,
        });
        let mut o = Override {
            path,
            max: None,
            score: None,
            when: None,
            clause: None,
            deadline: None,
            measure: None,
            party: None,
            department: None,
            span: sp,
        };
        for c in it {
            match c.as_rule() {
                Rule::max_points => o.max = kids(c).next().map(|n| self.num(n)),
                Rule::score_stmt => o.score = kids(c).next().map(|e| ScoreRule::Expr(self.expr(e))),
                Rule::deduct_stmt => o.score = self.deduct(c),
                Rule::when_stmt => o.when = kids(c).next().map(|e| self.expr(e)),
                Rule::clause_stmt => o.clause = kids(c).next().map(|t| self.text(t)),
                Rule::deadline_stmt => o.deadline = self.deadline(c),
                Rule::measure_stmt => o.measure = kids(c).next().map(|t| self.text(t)),
                Rule::party_stmt => o.party = kids(c).next().map(name),
                Rule::department_stmt => o.department = kids(c).next().map(name),
                _ => {}
            }
        }
        o
    }

    fn level(&mut self, p: Pair<'_, Rule>) -> Option<Level> {
        let sp = span(&p);
        let mut it = kids(p);
        let id = name(it.next()?);
        let title = self.text(it.next()?);
        let bound = it.next()?;
        let from = match bound.as_rule() {
            Rule::level_from => kids(bound).next().map(|n| self.num(n)),
            _ => None,
        };
        Some(Level {
            id,
            title,
            from,
            span: sp,
        })
    }

    fn literal(&mut self, p: Pair<'_, Rule>) -> Option<Literal> {
        let inner = kids(p).next()?;
        let sp = span(&inner);
        Some(match inner.as_rule() {
            Rule::date => Literal::Date(self.date(inner), sp),
            Rule::boolean => Literal::Bool(matches!(inner.as_str(), "yes" | "true"), sp),
            Rule::list_literal => Literal::List(kids(inner).map(name).collect(), sp),
            Rule::number | Rule::percent => Literal::Num(self.num(inner)),
            Rule::string => Literal::Text(self.text(inner)),
            _ => Literal::Key(name(inner)),
        })
    }

    fn test(&mut self, p: Pair<'_, Rule>) -> TestCase {
        let full = span(&p);
        let mut it = kids(p);
        let name_t = it.next().map(|t| self.text(t)).unwrap_or(Text {
            text: String::new(),
            span: full,
        });
        let mut t = TestCase {
            span: Span::new(full.start as usize, name_t.span.end as usize),
            name: name_t,
            as_of: None,
            given: None,
            facts: Vec::new(),
            answers: Vec::new(),
            events: Vec::new(),
            photos: Vec::new(),
            expects: Vec::new(),
        };
        for c in it {
            let csp = span(&c);
            match c.as_rule() {
                Rule::as_of_stmt => {
                    if let Some(d) = kids(c).next() {
                        t.as_of = Some((self.date(d), csp));
                    }
                }
                Rule::given_stmt => {
                    t.given = kids(c).next().map(|g| {
                        (
                            if g.as_str() == "best" {
                                Given::Best
                            } else {
                                Given::Worst
                            },
                            csp,
                        )
                    });
                }
                Rule::test_facts | Rule::test_answers => {
                    let is_facts = c.as_rule() == Rule::test_facts;
                    let mut ci = kids(c);
                    while let (Some(k), Some(v)) = (ci.next(), ci.next()) {
                        let key = name(k);
                        if let Some(lit) = self.literal(v) {
                            if is_facts {
                                t.facts.push((key, lit))
                            } else {
                                t.answers.push((key, lit))
                            }
                        }
                    }
                }
                Rule::test_events => {
                    let mut ci = kids(c);
                    while let (Some(k), Some(d)) = (ci.next(), ci.next()) {
                        let dsp = span(&d);
                        let key = name(k);
                        let date = self.date(d);
                        t.events.push((key, date, dsp));
                    }
                }
                Rule::test_evidence => {
                    let mut ci = kids(c);
                    while let (Some(k), Some(n)) = (ci.next(), ci.next()) {
                        let key = name(k);
                        let n = self.num(n);
                        t.photos.push((key, n));
                    }
                }
                Rule::expect_stmt => {
                    if let Some(e) = kids(c).next().and_then(|e| self.expect(e)) {
                        t.expects.push(e);
                    }
                }
                _ => {}
            }
        }
        t
    }

    fn expect(&mut self, p: Pair<'_, Rule>) -> Option<Expect> {
        let sp = span(&p);
        let rule = p.as_rule();
        let mut it = kids(p);
        Some(match rule {
            Rule::expect_total => Expect::Total(self.num(it.next()?)),
            Rule::expect_part => {
                let path = name(it.next()?);
                Expect::Points(path, self.num(it.next()?))
            }
            Rule::expect_grade => Expect::Grade(name(it.next()?)),
            Rule::expect_veto => Expect::Veto(name(it.next()?)),
            Rule::expect_no_veto => Expect::NoVeto(name(it.next()?)),
            Rule::expect_no_vetoes => Expect::NoVetoes(sp),
            Rule::expect_hazard => Expect::Hazard(name(it.next()?)),
            Rule::expect_no_hazard => Expect::NoHazard(name(it.next()?)),
            Rule::expect_no_hazards => Expect::NoHazards(sp),
            Rule::expect_level => Expect::Level(name(it.next()?)),
            Rule::expect_blacklisted => Expect::Blacklisted(true, sp),
            Rule::expect_not_blacklisted => Expect::Blacklisted(false, sp),
            Rule::expect_weight => Expect::Weight(self.num(it.next()?)),
            Rule::expect_na => Expect::NotApplicable(name(it.next()?)),
            _ => return None,
        })
    }

    /// Folds the flat operand/operator list with the Pratt parser.
    fn expr(&mut self, p: Pair<'_, Rule>) -> Expr {
        let sp = span(&p);
        let ops = p
            .clone()
            .into_inner()
            .filter(|c| {
                matches!(
                    c.as_rule(),
                    Rule::op_or
                        | Rule::op_and
                        | Rule::op_eq
                        | Rule::op_ne
                        | Rule::op_lt
                        | Rule::op_le
                        | Rule::op_gt
                        | Rule::op_ge
                        | Rule::op_add
                        | Rule::op_sub
                        | Rule::op_mul
                        | Rule::op_div
                        | Rule::op_not
                        | Rule::op_neg
                )
            })
            .count();
        if ops > MAX_OPERATORS {
            self.diags.push(
                Diagnostic::error(
                    "E0105",
                    self.file,
                    sp,
                    format!(
                        "this expression has {ops} operators; at most {MAX_OPERATORS} are allowed"
                    ),
                )
                .with_help("name parts of it with `let`"),
            );
            return Expr {
                kind: ExprKind::Bool(false),
                span: sp,
            };
        }
        // The closures cannot borrow `self` mutably; diagnostics are collected on the side.
        let file = self.file;
        let diags = std::cell::RefCell::new(Vec::new());
        let pratt = std::rc::Rc::clone(&self.pratt);
        let e = pratt
            .map_primary(|prim| {
                let mut b = Builder {
                    file,
                    diags: Vec::new(),
                    pratt: std::rc::Rc::clone(&pratt),
                };
                let e = b.operand(prim);
                diags.borrow_mut().extend(b.diags);
                e
            })
            .map_prefix(|op, rhs| {
                let s = Span::new(op.as_span().start(), rhs.span.end as usize);
                let kind = if op.as_rule() == Rule::op_not {
                    ExprKind::Not(Box::new(rhs))
                } else {
                    ExprKind::Neg(Box::new(rhs))
                };
                Expr { kind, span: s }
            })
            .map_infix(|lhs, op, rhs| {
                let s = Span::new(lhs.span.start as usize, rhs.span.end as usize);
                let bop = match op.as_rule() {
                    Rule::op_or => BinOp::Or,
                    Rule::op_and => BinOp::And,
                    Rule::op_eq => BinOp::Eq,
                    Rule::op_ne => BinOp::Ne,
                    Rule::op_lt => BinOp::Lt,
                    Rule::op_le => BinOp::Le,
                    Rule::op_gt => BinOp::Gt,
                    Rule::op_ge => BinOp::Ge,
                    Rule::op_add => BinOp::Add,
                    Rule::op_sub => BinOp::Sub,
                    Rule::op_mul => BinOp::Mul,
                    _ => BinOp::Div,
                };
                Expr {
                    kind: ExprKind::Binary(bop, Box::new(lhs), Box::new(rhs)),
                    span: s,
                }
            })
            .parse(p.into_inner());
        self.diags.extend(diags.into_inner());
        e
    }

    fn operand(&mut self, p: Pair<'_, Rule>) -> Expr {
        let sp = span(&p);
        let kind = match p.as_rule() {
            Rule::paren => match kids(p).next() {
                Some(e) => {
                    return Expr {
                        span: sp,
                        ..self.expr(e)
                    };
                }
                None => ExprKind::Bool(false),
            },
            Rule::if_expr => {
                let mut it = kids(p);
                match (it.next(), it.next(), it.next()) {
                    (Some(c), Some(a), Some(b)) => ExprKind::If(
                        Box::new(self.expr(c)),
                        Box::new(self.expr(a)),
                        Box::new(self.expr(b)),
                    ),
                    _ => ExprKind::Bool(false),
                }
            }
            Rule::match_expr => {
                let mut it = kids(p);
                let scrutinee = it.next().map(|e| self.expr(e));
                let arms = it
                    .map(|arm| {
                        let asp = span(&arm);
                        let mut keys = Vec::new();
                        let mut value = None;
                        for c in kids(arm) {
                            match c.as_rule() {
                                Rule::option_key => keys.push(name(c)),
                                Rule::expr => value = Some(self.expr(c)),
                                _ => {}
                            }
                        }
                        MatchArm {
                            keys,
                            value: value.unwrap_or(Expr {
                                kind: ExprKind::Bool(false),
                                span: asp,
                            }),
                            span: asp,
                        }
                    })
                    .collect();
                match scrutinee {
                    Some(s) => ExprKind::Match(Box::new(s), arms),
                    None => ExprKind::Bool(false),
                }
            }
            Rule::ref_call => {
                let mut it = kids(p);
                let f = match it.next().map(|f| f.as_str().to_string()).as_deref() {
                    Some("points") => RefFn::Points,
                    Some("answered") => RefFn::Answered,
                    _ => RefFn::Answer,
                };
                match it.next() {
                    Some(path) => ExprKind::Ref(f, name(path)),
                    None => ExprKind::Bool(false),
                }
            }
            Rule::agg_call => {
                let mut it = kids(p);
                let f = match it.next().map(|f| f.as_str().to_string()).as_deref() {
                    Some("count") => AggFn::Count,
                    Some("sum") => AggFn::Sum,
                    Some("min") => AggFn::Min,
                    _ => AggFn::Max,
                };
                match (it.next(), it.next()) {
                    (Some(path), Some(e)) => ExprKind::Agg(f, name(path), Box::new(self.expr(e))),
                    _ => ExprKind::Bool(false),
                }
            }
            Rule::call => {
                let mut it = kids(p);
                match it.next() {
                    Some(f) => {
                        let f = name(f);
                        ExprKind::Call(f, it.map(|a| self.expr(a)).collect())
                    }
                    None => ExprKind::Bool(false),
                }
            }
            Rule::date => ExprKind::Date(self.date(p)),
            Rule::duration => ExprKind::Duration(self.duration(p)),
            Rule::percent => ExprKind::Percent(self.num(p).value),
            Rule::number => ExprKind::Num(self.num(p).value),
            Rule::boolean => ExprKind::Bool(matches!(p.as_str(), "yes" | "true")),
            Rule::string => ExprKind::Text(self.text(p).text),
            Rule::answer_kw => ExprKind::Answer,
            Rule::total_kw => ExprKind::Total,
            Rule::as_of_kw => ExprKind::AsOf,
            _ => ExprKind::Name(p.as_str().to_string()),
        };
        Expr { kind, span: sp }
    }
}

fn na_rule(s: &str) -> NaPolicy {
    match s {
        "full" => NaPolicy::Full,
        "zero" => NaPolicy::Zero,
        _ => NaPolicy::Rescale,
    }
}
