//! The spanned syntax tree of one rules file, as written (before names are resolved).

use crate::diag::Span;
use crate::num::Num;

/// A name with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The text.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// A string literal with the place it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The unescaped text.
    pub text: String,
    /// Where (including quotes).
    pub span: Span,
}

/// A number literal with its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumLit {
    /// The value.
    pub value: Num,
    /// Whether it was written as a percentage (`40%` is 0.4).
    pub percent: bool,
    /// Where.
    pub span: Span,
}

/// The four kinds of ruleset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RulesetKind {
    /// A grading standard with points and grades.
    Standard,
    /// An inspection checklist with hazards.
    Checklist,
    /// A credit policy.
    Credit,
    /// A spot-check sampling policy.
    Sampling,
}

impl RulesetKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RulesetKind::Standard => "standard",
            RulesetKind::Checklist => "checklist",
            RulesetKind::Credit => "credit",
            RulesetKind::Sampling => "sampling",
        }
    }
}

/// A whole file: one ruleset.
#[derive(Clone, Debug)]
pub struct Ruleset {
    /// Its kind.
    pub kind: RulesetKind,
    /// Where the kind keyword is.
    pub kind_span: Span,
    /// Stable id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// The ruleset this one refines.
    pub extends: Option<Name>,
    /// Statements in source order.
    pub body: Vec<Stmt>,
}

/// A ruleset-level statement.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `version "…"`
    Version(Text),
    /// `source "…"`
    Source(Text),
    /// `max N`: the declared maximum total, which the parts must add up to.
    Max(NumLit),
    /// `facts { … }`
    Facts(Vec<FactDecl>, Span),
    /// `let x "…" = expr`
    Let(LetDecl),
    /// `event x "…" { … }`
    Event(EventDecl),
    /// `if_not_applicable …` at ruleset level.
    NaPolicy(NaPolicy, Span),
    /// A part.
    Part(Section),
    /// A veto.
    Veto(Veto),
    /// `grades { … }`
    Grades(Vec<Grade>, Span),
    /// `override path { … }`
    Override(Override),
    /// `extend path { … }`
    Extend(Extend),
    /// `base N` (credit).
    Base(NumLit),
    /// `levels { … }` (credit).
    Levels(Vec<Level>, Span),
    /// `blacklist { … }` (credit).
    Blacklist(Blacklist),
    /// `ratio N%` (sampling).
    Ratio(NumLit),
    /// `weight N "…" when expr` (sampling).
    Weight(NumLit, Text, Expr),
    /// `team N..M` (sampling).
    Team(NumLit, NumLit),
    /// `recuse …` (sampling).
    Recuse(Vec<Name>),
    /// `always "…" when expr` (sampling).
    Always(Text, Expr),
    /// `cover N% "…" when expr` (sampling).
    Cover(NumLit, Text, Expr),
    /// `test "…" { … }`
    Test(TestCase),
}

/// A declared fact about the institution.
#[derive(Clone, Debug)]
pub struct FactDecl {
    /// Id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Type.
    pub ty: TypeDecl,
}

/// A computed value.
#[derive(Clone, Debug)]
pub struct LetDecl {
    /// Id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Definition.
    pub expr: Expr,
}

/// A kind of dated event.
#[derive(Clone, Debug)]
pub struct EventDecl {
    /// Id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Clause cited.
    pub clause: Option<Text>,
    /// Credit points per event.
    pub points: Option<NumLit>,
    /// Cap per window.
    pub cap: Option<(NumLit, Duration)>,
    /// How long an event counts.
    pub expires: Option<Duration>,
    /// Whether the event is a ground for the blacklist.
    pub blacklist: Option<Span>,
    /// Whether the event is a credit repair (removal from the blacklist).
    pub repair: Option<Span>,
    /// Whole declaration.
    pub span: Span,
}

/// A length of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    /// How many units.
    pub amount: i64,
    /// Which unit.
    pub unit: DurationUnit,
    /// Where.
    pub span: Span,
}

/// Units of [`Duration`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurationUnit {
    /// Calendar days.
    Days,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

