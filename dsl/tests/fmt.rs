//! The formatter: idempotent, meaning-preserving, comment-keeping, and Chinese-text-preserving.
//!
//! Every source under `tests/fmt/` is formatted twice; the second pass must change nothing, the
//! formatted text must parse to the same AST (spans aside), every comment must survive, and the
//! Chinese text must be untouched.

use caregrade_dsl::{Library, ast, fmt, parse};
use rstest::rstest;
use std::path::PathBuf;

fn parse_ok(src: &str) -> ast::Ruleset {
    match parse::parse(0, src) {
        Ok(r) => r,
        Err(ds) => {
            let sources = [caregrade_dsl::Source {
                path: "test.rules".into(),
                text: src.into(),
            }];
            let rendered: Vec<String> = ds.iter().map(|d| d.render(&sources)).collect();
            panic!(
                "does not parse:\n{}\n--- source ---\n{src}",
                rendered.join("\n")
            );
        }
    }
}

fn format_src(src: &str) -> String {
    fmt::format(src, &parse_ok(src))
}

/// The AST's debug rendering with every `Span { start: …, end: … }` replaced by `Span`.
fn span_free(r: &ast::Ruleset) -> String {
    let debug = format!("{r:#?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span {") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        let close = rest[at..].find('}').expect("span closes");
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Comment texts in `src`, outside strings, in order.
fn comments(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                b'#' => break,
                b'/' if b.get(i + 1) == Some(&b'/') => break,
                _ => i += 1,
            }
        }
        if i < b.len() {
            out.push(line[i..].trim_end().to_string());
        }
    }
    out
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn cjk(s: &str) -> Vec<char> {
    sorted(s.chars().filter(|c| u32::from(*c) >= 0x2E80).collect())
}

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fmt")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The four properties every formatted source must have.
fn check_properties(src: &str) -> String {
    let before = parse_ok(src);
    let once = fmt::format(src, &before);
    let after = parse_ok(&once);
    assert_eq!(
        span_free(&before),
        span_free(&after),
        "formatting changed the meaning:\n{once}"
    );
    let twice = fmt::format(&once, &after);
    assert_eq!(
        once, twice,
        "formatting is not idempotent; first pass:\n{once}"
    );
    assert_eq!(
        sorted(comments(src)),
        sorted(comments(&once)),
        "comments lost or changed:\n{once}"
    );
    assert_eq!(cjk(src), cjk(&once), "Chinese text changed:\n{once}");
    assert!(once.ends_with("}\n") || once.ends_with('\n'));
    assert!(!once.contains("\n\n\n"), "double blank line:\n{once}");
    assert!(
        once.lines().all(|l| l == l.trim_end()),
        "trailing whitespace:\n{once}"
    );
    once
}

#[rstest]
#[case::national_standard("national.rules")]
#[case::checklist("checklist.rules")]
#[case::credit_policy("credit.rules")]
#[case::sampling_policy("sampling.rules")]
#[case::layered_standard("layered.rules")]
#[case::messy("messy.rules")]
fn formats_data_files(#[case] name: &str) {
    check_properties(&data(name));
}

/// Well-formatted sources are already canonical: formatting leaves them byte for byte.
#[rstest]
#[case("national.rules")]
#[case("checklist.rules")]
#[case("credit.rules")]
#[case("sampling.rules")]
#[case("layered.rules")]
fn canonical_sources_are_fixed_points(#[case] name: &str) {
    let src = data(name);
    std::fs::write(format!("/tmp/fmtout_{name}"), format_src(&src)).ok();
    assert_eq!(format_src(&src), src);
}

#[test]
fn snapshot_of_a_messy_source() {
    insta::assert_snapshot!("messy", check_properties(&data("messy.rules")));
}

