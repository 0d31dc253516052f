//! One test per grammar rule (the Tera/handlebars practice): every rule of `grammar/rules.pest`
//! that is not silent parses a small input of its own, consuming all of it, and the main rules
//! also refuse an input they must refuse. `all_rules_are_covered` keeps the table complete.

use caregrade_dsl::parse::{self, Rule, RulesParser};
use caregrade_dsl::{Source, ast};
use pest::Parser;
use rstest::rstest;

/// Whether `rule` parses the whole of `input`; the error text otherwise.
fn full_parse(rule: Rule, input: &str) -> Result<(), String> {
    let mut pairs = RulesParser::parse(rule, input).map_err(|e| e.to_string())?;
    let top = pairs.next().ok_or("no pair")?;
    if top.as_rule() != rule {
        return Err(format!("top pair is {:?}", top.as_rule()));
    }
    let end = top.as_span().end();
    if end == input.len() {
        Ok(())
    } else {
        Err(format!(
            "stopped at byte {end} of {}: {:?}",
            input.len(),
            &input[end..]
        ))
    }
}

#[rstest]
// ── lexical ──
#[case(Rule::ident, "fire_2")]
#[case(Rule::ident, "_x")]
#[case(Rule::path, "fire.duty.control_room")]
#[case(Rule::string, r#""含\"引号\"与\\和\n""#)]
#[case(Rule::string, r#""""#)]
#[case(Rule::string_body, r#"消防 \"安全\" \\ \n"#)]
#[case(Rule::number, "-12.5")]
#[case(Rule::number, "900")]
#[case(Rule::percent, "40%")]
#[case(Rule::percent, "12.5%")]
#[case(Rule::date, "2024-06-30")]
#[case(Rule::duration_unit, "days")]
#[case(Rule::duration_unit, "year")]
#[case(Rule::duration, "3 months")]
#[case(Rule::duration, "1 year")]
#[case(Rule::duration, "3days")]
#[case(Rule::boolean, "yes")]
#[case(Rule::boolean, "false")]
#[case(Rule::keyword, "answer")]
#[case(Rule::keyword, "as_of")]
// ── file and ruleset ──
#[case(Rule::file, "standard s \"标准\" { }")]
#[case(Rule::file, "# 注释\n\u{feff}standard s \"t\" {}\n// end\n")]
#[case(Rule::ruleset, "checklist c \"检查\" extends base { version \"1\" }")]
#[case(Rule::ruleset_kind, "sampling")]
#[case(Rule::ruleset_id, "gbt37276")]
#[case(Rule::title, "\"养老机构等级划分与评定\"")]
#[case(Rule::extends, "extends gbt37276")]
#[case(Rule::ruleset_body, "version \"1\" max 100 if_not_applicable rescale")]
#[case(Rule::ruleset_body, "")]
#[case(Rule::version_stmt, "version \"GB/T 37276-2018\"")]
#[case(Rule::source_stmt, "source \"民政部\"")]
// ── facts, lets, events ──
#[case(
    Rule::facts_block,
    "facts { beds \"床位数\": count occupancy \"入住率\": number unit \"%\" }"
)]
#[case(Rule::fact_id, "beds")]
#[case(Rule::fact_decl, "beds \"床位数\": count range 0..")]
#[case(
    Rule::let_decl,
    "let big \"大型机构\" = beds >= 300 and occupancy >= 40%"
)]
#[case(
    Rule::event_decl,
    "event penalty \"行政处罚\" { clause \"12\" points -10 cap 30 per 1 year expires 2 years }"
)]
#[case(Rule::event_decl, "event accident \"事故\"")]
#[case(Rule::points_stmt, "points -10")]
#[case(Rule::cap_stmt, "cap 30 per 1 year")]
#[case(Rule::expires_stmt, "expires 2 years")]
#[case(Rule::blacklist_flag, "blacklist")]
#[case(Rule::repair_flag, "repair")]
// ── value types ──
#[case(Rule::value_type, "yesno")]
#[case(Rule::value_type, "number unit \"米\"")]
#[case(Rule::yesno_type, "yesno")]
#[case(Rule::choice_type, "choice { a \"有\" = 2 b \"无\" }")]
#[case(Rule::multi_type, "multi { written \"书面\" posted \"张贴\" = 0.5 }")]
#[case(Rule::number_type, "number unit \"平方米\" range 0..100")]
#[case(Rule::number_type, "number")]
#[case(Rule::count_type, "count range 1..")]
#[case(Rule::date_type, "date")]
#[case(Rule::text_type, "text")]
#[case(Rule::option_key, "yes_both")]
#[case(Rule::option, "yes_both \"有且双人值班\" = 2")]
#[case(Rule::option, "none \"无\"")]
#[case(Rule::unit, "unit \"人\"")]
#[case(Rule::range, "range 0.5..10")]
#[case(Rule::range, "range 0 .. 10")]
// ── parts, groups, items ──
#[case(Rule::section_id, "fire")]
#[case(Rule::item_id, "control_room")]
#[case(Rule::max_points, "max 2.5")]
#[case(
    Rule::part,
    "part env \"环境\" max 10 { clause \"5\" when a group g \"组\" { item i \"项\" { } } }"
)]
#[case(
    Rule::group,
    "group fire \"消防\" max 4 { if_not_applicable rescale item i \"项\" max 4 { } }"
)]
#[case(Rule::na_policy, "if_not_applicable zero")]
#[case(Rule::na_rule, "full")]
#[case(
    Rule::item,
    "item i \"项\" max 2 { clause \"1\" method site, records local \"地方\" ask yesno when a score 2 evidence photo 2 if answer == no }"
)]
#[case(Rule::clause_stmt, "clause \"5.1.1\"")]
#[case(Rule::method_stmt, "method site, interview")]
#[case(Rule::method, "measure")]
#[case(Rule::local_flag, "local \"上海市地方要求\"")]
#[case(Rule::ask_stmt, "ask choice { a \"A\" = 1 }")]
#[case(Rule::when_stmt, "when has_kitchen and not recent")]
#[case(Rule::score_stmt, "score if answer >= 4 then 3 else answer * 0.75")]
#[case(Rule::deduct_stmt, "deduct 1 per answer")]
#[case(Rule::evidence_stmt, "evidence photo 2 if answer == no")]
#[case(Rule::evidence_stmt, "evidence photo")]
// ── hazards ──
#[case(
    Rule::hazard,
    "hazard blocked major pending \"出口堵塞\" { when answer == no measure \"清障\" deadline immediately party director \
     department fire_rescue category fire basis \"消防法\" immediate \"立即疏散\" tag \"红\" }"
)]
#[case(Rule::hazard_id, "blocked")]
#[case(Rule::hazard_level, "major")]
#[case(Rule::pending_flag, "pending")]
#[case(Rule::measure_stmt, "measure \"立即清理\"")]
#[case(Rule::deadline_stmt, "deadline 30 days")]
#[case(Rule::deadline_stmt, "deadline immediately")]
#[case(Rule::immediately, "immediately")]
#[case(Rule::party_stmt, "party director")]
#[case(Rule::department_stmt, "department civil_affairs")]
#[case(Rule::category_stmt, "category fire")]
#[case(Rule::basis_stmt, "basis \"《消防法》第二十八条\"")]
#[case(Rule::immediate_stmt, "immediate \"立即组织疏散\"")]
#[case(Rule::tag_stmt, "tag \"红色\"")]
// ── vetoes and grades ──
#[case(Rule::veto_id, "fire_accident")]
#[case(
    Rule::veto,
    "veto v \"重大事故\" { clause \"4.3\" when accidents > 0 effect cap g3 local \"地方\" }"
)]
#[case(Rule::effect_stmt, "effect ineligible")]
#[case(Rule::effect_stmt, "effect cap g3")]
#[case(Rule::ineligible, "ineligible")]
#[case(Rule::terminate, "terminate")]
#[case(Rule::cap_grade, "cap g3")]
#[case(
    Rule::grades_block,
    "grades { grade g1 \"一级\" { total >= 570 } grade g2 \"二级\" { } }"
)]
#[case(Rule::grade_id, "g5")]
#[case(
    Rule::grade,
    "grade g5 \"五级\" { total >= 900 each part >= 60% part env >= 30 require occupancy >= 40% \"入住率\" }"
)]
#[case(Rule::total_cond, "total >= 570")]
#[case(Rule::each_part_cond, "each part >= 60%")]
#[case(Rule::each_part_cond, "each part >= 30")]
#[case(Rule::part_cond, "part env >= 30")]
#[case(Rule::require_cond, "require occupancy >= 40% \"入住率\"")]
// ── layering ──
#[case(
    Rule::override_block,
    "override a.b.c { max 3 score 2 when x clause \"c\" deadline 1 day measure \"m\" party p department d }"
)]
#[case(
    Rule::override_block,
    "override env.fire.drills { deduct 0.5 per answer }"
)]
#[case(
    Rule::extend_block,
    "extend a.b { item c \"新增\" max 1 { } group d \"组\" { } }"
)]
// ── credit ──
#[case(Rule::base_stmt, "base 100")]
#[case(
    Rule::levels_block,
    "levels { level A \"守信\" >= 90 level C \"失信\" otherwise }"
)]
#[case(Rule::level_id, "A")]
#[case(Rule::level, "level A \"守信\" >= 90")]
#[case(Rule::level, "level C \"失信\" otherwise")]
#[case(Rule::level_from, ">= 90")]
#[case(Rule::otherwise, "otherwise")]
#[case(
    Rule::blacklist_block,
    "blacklist { clause \"第二十条\" min 1 year max 3 years }"
)]
#[case(Rule::min_stmt, "min 1 year")]
#[case(Rule::max_stmt, "max 3 years")]
// ── sampling ──
#[case(Rule::ratio_stmt, "ratio 20%")]
#[case(Rule::weight_stmt, "weight 3 \"投诉较多\" when complaints >= 3")]
#[case(Rule::team_stmt, "team 2..3")]
#[case(Rule::recuse_stmt, "recuse same_district, past_employer")]
#[case(Rule::recusal, "inspected_last_round")]
#[case(Rule::always_stmt, "always \"高风险必查\" when risk == high")]
#[case(Rule::cover_stmt, "cover 50% \"中风险\" when risk == mid")]
// ── tests ──
#[case(
    Rule::test_block,
    "test \"满分\" { as_of 2024-06-30 given best facts { a = yes } answers { p.i = [x, y] } events { penalty 2024-03-01 } \
     photos { p.i = 2 } expect total == 100 }"
)]
#[case(Rule::as_of_stmt, "as_of 2024-06-30")]
#[case(Rule::given_stmt, "given worst")]
#[case(Rule::given_mode, "best")]
#[case(
    Rule::test_facts,
    "facts { beds = 320 kind = public note = \"无\" opened = 2010-01-01 }"
)]
#[case(Rule::test_answers, "answers { env.fire.a = yes_both env.fire.b = 3 }")]
#[case(Rule::test_events, "events { penalty 2024-03-01 fraud 2024-05-01 }")]
#[case(Rule::test_evidence, "photos { env.kitchen = 2 }")]
#[case(Rule::literal, "2024-01-01")]
#[case(Rule::literal, "yes")]
#[case(Rule::literal, "[a, b]")]
#[case(Rule::literal, "-3.5")]
#[case(Rule::literal, "40%")]
#[case(Rule::literal, "\"文本\"")]
#[case(Rule::literal, "public")]
#[case(Rule::list_literal, "[written, posted]")]
#[case(Rule::list_literal, "[]")]
#[case(Rule::expect_stmt, "expect grade == g5")]
#[case(Rule::expect_total, "total == 100")]
#[case(Rule::expect_part, "points env.fire == 20")]
#[case(Rule::expect_grade, "grade == g5")]
#[case(Rule::expect_veto, "veto accident")]
#[case(Rule::expect_no_vetoes, "no vetoes")]
#[case(Rule::expect_no_veto, "no veto accident")]
#[case(Rule::expect_hazard, "hazard fire.exits.blocked")]
#[case(Rule::expect_no_hazards, "no hazards")]
#[case(Rule::expect_no_hazard, "no hazard fire.exits.blocked")]
#[case(Rule::expect_level, "level == A")]
#[case(Rule::expect_blacklisted, "blacklisted")]
#[case(Rule::expect_not_blacklisted, "not blacklisted")]
#[case(Rule::expect_weight, "weight == 1")]
#[case(Rule::expect_na, "not_applicable service.care")]
// ── expressions ──
#[case(Rule::expr, "a + b * -c >= 3 and not d or e")]
#[case(Rule::expr, "not not -(-x)")]
#[case(Rule::expr, "as_of - opened < 1 year")]
#[case(Rule::op_or, "or")]
#[case(Rule::op_and, "and")]
#[case(Rule::op_eq, "==")]
#[case(Rule::op_ne, "!=")]
#[case(Rule::op_le, "<=")]
#[case(Rule::op_ge, ">=")]
#[case(Rule::op_lt, "<")]
#[case(Rule::op_gt, ">")]
#[case(Rule::op_add, "+")]
#[case(Rule::op_sub, "-")]
#[case(Rule::op_mul, "*")]
#[case(Rule::op_div, "/")]
#[case(Rule::op_not, "not")]
#[case(Rule::op_neg, "-")]
#[case(Rule::paren, "(a + b)")]
#[case(Rule::if_expr, "if a then 1 else if b then 2 else 3")]
#[case(Rule::match_expr, "match answer { a | b => 1, _ => 0 }")]
#[case(Rule::match_expr, "match answer { a => 1 b => 2 }")]
#[case(Rule::match_arm, "a | b => 1,")]
#[case(Rule::match_arm, "_ => 0")]
#[case(Rule::wildcard, "_")]
#[case(Rule::ref_call, "points(env.fire)")]
#[case(Rule::ref_call, "answered(a.b)")]
#[case(Rule::ref_call, "answer(a.b)")]
#[case(Rule::agg_call, "count(fire.duty: answer == no)")]
#[case(Rule::call, "count_events(accident, 1 year)")]
#[case(Rule::call, "min(answer, 3)")]
#[case(Rule::call, "f()")]
#[case(Rule::answer_kw, "answer")]
#[case(Rule::total_kw, "total")]
#[case(Rule::as_of_kw, "as_of")]
#[case(Rule::name, "beds")]
#[case(Rule::name, "answered_count")]
#[case(Rule::name, "no_kitchen")]
fn accepts(#[case] rule: Rule, #[case] input: &str) {
    if let Err(e) = full_parse(rule, input) {
        panic!("{rule:?} should parse {input:?}: {e}");
    }
}