/// A declared type of a fact or a question.
#[derive(Clone, Debug)]
pub enum TypeDecl {
    /// 是/否.
    YesNo(Span),
    /// One of several keyed options.
    Choice(Vec<OptionDecl>, Span),
    /// Any subset of keyed options.
    Multi(Vec<OptionDecl>, Span),
    /// A measured number.
    Number {
        /// Unit of measure.
        unit: Option<Text>,
        /// Allowed range (lower bound, optional upper bound).
        range: Option<(NumLit, Option<NumLit>)>,
        /// Where.
        span: Span,
    },
    /// A whole count.
    Count {
        /// Allowed range (lower bound, optional upper bound).
        range: Option<(NumLit, Option<NumLit>)>,
        /// Where.
        span: Span,
    },
    /// A calendar date.
    Date(Span),
    /// Free text.
    Text(Span),
}

impl TypeDecl {
    /// Where the type is written.
    pub fn span(&self) -> Span {
        match self {
            TypeDecl::YesNo(s)
            | TypeDecl::Choice(_, s)
            | TypeDecl::Multi(_, s)
            | TypeDecl::Date(s)
            | TypeDecl::Text(s) => *s,
            TypeDecl::Number { span, .. } | TypeDecl::Count { span, .. } => *span,
        }
    }
}

/// One keyed option of a choice.
#[derive(Clone, Debug)]
pub struct OptionDecl {
    /// Key.
    pub key: Name,
    /// Label.
    pub title: Text,
    /// Points when chosen.
    pub points: Option<NumLit>,
}

/// How a section's total is adjusted for children that are not applicable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NaPolicy {
    /// Scale the applicable children's points up to the section's full max.
    Rescale,
    /// Count a not-applicable child as full marks.
    Full,
    /// Count a not-applicable child as zero.
    Zero,
}

/// A part or group.
#[derive(Clone, Debug)]
pub struct Section {
    /// `part` (top level) or `group`.
    pub is_part: bool,
    /// Id (one segment).
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Maximum points.
    pub max: Option<NumLit>,
    /// Clause cited.
    pub clause: Option<Text>,
    /// Only applicable when this holds.
    pub when: Option<Expr>,
    /// Adjustment for not-applicable children.
    pub na_policy: Option<(NaPolicy, Span)>,
    /// Children, in order.
    pub children: Vec<Node>,
    /// The header (keyword to title).
    pub span: Span,
}

/// A child of a section.
// Syntax trees are built once per check; boxing groups would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Node {
    /// A nested group.
    Group(Section),
    /// An item.
    Item(Item),
}

/// How evidence is gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// 现场查看.
    Site,
    /// 查阅资料.
    Records,
    /// 询问.
    Interview,
    /// 测量.
    Measure,
}

/// One check item with its question.
#[derive(Clone, Debug)]
pub struct Item {
    /// Id (one segment).
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Maximum points.
    pub max: Option<NumLit>,
    /// Clause cited.
    pub clause: Option<Text>,
    /// Evidence methods.
    pub methods: Vec<Method>,
    /// Why it is local, when it is not national wording.
    pub local: Option<Text>,
    /// The question.
    pub ask: Option<TypeDecl>,
    /// Only asked when this holds.
    pub when: Option<Expr>,
    /// How points are computed.
    pub score: Option<ScoreRule>,
    /// Photo evidence required.
    pub evidence: Option<Evidence>,
    /// Hazards this item can reveal.
    pub hazards: Vec<Hazard>,
    /// The header.
    pub span: Span,
}

/// How an item's points are computed.
#[derive(Clone, Debug)]
pub enum ScoreRule {
    /// `score expr`
    Expr(Expr),
    /// `deduct per per count`: max − per × count, floor 0.
    Deduct(Expr, Expr),
}

/// A photo requirement.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// Minimum number of photos.
    pub min: NumLit,
    /// Only required when this holds.
    pub when: Option<Expr>,
    /// Where.
    pub span: Span,
}

/// `general` or `major`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HazardLevel {
    /// 一般隐患.
    General,
    /// 重大隐患.
    Major,
}