/// Small sources that each exercise one layout decision.
#[rstest]
#[case::minimal("standard s \"标\" {}", "standard s \"标\" {}\n")]
#[case::numbers(
    "standard s \"t\" { max 2.50 let r \"比\" = 40.0% + 0.5 * 2 let d \"期\" = as_of - 3 months }",
    "standard s \"t\" {\n    max 2.5\n    let r \"比\" = 40% + 0.5 * 2\n    let d \"期\" = as_of - 3 months\n}\n"
)]
#[case::escapes(
    r#"standard s "引\"号\"\\反\n行" { version "a\\b" }"#,
    "standard s \"引\\\"号\\\"\\\\反\\n行\" {\n    version \"a\\\\b\"\n}\n"
)]
#[case::right_nested_minus(
    "standard s \"t\" { let x \"x\" = a - (b - c) }",
    "standard s \"t\" {\n    let x \"x\" = a - (b - c)\n}\n"
)]
#[case::redundant_parens(
    "standard s \"t\" { let x \"x\" = ((a - b) - c) * (d) }",
    "standard s \"t\" {\n    let x \"x\" = (a - b - c) * d\n}\n"
)]
#[case::precedence(
    "standard s \"t\" { let x \"x\" = (a or b) and (not (c == d)) or -(e + f) * g < h }",
    "standard s \"t\" {\n    let x \"x\" = (a or b) and not c == d or -(e + f) * g < h\n}\n"
)]
#[case::not_in_comparison(
    "standard s \"t\" { let x \"x\" = (not a) == b and a == (not b) }",
    "standard s \"t\" {\n    let x \"x\" = (not a) == b and a == (not b)\n}\n"
)]
#[case::if_in_operand(
    "standard s \"t\" { let x \"x\" = (if a then 1 else 2) + 3 }",
    "standard s \"t\" {\n    let x \"x\" = (if a then 1 else 2) + 3\n}\n"
)]
#[case::if_chain(
    "standard s \"t\" { let x \"x\" = if a then 1 else (if b then 2 else 3) }",
    "standard s \"t\" {\n    let x \"x\" = if a then 1 else if b then 2 else 3\n}\n"
)]
#[case::booleans(
    "standard s \"t\" { let x \"x\" = true or false }",
    "standard s \"t\" {\n    let x \"x\" = yes or no\n}\n"
)]
#[case::trailing_comments(
    "standard s \"t\" { # a\n version \"1\" # b\n} # c",
    "standard s \"t\" { # a\n    version \"1\" # b\n} # c\n"
)]
#[case::comments_before_close(
    "standard s \"t\" {\n part p \"p\" max 1 {\n // only a comment\n }\n}",
    "standard s \"t\" {\n    part p \"p\" max 1 {\n        // only a comment\n    }\n}\n"
)]
#[case::comment_inside_expression_hoisted(
    "standard s \"t\" {\n let x \"x\" = a # why a\n  + b\n}",
    "standard s \"t\" {\n    # why a\n    let x \"x\" = a + b\n}\n"
)]
#[case::two_options_inline(
    "standard s \"t\" { facts { k \"类\": choice {\n a \"甲\"\n b \"乙\" } } }",
    "standard s \"t\" {\n    facts {\n        k \"类\": choice { a \"甲\" b \"乙\" }\n    }\n}\n"
)]
#[case::three_options_broken(
    "standard s \"t\" { facts { k \"类\": multi { a \"甲\" = 1 b \"乙\" c \"丙\" = 0.5 } } }",
    "standard s \"t\" {\n    facts {\n        k \"类\": multi {\n            a \"甲\" = 1\n            b \"乙\"\n            c \"丙\" = 0.5\n        }\n    }\n}\n"
)]
#[case::commented_options_broken(
    "standard s \"t\" {\n facts {\n k \"类\": choice {\n a \"甲\" # first\n b \"乙\" } } }",
    "standard s \"t\" {\n    facts {\n        k \"类\": choice {\n            a \"甲\" # first\n            b \"乙\"\n        }\n    }\n}\n"
)]
#[case::event_without_body(
    "credit c \"t\" { event e \"事件\" { } }",
    "credit c \"t\" {\n    event e \"事件\"\n}\n"
)]
#[case::deadline_zero_days(
    "checklist c \"t\" { part p \"p\" { item i \"i\" { hazard h general \"h\" { deadline 0 days } } } }",
    "checklist c \"t\" {\n    part p \"p\" {\n        item i \"i\" {\n            hazard h general \"h\" {\n                deadline immediately\n            }\n        }\n    }\n}\n"
)]
fn formats_exactly(#[case] src: &str, #[case] expected: &str) {
    assert_eq!(check_properties(src), expected);
}

