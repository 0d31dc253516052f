//! The compiled form of a ruleset: flat, names resolved, serde-serialisable. Phones download it
//! as JSON; the server evaluates it. Every node, fact and event is addressed by index.

use crate::ast::{AggFn, BinOp, DurationUnit, HazardLevel, Method, NaPolicy, RulesetKind};
use crate::num::Num;
use serde::{Deserialize, Serialize};

/// Version of this serialised layout; bumped on incompatible changes.
pub const FORMAT: u32 = 1;

/// The engine that compiled and evaluates rulesets; stored with every outcome.
pub const ENGINE: &str = concat!("caregrade-dsl ", env!("CARGO_PKG_VERSION"));

/// A checked, compiled ruleset (possibly a composition of layers).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Compiled {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// Engine that compiled it ([`ENGINE`]).
    pub engine: String,
    /// SHA-256 (hex) of the canonical source of every layer, base first.
    pub hash: String,
    /// Id of the top layer.
    pub id: String,
    /// Kind.
    pub kind: RulesetKind,
    /// Title of the top layer.
    pub title: String,
    /// Version of the top layer.
    pub version: String,
    /// Source citation of the top layer.
    pub source: String,
    /// The layers, base first.
    pub layers: Vec<Layer>,
    /// Declared facts.
    pub facts: Vec<FactDef>,
    /// Computed values.
    pub lets: Vec<LetDef>,
    /// Kinds of dated events.
    pub events: Vec<EventDef>,
    /// Parts, groups and items, in pre-order.
    pub nodes: Vec<NodeDef>,
    /// Evaluation order (dependencies first).
    pub order: Vec<Step>,
    /// Vetoes.
    pub vetoes: Vec<VetoDef>,
    /// Grades, lowest first.
    pub grades: Vec<GradeDef>,
    /// Which layer the grades come from.
    pub grades_origin: String,
    /// Sum of the parts' maxima.
    pub max_total: Num,
    /// Credit policy (credit rulesets).
    pub credit: Option<CreditDef>,
    /// Sampling policy (sampling rulesets).
    pub sampling: Option<SamplingDef>,
}

/// One layer of a composition.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Layer {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Version.
    pub version: String,
    /// SHA-256 of this layer's canonical source.
    pub hash: String,
}

/// A value type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Type {
    /// yes/no.
    YesNo,
    /// One of the options.
    Choice {
        /// Options.
        options: Vec<OptionDef>,
    },
    /// Any subset of the options.
    Multi {
        /// Options.
        options: Vec<OptionDef>,
    },
    /// A number.
    Number {
        /// Unit.
        unit: Option<String>,
        /// Lower bound.
        min: Option<Num>,
        /// Upper bound.
        max: Option<Num>,
    },
    /// A whole count.
    Count {
        /// Lower bound.
        min: Option<Num>,
        /// Upper bound.
        max: Option<Num>,
    },
    /// A date.
    Date,
    /// Free text.
    Text,
}

impl Type {
    /// The options of a choice or multi type.
    pub fn options(&self) -> &[OptionDef] {
        match self {
            Type::Choice { options } | Type::Multi { options } => options,
            _ => &[],
        }
    }

    /// A short name for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Type::YesNo => "yes/no",
            Type::Choice { .. } => "a choice",
            Type::Multi { .. } => "a multiple choice",
            Type::Number { .. } => "a number",
            Type::Count { .. } => "a count",
            Type::Date => "a date",
            Type::Text => "text",
        }
    }
}

/// A keyed option.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionDef {
    /// Key.
    pub key: String,
    /// Label.
    pub title: String,
    /// Points when chosen.
    pub points: Option<Num>,
}

/// A declared fact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FactDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Type.
    #[serde(flatten)]
    pub ty: Type,
}

/// A computed value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LetDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Definition.
    pub expr: CExpr,
}

/// A duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dur {
    /// Amount.
    pub amount: i64,
    /// Unit.
    pub unit: DurationUnit,
}

/// A kind of dated event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Clause.
    pub clause: Option<String>,
    /// Credit points per event.
    pub points: Option<Num>,
    /// Cap of the points per window.
    pub cap: Option<(Num, Dur)>,
    /// How long an event counts.
    pub expires: Option<Dur>,
    /// A ground for the blacklist.
    pub blacklist: bool,
    /// A credit repair (removal from the blacklist).
    pub repair: bool,
}