/// A hazard an item can reveal.
#[derive(Clone, Debug)]
pub struct Hazard {
    /// Id, unique within the item.
    pub id: Name,
    /// Level.
    pub level: HazardLevel,
    /// 待专家认定: to be settled by experts.
    pub pending: bool,
    /// Description.
    pub title: Text,
    /// Condition (on the item's answer).
    pub when: Option<Expr>,
    /// 整改措施.
    pub measure: Option<Text>,
    /// Deadline in days; 0 = immediately.
    pub deadline: Option<(i64, Span)>,
    /// 主体责任: the institution role.
    pub party: Option<Name>,
    /// 监管责任: the supervising department.
    pub department: Option<Name>,
    /// Category (fire, food, …).
    pub category: Option<Name>,
    /// Legal basis.
    pub basis: Option<Text>,
    /// Immediate measures for a major hazard.
    pub immediate: Option<Text>,
    /// Finer level (colour or A/B/C), metadata only.
    pub tag: Option<Text>,
    /// The header.
    pub span: Span,
}

/// What a veto does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VetoEffect {
    /// 不予评定: not gradable at all.
    Ineligible,
    /// 终止评定: the evaluation is terminated.
    Terminate,
    /// Grade capped at this grade.
    Cap(Name),
}

/// A prerequisite or veto.
#[derive(Clone, Debug)]
pub struct Veto {
    /// Id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Clause.
    pub clause: Option<Text>,
    /// Fires when this holds.
    pub when: Option<Expr>,
    /// What it does.
    pub effect: Option<(VetoEffect, Span)>,
    /// Why it is local.
    pub local: Option<Text>,
    /// Header.
    pub span: Span,
}

/// One grade and its conditions.
#[derive(Clone, Debug)]
pub struct Grade {
    /// Id.
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Conditions, all of which must hold.
    pub conds: Vec<GradeCond>,
    /// Header.
    pub span: Span,
}

/// A condition of a grade.
#[derive(Clone, Debug)]
pub enum GradeCond {
    /// `total >= N`
    Total(NumLit),
    /// `each part >= N` or `N%`
    EachPart(NumLit, Span),
    /// `part id >= N` or `N%`
    Part(Name, NumLit),
    /// `require expr "label"`
    Require(Expr, Text),
}

/// `override path { … }`.
#[derive(Clone, Debug)]
pub struct Override {
    /// What is overridden.
    pub path: Name,
    /// New max.
    pub max: Option<NumLit>,
    /// New score rule.
    pub score: Option<ScoreRule>,
    /// New condition.
    pub when: Option<Expr>,
    /// New clause.
    pub clause: Option<Text>,
    /// New deadline (hazards).
    pub deadline: Option<(i64, Span)>,
    /// New measure (hazards).
    pub measure: Option<Text>,
    /// New party (hazards).
    pub party: Option<Name>,
    /// New department (hazards).
    pub department: Option<Name>,
    /// Whole block.
    pub span: Span,
}

/// `extend path { … }`.
#[derive(Clone, Debug)]
pub struct Extend {
    /// Section extended.
    pub path: Name,
    /// New children.
    pub children: Vec<Node>,
    /// Whole block.
    pub span: Span,
}

/// A credit level.
#[derive(Clone, Debug)]
pub struct Level {
    /// Id (A, B, …).
    pub id: Name,
    /// Title.
    pub title: Text,
    /// Lower bound of the score; `None` = otherwise.
    pub from: Option<NumLit>,
    /// Where.
    pub span: Span,
}

/// The blacklist rule.
#[derive(Clone, Debug)]
pub struct Blacklist {
    /// Clause.
    pub clause: Option<Text>,
    /// Earliest removal on application.
    pub min: Option<Duration>,
    /// Automatic end.
    pub max: Option<Duration>,
    /// Where.
    pub span: Span,
}

