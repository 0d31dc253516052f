//! Tests written in the language (`test "…" { … }` blocks) and the coverage they give: which
//! items, hazard rules, vetoes, grades and conditions no test exercises.

use crate::ast::{self, Expect, Given, Literal, Stmt};
use crate::date;
use crate::diag::Span;
use crate::eval::{self, Input, Outcome, RawEvent, RawInput, Status};
use crate::ir::{Compiled, NodeKind, Type, Value};
use crate::num::Num;
use std::collections::{BTreeMap, BTreeSet};

/// The result of one test case.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// Test name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// Failed expectations and input problems; empty when the test passed.
    pub failures: Vec<String>,
}

/// What the tests of one ruleset exercise.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Items answered explicitly in a test that checks something.
    pub items: (usize, usize),
    /// Hazard rules seen both firing and not firing.
    pub hazards: (usize, usize),
    /// Vetoes seen applying.
    pub vetoes: (usize, usize),
    /// Grades reached.
    pub grades: (usize, usize),
    /// Conditional items and sections seen not applicable.
    pub conditions: (usize, usize),
    /// Credit levels reached, blacklist seen both ways; sampling rules seen applying and not.
    pub policy: (usize, usize),
    /// One line per gap.
    pub gaps: Vec<String>,
}

impl Coverage {
    /// Whether every rule is exercised.
    pub fn is_full(&self) -> bool {
        self.gaps.is_empty()
    }

    /// One summary line.
    pub fn summary(&self) -> String {
        let part = |name: &str, (a, b): (usize, usize)| {
            if b == 0 {
                None
            } else {
                Some(format!("{name} {a}/{b}"))
            }
        };
        let parts: Vec<String> = [
            part("items", self.items),
            part("hazard rules", self.hazards),
            part("vetoes", self.vetoes),
            part("grades", self.grades),
            part("conditions", self.conditions),
            part("policy rules", self.policy),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!(
            "coverage: {}",
            if parts.is_empty() {
                "nothing to cover".to_string()
            } else {
                parts.join(", ")
            }
        )
    }
}

fn literal_json(l: &Literal) -> serde_json::Value {
    use serde_json::json;
    match l {
        Literal::Bool(b, _) => json!(b),
        Literal::Num(n) => serde_json::to_value(n.value).unwrap_or(serde_json::Value::Null),
        Literal::Date(d, _) => json!(date::format(*d)),
        Literal::Text(t) => json!(t.text),
        Literal::Key(k) => json!(k.text),
        Literal::List(ks, _) => json!(ks.iter().map(|k| k.text.as_str()).collect::<Vec<_>>()),
    }
}

/// Candidate answers for `given best` / `given worst`: every option, both ends of a range.
fn candidates(t: &Type) -> Vec<Value> {
    match t {
        Type::YesNo => vec![Value::Bool(true), Value::Bool(false)],
        Type::Choice { options } => (0..options.len() as u16).map(Value::Key).collect(),
        Type::Multi { options } => vec![
            Value::Set(0),
            Value::Set(if options.len() >= 64 {
                u64::MAX
            } else {
                (1u64 << options.len()) - 1
            }),
        ],
        Type::Number { min, max, .. } | Type::Count { min, max } => {
            let lo = min.unwrap_or(Num::ZERO);
            let hi = max.unwrap_or(lo.plus(Num::int(1000)));
            vec![Value::Num(lo), Value::Num(hi)]
        }
        Type::Date | Type::Text => Vec::new(),
    }
}

fn fill_given(c: &Compiled, input: &mut Input, mode: Given) {
    for i in 0..c.nodes.len() {
        let Some(item) = &c.nodes[i].item else {
            continue;
        };
        if input.answers[i].is_some() {
            continue;
        }
        let mut best: Option<((Num, i64), Value)> = None;
        for cand in candidates(&item.question) {
            input.answers[i] = Some(cand);
            let o = eval::evaluate(c, input);
            let fired = o.hazards.iter().filter(|h| h.0 as usize == i).count() as i64;
            // Best: most points, then fewest hazards; worst: the reverse.
            let key = match mode {
                Given::Best => (o.nodes[i].points, -fired),
                Given::Worst => (Num::ZERO.minus(o.nodes[i].points), fired),
            };
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, cand));
            }
        }
        input.answers[i] = best.map(|b| b.1);
    }
}