#[test]
fn wide_match_breaks_into_arms() {
    let src = "standard s \"t\" { part p \"p\" max 5 { item i \"第一项\" max 5 { \
               ask choice { good_enough \"良好\" = 5 not_good_enough \"较差\" = 0 } \
               score match answer { good_enough => points(p.other_item), not_good_enough => 0, _ => if total > 10 then 1 else 0 } } } }";
    let out = check_properties(src);
    assert!(
        out.contains(
            "            score match answer {\n\
         \x20               good_enough => points(p.other_item),\n\
         \x20               not_good_enough => 0,\n\
         \x20               _ => if total > 10 then 1 else 0,\n\
         \x20           }\n"
        ),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
}

#[test]
fn narrow_match_stays_inline() {
    let src = "standard s \"t\" { let x \"x\" = match k { a | b => 1, _ => 0, } }";
    assert_eq!(
        check_properties(src),
        "standard s \"t\" {\n    let x \"x\" = match k { a | b => 1, _ => 0 }\n}\n"
    );
}

#[test]
fn test_blocks_merge_repeated_maps() {
    let src = "standard s \"t\" { test \"x\" { expect total == 1 answers { a.b = yes } facts { f = 1 } answers { a.c = [k, l] } } }";
    let out = check_properties(src);
    assert_eq!(
        out,
        "standard s \"t\" {\n    test \"x\" {\n        facts {\n            f = 1\n        }\n        answers {\n            a.b = yes\n            a.c = [k, l]\n        }\n        expect total == 1\n    }\n}\n"
    );
}

/// The ruleset hash is the hash of the formatted text: layout and number spelling do not
/// change a ruleset's identity, comments and meaning do.
#[test]
fn identity_is_the_formatted_text() {
    let a = "standard s \"t\" { max 2.50 }";
    let b = "standard   s \"t\" {\n\n    max 2.5\n}\n";
    let c = "standard s \"t\" { max 3 }";
    assert_eq!(format_src(a), format_src(b));
    assert_ne!(format_src(a), format_src(c));
    let mut lib = Library::new();
    let fa = lib.add("a.rules", a.as_bytes());
    assert!(lib.diagnostics_for(fa).is_empty());
    assert!(lib.ruleset(fa).is_some());
}

/// Source lines that end inside nothing: every line of the data files is a whole number of
/// tokens (strings never span lines), so a comment can be appended to any of them.
fn with_trailing_comments(src: &str) -> String {
    src.lines()
        .enumerate()
        .map(|(i, l)| format!("{l} # 注释{i}\n"))
        .collect()
}

fn with_own_line_comments(src: &str) -> String {
    src.lines()
        .enumerate()
        .map(|(i, l)| format!("// 说明 {i}\n{l}\n"))
        .collect()
}

/// The same source laid out badly: no indentation, odd spacing, CRLF line ends, blank lines.
fn relaid(src: &str) -> String {
    src.lines()
        .enumerate()
        .map(|(i, l)| {
            format!(
                "{}{}\r\n{}",
                " ".repeat(i % 3 * 5),
                l.trim(),
                if i % 4 == 0 { "\r\n" } else { "" }
            )
        })
        .collect()
}

#[rstest]
#[case("national.rules")]
#[case("checklist.rules")]
#[case("credit.rules")]
#[case("sampling.rules")]
#[case("layered.rules")]
#[case("messy.rules")]
fn keeps_a_comment_on_every_line(#[case] name: &str) {
    let src = with_trailing_comments(&data(name));
    let out = check_properties(&src);
    assert_eq!(comments(&out).len(), src.lines().count(), "{out}");
}

#[rstest]
#[case("national.rules")]
#[case("checklist.rules")]
#[case("credit.rules")]
#[case("sampling.rules")]
#[case("layered.rules")]
#[case("messy.rules")]
fn keeps_a_comment_between_every_line(#[case] name: &str) {
    let src = with_own_line_comments(&data(name));
    check_properties(&src);
}

#[rstest]
#[case("national.rules")]
#[case("checklist.rules")]
#[case("credit.rules")]
#[case("sampling.rules")]
#[case("layered.rules")]
#[case("messy.rules")]
fn layout_does_not_matter(#[case] name: &str) {
    let src = data(name);
    assert_eq!(check_properties(&relaid(&src)), format_src(&src));
}

/// The realistic sources are also valid rulesets, and a ruleset's identity is the SHA-256 of
/// its formatted text: a badly laid out copy compiles to the same hash.
#[rstest]
#[case("national.rules")]
#[case("checklist.rules")]
#[case("credit.rules")]
#[case("sampling.rules")]
#[case("layered.rules")]
fn identity_survives_relayout(#[case] name: &str) {
    let src = data(name);
    let mut lib = Library::new();
    if name == "layered.rules" {
        lib.add("national.rules", data("national.rules").as_bytes());
    }
    let file = lib.add(name, src.as_bytes());
    let copy = lib.add("relaid.rules", relaid(&src).as_bytes());
    let compile = |f: usize| {
        let c = lib.compile_file(f);
        let errors: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.render(&lib.sources))
            .collect();
        c.compiled
            .unwrap_or_else(|| panic!("{name} does not compile:\n{}", errors.join("\n")))
    };
    let (a, b) = (compile(file), compile(copy));
    assert_eq!(a.hash, b.hash);
    if name != "layered.rules" {
        assert_eq!(
            a.hash,
            caregrade_dsl::sha256_hex(format_src(&src).as_bytes())
        );
    }
}