/// A test case written in the language.
#[derive(Clone, Debug)]
pub struct TestCase {
    /// Name.
    pub name: Text,
    /// Evaluation date.
    pub as_of: Option<(Date, Span)>,
    /// Fill every unanswered item with its best or worst answer.
    pub given: Option<(Given, Span)>,
    /// Facts.
    pub facts: Vec<(Name, Literal)>,
    /// Answers.
    pub answers: Vec<(Name, Literal)>,
    /// Events.
    pub events: Vec<(Name, Date, Span)>,
    /// Photo counts.
    pub photos: Vec<(Name, NumLit)>,
    /// Expectations.
    pub expects: Vec<Expect>,
    /// Header.
    pub span: Span,
}

/// `given best` / `given worst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Given {
    /// Every unanswered item gets its highest-scoring answer.
    Best,
    /// Every unanswered item gets its lowest-scoring answer.
    Worst,
}

/// A literal value in a test.
#[derive(Clone, Debug)]
pub enum Literal {
    /// yes/no/true/false.
    Bool(bool, Span),
    /// Number.
    Num(NumLit),
    /// Date.
    Date(Date, Span),
    /// String.
    Text(Text),
    /// Option key.
    Key(Name),
    /// List of option keys.
    List(Vec<Name>, Span),
}

impl Literal {
    /// Where.
    pub fn span(&self) -> Span {
        match self {
            Literal::Bool(_, s) | Literal::Date(_, s) | Literal::List(_, s) => *s,
            Literal::Num(n) => n.span,
            Literal::Text(t) => t.span,
            Literal::Key(k) => k.span,
        }
    }
}

/// One expectation.
#[derive(Clone, Debug)]
pub enum Expect {
    /// `expect total == N`
    Total(NumLit),
    /// `expect points path == N`
    Points(Name, NumLit),
    /// `expect grade == g` (`none` for ungraded)
    Grade(Name),
    /// `expect veto v`
    Veto(Name),
    /// `expect no veto v`
    NoVeto(Name),
    /// `expect no vetoes`
    NoVetoes(Span),
    /// `expect hazard path`
    Hazard(Name),
    /// `expect no hazard path`
    NoHazard(Name),
    /// `expect no hazards`
    NoHazards(Span),
    /// `expect level == L`
    Level(Name),
    /// `expect blacklisted` / `expect not blacklisted`
    Blacklisted(bool, Span),
    /// `expect weight == N`
    Weight(NumLit),
    /// `expect not_applicable path`
    NotApplicable(Name),
}

/// A calendar date as days since 1970-01-01.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Date(pub i32);

/// An expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

/// Functions over an item or section id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefFn {
    /// `points(x)`: points of an item or section.
    Points,
    /// `answer(x)`: another item's answer.
    Answer,
    /// `answered(x)`: whether an item has an answer.
    Answered,
}

/// Aggregates over a section's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggFn {
    /// How many items satisfy the condition.
    Count,
    /// Sum of the expression over items.
    Sum,
    /// Minimum over items.
    Min,
    /// Maximum over items.
    Max,
}

/// Expression forms.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A number.
    Num(Num),
    /// A percentage (already divided by 100).
    Percent(Num),
    /// yes/no.
    Bool(bool),
    /// A date.
    Date(Date),
    /// A duration.
    Duration(Duration),
    /// A string (only allowed where the checker says).
    Text(String),
    /// `answer`: this item's answer.
    Answer,
    /// `total`: the ruleset total.
    Total,
    /// `as_of`: the evaluation date.
    AsOf,
    /// A fact, let, event kind or option key, resolved by the checker.
    Name(String),
    /// `not e`
    Not(Box<Expr>),
    /// `-e`
    Neg(Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `match e { k1 | k2 => a, _ => b }`
    Match(Box<Expr>, Vec<MatchArm>),
    /// `points(x)` etc.
    Ref(RefFn, Name),
    /// `count(section: cond)` etc.
    Agg(AggFn, Name, Box<Expr>),
    /// `f(a, b)`
    Call(Name, Vec<Expr>),
}

/// One arm of a match.
#[derive(Clone, Debug)]
pub struct MatchArm {
    /// Keys; empty for `_`.
    pub keys: Vec<Name>,
    /// Value.
    pub value: Expr,
    /// Where.
    pub span: Span,
}
