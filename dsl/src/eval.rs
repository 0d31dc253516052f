//! Evaluation: `(compiled ruleset, input) → outcome`. Total and deterministic: a missing or
//! malformed answer makes the values that read it *unknown* (never an error or a panic), the
//! item scores 0 and is listed as missing, and nothing is silently given full marks.

use crate::ast::{AggFn, BinOp, Date, DurationUnit, NaPolicy, RulesetKind};
use crate::date;
use crate::ir::*;
use crate::num::Num;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Input as JSON: the evaluation date, facts, answers by item id, photo counts and events.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// Evaluation date, `YYYY-MM-DD`.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Facts by id.
    #[serde(default)]
    pub facts: BTreeMap<String, serde_json::Value>,
    /// Answers by item id.
    #[serde(default)]
    pub answers: BTreeMap<String, serde_json::Value>,
    /// Photo counts by item id.
    #[serde(default)]
    pub photos: BTreeMap<String, u32>,
    /// Dated events.
    #[serde(default)]
    pub events: Vec<RawEvent>,
}

/// A dated event in the input.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// Event kind id.
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Caller's reference (document number, record id), echoed in the outcome.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Something wrong with the input; reported in the outcome, never fatal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    /// `fact`, `answer`, `photos`, `event` or `as_of`.
    pub field: String,
    /// Which key.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// Input bound to a compiled ruleset: every value converted and placed by index.
#[derive(Clone, Debug)]
pub struct Input {
    /// Evaluation date.
    pub as_of: Option<Date>,
    /// Fact values, by fact index.
    pub facts: Vec<Value>,
    /// Answers, by node index (`None` = not answered).
    pub answers: Vec<Option<Value>>,
    /// Photo counts, by node index.
    pub photos: Vec<u32>,
    /// Events as (kind index, date, reference), sorted by date.
    pub events: Vec<(u16, Date, Option<String>)>,
    /// Problems found while binding.
    pub problems: Vec<InputProblem>,
}

fn problem(field: &str, key: &str, reason: impl Into<String>) -> InputProblem {
    InputProblem {
        field: field.to_string(),
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Converts one JSON value to a value of type `t`; `Err` says why it does not fit.
pub fn convert(t: &Type, v: &serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    let in_range = |n: Num, min: &Option<Num>, max: &Option<Num>| -> Result<Value, String> {
        if let Some(lo) = min
            && n < *lo
        {
            return Err(format!("{n} is below the minimum {lo}"));
        }
        if let Some(hi) = max
            && n > *hi
        {
            return Err(format!("{n} is above the maximum {hi}"));
        }
        Ok(Value::Num(n))
    };
    match (t, v) {
        (Type::YesNo, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::YesNo, J::String(s)) => match s.as_str() {
            "yes" | "是" | "true" => Ok(Value::Bool(true)),
            "no" | "否" | "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected yes or no, got \"{s}\"")),
        },
        // A choice whose keys are `yes`/`no` may be answered with a boolean.
        (Type::Choice { options }, J::Bool(b)) => {
            let key = if *b { "yes" } else { "no" };
            options
                .iter()
                .position(|o| o.key == key)
                .map(|i| Value::Key(i as u16))
                .ok_or_else(|| format!("expected one of {}, got {key}", keys(options)))
        }
        (Type::Choice { options }, J::String(s)) => options
            .iter()
            .position(|o| o.key == *s)
            .map(|i| Value::Key(i as u16))
            .ok_or_else(|| {
                format!(
                    "\"{s}\" is not an option; the options are {}",
                    keys(options)
                )
            }),
        (Type::Multi { options }, J::Array(items)) => {
            let mut set = 0u64;
            for it in items {
                let Some(s) = it.as_str() else {
                    return Err("expected a list of option keys".into());
                };
                let i = options.iter().position(|o| o.key == s).ok_or_else(|| {
                    format!(
                        "\"{s}\" is not an option; the options are {}",
                        keys(options)
                    )
                })?;
                set |= 1 << i;
            }
            Ok(Value::Set(set))
        }
        (Type::Number { min, max, .. }, J::Number(n)) => {
            let n = Num::from_json(n)
                .ok_or_else(|| format!("{n} has more than 4 decimals or is too large"))?;
            in_range(n, min, max)
        }
        (Type::Count { min, max }, J::Number(n)) => {
            let n = Num::from_json(n)
                .filter(|n| n.is_integer())
                .ok_or_else(|| format!("{n} is not a whole count"))?;
            in_range(n, min, max)
        }
        (Type::Date, J::String(s)) => date::parse(s)
            .map(|d| Value::Date(d.0))
            .ok_or_else(|| format!("\"{s}\" is not a date (YYYY-MM-DD)")),
        (Type::Text, J::String(_)) => Ok(Value::Text),
        (t, v) => Err(format!("expected {}, got {}", t.describe(), json_kind(v))),
    }
}