/// Part, group or item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Top-level section.
    Part,
    /// Nested section.
    Group,
    /// Check item.
    Item,
}

/// A part, group or item.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeDef {
    /// Dotted id.
    pub path: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: NodeKind,
    /// Parent index.
    pub parent: Option<u32>,
    /// Children indices.
    pub children: Vec<u32>,
    /// Maximum points (standards).
    pub max: Option<Num>,
    /// Clause cited.
    pub clause: Option<String>,
    /// Applicability condition.
    pub when: Option<CExpr>,
    /// How this section's total treats not-applicable children.
    pub na_policy: Option<NaPolicy>,
    /// Layer that declared it.
    pub origin: String,
    /// Fields a later layer replaced, as `field (layer, was …)`.
    pub overrides: Vec<String>,
    /// Item details.
    pub item: Option<ItemDef>,
}

/// Item details.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ItemDef {
    /// The question.
    pub question: Type,
    /// How points are computed.
    pub score: ScoreDef,
    /// Evidence methods.
    pub methods: Vec<Method>,
    /// Why it is local, when it is.
    pub local: Option<String>,
    /// Photo requirement.
    pub evidence: Option<EvidenceDef>,
    /// Hazards.
    pub hazards: Vec<HazardDef>,
}

/// How an item's points are computed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "lowercase")]
pub enum ScoreDef {
    /// Not scored (checklists).
    None,
    /// yes → max, no → 0.
    YesNo,
    /// The chosen option's points.
    Options,
    /// An expression, clamped to [0, max].
    Expr {
        /// The expression.
        expr: CExpr,
    },
    /// max − per × count, floor 0.
    Deduct {
        /// Points per occurrence.
        per: CExpr,
        /// Occurrences.
        count: CExpr,
    },
}

/// A photo requirement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvidenceDef {
    /// Minimum photos.
    pub min: u32,
    /// Only when this holds.
    pub when: Option<CExpr>,
}

/// A hazard rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HazardDef {
    /// Id, unique within the item.
    pub id: String,
    /// Level.
    pub level: HazardLevel,
    /// To be settled by experts.
    pub pending: bool,
    /// Description.
    pub title: String,
    /// Condition.
    pub when: Option<CExpr>,
    /// 整改措施.
    pub measure: String,
    /// 整改期限 in days (0 = immediately).
    pub deadline_days: i64,
    /// 主体责任 role.
    pub party: String,
    /// 监管责任 department.
    pub department: String,
    /// Category.
    pub category: Option<String>,
    /// Legal basis.
    pub basis: Option<String>,
    /// Immediate measures.
    pub immediate: Option<String>,
    /// Finer level.
    pub tag: Option<String>,
    /// Fields a later layer replaced.
    pub overrides: Vec<String>,
}

/// What a veto does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", content = "grade", rename_all = "lowercase")]
pub enum Effect {
    /// Not gradable.
    Ineligible,
    /// Evaluation terminated.
    Terminate,
    /// Grade capped at this grade index.
    Cap(u16),
}

/// A veto.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VetoDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Clause.
    pub clause: Option<String>,
    /// Condition.
    pub when: CExpr,
    /// Effect.
    pub effect: Effect,
    /// Layer that declared it.
    pub origin: String,
}

/// A grade.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GradeDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Conditions.
    pub conds: Vec<GradeCondDef>,
}

/// A grade condition.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "cond", rename_all = "snake_case")]
pub enum GradeCondDef {
    /// Total ≥ min.
    Total {
        /// Threshold.
        min: Num,
    },
    /// A part's points ≥ min (absolute, already computed from a percentage).
    Part {
        /// Part node index.
        part: u32,
        /// Threshold.
        min: Num,
        /// The percentage written, if any.
        percent: Option<Num>,
    },
    /// A condition on facts.
    Require {
        /// Condition.
        expr: CExpr,
        /// What it means.
        label: String,
    },
}

/// Credit policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreditDef {
    /// Starting score.
    pub base: Num,
    /// Levels, highest first; the last may have no threshold.
    pub levels: Vec<LevelDef>,
    /// Blacklist rule.
    pub blacklist: Option<BlacklistDef>,
}