struct Tally {
    answered: BTreeSet<usize>,
    fired: BTreeSet<(u32, u16)>,
    not_fired: BTreeSet<(u32, u16)>,
    vetoes: BTreeSet<u16>,
    grades: BTreeSet<u16>,
    na: BTreeSet<usize>,
    /// Policy rule outcomes seen, as (rule name, applied).
    policy: BTreeSet<(String, bool)>,
}

/// Runs every test block of `ruleset` against its compiled form.
pub fn run(ruleset: &ast::Ruleset, c: &Compiled) -> (Vec<TestResult>, Coverage) {
    let mut results = Vec::new();
    let mut t = Tally {
        answered: BTreeSet::new(),
        fired: BTreeSet::new(),
        not_fired: BTreeSet::new(),
        vetoes: BTreeSet::new(),
        grades: BTreeSet::new(),
        na: BTreeSet::new(),
        policy: BTreeSet::new(),
    };
    for s in &ruleset.body {
        let Stmt::Test(tc) = s else { continue };
        results.push(run_one(c, tc, &mut t));
    }
    (results, coverage(c, &t))
}

fn run_one(c: &Compiled, tc: &ast::TestCase, t: &mut Tally) -> TestResult {
    let raw = RawInput {
        as_of: tc.as_of.map(|(d, _)| date::format(d)),
        facts: tc
            .facts
            .iter()
            .map(|(k, v)| (k.text.clone(), literal_json(v)))
            .collect::<BTreeMap<_, _>>(),
        answers: tc
            .answers
            .iter()
            .map(|(k, v)| (k.text.clone(), literal_json(v)))
            .collect(),
        photos: tc
            .photos
            .iter()
            .map(|(k, n)| {
                (
                    k.text.clone(),
                    n.value.trunc_int().clamp(0, i64::from(u32::MAX)) as u32,
                )
            })
            .collect(),
        events: tc
            .events
            .iter()
            .map(|(k, d, _)| RawEvent {
                kind: k.text.clone(),
                date: date::format(*d),
                reference: None,
            })
            .collect(),
    };
    let mut input = c.bind(&raw);
    let mut failures: Vec<String> = input
        .problems
        .iter()
        .map(|p| format!("input: {} `{}`: {}", p.field, p.key, p.reason))
        .collect();
    if let Some((mode, _)) = tc.given {
        fill_given(c, &mut input, mode);
    }
    let o = eval::evaluate(c, &input);
    if !tc.expects.is_empty() {
        for (k, _) in &tc.answers {
            if let Some(i) = c.node_index(&k.text) {
                t.answered.insert(i);
            }
        }
    }
    for (i, n) in c.nodes.iter().enumerate() {
        if o.nodes[i].status == Status::NotApplicable {
            t.na.insert(i);
        }
        if let Some(item) = &n.item
            && o.nodes[i].status == Status::Scored
        {
            for h in 0..item.hazards.len() as u16 {
                if !o.hazards.contains(&(i as u32, h))
                    && !o.undetermined_hazards.contains(&(i as u32, h))
                {
                    t.not_fired.insert((i as u32, h));
                }
            }
        }
    }
    t.fired.extend(o.hazards.iter().copied());
    t.vetoes.extend(o.vetoes.iter().copied());
    if let Some(g) = o.grade {
        t.grades.insert(g);
    }
    if let (Some(cr), Some(cd)) = (&o.credit, &c.credit) {
        for (k, l) in cd.levels.iter().enumerate() {
            t.policy
                .insert((format!("level {}", l.id), cr.level == Some(k as u16)));
        }
        if cd.blacklist.is_some() {
            t.policy.insert(("the blacklist".into(), cr.blacklisted));
        }
    }
    if let (Some(so), Some(sd)) = (&o.sampling, &c.sampling) {
        for (k, w) in sd.weights.iter().enumerate() {
            t.policy
                .insert((format!("weight \"{}\"", w.title), so.weights.contains(&k)));
        }
        for (k, a) in sd.always.iter().enumerate() {
            t.policy
                .insert((format!("always \"{}\"", a.0), so.always.contains(&k)));
        }
        for (k, cv) in sd.cover.iter().enumerate() {
            t.policy
                .insert((format!("cover \"{}\"", cv.title), so.cover.contains(&k)));
        }
    }
    for e in &tc.expects {
        if let Some(f) = check(c, &o, e) {
            failures.push(f);
        }
    }
    TestResult {
        name: tc.name.text.clone(),
        span: tc.span,
        failures,
    }
}

fn grade_name(c: &Compiled, g: Option<u16>) -> String {
    g.and_then(|g| c.grades.get(g as usize))
        .map_or("none".to_string(), |g| g.id.clone())
}