fn keys(options: &[OptionDef]) -> String {
    options
        .iter()
        .map(|o| o.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "yes/no",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Compiled {
    /// Whether `value` answers item `path` (its dotted id): `Ok`, or why not in plain words. A
    /// null answer clears the item and is always accepted. Lets a sync endpoint refuse one bad
    /// answer of a batch without binding the whole input.
    pub fn check_answer(&self, path: &str, value: &serde_json::Value) -> Result<(), String> {
        let node = self
            .nodes
            .iter()
            .find(|n| n.path == path)
            .ok_or_else(|| "no such item in this ruleset".to_owned())?;
        let item = node
            .item
            .as_ref()
            .ok_or_else(|| "this is a section, not an item".to_owned())?;
        if value.is_null() {
            return Ok(());
        }
        convert(&item.question, value).map(|_| ())
    }

    /// Index of the node with dotted id `path`.
    pub fn node_index(&self, path: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.path == path)
    }

    /// Binds JSON input to this ruleset. Unknown keys and values of the wrong type become
    /// [`InputProblem`]s; the rest is kept.
    pub fn bind(&self, raw: &RawInput) -> Input {
        let mut problems = Vec::new();
        let as_of = match &raw.as_of {
            Some(s) => {
                let d = date::parse(s);
                if d.is_none() {
                    problems.push(problem("as_of", s, "not a date (YYYY-MM-DD)"));
                }
                d
            }
            None => None,
        };
        let mut facts = vec![Value::Unknown; self.facts.len()];
        for (k, v) in &raw.facts {
            match self.facts.iter().position(|f| f.id == *k) {
                Some(i) if v.is_null() => facts[i] = Value::Unknown,
                Some(i) => match convert(&self.facts[i].ty, v) {
                    Ok(x) => facts[i] = x,
                    Err(e) => problems.push(problem("fact", k, e)),
                },
                None => problems.push(problem("fact", k, "no such fact in this ruleset")),
            }
        }
        let by_path: std::collections::HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.path.as_str(), i))
            .collect();
        let mut answers = vec![None; self.nodes.len()];
        for (k, v) in &raw.answers {
            match by_path.get(k.as_str()).copied() {
                Some(i) => match &self.nodes[i].item {
                    Some(_) if v.is_null() => {}
                    Some(it) => match convert(&it.question, v) {
                        Ok(x) => answers[i] = Some(x),
                        Err(e) => problems.push(problem("answer", k, e)),
                    },
                    None => problems.push(problem("answer", k, "this is a section, not an item")),
                },
                None => problems.push(problem("answer", k, "no such item in this ruleset")),
            }
        }
        let mut photos = vec![0; self.nodes.len()];
        for (k, n) in &raw.photos {
            match by_path.get(k.as_str()) {
                Some(&i) => photos[i] = *n,
                None => problems.push(problem("photos", k, "no such item in this ruleset")),
            }
        }
        let mut events = Vec::new();
        for e in &raw.events {
            match (
                self.events.iter().position(|d| d.id == e.kind),
                date::parse(&e.date),
            ) {
                (Some(k), Some(d)) => events.push((k as u16, d, e.reference.clone())),
                (None, _) => problems.push(problem(
                    "event",
                    &e.kind,
                    "no such kind of event in this ruleset",
                )),
                (_, None) => problems.push(problem(
                    "event",
                    &e.kind,
                    format!("\"{}\" is not a date", e.date),
                )),
            }
        }
        events.sort_by_key(|e| e.1);
        Input {
            as_of,
            facts,
            answers,
            photos,
            events,
            problems,
        }
    }
}

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tri {
    /// Holds.
    Yes,
    /// Does not hold.
    No,
    /// Cannot be decided: something it reads is missing.
    Unknown,
}

/// What happened to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Scored (or, in a checklist, answered).
    Scored,
    /// Not applicable (不参与评分).
    NotApplicable,
    /// The answer is missing, so the item scores 0.
    Missing,
}