/// A credit level.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelDef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Lower bound; `None` = otherwise.
    pub from: Option<Num>,
}

/// The blacklist rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlacklistDef {
    /// Clause.
    pub clause: Option<String>,
    /// Earliest removal on application.
    pub min: Option<Dur>,
    /// Automatic end.
    pub max: Option<Dur>,
}

/// Sampling policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamplingDef {
    /// Base ratio (0–1).
    pub ratio: Num,
    /// Risk weights, multiplied together.
    pub weights: Vec<WeightDef>,
    /// Team size bounds.
    pub team_min: u32,
    /// Team size bounds.
    pub team_max: u32,
    /// Recusal rules.
    pub recuse: Vec<String>,
    /// Always drawn when the condition holds.
    pub always: Vec<(String, CExpr)>,
    /// Minimum coverage rules.
    pub cover: Vec<CoverDef>,
}

/// A risk weight.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WeightDef {
    /// Factor.
    pub factor: Num,
    /// What it is for.
    pub title: String,
    /// When it applies.
    pub when: CExpr,
}

/// A minimum-coverage rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverDef {
    /// Share of the matching institutions to check per year.
    pub share: Num,
    /// What it is for.
    pub title: String,
    /// Which institutions.
    pub when: CExpr,
}

/// One evaluation step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", content = "index", rename_all = "lowercase")]
pub enum Step {
    /// Compute a let.
    Let(u32),
    /// Decide a section's applicability (before its children).
    Enter(u32),
    /// Score an item, or sum a section (after its children).
    Node(u32),
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// Smallest argument.
    Min,
    /// Largest argument.
    Max,
    /// Absolute value.
    Abs,
    /// Round down to an integer.
    Floor,
    /// Number of events of a kind within a look-back window.
    Within,
    /// Whole years from a date to `as_of`.
    YearsSince,
    /// Days from a date to `as_of`.
    DaysSince,
    /// Whether a multiple choice includes a key.
    Has,
    /// Number of options chosen.
    Selected,
    /// Number of options not chosen.
    Unselected,
}

/// A runtime value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "lowercase")]
pub enum Value {
    /// Not known (missing answer or fact, division by zero).
    Unknown,
    /// yes/no.
    Bool(bool),
    /// A number.
    Num(Num),
    /// A choice key index.
    Key(u16),
    /// A set of key indices (bit i = option i).
    Set(u64),
    /// A date (days since 1970-01-01).
    Date(i32),
    /// A duration.
    Dur(Dur),
    /// Text is present (its content never enters expressions).
    Text,
}

/// A compiled expression: names resolved to indices.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CExpr {
    /// Constant.
    Lit(Value),
    /// Fact by index.
    Fact(u16),
    /// Let by index.
    Let(u16),
    /// An item's answer.
    Answer(u32),
    /// Whether an item has an answer.
    Answered(u32),
    /// The current item's answer inside an aggregate.
    Current,
    /// Points of a node.
    Points(u32),
    /// Total points.
    Total,
    /// Evaluation date.
    AsOf,
    /// Negation.
    Not(Box<CExpr>),
    /// Arithmetic negation.
    Neg(Box<CExpr>),
    /// Binary operation.
    Bin(BinOp, Box<CExpr>, Box<CExpr>),
    /// Conditional.
    If(Box<CExpr>, Box<CExpr>, Box<CExpr>),
    /// Match on a choice; arms of key indices, then the default.
    Match(Box<CExpr>, Vec<(Vec<u16>, CExpr)>, Option<Box<CExpr>>),
    /// Aggregate over items (the body reads [`CExpr::Current`]).
    Agg(AggFn, Vec<u32>, Box<CExpr>),
    /// Built-in call; `Within` takes an event index literal as first argument.
    Call(Func, Vec<CExpr>),
    /// Event count within a window.
    Within(u16, Dur),
}