/// Comments in awkward places: all kept, and the result is stable.
#[rstest]
#[case::test_maps(
    "standard s \"t\" {\n test \"x\" { # a\n facts { # b\n a = 1 # c\n } # d\n facts { b = 2 } # e\n expect total == 1 # f\n }\n}"
)]
#[case::inside_match(
    "standard s \"t\" {\n let x \"x\" = match k { # m\n a => 1, # one\n _ => 0 # other\n } # after\n}"
)]
#[case::inside_headers(
    "standard s \"t\" {\n part p # c\n \"部分\" max 2 # d\n { # e\n item i # f\n \"项\" max 2 { } }\n}"
)]
#[case::before_option_brace(
    "standard s \"t\" {\n facts {\n k \"类\": choice # c\n { a \"甲\" b \"乙\" }\n }\n}"
)]
#[case::inside_list("standard s \"t\" {\n test \"x\" { answers { a.b = [x, # c\n y] } }\n}")]
#[case::empty_blocks(
    "credit c \"t\" {\n levels { # l\n }\n event e \"事件\" { # x\n }\n blacklist { // b\n }\n}"
)]
#[case::between_methods(
    "standard s \"t\" {\n part p \"p\" max 1 { item i \"i\" max 1 {\n method site, # c\n records\n ask yesno # q\n score 1 } }\n}"
)]
#[case::crlf("standard s \"t\" { # a\r\n    version \"1\" # b\r\n    // c\r\n}\r\n# d\r\n")]
#[case::hash_in_strings("standard s \"#不是注释\" { version \"// 也不是\" # 是注释\n}")]
#[case::comment_only_lines_at_end("standard s \"t\" {\n version \"1\"\n}\n\n# one\n\n// two\n")]
#[case::deep_if(
    "standard s \"t\" {\n let x \"x\" = if a # c\n then if b then 1 else 2 # d\n else 3\n}"
)]
fn awkward_comments(#[case] src: &str) {
    check_properties(src);
}