/// The result for one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOutcome {
    /// What happened.
    pub status: Status,
    /// Points (0 outside standards).
    pub points: Num,
    /// Whether its applicability depended on a missing value.
    pub condition_unknown: bool,
}

/// Grading status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradeStatus {
    /// A grade was reached.
    Graded,
    /// No grade's conditions hold.
    Ungraded,
    /// A veto makes the institution not eligible.
    Ineligible,
    /// A veto terminated the evaluation.
    Terminated,
    /// Not a standard.
    NotApplicable,
}

/// Credit result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreditOutcome {
    /// Score.
    pub score: Num,
    /// Level index.
    pub level: Option<u16>,
    /// Each input event's contribution (event index in `Input::events`, points counted, note).
    pub contributions: Vec<(usize, Num, Option<String>)>,
    /// Blacklist state.
    pub blacklisted: bool,
    /// Grounds in force: event indices.
    pub grounds: Vec<usize>,
    /// Listed since.
    pub since: Option<Date>,
    /// Earliest removal on application.
    pub earliest_removal: Option<Date>,
    /// Automatic end.
    pub ends: Option<Date>,
}

/// Sampling result for one institution.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamplingOutcome {
    /// Product of the weights that apply.
    pub weight: Num,
    /// Indices of the weights that apply.
    pub weights: Vec<usize>,
    /// Indices of always-draw rules that apply.
    pub always: Vec<usize>,
    /// Indices of coverage rules the institution counts towards.
    pub cover: Vec<usize>,
}

/// The full result of an evaluation, index-aligned with the compiled ruleset. Use
/// [`crate::report::report`] for the self-explaining JSON form.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Per node.
    pub nodes: Vec<NodeOutcome>,
    /// Let values.
    pub lets: Vec<Value>,
    /// Total points.
    pub total: Num,
    /// Grade reached on points and conditions, before vetoes.
    pub computed_grade: Option<u16>,
    /// Final grade.
    pub grade: Option<u16>,
    /// Status.
    pub status: GradeStatus,
    /// Each grade's conditions: (grade, condition, result).
    pub grade_checks: Vec<(u16, u16, Tri)>,
    /// Vetoes that apply.
    pub vetoes: Vec<u16>,
    /// Vetoes that cannot be decided because something is missing.
    pub undetermined_vetoes: Vec<u16>,
    /// Hazards found: (item, hazard).
    pub hazards: Vec<(u32, u16)>,
    /// Hazards undecided because the answer is missing.
    pub undetermined_hazards: Vec<(u32, u16)>,
    /// Evidence short: (item, needed, given).
    pub unmet_evidence: Vec<(u32, u32, u32)>,
    /// Input problems.
    pub problems: Vec<InputProblem>,
    /// Credit result.
    pub credit: Option<CreditOutcome>,
    /// Sampling result.
    pub sampling: Option<SamplingOutcome>,
}

struct Ev<'a> {
    c: &'a Compiled,
    input: &'a Input,
    nodes: Vec<NodeOutcome>,
    /// Whether each node is applicable (Yes/No/Unknown-treated-as-yes).
    applicable: Vec<Tri>,
    lets: Vec<Value>,
}

/// Evaluates `c` on `input`. Never fails: problems are reported in the outcome.
pub fn evaluate(c: &Compiled, input: &Input) -> Outcome {
    let mut ev = Ev {
        c,
        input,
        nodes: vec![
            NodeOutcome {
                status: Status::Scored,
                points: Num::ZERO,
                condition_unknown: false
            };
            c.nodes.len()
        ],
        applicable: vec![Tri::Yes; c.nodes.len()],
        lets: vec![Value::Unknown; c.lets.len()],
    };
    // Input bound to another ruleset must not index out of bounds: evaluate nothing instead.
    if input.answers.len() != c.nodes.len()
        || input.facts.len() != c.facts.len()
        || input.photos.len() != c.nodes.len()
    {
        let empty = Input {
            as_of: input.as_of,
            facts: vec![Value::Unknown; c.facts.len()],
            answers: vec![None; c.nodes.len()],
            photos: vec![0; c.nodes.len()],
            events: Vec::new(),
            problems: vec![problem(
                "input",
                "",
                "the input was bound to a different ruleset",
            )],
        };
        return evaluate(c, &empty);
    }
    for &step in &c.order {
        match step {
            Step::Let(i) => {
                ev.lets[i as usize] = ev.value(&c.lets[i as usize].expr, Value::Unknown)
            }
            Step::Enter(i) => ev.enter(i as usize),
            Step::Node(i) => ev.node(i as usize),
        }
    }
    ev.finish()
}