/// Rules ending in a look-ahead (`&"("`) stop before the parenthesis they look at.
#[rstest]
#[case(Rule::ref_fn, "answered(x)", "answered")]
#[case(Rule::ref_fn, "points(x)", "points")]
#[case(Rule::agg_fn, "count(a: b)", "count")]
#[case(Rule::agg_fn, "max(a: b)", "max")]
#[case(Rule::fn_name, "count_events(a)", "count_events")]
fn accepts_before_lookahead(#[case] rule: Rule, #[case] input: &str, #[case] consumed: &str) {
    let pair = RulesParser::parse(rule, input)
        .expect("parses")
        .next()
        .expect("a pair");
    assert_eq!(pair.as_rule(), rule);
    assert_eq!(pair.as_str(), consumed);
    assert!(
        RulesParser::parse(rule, consumed).is_err(),
        "{rule:?} needs the `(` after it"
    );
}

#[rstest]
#[case(Rule::file, "")]
#[case(Rule::file, "standard s \"t\" { } extra")]
#[case(Rule::file, "standard s { }")]
#[case(Rule::file, "rules s \"t\" { }")]
#[case(Rule::ruleset, "standard \"t\" { }")]
#[case(Rule::ruleset, "standard s \"t\" extends { }")]
#[case(Rule::ruleset_kind, "standards")]
#[case(Rule::ident, "9lives")]
#[case(Rule::ident, "消防")]
#[case(Rule::path, "a..b")]
#[case(Rule::path, ".a")]
#[case(Rule::string, "\"unterminated")]
#[case(Rule::string, "\"line\nbreak\"")]
#[case(Rule::string, r#""bad \t escape""#)]
#[case(Rule::number, ".5")]
#[case(Rule::number, "1.")]
#[case(Rule::percent, "40 %")]
#[case(Rule::date, "2024-6-30")]
#[case(Rule::duration, "3 weeks")]
#[case(Rule::boolean, "yesno")]
#[case(Rule::keyword, "answers")]
#[case(Rule::name, "answer")]
#[case(Rule::name, "and")]
#[case(Rule::facts_block, "facts { beds: count }")]
#[case(Rule::fact_decl, "beds \"床位\" count")]
#[case(Rule::let_decl, "let big = 1")]
#[case(Rule::event_decl, "event e \"t\" { points }")]
#[case(Rule::choice_type, "choice { }")]
#[case(Rule::choice_type, "choice { a \"A\", b \"B\" }")]
#[case(Rule::option, "a = 2")]
#[case(Rule::number_type, "number range 0..10 unit \"m\"")]
#[case(Rule::part, "part p \"t\" max { }")]
#[case(Rule::part, "part p \"t\" { hazard h general \"h\" { } }")]
#[case(Rule::group, "group \"t\" { }")]
#[case(Rule::item, "item i { }")]
#[case(Rule::item, "item i \"t\" { max 2 }")]
#[case(Rule::method_stmt, "method visit")]
#[case(Rule::na_policy, "if_not_applicable skip")]
#[case(Rule::hazard, "hazard h critical \"t\" { }")]
#[case(Rule::hazard, "hazard h \"t\" major { }")]
#[case(Rule::deadline_stmt, "deadline 3")]
#[case(Rule::veto, "veto v \"t\" { effect cap }")]
#[case(Rule::grades_block, "grades { total >= 5 }")]
#[case(Rule::grade, "grade g \"t\" { total > 5 }")]
#[case(Rule::each_part_cond, "each part > 60%")]
#[case(Rule::override_block, "override a.b { item x \"t\" { } }")]
#[case(Rule::extend_block, "extend a.b { max 3 }")]
#[case(Rule::levels_block, "levels { level A \"t\" }")]
#[case(Rule::blacklist_block, "blacklist { min 3 }")]
#[case(Rule::ratio_stmt, "ratio 20")]
#[case(Rule::team_stmt, "team 2")]
#[case(Rule::recuse_stmt, "recuse same_street")]
#[case(Rule::test_block, "test t { }")]
#[case(Rule::given_stmt, "given average")]
#[case(Rule::literal, "40 %%")]
#[case(Rule::list_literal, "[a b]")]
#[case(Rule::expect_stmt, "expect total = 1")]
#[case(Rule::expect_stmt, "expect grade g5")]
#[case(Rule::expr, "a +")]
#[case(Rule::expr, "1 + * 2")]
#[case(Rule::expr, "a b")]
#[case(Rule::if_expr, "if a then b")]
#[case(Rule::match_expr, "match a { }")]
#[case(Rule::ref_call, "points (a)")]
#[case(Rule::agg_call, "count(a.b)")]
fn refuses(#[case] rule: Rule, #[case] input: &str) {
    assert!(
        full_parse(rule, input).is_err(),
        "{rule:?} should not parse all of {input:?}"
    );
}