fn hazard_names(c: &Compiled, hs: &[(u32, u16)]) -> String {
    let v: Vec<String> = hs
        .iter()
        .filter_map(|&(i, h)| {
            let n = c.nodes.get(i as usize)?;
            Some(format!(
                "{}.{}",
                n.path,
                n.item.as_ref()?.hazards.get(h as usize)?.id
            ))
        })
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn hazard_matches(c: &Compiled, (i, h): (u32, u16), path: &str) -> bool {
    let Some(n) = c.nodes.get(i as usize) else {
        return false;
    };
    n.path == path
        || n.item
            .as_ref()
            .and_then(|it| it.hazards.get(h as usize))
            .is_some_and(|hd| format!("{}.{}", n.path, hd.id) == path)
}

fn check(c: &Compiled, o: &Outcome, e: &Expect) -> Option<String> {
    let node = |path: &str| c.node_index(path);
    match e {
        Expect::Total(n) => {
            (o.total != n.value).then(|| format!("expected total {}, got {}", n.value, o.total))
        }
        Expect::Points(p, n) => match node(&p.text) {
            Some(i) => (o.nodes[i].points != n.value).then(|| {
                format!(
                    "expected {} to score {}, got {} ({:?})",
                    p.text, n.value, o.nodes[i].points, o.nodes[i].status
                )
            }),
            None => Some(format!("no item or section `{}`", p.text)),
        },
        Expect::Grade(g) => {
            let want = if g.text == "none" {
                None
            } else {
                c.grades
                    .iter()
                    .position(|x| x.id == g.text)
                    .map(|p| p as u16)
            };
            if g.text != "none" && want.is_none() {
                return Some(format!("no grade `{}`", g.text));
            }
            (o.grade != want).then(|| {
                format!(
                    "expected grade {}, got {} (total {}, status {:?})",
                    g.text,
                    grade_name(c, o.grade),
                    o.total,
                    o.status
                )
            })
        }
        Expect::Veto(v) | Expect::NoVeto(v) => {
            let Some(pos) = c.vetoes.iter().position(|x| x.id == v.text) else {
                return Some(format!("no veto `{}`", v.text));
            };
            let applies = o.vetoes.contains(&(pos as u16));
            let want = matches!(e, Expect::Veto(_));
            (applies != want).then(|| {
                format!(
                    "expected veto {} {}",
                    v.text,
                    if want { "to apply" } else { "not to apply" }
                )
            })
        }
        Expect::NoVetoes(_) => (!o.vetoes.is_empty()).then(|| {
            let names: Vec<&str> = o
                .vetoes
                .iter()
                .filter_map(|&v| c.vetoes.get(v as usize))
                .map(|v| v.id.as_str())
                .collect();
            format!("expected no vetoes, got {}", names.join(", "))
        }),
        Expect::Hazard(p) => {
            if node(&p.text).is_none() && !p.text.contains('.') {
                return Some(format!("no item `{}`", p.text));
            }
            (!o.hazards.iter().any(|&h| hazard_matches(c, h, &p.text))).then(|| {
                format!(
                    "expected hazard {}, found {}",
                    p.text,
                    hazard_names(c, &o.hazards)
                )
            })
        }
        Expect::NoHazard(p) => o
            .hazards
            .iter()
            .any(|&h| hazard_matches(c, h, &p.text))
            .then(|| format!("expected no hazard {}, but it was found", p.text)),
        Expect::NoHazards(_) => (!o.hazards.is_empty())
            .then(|| format!("expected no hazards, found {}", hazard_names(c, &o.hazards))),
        Expect::Level(l) => {
            let got = o
                .credit
                .as_ref()
                .and_then(|cr| cr.level)
                .and_then(|l| c.credit.as_ref()?.levels.get(l as usize))
                .map(|l| l.id.clone());
            (got.as_deref() != Some(l.text.as_str())).then(|| {
                format!(
                    "expected level {}, got {} (score {})",
                    l.text,
                    got.unwrap_or_else(|| "none".into()),
                    o.credit.as_ref().map_or(Num::ZERO, |c| c.score)
                )
            })
        }
        Expect::Blacklisted(b, _) => {
            let got = o.credit.as_ref().is_some_and(|c| c.blacklisted);
            (got != *b).then(|| format!("expected {}blacklisted", if *b { "" } else { "not " }))
        }
        Expect::Weight(n) => {
            let got = o.sampling.as_ref().map_or(Num::ZERO, |s| s.weight);
            (got != n.value).then(|| format!("expected weight {}, got {got}", n.value))
        }
        Expect::NotApplicable(p) => match node(&p.text) {
            Some(i) => (o.nodes[i].status != Status::NotApplicable).then(|| {
                format!(
                    "expected {} to be not applicable, it is {:?}",
                    p.text, o.nodes[i].status
                )
            }),
            None => Some(format!("no item or section `{}`", p.text)),
        },
    }
}

fn coverage(c: &Compiled, t: &Tally) -> Coverage {
    let mut cov = Coverage::default();
    let items: Vec<usize> = (0..c.nodes.len())
        .filter(|&i| c.nodes[i].kind == NodeKind::Item)
        .collect();
    let covered = items.iter().filter(|i| t.answered.contains(i)).count();
    cov.items = (covered, items.len());
    for &i in &items {
        if !t.answered.contains(&i) {
            cov.gaps.push(format!(
                "item {} is never answered in a test that checks something",
                c.nodes[i].path
            ));
        }
    }
    let mut hz_total = 0;
    let mut hz_cov = 0;
    for &i in &items {
        let Some(item) = &c.nodes[i].item else {
            continue;
        };
        for (h, hd) in item.hazards.iter().enumerate() {
            hz_total += 1;
            let key = (i as u32, h as u16);
            match (t.fired.contains(&key), t.not_fired.contains(&key)) {
                (true, true) => hz_cov += 1,
                (false, _) => cov.gaps.push(format!(
                    "hazard {}.{} never fires in a test",
                    c.nodes[i].path, hd.id
                )),
                (true, false) => cov.gaps.push(format!(
                    "hazard {}.{} fires in every test that answers its item",
                    c.nodes[i].path, hd.id
                )),
            }
        }
    }
    cov.hazards = (hz_cov, hz_total);
    let v_cov = (0..c.vetoes.len() as u16)
        .filter(|v| t.vetoes.contains(v))
        .count();
    cov.vetoes = (v_cov, c.vetoes.len());
    for (v, vd) in c.vetoes.iter().enumerate() {
        if !t.vetoes.contains(&(v as u16)) {
            cov.gaps
                .push(format!("veto {} never applies in a test", vd.id));
        }
    }
    let g_cov = (0..c.grades.len() as u16)
        .filter(|g| t.grades.contains(g))
        .count();
    cov.grades = (g_cov, c.grades.len());
    for (g, gd) in c.grades.iter().enumerate() {
        if !t.grades.contains(&(g as u16)) {
            cov.gaps
                .push(format!("grade {} is never reached in a test", gd.id));
        }
    }
    let mut rules: Vec<(String, bool)> = Vec::new();
    if let Some(cd) = &c.credit {
        rules.extend(cd.levels.iter().map(|l| (format!("level {}", l.id), false)));
        if cd.blacklist.is_some() {
            rules.push(("the blacklist".into(), true));
        }
    }
    if let Some(sd) = &c.sampling {
        rules.extend(
            sd.weights
                .iter()
                .map(|w| (format!("weight \"{}\"", w.title), true)),
        );
        rules.extend(
            sd.always
                .iter()
                .map(|a| (format!("always \"{}\"", a.0), true)),
        );
        rules.extend(
            sd.cover
                .iter()
                .map(|cv| (format!("cover \"{}\"", cv.title), true)),
        );
    }
    let mut p_cov = 0;
    for (name, both_ways) in &rules {
        let (yes, no) = (
            t.policy.contains(&(name.clone(), true)),
            t.policy.contains(&(name.clone(), false)),
        );
        // A level only needs reaching; a rule needs to be seen applying and not applying.
        match (yes, no || !both_ways) {
            (true, true) => p_cov += 1,
            (false, _) => cov.gaps.push(format!("{name} never applies in a test")),
            (true, false) => cov.gaps.push(format!("{name} applies in every test")),
        }
    }
    cov.policy = (p_cov, rules.len());
    let conds: Vec<usize> = (0..c.nodes.len())
        .filter(|&i| c.nodes[i].when.is_some())
        .collect();
    cov.conditions = (
        conds.iter().filter(|i| t.na.contains(i)).count(),
        conds.len(),
    );
    for &i in &conds {
        if !t.na.contains(&i) {
            cov.gaps.push(format!(
                "{} is never not applicable in a test",
                c.nodes[i].path
            ));
        }
    }
    cov
}