fn truth(v: Value) -> Tri {
    match v {
        Value::Bool(true) => Tri::Yes,
        Value::Bool(false) => Tri::No,
        _ => Tri::Unknown,
    }
}

impl Ev<'_> {
    fn answer(&self, i: usize) -> Value {
        if self.applicable[i] == Tri::No {
            return Value::Unknown;
        }
        self.input.answers[i].unwrap_or(Value::Unknown)
    }

    fn as_of(&self) -> Option<Date> {
        self.input.as_of
    }

    fn enter(&mut self, i: usize) {
        let parent_ok = self.c.nodes[i]
            .parent
            .is_none_or(|p| self.applicable[p as usize] != Tri::No);
        let own = match &self.c.nodes[i].when {
            Some(w) => truth(self.value(w, Value::Unknown)),
            None => Tri::Yes,
        };
        self.applicable[i] = if !parent_ok { Tri::No } else { own };
        self.nodes[i].condition_unknown = own == Tri::Unknown;
    }

    fn node(&mut self, i: usize) {
        let n = &self.c.nodes[i];
        let Some(item) = &n.item else {
            self.sum_section(i);
            return;
        };
        if n.when.is_some() {
            self.enter(i);
        } else if let Some(p) = n.parent {
            // No condition of its own: applicable exactly when its section is.
            self.applicable[i] = if self.applicable[p as usize] == Tri::No {
                Tri::No
            } else {
                Tri::Yes
            };
        }
        if self.applicable[i] == Tri::No {
            self.nodes[i].status = Status::NotApplicable;
            return;
        }
        let answer = self.input.answers[i];
        let Some(ans) = answer else {
            self.nodes[i].status = Status::Missing;
            return;
        };
        let max = n.max.unwrap_or(Num::ZERO);
        let pts = match &item.score {
            ScoreDef::None => Some(Num::ZERO),
            ScoreDef::YesNo => match ans {
                Value::Bool(true) => Some(max),
                Value::Bool(false) => Some(Num::ZERO),
                _ => None,
            },
            ScoreDef::Options => match ans {
                Value::Key(k) => item
                    .question
                    .options()
                    .get(k as usize)
                    .and_then(|o| o.points),
                _ => None,
            },
            ScoreDef::Expr { expr } => match self.value(expr, ans) {
                Value::Num(p) => Some(p),
                _ => None,
            },
            ScoreDef::Deduct { per, count } => match (self.value(per, ans), self.value(count, ans))
            {
                (Value::Num(p), Value::Num(k)) => Some(max.minus(p.times(k))),
                _ => None,
            },
        };
        match pts {
            Some(p) => self.nodes[i].points = p.clamp_to(Num::ZERO, max),
            // The score rule read something missing (another item, a fact).
            None => self.nodes[i].status = Status::Missing,
        }
    }

    fn sum_section(&mut self, i: usize) {
        let n = &self.c.nodes[i];
        if self.applicable[i] == Tri::No {
            self.nodes[i].status = Status::NotApplicable;
            return;
        }
        let policy = n.na_policy.unwrap_or(NaPolicy::Zero);
        let (mut pts, mut max_app) = (Num::ZERO, Num::ZERO);
        let mut any_applicable = false;
        for &ch in &n.children {
            let co = self.nodes[ch as usize];
            let cmax = self.c.nodes[ch as usize].max.unwrap_or(Num::ZERO);
            if co.status == Status::NotApplicable {
                match policy {
                    NaPolicy::Full => {
                        pts = pts.plus(cmax);
                        max_app = max_app.plus(cmax);
                    }
                    NaPolicy::Zero => max_app = max_app.plus(cmax),
                    NaPolicy::Rescale => {}
                }
            } else {
                any_applicable = true;
                pts = pts.plus(co.points);
                max_app = max_app.plus(cmax);
            }
        }
        if !any_applicable && !n.children.is_empty() && policy == NaPolicy::Rescale {
            self.nodes[i].status = Status::NotApplicable;
            return;
        }
        let max = n.max.unwrap_or(max_app);
        if policy == NaPolicy::Rescale && max_app > Num::ZERO && max_app < max {
            pts = pts.times(max).checked_div(max_app).unwrap_or(pts);
        }
        self.nodes[i].points = pts.clamp_to(Num::ZERO, max);
    }

    fn total(&self) -> Num {
        self.c
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent.is_none())
            .fold(Num::ZERO, |a, (i, _)| a.plus(self.nodes[i].points))
    }

    fn within(&self, kind: u16, d: Dur) -> Value {
        let Some(asof) = self.as_of() else {
            return Value::Unknown;
        };
        let from = date::shift(asof, -d.amount, d.unit);
        let n = self
            .input
            .events
            .iter()
            .filter(|e| e.0 == kind && e.1 > from && e.1 <= asof)
            .count();
        Value::Num(Num::int(n as i64))
    }

    /// Evaluates an expression; `cur` is the current item's answer inside aggregates.
    fn value(&self, e: &CExpr, cur: Value) -> Value {
        use Value as V;
        match e {
            CExpr::Lit(v) => *v,
            CExpr::Fact(i) => self.input.facts[*i as usize],
            CExpr::Let(i) => self.lets[*i as usize],
            CExpr::Answer(i) => self.answer(*i as usize),
            CExpr::Answered(i) => V::Bool(
                self.applicable[*i as usize] != Tri::No
                    && self.input.answers[*i as usize].is_some(),
            ),
            CExpr::Current => cur,
            CExpr::Points(i) => match self.nodes[*i as usize].status {
                Status::Missing if self.c.nodes[*i as usize].item.is_some() => V::Unknown,
                _ => V::Num(self.nodes[*i as usize].points),
            },
            CExpr::Total => V::Num(self.total()),
            CExpr::AsOf => self.as_of().map_or(V::Unknown, |d| V::Date(d.0)),
            CExpr::Not(x) => match self.value(x, cur) {
                V::Bool(b) => V::Bool(!b),
                _ => V::Unknown,
            },
            CExpr::Neg(x) => match self.value(x, cur) {
                V::Num(n) => V::Num(Num::ZERO.minus(n)),
                _ => V::Unknown,
            },
            CExpr::Bin(op, a, b) => self.binary(*op, a, b, cur),
            CExpr::If(c, a, b) => match self.value(c, cur) {
                V::Bool(true) => self.value(a, cur),
                V::Bool(false) => self.value(b, cur),
                _ => V::Unknown,
            },
            CExpr::Match(s, arms, def) => match self.value(s, cur) {
                V::Key(k) => arms
                    .iter()
                    .find(|(ks, _)| ks.contains(&k))
                    .map(|(_, v)| self.value(v, cur))
                    .or_else(|| def.as_ref().map(|d| self.value(d, cur)))
                    .unwrap_or(V::Unknown),
                _ => V::Unknown,
            },
            CExpr::Agg(f, items, body) => self.agg(*f, items, body),
            CExpr::Call(f, args) => self.call(*f, args, cur),
            CExpr::Within(k, d) => self.within(*k, *d),
        }
    }

    fn binary(&self, op: BinOp, a: &CExpr, b: &CExpr, cur: Value) -> Value {
        use Value as V;
        // Kleene logic: `no and unknown` is no, `yes or unknown` is yes.
        match op {
            BinOp::And => {
                return match (self.value(a, cur), self.value(b, cur)) {
                    (V::Bool(false), _) | (_, V::Bool(false)) => V::Bool(false),
                    (V::Bool(true), V::Bool(true)) => V::Bool(true),
                    _ => V::Unknown,
                };
            }
            BinOp::Or => {
                return match (self.value(a, cur), self.value(b, cur)) {
                    (V::Bool(true), _) | (_, V::Bool(true)) => V::Bool(true),
                    (V::Bool(false), V::Bool(false)) => V::Bool(false),
                    _ => V::Unknown,
                };
            }
            _ => {}
        }
        let (x, y) = (self.value(a, cur), self.value(b, cur));
        if matches!(x, V::Unknown) || matches!(y, V::Unknown) {
            return V::Unknown;
        }
        match (op, x, y) {
            (BinOp::Eq, x, y) => V::Bool(x == y),
            (BinOp::Ne, x, y) => V::Bool(x != y),
            (BinOp::Lt, V::Num(p), V::Num(q)) => V::Bool(p < q),
            (BinOp::Le, V::Num(p), V::Num(q)) => V::Bool(p <= q),
            (BinOp::Gt, V::Num(p), V::Num(q)) => V::Bool(p > q),
            (BinOp::Ge, V::Num(p), V::Num(q)) => V::Bool(p >= q),
            (BinOp::Lt, V::Date(p), V::Date(q)) => V::Bool(p < q),
            (BinOp::Le, V::Date(p), V::Date(q)) => V::Bool(p <= q),
            (BinOp::Gt, V::Date(p), V::Date(q)) => V::Bool(p > q),
            (BinOp::Ge, V::Date(p), V::Date(q)) => V::Bool(p >= q),
            (BinOp::Add, V::Num(p), V::Num(q)) => V::Num(p.plus(q)),
            (BinOp::Sub, V::Num(p), V::Num(q)) => V::Num(p.minus(q)),
            (BinOp::Mul, V::Num(p), V::Num(q)) => V::Num(p.times(q)),
            (BinOp::Div, V::Num(p), V::Num(q)) => p.checked_div(q).map_or(V::Unknown, V::Num),
            (BinOp::Add, V::Date(d), V::Dur(u)) | (BinOp::Add, V::Dur(u), V::Date(d)) => {
                V::Date(date::shift(Date(d), u.amount, u.unit).0)
            }
            (BinOp::Sub, V::Date(d), V::Dur(u)) => {
                V::Date(date::shift(Date(d), -u.amount, u.unit).0)
            }
            _ => V::Unknown,
        }
    }

    fn agg(&self, f: AggFn, items: &[u32], body: &CExpr) -> Value {
        let mut acc: Option<Num> = None;
        let mut unknown = false;
        for &it in items {
            if self.applicable[it as usize] == Tri::No {
                continue;
            }
            let cur = self.answer(it as usize);
            match (f, self.value(body, cur)) {
                (AggFn::Count, Value::Bool(b)) => {
                    acc = Some(
                        acc.unwrap_or(Num::ZERO)
                            .plus(if b { Num::ONE } else { Num::ZERO }),
                    )
                }
                (AggFn::Sum, Value::Num(n)) => acc = Some(acc.unwrap_or(Num::ZERO).plus(n)),
                (AggFn::Min, Value::Num(n)) => acc = Some(acc.map_or(n, |a| a.min(n))),
                (AggFn::Max, Value::Num(n)) => acc = Some(acc.map_or(n, |a| a.max(n))),
                _ => unknown = true,
            }
        }
        match (f, acc, unknown) {
            // A count is exact only when every member is known.
            (_, _, true) => Value::Unknown,
            (AggFn::Count | AggFn::Sum, None, false) => Value::Num(Num::ZERO),
            (_, Some(a), false) => Value::Num(a),
            (_, None, false) => Value::Unknown,
        }
    }

    fn call(&self, f: Func, args: &[CExpr], cur: Value) -> Value {
        use Value as V;
        let arg = |k: usize| args.get(k).map_or(V::Unknown, |a| self.value(a, cur));
        match f {
            Func::Min | Func::Max => {
                let mut acc: Option<Num> = None;
                for a in args {
                    match self.value(a, cur) {
                        V::Num(n) => {
                            acc =
                                Some(acc.map_or(n, |x| {
                                    if f == Func::Min { x.min(n) } else { x.max(n) }
                                }))
                        }
                        _ => return V::Unknown,
                    }
                }
                acc.map_or(V::Unknown, V::Num)
            }
            Func::Abs => match arg(0) {
                V::Num(n) => V::Num(if n < Num::ZERO { Num::ZERO.minus(n) } else { n }),
                _ => V::Unknown,
            },
            Func::Floor => match arg(0) {
                V::Num(n) => {
                    let t = Num::int(n.trunc_int());
                    V::Num(if t > n { t.minus(Num::ONE) } else { t })
                }
                _ => V::Unknown,
            },
            Func::YearsSince | Func::DaysSince => match (arg(0), self.as_of()) {
                (V::Date(d), Some(asof)) => {
                    if f == Func::DaysSince {
                        return V::Num(Num::int(i64::from(asof.0 - d)));
                    }
                    let (y1, m1, d1) = date::to_ymd(Date(d));
                    let (y2, m2, d2) = date::to_ymd(asof);
                    let years = y2 - y1 - i32::from((m2, d2) < (m1, d1));
                    V::Num(Num::int(i64::from(years)))
                }
                _ => V::Unknown,
            },
            Func::Has => match (arg(0), arg(1)) {
                (V::Set(s), V::Key(k)) => V::Bool(s & (1 << k) != 0),
                _ => V::Unknown,
            },
            Func::Selected | Func::Unselected => match (arg(0), arg(1)) {
                (V::Set(s), V::Num(n)) => {
                    let chosen = Num::int(i64::from(s.count_ones()));
                    V::Num(if f == Func::Selected {
                        chosen
                    } else {
                        n.minus(chosen)
                    })
                }
                _ => V::Unknown,
            },
            Func::Within => V::Unknown,
        }
    }

    fn finish(self) -> Outcome {
        let c = self.c;
        let mut hazards = Vec::new();
        let mut undetermined_hazards = Vec::new();
        let mut unmet_evidence = Vec::new();
        for (i, n) in c.nodes.iter().enumerate() {
            let Some(item) = &n.item else { continue };
            if (item.hazards.is_empty() && item.evidence.is_none())
                || self.applicable.get(i) == Some(&Tri::No)
            {
                continue;
            }
            let ans = self.answer(i);
            for (h, hd) in item.hazards.iter().enumerate() {
                match hd
                    .when
                    .as_ref()
                    .map_or(Tri::No, |w| truth(self.value(w, ans)))
                {
                    Tri::Yes => hazards.push((i as u32, h as u16)),
                    Tri::Unknown => undetermined_hazards.push((i as u32, h as u16)),
                    Tri::No => {}
                }
            }
            if let Some(ev) = &item.evidence {
                let needed = match &ev.when {
                    Some(w) => truth(self.value(w, ans)) == Tri::Yes,
                    None => self.input.answers[i].is_some(),
                };
                let got = self.input.photos[i];
                if needed && got < ev.min {
                    unmet_evidence.push((i as u32, ev.min, got));
                }
            }
        }
        let total = self.total();
        let mut o = Outcome {
            total,
            computed_grade: None,
            grade: None,
            status: if c.kind == RulesetKind::Standard {
                GradeStatus::Ungraded
            } else {
                GradeStatus::NotApplicable
            },
            grade_checks: Vec::new(),
            vetoes: Vec::new(),
            undetermined_vetoes: Vec::new(),
            hazards,
            undetermined_hazards,
            unmet_evidence,
            problems: self.input.problems.clone(),
            credit: None,
            sampling: None,
            nodes: Vec::new(),
            lets: Vec::new(),
        };
        if c.kind == RulesetKind::Standard {
            self.grade(&mut o);
        }
        if let Some(cd) = &c.credit {
            o.credit = Some(self.credit(cd, &mut o.problems));
        }
        if let Some(sp) = &c.sampling {
            let mut s = SamplingOutcome {
                weight: Num::ONE,
                weights: Vec::new(),
                always: Vec::new(),
                cover: Vec::new(),
            };
            for (k, w) in sp.weights.iter().enumerate() {
                if truth(self.value(&w.when, Value::Unknown)) == Tri::Yes {
                    s.weight = s.weight.times(w.factor);
                    s.weights.push(k);
                }
            }
            for (k, (_, w)) in sp.always.iter().enumerate() {
                if truth(self.value(w, Value::Unknown)) == Tri::Yes {
                    s.always.push(k);
                }
            }
            for (k, cv) in sp.cover.iter().enumerate() {
                if truth(self.value(&cv.when, Value::Unknown)) == Tri::Yes {
                    s.cover.push(k);
                }
            }
            o.sampling = Some(s);
        }
        o.nodes = self.nodes;
        o.lets = self.lets;
        o
    }

    fn grade(&self, o: &mut Outcome) {
        let c = self.c;
        for (g, gd) in c.grades.iter().enumerate() {
            let mut all = true;
            for (k, cond) in gd.conds.iter().enumerate() {
                let r = match cond {
                    GradeCondDef::Total { min } => {
                        if o.total >= *min {
                            Tri::Yes
                        } else {
                            Tri::No
                        }
                    }
                    GradeCondDef::Part { part, min, .. } => {
                        if self.nodes[*part as usize].points >= *min {
                            Tri::Yes
                        } else {
                            Tri::No
                        }
                    }
                    GradeCondDef::Require { expr, .. } => truth(self.value(expr, Value::Unknown)),
                };
                all &= r == Tri::Yes;
                o.grade_checks.push((g as u16, k as u16, r));
            }
            if all {
                o.computed_grade = Some(g as u16);
            }
        }
        let mut grade = o.computed_grade;
        let mut status = if grade.is_some() {
            GradeStatus::Graded
        } else {
            GradeStatus::Ungraded
        };
        for (v, vd) in c.vetoes.iter().enumerate() {
            match truth(self.value(&vd.when, Value::Unknown)) {
                Tri::Yes => {
                    o.vetoes.push(v as u16);
                    match vd.effect {
                        Effect::Ineligible => status = GradeStatus::Ineligible,
                        Effect::Terminate if status != GradeStatus::Ineligible => {
                            status = GradeStatus::Terminated
                        }
                        Effect::Terminate => {}
                        Effect::Cap(cap) => grade = grade.map(|g| g.min(cap)),
                    }
                }
                Tri::Unknown => o.undetermined_vetoes.push(v as u16),
                Tri::No => {}
            }
        }
        if matches!(status, GradeStatus::Ineligible | GradeStatus::Terminated) {
            grade = None;
        }
        o.grade = grade;
        o.status = status;
    }

    fn credit(&self, cd: &CreditDef, problems: &mut Vec<InputProblem>) -> CreditOutcome {
        let c = self.c;
        let events = &self.input.events;
        let as_of = match self.as_of() {
            Some(d) => d,
            None => {
                problems.push(problem(
                    "as_of",
                    "",
                    "a credit evaluation needs an as_of date; the latest event's date was used",
                ));
                events.last().map_or(Date(0), |e| e.1)
            }
        };
        let mut score = cd.base;
        let mut contributions = Vec::new();
        // Points per (kind, window number) so far, for caps.
        let mut window_sums: BTreeMap<(u16, i64), Num> = BTreeMap::new();
        for (idx, (kind, d, _)) in events.iter().enumerate().rev() {
            let def = &c.events[*kind as usize];
            let Some(points) = def.points else { continue };
            if *d > as_of {
                contributions.push((idx, Num::ZERO, Some("dated after as_of".to_string())));
                continue;
            }
            if let Some(exp) = def.expires
                && *d <= date::shift(as_of, -exp.amount, exp.unit)
            {
                contributions.push((idx, Num::ZERO, Some("expired".to_string())));
                continue;
            }
            let mut counted = points;
            let mut note = None;
            if let Some((cap, w)) = def.cap {
                // Windows count back from as_of: window 0 is (as_of − w, as_of].
                let mut k = 0i64;
                while *d <= date::shift(as_of, -(k + 1) * w.amount, w.unit) && k < 1000 {
                    k += 1;
                }
                let sum = window_sums.entry((*kind, k)).or_insert(Num::ZERO);
                let room = cap.minus(*sum);
                let capped = if cap < Num::ZERO {
                    counted.max(room.min(Num::ZERO))
                } else {
                    counted.min(room.max(Num::ZERO))
                };
                if capped != counted {
                    note = Some(format!("capped at {cap} per window"));
                }
                counted = capped;
                *sum = sum.plus(counted);
            }
            score = score.plus(counted);
            contributions.push((idx, counted, note));
        }
        contributions.reverse();
        let level = cd
            .levels
            .iter()
            .position(|l| l.from.is_none_or(|f| score >= f))
            .map(|p| p as u16);
        // Blacklist: grounds in force, minus those repaired after the earliest removal date.
        let bl = cd.blacklist.as_ref();
        let mut grounds = Vec::new();
        for (idx, (kind, d, _)) in events.iter().enumerate() {
            if !c.events[*kind as usize].blacklist || *d > as_of {
                continue;
            }
            if let Some(mx) = bl.and_then(|b| b.max)
                && as_of >= date::shift(*d, mx.amount, mx.unit)
            {
                continue;
            }
            let earliest = bl
                .and_then(|b| b.min)
                .map_or(*d, |mn| date::shift(*d, mn.amount, mn.unit));
            let repaired = events.iter().any(|(k2, d2, _)| {
                c.events[*k2 as usize].repair && *d2 >= earliest && *d2 >= *d && *d2 <= as_of
            });
            if !repaired {
                grounds.push(idx);
            }
        }
        let since = grounds.iter().map(|&g| events[g].1).min();
        let latest = grounds.iter().map(|&g| events[g].1).max();
        let shift = |d: Option<Date>, dur: Option<Dur>| -> Option<Date> {
            match (d, dur) {
                (Some(d), Some(u)) => Some(date::shift(d, u.amount, u.unit)),
                _ => None,
            }
        };
        CreditOutcome {
            score,
            level,
            contributions,
            blacklisted: !grounds.is_empty(),
            earliest_removal: shift(since, bl.and_then(|b| b.min)),
            ends: shift(latest, bl.and_then(|b| b.max)),
            since,
            grounds,
        }
    }
}

/// Number of days a duration spans from `from` (for deadlines in the API).
pub fn add_days(from: Date, days: i64) -> Date {
    date::shift(from, days, DurationUnit::Days)
}