/// Every non-silent rule of the grammar has an `accepts` case (or a look-ahead case) above.
#[test]
fn all_rules_are_covered() {
    let grammar = include_str!("../../grammar/rules.pest");
    let me = include_str!("grammar_rules.rs");
    let mut missing = Vec::new();
    for line in grammar.lines() {
        let Some((name, def)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let def = def.trim_start();
        let is_rule =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_rule
            || def.starts_with("_{")
            || !(def.starts_with('{') || def.starts_with("@{") || def.starts_with("${"))
        {
            continue;
        }
        let case = format!("#[case(Rule::{name}, ");
        let multi_line_case = format!("    Rule::{name},\n");
        if !me.contains(&case) && !me.contains(&multi_line_case) {
            missing.push(name.to_string());
        }
    }
    assert!(missing.is_empty(), "rules without a test case: {missing:?}");
}

// ───────────────────────────── whole files through `parse::parse` ─────────────────────────────

fn parse_file(text: &str) -> Result<ast::Ruleset, String> {
    parse::parse(0, text).map_err(|ds| {
        let sources = [Source {
            path: "rules/test.rules".into(),
            text: text.into(),
        }];
        ds.iter()
            .map(|d| d.render(&sources))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[rstest]
#[case::national(include_str!("fmt/national.rules"))]
#[case::checklist(include_str!("fmt/checklist.rules"))]
#[case::credit(include_str!("fmt/credit.rules"))]
#[case::sampling(include_str!("fmt/sampling.rules"))]
#[case::layered(include_str!("fmt/layered.rules"))]
#[case::messy(include_str!("fmt/messy.rules"))]
fn whole_files_parse(#[case] text: &str) {
    if let Err(e) = parse_file(text) {
        panic!("{e}");
    }
}

#[test]
fn whole_file_builds_the_expected_tree() {
    let r = parse_file(include_str!("fmt/national.rules")).expect("parses");
    assert_eq!(r.kind, ast::RulesetKind::Standard);
    assert_eq!(r.id.text, "gbt37276");
    assert_eq!(r.title.text, "养老机构等级划分与评定");
    let parts: Vec<&str> = r
        .body
        .iter()
        .filter_map(|s| match s {
            ast::Stmt::Part(p) => Some(p.id.text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(parts, ["env", "service"]);
    let layered = parse_file(include_str!("fmt/layered.rules")).expect("parses");
    assert_eq!(
        layered.extends.map(|e| e.text),
        Some("gbt37276".to_string())
    );
}

/// Syntax errors read as plain words (see `describe_rule`), point at the offending token and
/// carry the file path and line.
#[rstest]
#[case::missing_title("standard s {\n}", &["expected a quoted title", "found `{`", "rules/test.rules:1:"])]
#[case::missing_item_id("standard s \"t\" {\n    part p \"p\" {\n        item \"项\" { }\n    }\n}", &["an item id", "rules/test.rules:3:"])]
#[case::unknown_kind("rules s \"t\" { }", &["a ruleset (`standard`, `checklist`, `credit` or `sampling`)", "found `rules`"])]
#[case::bad_hazard_level(
    "checklist c \"t\" { part p \"p\" { item i \"i\" { hazard h critical \"t\" { } } } }",
    &["a hazard level (`general` or `major`)", "found `critical`"]
)]
#[case::bad_duration_unit("credit c \"t\" { event e \"t\" { expires 2 weeks } }", &["a unit of time (`days`, `months` or `years`)"])]
// The error points at the opening quote of the unterminated string (see the report: the
// "may be unterminated" help of parse.rs does not fire here).
#[case::unterminated_string("standard s \"t\" {\n    version \"1\n}", &["expected", "found `\"1`", "rules/test.rules:2:"])]
#[case::trailing_text("standard s \"t\" { }\nstandard", &["the end of the file"])]
#[case::empty_file("# only a comment\n", &["a rules file starts with `standard`"])]
#[case::bad_expression("standard s \"t\" { let x \"x\" = 1 + }", &["expected", "a value"])]
fn syntax_errors_read_as_words(#[case] text: &str, #[case] words: &[&str]) {
    let rendered = match parse_file(text) {
        Ok(_) => panic!("should not parse: {text}"),
        Err(e) => e,
    };
    for w in words {
        assert!(rendered.contains(w), "{w:?} not in:\n{rendered}");
    }
    assert!(rendered.contains("E0100"), "{rendered}");
}

// ───────────────────────────── grammar quirks found while writing these tests ─────────────────────────────

/// Fixed: the wildcard has a word boundary, so option keys may start with `_`.
#[test]
fn underscore_option_keys_can_be_matched() {
    assert!(full_parse(Rule::option_key, "_foo").is_ok());
    assert!(full_parse(Rule::match_arm, "_foo => 1").is_ok());
    assert!(full_parse(Rule::match_expr, "match answer { _foo => 1, _ => 0 }").is_ok());
}

/// Fixed: statement keywords written as plain strings (`"let"`, `"item"`, `"score"` …) have no
/// `!ident_char` boundary in the grammar, so pest alone splits a keyword glued to the next word;
/// the parser then refuses every such split word with E0006, naming both halves.
#[rstest]
#[case::let_glued_to_id("standard s \"t\" { letbig \"大型\" = 1 }", "letbig", "let", "big")]
#[case::item_glued_to_id(
    "standard s \"t\" { part p \"p\" max 1 { itemfire \"项\" max 1 { ask yesno } } }",
    "itemfire",
    "item",
    "fire"
)]
#[case::number_glued_to_keyword(
    "standard s \"t\" { event acc \"事故\" let w \"w\" = within(acc, 3years) }",
    "3years",
    "3",
    "years"
)]
fn keywords_glued_to_a_word_are_refused(
    #[case] src: &str,
    #[case] word: &str,
    #[case] left: &str,
    #[case] right: &str,
) {
    let parsed = parse::parse_file(0, src);
    let glued: Vec<_> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.code == "E0006")
        .collect();
    assert_eq!(glued.len(), 1, "{:?}", parsed.diagnostics);
    let d = glued[0];
    assert_eq!(&src[d.span.start as usize..d.span.end as usize], word);
    assert_eq!(d.message, format!("`{word}` reads as `{left} {right}`"));
    assert!(parse_file(src).is_err());
}