impl Compiled {
    /// Checks that every index in this compiled form is in range, so that evaluating a form read
    /// back from storage or the network cannot panic. Forms produced by the compiler always pass.
    pub fn validate(&self) -> Result<(), String> {
        let nodes = self.nodes.len();
        let node = |i: u32, what: &str| {
            if (i as usize) < nodes {
                Ok(())
            } else {
                Err(format!("{what} refers to node {i} of {nodes}"))
            }
        };
        for (k, n) in self.nodes.iter().enumerate() {
            if let Some(p) = n.parent {
                node(p, "a parent")?;
            }
            for &c in &n.children {
                node(c, "a child")?;
            }
            if let Some(w) = &n.when {
                self.check_expr(w)?;
            }
            if let Some(it) = &n.item {
                match &it.score {
                    ScoreDef::Expr { expr } => self.check_expr(expr)?,
                    ScoreDef::Deduct { per, count } => {
                        self.check_expr(per)?;
                        self.check_expr(count)?;
                    }
                    _ => {}
                }
                if let Some(e) = it.evidence.as_ref().and_then(|e| e.when.as_ref()) {
                    self.check_expr(e)?;
                }
                for h in &it.hazards {
                    if let Some(w) = &h.when {
                        self.check_expr(w)?;
                    }
                }
                if it.question.options().len() > 64 {
                    return Err(format!("node {k} has more than 64 options"));
                }
            }
        }
        for s in &self.order {
            match *s {
                Step::Let(i) if (i as usize) >= self.lets.len() => {
                    return Err(format!("step refers to let {i}"));
                }
                Step::Enter(i) | Step::Node(i) => node(i, "a step")?,
                _ => {}
            }
        }
        for l in &self.lets {
            self.check_expr(&l.expr)?;
        }
        for v in &self.vetoes {
            self.check_expr(&v.when)?;
            if let Effect::Cap(g) = v.effect
                && g as usize >= self.grades.len()
            {
                return Err(format!(
                    "veto {} caps at grade {g} of {}",
                    v.id,
                    self.grades.len()
                ));
            }
        }
        for g in &self.grades {
            for c in &g.conds {
                match c {
                    GradeCondDef::Part { part, .. } => node(*part, "a grade condition")?,
                    GradeCondDef::Require { expr, .. } => self.check_expr(expr)?,
                    GradeCondDef::Total { .. } => {}
                }
            }
        }
        if let Some(sp) = &self.sampling {
            for w in &sp.weights {
                self.check_expr(&w.when)?;
            }
            for (_, e) in &sp.always {
                self.check_expr(e)?;
            }
            for c in &sp.cover {
                self.check_expr(&c.when)?;
            }
        }
        Ok(())
    }

    fn check_expr(&self, e: &CExpr) -> Result<(), String> {
        let nodes = self.nodes.len() as u32;
        let bad = |what: &str, i: u32, n: usize| {
            Err(format!("an expression refers to {what} {i} of {n}"))
        };
        match e {
            CExpr::Fact(i) if *i as usize >= self.facts.len() => {
                bad("fact", u32::from(*i), self.facts.len())
            }
            CExpr::Let(i) if *i as usize >= self.lets.len() => {
                bad("let", u32::from(*i), self.lets.len())
            }
            CExpr::Answer(i) | CExpr::Answered(i) | CExpr::Points(i) if *i >= nodes => {
                bad("node", *i, nodes as usize)
            }
            CExpr::Within(k, _) if *k as usize >= self.events.len() => {
                bad("event", u32::from(*k), self.events.len())
            }
            CExpr::Not(x) | CExpr::Neg(x) => self.check_expr(x),
            CExpr::Bin(_, a, b) => {
                self.check_expr(a)?;
                self.check_expr(b)
            }
            CExpr::If(a, b, c) => {
                self.check_expr(a)?;
                self.check_expr(b)?;
                self.check_expr(c)
            }
            CExpr::Match(s, arms, d) => {
                self.check_expr(s)?;
                for (_, v) in arms {
                    self.check_expr(v)?;
                }
                d.as_ref().map_or(Ok(()), |d| self.check_expr(d))
            }
            CExpr::Agg(_, items, body) => {
                if let Some(i) = items.iter().find(|&&i| i >= nodes) {
                    return bad("node", *i, nodes as usize);
                }
                self.check_expr(body)
            }
            CExpr::Call(_, args) => args.iter().try_for_each(|a| self.check_expr(a)),
            _ => Ok(()),
        }
    }
}