// ───────────────────────────── generated expressions ─────────────────────────────

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn e(kind: ast::ExprKind) -> ast::Expr {
    ast::Expr {
        kind,
        span: caregrade_dsl::diag::Span::default(),
    }
}

fn nm(text: &str) -> ast::Name {
    ast::Name {
        text: text.into(),
        span: caregrade_dsl::diag::Span::default(),
    }
}

fn gen_expr(r: &mut Rng, depth: u32) -> ast::Expr {
    use ast::{BinOp::*, ExprKind as K};
    use caregrade_dsl::num::Num;
    let leaf = depth == 0 || r.below(4) == 0;
    if leaf {
        return e(match r.below(9) {
            0 => K::Num(Num::from_raw(r.below(100_000) as i64)),
            1 => K::Percent(Num::from_raw(r.below(10_000) as i64)),
            2 => K::Bool(r.below(2) == 0),
            3 => K::Answer,
            4 => K::Total,
            5 => K::Text("文本\"x\"".into()),
            6 => K::Ref(ast::RefFn::Points, nm("a.b")),
            7 => K::Duration(ast::Duration {
                amount: 1 + r.below(5) as i64,
                unit: ast::DurationUnit::Months,
                span: Default::default(),
            }),
            _ => K::Name(["a", "b", "beds", "x_1"][r.below(4) as usize].into()),
        });
    }
    let sub = |r: &mut Rng| Box::new(gen_expr(r, depth - 1));
    e(match r.below(8) {
        0 => K::Not(sub(r)),
        1 => K::Neg(sub(r)),
        2 => K::If(sub(r), sub(r), sub(r)),
        3 => K::Match(
            sub(r),
            vec![
                ast::MatchArm {
                    keys: vec![nm("k1"), nm("k2")],
                    value: gen_expr(r, depth - 1),
                    span: Default::default(),
                },
                ast::MatchArm {
                    keys: vec![],
                    value: gen_expr(r, depth - 1),
                    span: Default::default(),
                },
            ],
        ),
        4 => K::Call(
            nm("min"),
            vec![gen_expr(r, depth - 1), gen_expr(r, depth - 1)],
        ),
        5 => K::Agg(ast::AggFn::Count, nm("fire.duty"), sub(r)),
        _ => {
            let op = [Or, And, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div][r.below(12) as usize];
            K::Binary(op, sub(r), sub(r))
        }
    })
}

/// Any expression tree prints with parentheses enough to parse back to the same tree, however
/// its operators nest (precedence, left associativity, prefix operators, greedy `else`).
#[test]
fn generated_expressions_print_back_to_the_same_tree() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..3000 {
        let expr = gen_expr(&mut r, 1 + case % 5);
        let ruleset = ast::Ruleset {
            kind: ast::RulesetKind::Standard,
            kind_span: Default::default(),
            id: nm("s"),
            title: ast::Text {
                text: "t".into(),
                span: Default::default(),
            },
            extends: None,
            body: vec![ast::Stmt::Let(ast::LetDecl {
                id: nm("x"),
                title: ast::Text {
                    text: "x".into(),
                    span: Default::default(),
                },
                expr,
            })],
        };
        let text = fmt::format("", &ruleset);
        let back = parse_ok(&text);
        assert_eq!(
            span_free(&ruleset),
            span_free(&back),
            "case {case}:\n{text}"
        );
        assert_eq!(
            fmt::format(&text, &back),
            text,
            "case {case} is not idempotent"
        );
    }
}