/// Pest itself still accepts the glued forms; the word check is the parser's, after the grammar.
#[test]
fn pest_alone_splits_glued_keywords() {
    assert!(full_parse(Rule::let_decl, "letbig \"大型\" = 1").is_ok());
    assert!(full_parse(Rule::item, "itemfire \"项\" { }").is_ok());
    assert!(full_parse(Rule::score_stmt, "scoreanswer").is_ok());
}

/// Spacing is free wherever a word does not touch a word: no false alarms on punctuation.
#[test]
fn words_next_to_punctuation_are_not_glued() {
    let src = "standard s \"t\" { part p \"p\" max 1 { item a \"项\" max 1 { ask yesno score if(answer)then(1)else(0) } } }";
    let parsed = parse::parse_file(0, src);
    assert!(
        parsed.diagnostics.iter().all(|d| d.code != "E0006"),
        "{:?}",
        parsed.diagnostics
    );
}

/// Fixed: the photo condition is written `if …`, so an item-level `when` on the next line stays
/// the item's own condition.
#[test]
fn item_when_after_evidence_stays_the_items_condition() {
    let text = "standard s \"t\" { part p \"p\" max 2 { item i \"项\" max 2 {\n    ask yesno\n    score 2\n    evidence photo 2\n    when big\n} } }";
    let r = parse_file(text).expect("parses");
    let ast::Stmt::Part(part) = &r.body[0] else {
        panic!("a part")
    };
    let ast::Node::Item(item) = &part.children[0] else {
        panic!("an item")
    };
    assert!(item.when.is_some(), "the item keeps its `when`");
    assert!(
        item.evidence.as_ref().is_some_and(|e| e.when.is_none()),
        "photos are always required"
    );
    assert!(full_parse(Rule::evidence_stmt, "evidence photo 2 if answer == no").is_ok());
}

/// Fixed: `unit` and `range` cannot name a fact (they would be read as part of a number type).
#[test]
fn facts_cannot_be_named_unit_or_range() {
    assert!(
        full_parse(
            Rule::facts_block,
            "facts { depth \"深度\": number unit \"单位\": text }"
        )
        .is_err()
    );
    assert!(full_parse(Rule::facts_block, "facts { unit \"单位\": text }").is_err());
    assert!(
        full_parse(
            Rule::facts_block,
            "facts { units \"单位\": text depth \"深度\": number unit \"m\" }"
        )
        .is_ok()
    );
}
