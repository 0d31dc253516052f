//! The checker and compiler: composes layers, resolves names, checks types, points, grades and
//! hazards, orders evaluation, and produces the [`Compiled`] form. Every problem found becomes a
//! [`Diagnostic`]; checking goes on after an error so that a file shows all its errors at once.

use crate::ast::{self, *};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::ir::{self, *};
use crate::num::Num;
use std::collections::HashMap;

/// One layer to compose: its file index, its syntax tree and its canonical-source hash.
pub struct Unit<'a> {
    /// Index of the file in the source set (for diagnostics).
    pub file: usize,
    /// The parsed ruleset.
    pub ast: &'a Ruleset,
    /// SHA-256 of its canonical source.
    pub hash: String,
}

/// Institution-side roles a hazard may name as 主体责任.
pub const PARTIES: &[(&str, &str)] = &[
    ("legal_representative", "法定代表人"),
    ("principal", "主要负责人"),
    ("fire_safety_responsible", "消防安全责任人"),
    ("fire_safety_manager", "消防安全管理人"),
    ("safety_manager", "安全管理人员"),
    ("department_head", "部门负责人"),
    ("caregiver", "养老护理员"),
    ("nurse", "医护人员"),
    ("cook", "食堂负责人"),
    ("electrician", "电工"),
    ("fire_operator", "消防设施操作员"),
    ("guard", "保安"),
];

/// Supervising departments a hazard may name as 监管责任.
pub const DEPARTMENTS: &[(&str, &str)] = &[
    ("civil_affairs", "民政部门"),
    ("fire_rescue", "消防救援机构"),
    ("market_regulation", "市场监管部门"),
    ("health", "卫生健康部门"),
    ("housing", "住房城乡建设部门"),
    ("emergency", "应急管理部门"),
    ("public_security", "公安机关"),
];

/// Checks and compiles a composition of layers (base first). Returns the compiled ruleset when
/// there are no errors, and every diagnostic (errors and warnings) either way.
pub fn compile(units: &[Unit<'_>]) -> (Option<Compiled>, Vec<Diagnostic>) {
    let Some(top) = units.last() else {
        return (None, Vec::new());
    };
    let mut l = Lowerer::new(top.ast.kind);
    for (i, u) in units.iter().enumerate() {
        l.layer(u, i == 0);
    }
    l.flatten();
    l.lower_all();
    if l.kind == RulesetKind::Standard {
        l.check_points();
    }
    l.order();
    l.warn_unused();
    let errors = l.diags.iter().any(Diagnostic::is_error);
    let mut diags = std::mem::take(&mut l.diags);
    diags.sort_by_key(|d| (d.file, d.span.start, d.code));
    if errors {
        return (None, diags);
    }
    let hash = composite_hash(units);
    (Some(l.finish(units, hash)), diags)
}

/// The identity of a composition: the SHA-256 over the layers' own hashes, base first. A single
/// ruleset's identity is the hash of its canonical source.
pub fn composite_hash(units: &[Unit<'_>]) -> String {
    if let [one] = units {
        return one.hash.clone();
    }
    let joined: Vec<&str> = units.iter().map(|u| u.hash.as_str()).collect();
    crate::sha256_hex(joined.join("\n").as_bytes())
}

/// The checker's view of a type.
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Num,
    Key(Vec<String>),
    Set(Vec<String>),
    Date,
    Dur,
    Text,
    /// Already reported; suppresses cascades.
    Err,
}

impl Ty {
    fn describe(&self) -> &'static str {
        match self {
            Ty::Bool => "yes/no",
            Ty::Num => "a number",
            Ty::Key(_) => "a choice",
            Ty::Set(_) => "a multiple choice",
            Ty::Date => "a date",
            Ty::Dur => "a duration",
            Ty::Text => "text",
            Ty::Err => "an error",
        }
    }

    fn of(t: &Type) -> Ty {
        match t {
            Type::YesNo => Ty::Bool,
            Type::Choice { options } => Ty::Key(options.iter().map(|o| o.key.clone()).collect()),
            Type::Multi { options } => Ty::Set(options.iter().map(|o| o.key.clone()).collect()),
            Type::Number { .. } | Type::Count { .. } => Ty::Num,
            Type::Date => Ty::Date,
            Type::Text => Ty::Text,
        }
    }
}

/// A node before flattening: points at the syntax it came from, with layer overrides applied.
struct DNode<'a> {
    file: usize,
    kind: NodeKind,
    path: String,
    title: String,
    span: Span,
    max: Option<(Num, usize, Span)>,
    clause: Option<String>,
    when: Option<(usize, &'a Expr)>,
    na: Option<NaPolicy>,
    item: Option<&'a ast::Item>,
    score: Option<(usize, &'a ScoreRule)>,
    hazards: Vec<HDraft<'a>>,
    children: Vec<usize>,
    origin: String,
    overrides: Vec<String>,
}

struct HDraft<'a> {
    file: usize,
    h: &'a ast::Hazard,
    deadline: Option<(i64, usize, Span)>,
    measure: Option<String>,
    party: Option<(usize, &'a Name)>,
    department: Option<(usize, &'a Name)>,
    overrides: Vec<String>,
}

struct Lowerer<'a> {
    kind: RulesetKind,
    diags: Vec<Diagnostic>,
    meta: (String, String, String, String),
    declared_max: Option<(Num, usize, Span)>,
    facts: Vec<(FactDef, usize, Span)>,
    fact_index: HashMap<String, u16>,
    fact_used: Vec<bool>,
    lets_src: Vec<(usize, &'a LetDecl)>,
    lets: Vec<(LetDef, Ty)>,
    let_index: HashMap<String, u16>,
    events: Vec<(EventDef, usize, Span)>,
    event_index: HashMap<String, u16>,
    na_default: Option<NaPolicy>,
    drafts: Vec<DNode<'a>>,
    roots: Vec<usize>,
    draft_by_path: HashMap<String, usize>,
    vetoes_src: Vec<(usize, &'a ast::Veto, String)>,
    grades_src: Option<(usize, &'a [Grade], String)>,
    credit_src: Vec<(usize, &'a Stmt)>,
    sampling_src: Vec<(usize, &'a Stmt)>,
    // After flattening:
    nodes: Vec<NodeDef>,
    node_src: Vec<usize>,
    path_index: HashMap<String, u32>,
    vetoes: Vec<VetoDef>,
    grades: Vec<GradeDef>,
    credit: Option<CreditDef>,
    sampling: Option<SamplingDef>,
    order: Vec<Step>,
}

fn kind_of_stmt(s: &Stmt) -> Option<(&'static str, &'static [RulesetKind])> {
    use RulesetKind::*;
    Some(match s {
        Stmt::Veto(_) => ("a veto", &[Standard]),
        Stmt::Grades(..) => ("grades", &[Standard]),
        Stmt::Max(_) => ("a total maximum", &[Standard]),
        Stmt::Base(_) => ("a base score", &[Credit]),
        Stmt::Levels(..) => ("credit levels", &[Credit]),
        Stmt::Blacklist(_) => ("a blacklist rule", &[Credit]),
        Stmt::Ratio(_) => ("a sampling ratio", &[Sampling]),
        Stmt::Weight(..) => ("a risk weight", &[Sampling]),
        Stmt::Team(..) => ("a team size", &[Sampling]),
        Stmt::Recuse(_) => ("recusal rules", &[Sampling]),
        Stmt::Always(..) => ("an always-draw rule", &[Sampling]),
        Stmt::Cover(..) => ("a coverage rule", &[Sampling]),
        Stmt::Part(_) => ("a part", &[Standard, Checklist]),
        _ => return None,
    })
}

fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Veto(v) => v.span,
        Stmt::Grades(_, sp) | Stmt::Levels(_, sp) | Stmt::Facts(_, sp) | Stmt::NaPolicy(_, sp) => {
            *sp
        }
        Stmt::Max(n) | Stmt::Base(n) | Stmt::Ratio(n) => n.span,
        Stmt::Blacklist(b) => b.span,
        Stmt::Weight(n, _, _) | Stmt::Cover(n, _, _) | Stmt::Team(n, _) => n.span,
        Stmt::Recuse(r) => r.first().map_or(Span::default(), |n| n.span),
        Stmt::Always(t, _) => t.span,
        Stmt::Part(p) => p.span,
        Stmt::Version(t) | Stmt::Source(t) => t.span,
        Stmt::Let(l) => l.id.span,
        Stmt::Event(e) => e.span,
        Stmt::Override(o) => o.span,
        Stmt::Extend(e) => e.span,
        Stmt::Test(t) => t.span,
    }
}

struct Ctx {
    file: usize,
    /// The item whose `answer` a bare `answer` means.
    item: Option<u32>,
    /// Inside an aggregate: the type of the current item's answer.
    current: Option<Ty>,
    /// Whether `total` may be used (grades and vetoes only: elsewhere it would be circular).
    total: bool,
}

impl<'a> Lowerer<'a> {
    fn new(kind: RulesetKind) -> Self {
        Lowerer {
            kind,
            diags: Vec::new(),
            meta: Default::default(),
            declared_max: None,
            facts: Vec::new(),
            fact_index: HashMap::new(),
            fact_used: Vec::new(),
            lets_src: Vec::new(),
            lets: Vec::new(),
            let_index: HashMap::new(),
            events: Vec::new(),
            event_index: HashMap::new(),
            na_default: None,
            drafts: Vec::new(),
            roots: Vec::new(),
            draft_by_path: HashMap::new(),
            vetoes_src: Vec::new(),
            grades_src: None,
            credit_src: Vec::new(),
            sampling_src: Vec::new(),
            nodes: Vec::new(),
            node_src: Vec::new(),
            path_index: HashMap::new(),
            vetoes: Vec::new(),
            grades: Vec::new(),
            credit: None,
            sampling: None,
            order: Vec::new(),
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        file: usize,
        span: Span,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, file, span, msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn warn(
        &mut self,
        code: &'static str,
        file: usize,
        span: Span,
        msg: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(code, file, span, msg));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    // ───────────── collecting layers ─────────────

    fn layer(&mut self, u: &Unit<'a>, is_base: bool) {
        let (file, r) = (u.file, u.ast);
        let layer_id = r.id.text.clone();
        if r.kind != self.kind {
            let msg = format!(
                "a {} cannot extend a {}",
                self.kind.keyword(),
                r.kind.keyword()
            );
            self.error("E0501", file, r.kind_span, msg);
            return;
        }
        self.meta.0 = r.id.text.clone();
        self.meta.1 = r.title.text.clone();
        let mut saw_version = false;
        for s in &r.body {
            if let Some((what, kinds)) = kind_of_stmt(s)
                && !kinds.contains(&self.kind)
            {
                let noun = |k: &RulesetKind| match k {
                    RulesetKind::Standard => "a standard",
                    RulesetKind::Checklist => "a checklist",
                    RulesetKind::Credit => "a credit policy",
                    RulesetKind::Sampling => "a sampling policy",
                };
                let allowed: Vec<&str> = kinds.iter().map(noun).collect();
                let msg = format!("{what} cannot appear in {}", noun(&self.kind));
                let help = format!("this belongs in {}", allowed.join(" or "));
                self.error("E0360", file, stmt_span(s), msg).help = Some(help);
                continue;
            }
            match s {
                Stmt::Version(t) => {
                    saw_version = true;
                    self.meta.2 = t.text.clone();
                }
                Stmt::Source(t) => self.meta.3 = t.text.clone(),
                Stmt::Max(n) => self.declared_max = Some((n.value, file, n.span)),
                Stmt::Facts(fs, _) => {
                    for f in fs {
                        self.declare_fact(file, f);
                    }
                }
                Stmt::Let(l) => self.lets_src.push((file, l)),
                Stmt::Event(e) => self.declare_event(file, e),
                Stmt::NaPolicy(p, _) => self.na_default = Some(*p),
                Stmt::Part(p) => {
                    let path = p.id.text.clone();
                    if let Some(&prev) = self.draft_by_path.get(&path) {
                        let (pf, ps) = (self.drafts[prev].file, self.drafts[prev].span);
                        let msg = format!("duplicate part `{path}`");
                        let d = self.error("E0202", file, p.id.span, msg);
                        d.notes.push((pf, ps, "first defined here".into()));
                        continue;
                    }
                    let idx = self.section_draft(file, p, "", &layer_id);
                    self.roots.push(idx);
                }
                Stmt::Veto(v) => {
                    if let Some(pos) = self
                        .vetoes_src
                        .iter()
                        .position(|(_, o, _)| o.id.text == v.id.text)
                    {
                        if self.vetoes_src[pos].2 == layer_id {
                            let (pf, ps) = (self.vetoes_src[pos].0, self.vetoes_src[pos].1.id.span);
                            let msg = format!("duplicate veto `{}`", v.id.text);
                            self.error("E0202", file, v.id.span, msg).notes.push((
                                pf,
                                ps,
                                "first defined here".into(),
                            ));
                        } else {
                            // A layer redefining a veto replaces it; the origin shows in explanations.
                            self.vetoes_src[pos] = (file, v, layer_id.clone());
                        }
                    } else {
                        self.vetoes_src.push((file, v, layer_id.clone()));
                    }
                }
                Stmt::Grades(g, _) => {
                    self.grades_src = Some((file, g.as_slice(), layer_id.clone()))
                }
                Stmt::Override(o) => {
                    if is_base {
                        self.error(
                            "E0502",
                            file,
                            o.span,
                            "`override` only makes sense in a ruleset that `extends` another",
                        )
                        .help = Some(
                            "add `extends BASE_ID` after the title, or edit the item directly"
                                .into(),
                        );
                    } else {
                        self.apply_override(file, o, &layer_id);
                    }
                }
                Stmt::Extend(e) => {
                    if is_base {
                        self.error(
                            "E0502",
                            file,
                            e.span,
                            "`extend` only makes sense in a ruleset that `extends` another",
                        )
                        .help = Some("add the groups or items inside the section directly".into());
                    } else {
                        self.apply_extend(file, e, &layer_id);
                    }
                }
                Stmt::Base(_) | Stmt::Levels(..) | Stmt::Blacklist(_) => {
                    self.credit_src.push((file, s))
                }
                Stmt::Ratio(_)
                | Stmt::Weight(..)
                | Stmt::Team(..)
                | Stmt::Recuse(_)
                | Stmt::Always(..)
                | Stmt::Cover(..) => self.sampling_src.push((file, s)),
                Stmt::Test(_) => {}
            }
        }
        if !saw_version {
            self.error(
                "E0203",
                file,
                r.id.span,
                format!("ruleset `{}` has no `version`", r.id.text),
            )
            .help = Some(
                "add `version \"…\"` so that outcomes can name the version they were scored under"
                    .into(),
            );
        }
    }

    fn declare_fact(&mut self, file: usize, f: &FactDecl) {
        if let Some(&i) = self.fact_index.get(&f.id.text) {
            let (pf, ps) = (self.facts[i as usize].1, self.facts[i as usize].2);
            let msg = format!("duplicate fact `{}`", f.id.text);
            self.error("E0202", file, f.id.span, msg).notes.push((
                pf,
                ps,
                "first declared here".into(),
            ));
            return;
        }
        let ty = self.lower_type(file, &f.ty, false);
        self.fact_index
            .insert(f.id.text.clone(), self.facts.len() as u16);
        self.facts.push((
            FactDef {
                id: f.id.text.clone(),
                title: f.title.text.clone(),
                ty,
            },
            file,
            f.id.span,
        ));
        self.fact_used.push(false);
    }

    fn declare_event(&mut self, file: usize, e: &EventDecl) {
        if let Some(&i) = self.event_index.get(&e.id.text) {
            // A later layer may redefine an event kind's points.
            let def = self.event_def(file, e);
            self.events[i as usize] = (def, file, e.id.span);
            return;
        }
        let def = self.event_def(file, e);
        self.event_index
            .insert(e.id.text.clone(), self.events.len() as u16);
        self.events.push((def, file, e.id.span));
    }

    fn event_def(&mut self, file: usize, e: &EventDecl) -> EventDef {
        let dur = |d: &Duration| Dur {
            amount: d.amount,
            unit: d.unit,
        };
        if self.kind != RulesetKind::Credit
            && (e.points.is_some() || e.cap.is_some() || e.expires.is_some())
        {
            self.error(
                "E0360",
                file,
                e.span,
                "event points, caps and expiry only count in a credit policy",
            );
        }
        if let (Some(p), Some((c, _))) = (&e.points, &e.cap)
            && (p.value.raw() < 0) != (c.value.raw() < 0)
            && c.value != Num::ZERO
        {
            self.error(
                "E0601",
                file,
                c.span,
                format!(
                    "the cap {} has the opposite sign of the points {}",
                    c.value, p.value
                ),
            );
        }
        EventDef {
            id: e.id.text.clone(),
            title: e.title.text.clone(),
            clause: e.clause.as_ref().map(|t| t.text.clone()),
            points: e.points.map(|p| p.value),
            cap: e.cap.as_ref().map(|(n, d)| (n.value, dur(d))),
            expires: e.expires.as_ref().map(dur),
            blacklist: e.blacklist.is_some(),
            repair: e.repair.is_some(),
        }
    }

    fn lower_type(&mut self, file: usize, t: &TypeDecl, question: bool) -> Type {
        let opts = |l: &mut Self, os: &[OptionDecl]| {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let mut out = Vec::new();
            for o in os {
                if let Some(prev) = seen.insert(o.key.text.as_str(), o.key.span) {
                    let msg = format!("duplicate option `{}`", o.key.text);
                    l.error("E0202", file, o.key.span, msg).notes.push((
                        file,
                        prev,
                        "first defined here".into(),
                    ));
                }
                if !question && o.points.is_some() {
                    l.error("E0204", file, o.key.span, "facts do not carry points");
                }
                out.push(OptionDef {
                    key: o.key.text.clone(),
                    title: o.title.text.clone(),
                    points: o.points.map(|p| p.value),
                });
            }
            if out.len() > 64 {
                l.error(
                    "E0205",
                    file,
                    t.span(),
                    "a choice may have at most 64 options",
                );
            }
            out
        };
        let range = |l: &mut Self, r: &Option<(NumLit, Option<NumLit>)>| match r {
            Some((lo, hi)) => {
                if let Some(h) = hi
                    && h.value < lo.value
                {
                    l.error(
                        "E0206",
                        file,
                        h.span,
                        format!("the range is empty: {} is below {}", h.value, lo.value),
                    );
                }
                (Some(lo.value), hi.map(|h| h.value))
            }
            None => (None, None),
        };
        match t {
            TypeDecl::YesNo(_) => Type::YesNo,
            TypeDecl::Choice(os, _) => Type::Choice {
                options: opts(self, os),
            },
            TypeDecl::Multi(os, _) => Type::Multi {
                options: opts(self, os),
            },
            TypeDecl::Number { unit, range: r, .. } => {
                let (min, max) = range(self, r);
                Type::Number {
                    unit: unit.as_ref().map(|u| u.text.clone()),
                    min,
                    max,
                }
            }
            TypeDecl::Count { range: r, .. } => {
                let (min, max) = range(self, r);
                // Counts are never negative, whatever the range says.
                Type::Count {
                    min: Some(min.unwrap_or(Num::ZERO).max(Num::ZERO)),
                    max,
                }
            }
            TypeDecl::Date(_) => Type::Date,
            TypeDecl::Text(_) => Type::Text,
        }
    }

    fn section_draft(&mut self, file: usize, s: &'a Section, prefix: &str, origin: &str) -> usize {
        let path = if prefix.is_empty() {
            s.id.text.clone()
        } else {
            format!("{prefix}.{}", s.id.text)
        };
        let idx = self.drafts.len();
        self.drafts.push(DNode {
            file,
            kind: if s.is_part {
                NodeKind::Part
            } else {
                NodeKind::Group
            },
            path: path.clone(),
            title: s.title.text.clone(),
            span: s.id.span,
            max: s.max.map(|m| (m.value, file, m.span)),
            clause: s.clause.as_ref().map(|c| c.text.clone()),
            when: s.when.as_ref().map(|w| (file, w)),
            na: s.na_policy.map(|(p, _)| p),
            item: None,
            score: None,
            hazards: Vec::new(),
            children: Vec::new(),
            origin: origin.to_string(),
            overrides: Vec::new(),
        });
        self.draft_by_path.insert(path.clone(), idx);
        for c in &s.children {
            if let Some(ci) = self.child_draft(file, c, &path, origin) {
                self.drafts[idx].children.push(ci);
            }
        }
        idx
    }

    fn child_draft(
        &mut self,
        file: usize,
        c: &'a Node,
        prefix: &str,
        origin: &str,
    ) -> Option<usize> {
        let id = match c {
            Node::Group(g) => &g.id,
            Node::Item(i) => &i.id,
        };
        let path = format!("{prefix}.{}", id.text);
        if let Some(&prev) = self.draft_by_path.get(&path) {
            let (pf, ps) = (self.drafts[prev].file, self.drafts[prev].span);
            let msg = format!("duplicate id `{path}`");
            self.error("E0202", file, id.span, msg).notes.push((
                pf,
                ps,
                "first defined here".into(),
            ));
            return None;
        }
        Some(match c {
            Node::Group(g) => self.section_draft(file, g, prefix, origin),
            Node::Item(it) => {
                let idx = self.drafts.len();
                let mut seen: HashMap<&str, Span> = HashMap::new();
                let mut hazards = Vec::new();
                for h in &it.hazards {
                    if let Some(prev) = seen.insert(h.id.text.as_str(), h.id.span) {
                        let msg = format!("duplicate hazard `{}` in item `{path}`", h.id.text);
                        self.error("E0202", file, h.id.span, msg).notes.push((
                            file,
                            prev,
                            "first defined here".into(),
                        ));
                        continue;
                    }
                    hazards.push(HDraft {
                        file,
                        h,
                        deadline: h.deadline.map(|(d, s)| (d, file, s)),
                        measure: h.measure.as_ref().map(|m| m.text.clone()),
                        party: h.party.as_ref().map(|p| (file, p)),
                        department: h.department.as_ref().map(|p| (file, p)),
                        overrides: Vec::new(),
                    });
                }
                self.drafts.push(DNode {
                    file,
                    kind: NodeKind::Item,
                    path: path.clone(),
                    title: it.title.text.clone(),
                    span: it.id.span,
                    max: it.max.map(|m| (m.value, file, m.span)),
                    clause: it.clause.as_ref().map(|c| c.text.clone()),
                    when: it.when.as_ref().map(|w| (file, w)),
                    na: None,
                    item: Some(it),
                    score: it.score.as_ref().map(|s| (file, s)),
                    hazards,
                    children: Vec::new(),
                    origin: origin.to_string(),
                    overrides: Vec::new(),
                });
                self.draft_by_path.insert(path, idx);
                idx
            }
        })
    }

    fn unknown_path(&mut self, file: usize, name: &Name, what: &str) {
        let help = did_you_mean(&name.text, self.draft_by_path.keys().map(String::as_str));
        let msg = format!("unknown {what} `{}`", name.text);
        self.error("E0201", file, name.span, msg).help = help;
    }

    fn apply_override(&mut self, file: usize, o: &'a Override, layer: &str) {
        // `a.b.c` names a node; `a.b.c.h` may name hazard `h` of item `a.b.c`.
        if let Some(&idx) = self.draft_by_path.get(&o.path.text) {
            let d = &mut self.drafts[idx];
            let mut changed = Vec::new();
            if let Some(m) = o.max {
                changed.push(format!(
                    "max ({layer}; was {})",
                    d.max.map_or("none".into(), |x| x.0.to_string())
                ));
                d.max = Some((m.value, file, m.span));
            }
            if let Some(s) = &o.score {
                changed.push(format!("score ({layer})"));
                d.score = Some((file, s));
            }
            if let Some(w) = &o.when {
                changed.push(format!("when ({layer})"));
                d.when = Some((file, w));
            }
            if let Some(c) = &o.clause {
                changed.push(format!(
                    "clause ({layer}; was {})",
                    d.clause.clone().unwrap_or_default()
                ));
                d.clause = Some(c.text.clone());
            }
            d.overrides.extend(changed);
            if o.deadline.is_some()
                || o.measure.is_some()
                || o.party.is_some()
                || o.department.is_some()
            {
                self.error(
                    "E0503",
                    file,
                    o.span,
                    "deadline, measure, party and department belong to a hazard",
                )
                .help = Some(format!("override `{}.HAZARD_ID` instead", o.path.text));
            }
            return;
        }
        if let Some((item_path, hz)) = o.path.text.rsplit_once('.')
            && let Some(&idx) = self.draft_by_path.get(item_path)
            && let Some(h) = self.drafts[idx]
                .hazards
                .iter_mut()
                .find(|h| h.h.id.text == hz)
        {
            if let Some((d, s)) = o.deadline {
                h.overrides.push(format!(
                    "deadline ({layer}; was {} days)",
                    h.deadline.map_or(0, |x| x.0)
                ));
                h.deadline = Some((d, file, s));
            }
            if let Some(m) = &o.measure {
                h.overrides.push(format!("measure ({layer})"));
                h.measure = Some(m.text.clone());
            }
            if let Some(p) = &o.party {
                h.overrides.push(format!("party ({layer})"));
                h.party = Some((file, p));
            }
            if let Some(p) = &o.department {
                h.overrides.push(format!("department ({layer})"));
                h.department = Some((file, p));
            }
            if o.max.is_some() || o.score.is_some() || o.when.is_some() || o.clause.is_some() {
                self.error(
                    "E0503",
                    file,
                    o.span,
                    "a hazard override may change deadline, measure, party and department only",
                );
            }
            return;
        }
        self.unknown_path(file, &o.path, "item, section or hazard");
    }

    fn apply_extend(&mut self, file: usize, e: &'a Extend, layer: &str) {
        let Some(&idx) = self.draft_by_path.get(&e.path.text) else {
            self.unknown_path(file, &e.path, "section");
            return;
        };
        if self.drafts[idx].kind == NodeKind::Item {
            self.error(
                "E0504",
                file,
                e.path.span,
                format!(
                    "`{}` is an item; only parts and groups can be extended",
                    e.path.text
                ),
            );
            return;
        }
        let prefix = self.drafts[idx].path.clone();
        for c in &e.children {
            if let Some(ci) = self.child_draft(file, c, &prefix, layer) {
                self.drafts[idx].children.push(ci);
            }
        }
    }

    // ───────────── flattening ─────────────

    fn flatten(&mut self) {
        let mut stack: Vec<(usize, Option<u32>)> =
            self.roots.iter().rev().map(|&r| (r, None)).collect();
        while let Some((d, parent)) = stack.pop() {
            let idx = self.nodes.len() as u32;
            let dn = &self.drafts[d];
            self.path_index.insert(dn.path.clone(), idx);
            self.nodes.push(NodeDef {
                path: dn.path.clone(),
                title: dn.title.clone(),
                kind: dn.kind,
                parent,
                children: Vec::new(),
                max: dn.max.map(|m| m.0),
                clause: dn.clause.clone(),
                when: None,
                na_policy: dn.na,
                origin: dn.origin.clone(),
                overrides: dn.overrides.clone(),
                item: None,
            });
            self.node_src.push(d);
            if let Some(p) = parent {
                self.nodes[p as usize].children.push(idx);
            }
            for &c in dn.children.iter().rev() {
                stack.push((c, Some(idx)));
            }
        }
        // Every section carries its effective policy (own, inherited or ruleset-wide), so the
        // compiled form is self-contained and the evaluator never walks up the tree. Pre-order
        // means a parent is always settled before its children.
        for i in 0..self.nodes.len() {
            if self.nodes[i].kind != NodeKind::Item && self.nodes[i].na_policy.is_none() {
                self.nodes[i].na_policy = match self.nodes[i].parent {
                    Some(p) => self.nodes[p as usize].na_policy,
                    None => self.na_default,
                };
            }
        }
    }

    // ───────────── lowering ─────────────

    fn lower_all(&mut self) {
        // Lets first, in declaration order: a let may use only earlier lets, so lets cannot loop.
        for (file, l) in std::mem::take(&mut self.lets_src) {
            if self.let_index.contains_key(&l.id.text) || self.fact_index.contains_key(&l.id.text) {
                self.error(
                    "E0202",
                    file,
                    l.id.span,
                    format!("`{}` is already declared", l.id.text),
                );
                continue;
            }
            let mut ctx = Ctx {
                file,
                item: None,
                current: None,
                total: false,
            };
            let (expr, ty) = self.expr(&mut ctx, &l.expr);
            self.let_index
                .insert(l.id.text.clone(), self.lets.len() as u16);
            self.lets.push((
                LetDef {
                    id: l.id.text.clone(),
                    title: l.title.text.clone(),
                    expr,
                },
                ty,
            ));
        }
        for i in 0..self.nodes.len() {
            self.lower_node(i);
        }
        self.lower_vetoes();
        self.lower_grades();
        self.lower_credit();
        self.lower_sampling();
    }

    fn effective_na(&self, node: usize) -> Option<NaPolicy> {
        let mut cur = self.nodes[node].parent;
        while let Some(p) = cur {
            if let Some(na) = self.nodes[p as usize].na_policy {
                return Some(na);
            }
            cur = self.nodes[p as usize].parent;
        }
        self.na_default
    }

    fn lower_node(&mut self, i: usize) {
        let d = self.node_src[i];
        let (file, span) = (self.drafts[d].file, self.drafts[d].span);
        let idx = i as u32;
        if let Some((wf, w)) = self.drafts[d].when {
            let mut ctx = Ctx {
                file: wf,
                item: None,
                current: None,
                total: false,
            };
            let before = self.diags.len();
            let c = self.bool_expr(&mut ctx, w, "a condition");
            // `evidence photo 1 when answer == no` reads as a photo requirement followed by the
            // item's own `when`; say how to write what was meant.
            for d in &mut self.diags[before..] {
                if d.code == "E0212" {
                    d.help = Some(
                        "an item's `when` decides whether it is asked, before any answer exists; \
                         to require photos only for some answers write `evidence photo 1 if answer == no`"
                            .into(),
                    );
                }
            }
            self.check_truth(wf, w.span, &c, "this condition");
            self.nodes[i].when = Some(c);
            if self.kind == RulesetKind::Standard && self.effective_na(i).is_none() {
                let path = self.nodes[i].path.clone();
                self.error("E0350", wf, w.span, format!("`{path}` can be not applicable, but nothing says how its parent's total is then adjusted"))
                    .help = Some("add `if_not_applicable rescale` (or `full` / `zero`) to the parent or to the ruleset".into());
            }
        }
        let Some(item) = self.drafts[d].item else {
            if self.kind == RulesetKind::Standard && self.nodes[i].max.is_none() {
                let path = self.nodes[i].path.clone();
                self.error("E0311", file, span, format!("`{path}` has no `max`"))
                    .help = Some(
                    "every part, group and item of a standard declares its maximum points".into(),
                );
            }
            if self.kind == RulesetKind::Checklist && self.nodes[i].max.is_some() {
                self.error(
                    "E0360",
                    file,
                    span,
                    "a checklist does not score: remove `max`",
                );
            }
            if self.nodes[i].children.is_empty() {
                let path = self.nodes[i].path.clone();
                self.warn("W0312", file, span, format!("`{path}` has no items"));
            }
            return;
        };
        if self.drafts[d].clause.is_none() {
            let path = self.nodes[i].path.clone();
            self.error(
                "E0371",
                file,
                span,
                format!("item `{path}` cites no clause"),
            )
            .help = Some(
                "add `clause \"…\"`: every item must be traceable to the standard it encodes"
                    .into(),
            );
        }
        let question = match &item.ask {
            Some(t) => self.lower_type(file, t, true),
            None => {
                let path = self.nodes[i].path.clone();
                self.error(
                    "E0370",
                    file,
                    span,
                    format!("item `{path}` asks no question"),
                )
                .help = Some(
                    "add `ask yesno`, `ask choice { … }`, `ask number …` or another question type"
                        .into(),
                );
                Type::Text
            }
        };
        // The item's question must be known before expressions that read `answer`.
        self.nodes[i].item = Some(ItemDef {
            question: question.clone(),
            score: ScoreDef::None,
            methods: item.methods.clone(),
            local: item.local.as_ref().map(|t| t.text.clone()),
            evidence: None,
            hazards: Vec::new(),
        });
        let max = self.nodes[i].max;
        let score = self.lower_score(i, &question, max);
        let evidence = item.evidence.as_ref().map(|e| {
            if !e.min.value.is_integer() || e.min.value < Num::ONE {
                self.error(
                    "E0206",
                    file,
                    e.min.span,
                    "the number of photos is a whole number of at least 1",
                );
            }
            let when = e.when.as_ref().map(|w| {
                let mut ctx = Ctx {
                    file,
                    item: Some(idx),
                    current: None,
                    total: false,
                };
                let c = self.bool_expr(&mut ctx, w, "an evidence condition");
                self.check_truth(file, w.span, &c, "this evidence condition");
                c
            });
            EvidenceDef {
                min: e.min.value.trunc_int().clamp(1, 1000) as u32,
                when,
            }
        });
        let hazards = (0..self.drafts[d].hazards.len())
            .map(|h| self.lower_hazard(i, h))
            .collect();
        if let Some(it) = self.nodes[i].item.as_mut() {
            it.score = score;
            it.evidence = evidence;
            it.hazards = hazards;
        }
    }

    fn lower_score(&mut self, i: usize, q: &Type, max: Option<Num>) -> ScoreDef {
        let d = self.node_src[i];
        let (file, span) = (self.drafts[d].file, self.drafts[d].span);
        let path = self.nodes[i].path.clone();
        let idx = i as u32;
        if self.kind != RulesetKind::Standard {
            if let Some((sf, s)) = self.drafts[d].score {
                let sp = match s {
                    ScoreRule::Expr(e) | ScoreRule::Deduct(e, _) => e.span,
                };
                self.error("E0360", sf, sp, "only a standard scores items");
            }
            return ScoreDef::None;
        }
        let Some(max) = max else {
            self.error("E0311", file, span, format!("item `{path}` has no `max`")).help =
                Some("every item of a standard declares its maximum points: `item id \"title\" max 2 { … }`".into());
            return ScoreDef::None;
        };
        match self.drafts[d].score {
            Some((sf, ScoreRule::Expr(e))) => {
                let mut ctx = Ctx {
                    file: sf,
                    item: Some(idx),
                    current: None,
                    total: false,
                };
                let (c, ty) = self.expr(&mut ctx, e);
                self.expect_ty(sf, e.span, &ty, &Ty::Num, "a score");
                let (lo, hi) = self.range_of(&c);
                if hi != Num::MAX && hi > max {
                    self.error(
                        "E0301",
                        sf,
                        e.span,
                        format!("this score can reach {hi}, above the item's max of {max}"),
                    )
                    .help = Some("lower the points, or raise the item's `max`".into());
                }
                if lo != Num::MIN && lo < Num::ZERO {
                    self.error(
                        "E0302",
                        sf,
                        e.span,
                        format!("this score can go down to {lo}, below zero"),
                    )
                    .help = Some(
                        "use `deduct N per COUNT` (which stops at zero) or `max(0, …)`".into(),
                    );
                }
                ScoreDef::Expr { expr: c }
            }
            Some((sf, ScoreRule::Deduct(per, count))) => {
                let mut ctx = Ctx {
                    file: sf,
                    item: Some(idx),
                    current: None,
                    total: false,
                };
                let (p, pty) = self.expr(&mut ctx, per);
                self.expect_ty(sf, per.span, &pty, &Ty::Num, "points per deduction");
                let (c, cty) = self.expr(&mut ctx, count);
                self.expect_ty(sf, count.span, &cty, &Ty::Num, "a count of deductions");
                let (plo, _) = self.range_of(&p);
                if plo != Num::MIN && plo < Num::ZERO {
                    self.error("E0302", sf, per.span, "a deduction cannot be negative");
                }
                ScoreDef::Deduct { per: p, count: c }
            }
            None => {
                match q {
                    Type::YesNo => ScoreDef::YesNo,
                    Type::Choice { options } if options.iter().all(|o| o.points.is_some()) => {
                        let mut best = Num::ZERO;
                        for o in options {
                            let p = o.points.unwrap_or(Num::ZERO);
                            best = best.max(p);
                            if p > max {
                                self.error(
                                    "E0303",
                                    file,
                                    span,
                                    format!(
                                        "option `{}` is worth {p}, above the item's max of {max}",
                                        o.key
                                    ),
                                );
                            }
                            if p < Num::ZERO {
                                self.error(
                                    "E0302",
                                    file,
                                    span,
                                    format!("option `{}` is worth {p}, below zero", o.key),
                                );
                            }
                        }
                        if best < max {
                            self.warn("W0304", file, span, format!("no option of `{path}` reaches its max of {max} (best is {best})"));
                        }
                        ScoreDef::Options
                    }
                    Type::Choice { .. } => {
                        self.error("E0372", file, span, format!("item `{path}` needs points: give every option `= N` or write a `score` rule"));
                        ScoreDef::None
                    }
                    other => {
                        self.error(
                            "E0372",
                            file,
                            span,
                            format!(
                                "item `{path}` asks {} and needs a `score` or `deduct` rule",
                                other.describe()
                            ),
                        )
                        .help = Some(
                            "e.g. `score if answer <= 300 then 2 else 0` or `deduct 1 per answer`"
                                .into(),
                        );
                        ScoreDef::None
                    }
                }
            }
        }
    }

    fn lower_hazard(&mut self, i: usize, h: usize) -> HazardDef {
        let d = self.node_src[i];
        let idx = i as u32;
        let path = self.nodes[i].path.clone();
        let hd = &self.drafts[d].hazards[h];
        let (file, ast_h) = (hd.file, hd.h);
        let (deadline, measure, party, department, overrides) = (
            hd.deadline,
            hd.measure.clone(),
            hd.party,
            hd.department,
            hd.overrides.clone(),
        );
        let when = ast_h.when.as_ref().map(|w| {
            let mut ctx = Ctx {
                file,
                item: Some(idx),
                current: None,
                total: false,
            };
            let c = self.bool_expr(&mut ctx, w, "a hazard condition");
            self.check_truth(file, w.span, &c, "this hazard condition");
            c
        });
        if ast_h.when.is_none() {
            self.error(
                "E0401",
                file,
                ast_h.span,
                format!("hazard `{path}.{}` has no `when`", ast_h.id.text),
            )
            .help = Some("say which answer reveals the hazard, e.g. `when answer == no`".into());
        }
        let mut missing = Vec::new();
        if measure.is_none() {
            missing.push("a `measure` (整改措施)");
        }
        if deadline.is_none() {
            missing.push("a `deadline` (整改期限)");
        }
        if party.is_none() {
            missing.push("a responsible `party` (主体责任)");
        }
        if department.is_none() {
            missing.push("a supervising `department` (监管责任)");
        }
        if !missing.is_empty() {
            self.error("E0402", file, ast_h.span, format!("hazard `{path}.{}` lacks {}", ast_h.id.text, missing.join(", ")))
                .help = Some("the three lists need the measure and deadline (整改清单) and both responsibilities (责任清单)".into());
        }
        if let Some((pf, p)) = party
            && !PARTIES.iter().any(|(k, _)| *k == p.text)
        {
            let help =
                did_you_mean(&p.text, PARTIES.iter().map(|(k, _)| *k)).unwrap_or_else(|| {
                    format!(
                        "known parties: {}",
                        PARTIES
                            .iter()
                            .map(|(k, _)| *k)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            self.error("E0403", pf, p.span, format!("unknown party `{}`", p.text))
                .help = Some(help);
        }
        if let Some((df, p)) = department
            && !DEPARTMENTS.iter().any(|(k, _)| *k == p.text)
        {
            let help =
                did_you_mean(&p.text, DEPARTMENTS.iter().map(|(k, _)| *k)).unwrap_or_else(|| {
                    format!(
                        "known departments: {}",
                        DEPARTMENTS
                            .iter()
                            .map(|(k, _)| *k)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            self.error(
                "E0403",
                df,
                p.span,
                format!("unknown department `{}`", p.text),
            )
            .help = Some(help);
        }
        if let Some((days, df, ds)) = deadline
            && !(0..=3650).contains(&days)
        {
            self.error(
                "E0404",
                df,
                ds,
                format!("a deadline of {days} days is out of range (0 to 3650)"),
            );
        }
        if ast_h.level == HazardLevel::General && ast_h.immediate.is_some() {
            self.warn(
                "W0405",
                file,
                ast_h.span,
                "immediate measures are meant for major hazards",
            );
        }
        HazardDef {
            id: ast_h.id.text.clone(),
            level: ast_h.level,
            pending: ast_h.pending,
            title: ast_h.title.text.clone(),
            when: when.or(Some(CExpr::Lit(Value::Bool(false)))),
            measure: measure.unwrap_or_default(),
            deadline_days: deadline.map_or(0, |d| d.0),
            party: party.map(|p| p.1.text.clone()).unwrap_or_default(),
            department: department.map(|p| p.1.text.clone()).unwrap_or_default(),
            category: ast_h.category.as_ref().map(|c| c.text.clone()),
            basis: ast_h.basis.as_ref().map(|c| c.text.clone()),
            immediate: ast_h.immediate.as_ref().map(|c| c.text.clone()),
            tag: ast_h.tag.as_ref().map(|c| c.text.clone()),
            overrides,
        }
    }

    fn lower_vetoes(&mut self) {
        for (file, v, origin) in std::mem::take(&mut self.vetoes_src) {
            let mut ctx = Ctx {
                file,
                item: None,
                current: None,
                total: true,
            };
            let when = match &v.when {
                Some(w) => {
                    let c = self.bool_expr(&mut ctx, w, "a veto condition");
                    self.check_truth(file, w.span, &c, "this veto condition");
                    c
                }
                None => {
                    self.error(
                        "E0411",
                        file,
                        v.span,
                        format!("veto `{}` has no `when`", v.id.text),
                    );
                    CExpr::Lit(Value::Bool(false))
                }
            };
            let effect = match &v.effect {
                Some((VetoEffect::Ineligible, _)) => Effect::Ineligible,
                Some((VetoEffect::Terminate, _)) => Effect::Terminate,
                Some((VetoEffect::Cap(g), _)) => {
                    let pos = self
                        .grades_src
                        .as_ref()
                        .and_then(|(_, gs, _)| gs.iter().position(|x| x.id.text == g.text));
                    match pos {
                        Some(p) => Effect::Cap(p as u16),
                        None => {
                            let mut help = self.grades_src.as_ref().and_then(|(_, gs, _)| {
                                did_you_mean(&g.text, gs.iter().map(|x| x.id.text.as_str()))
                            });
                            if let Some((_, _, gorigin)) = &self.grades_src
                                && *gorigin != origin
                            {
                                help = Some(format!(
                                    "the grades of `{gorigin}` replace those of `{origin}`; define `{}` there too, or override this veto",
                                    g.text
                                ));
                            }
                            self.error(
                                "E0201",
                                file,
                                g.span,
                                format!("unknown grade `{}`", g.text),
                            )
                            .help = help;
                            Effect::Ineligible
                        }
                    }
                }
                None => {
                    self.error(
                        "E0412",
                        file,
                        v.span,
                        format!("veto `{}` has no `effect`", v.id.text),
                    )
                    .help = Some(
                        "add `effect ineligible`, `effect terminate` or `effect cap GRADE`".into(),
                    );
                    Effect::Ineligible
                }
            };
            self.vetoes.push(VetoDef {
                id: v.id.text.clone(),
                title: v.title.text.clone(),
                clause: v.clause.as_ref().map(|c| c.text.clone()),
                when,
                effect,
                origin,
            });
        }
    }

    fn part_max_total(&self) -> Num {
        self.nodes
            .iter()
            .filter(|n| n.parent.is_none())
            .fold(Num::ZERO, |a, n| a.plus(n.max.unwrap_or(Num::ZERO)))
    }

    fn lower_grades(&mut self) {
        let Some((file, grades, _)) = self.grades_src.clone() else {
            return;
        };
        let max_total = self.part_max_total();
        let parts: Vec<u32> = (0..self.nodes.len() as u32)
            .filter(|&i| self.nodes[i as usize].parent.is_none())
            .collect();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut prev_total: Option<(Num, &str, Span)> = None;
        for g in grades {
            if let Some(p) = seen.insert(g.id.text.as_str(), g.id.span) {
                self.error(
                    "E0202",
                    file,
                    g.id.span,
                    format!("duplicate grade `{}`", g.id.text),
                )
                .notes
                .push((file, p, "first defined here".into()));
            }
            let mut conds = Vec::new();
            let mut total = None;
            for c in &g.conds {
                match c {
                    GradeCond::Total(n) => {
                        total = Some(n.value);
                        if n.value > max_total {
                            self.error("E0321", file, n.span, format!("grade `{}` needs a total of {}, but the maximum is {max_total}", g.id.text, n.value))
                                .label = Some("unreachable".into());
                        }
                        if let Some((pv, pid, psp)) = prev_total
                            && n.value <= pv
                        {
                            let msg = format!(
                                "grade `{}` needs {} points, not more than the lower grade `{pid}` ({pv})",
                                g.id.text, n.value
                            );
                            let d = self.error("E0320", file, n.span, msg);
                            d.notes
                                .push((file, psp, "the lower grade's threshold".into()));
                            d.help = Some("grades are listed lowest first, each needing more than the one before".into());
                        }
                        conds.push(GradeCondDef::Total { min: n.value });
                    }
                    GradeCond::EachPart(n, _) => {
                        for &p in &parts {
                            let min = self.threshold(file, &g.id.text, p, n);
                            conds.push(GradeCondDef::Part {
                                part: p,
                                min,
                                percent: n.percent.then_some(n.value),
                            });
                        }
                    }
                    GradeCond::Part(id, n) => match self.path_index.get(&id.text).copied() {
                        Some(p) if self.nodes[p as usize].parent.is_none() => {
                            let min = self.threshold(file, &g.id.text, p, n);
                            conds.push(GradeCondDef::Part {
                                part: p,
                                min,
                                percent: n.percent.then_some(n.value),
                            });
                        }
                        _ => {
                            let help = did_you_mean(
                                &id.text,
                                parts.iter().map(|&p| self.nodes[p as usize].path.as_str()),
                            );
                            self.error(
                                "E0201",
                                file,
                                id.span,
                                format!("unknown part `{}`", id.text),
                            )
                            .help = help;
                        }
                    },
                    GradeCond::Require(e, label) => {
                        let mut ctx = Ctx {
                            file,
                            item: None,
                            current: None,
                            total: true,
                        };
                        let c = self.bool_expr(&mut ctx, e, "a grade condition");
                        self.check_truth(file, e.span, &c, "this grade condition");
                        conds.push(GradeCondDef::Require {
                            expr: c,
                            label: label.text.clone(),
                        });
                    }
                }
            }
            if let Some(t) = total {
                let at = g
                    .conds
                    .iter()
                    .find_map(|c| {
                        if let GradeCond::Total(n) = c {
                            Some(n.span)
                        } else {
                            None
                        }
                    })
                    .unwrap_or(g.id.span);
                prev_total = Some((t, g.id.text.as_str(), at));
            }
            self.grades.push(GradeDef {
                id: g.id.text.clone(),
                title: g.title.text.clone(),
                conds,
            });
        }
    }

    fn threshold(&mut self, file: usize, grade: &str, part: u32, n: &NumLit) -> Num {
        let pmax = self.nodes[part as usize].max.unwrap_or(Num::ZERO);
        let min = if n.percent {
            pmax.times(n.value)
        } else {
            n.value
        };
        if min > pmax {
            let path = self.nodes[part as usize].path.clone();
            self.error(
                "E0322",
                file,
                n.span,
                format!("grade `{grade}` needs {min} in part `{path}`, whose maximum is {pmax}"),
            )
            .label = Some("unreachable".into());
        }
        min
    }

    fn lower_credit(&mut self) {
        if self.kind != RulesetKind::Credit {
            return;
        }
        let mut c = CreditDef {
            base: Num::ZERO,
            levels: Vec::new(),
            blacklist: None,
        };
        let mut saw_base = false;
        let dur = |d: &Duration| Dur {
            amount: d.amount,
            unit: d.unit,
        };
        for (file, s) in std::mem::take(&mut self.credit_src) {
            match s {
                Stmt::Base(n) => {
                    saw_base = true;
                    c.base = n.value;
                }
                Stmt::Levels(ls, sp) => {
                    c.levels.clear();
                    let mut prev: Option<Num> = None;
                    for (k, l) in ls.iter().enumerate() {
                        match (l.from, k + 1 == ls.len()) {
                            (None, false) => {
                                self.error(
                                    "E0602",
                                    file,
                                    l.span,
                                    "only the last level may be `otherwise`",
                                );
                            }
                            (Some(f), _) => {
                                if let Some(p) = prev
                                    && f.value >= p
                                {
                                    self.error("E0602", file, f.span, format!("level `{}` starts at {}, not below the level above ({p})", l.id.text, f.value))
                                        .help = Some("list levels from the highest score down".into());
                                }
                                prev = Some(f.value);
                            }
                            (None, true) => {}
                        }
                        c.levels.push(LevelDef {
                            id: l.id.text.clone(),
                            title: l.title.text.clone(),
                            from: l.from.map(|f| f.value),
                        });
                    }
                    if ls.last().is_some_and(|l| l.from.is_some()) {
                        self.error(
                            "E0603",
                            file,
                            *sp,
                            "the lowest level must be `otherwise`, so every score has a level",
                        );
                    }
                }
                Stmt::Blacklist(b) => {
                    if let (Some(mn), Some(mx)) = (&b.min, &b.max)
                        && days_of(mx) < days_of(mn)
                    {
                        self.error(
                            "E0604",
                            file,
                            mx.span,
                            "the longest listing is shorter than the earliest removal",
                        );
                    }
                    c.blacklist = Some(BlacklistDef {
                        clause: b.clause.as_ref().map(|t| t.text.clone()),
                        min: b.min.as_ref().map(dur),
                        max: b.max.as_ref().map(dur),
                    });
                }
                _ => {}
            }
        }
        if !saw_base {
            self.error(
                "E0605",
                0,
                Span::default(),
                "a credit policy needs a `base` score",
            );
        }
        if c.levels.is_empty() {
            self.error(
                "E0605",
                0,
                Span::default(),
                "a credit policy needs `levels`",
            );
        }
        if c.blacklist.is_none() && self.events.iter().any(|e| e.0.blacklist) {
            let (f, s) = self
                .events
                .iter()
                .find(|e| e.0.blacklist)
                .map_or((0, Span::default()), |e| (e.1, e.2));
            self.error(
                "E0606",
                f,
                s,
                "events are blacklist grounds but there is no `blacklist { … }` rule",
            );
        }
        self.credit = Some(c);
    }

    fn lower_sampling(&mut self) {
        if self.kind != RulesetKind::Sampling {
            return;
        }
        let mut p = SamplingDef {
            ratio: Num::ZERO,
            weights: Vec::new(),
            team_min: 2,
            team_max: 2,
            recuse: Vec::new(),
            always: Vec::new(),
            cover: Vec::new(),
        };
        let mut saw_ratio = false;
        for (file, s) in std::mem::take(&mut self.sampling_src) {
            let mut ctx = Ctx {
                file,
                item: None,
                current: None,
                total: false,
            };
            match s {
                Stmt::Ratio(n) => {
                    saw_ratio = true;
                    if n.value <= Num::ZERO || n.value > Num::ONE {
                        self.error(
                            "E0611",
                            file,
                            n.span,
                            "a ratio is between 0% (exclusive) and 100%",
                        );
                    }
                    p.ratio = n.value;
                }
                Stmt::Weight(n, t, e) => {
                    if n.value <= Num::ZERO {
                        self.error("E0612", file, n.span, "a risk weight must be positive");
                    }
                    let when = self.bool_expr(&mut ctx, e, "a weight condition");
                    self.check_truth(file, e.span, &when, "this weight condition");
                    p.weights.push(WeightDef {
                        factor: n.value,
                        title: t.text.clone(),
                        when,
                    });
                }
                Stmt::Team(a, b) => {
                    if !a.value.is_integer()
                        || !b.value.is_integer()
                        || a.value < Num::int(2)
                        || b.value < a.value
                    {
                        self.error(
                            "E0613",
                            file,
                            a.span,
                            "a team has at least 2 inspectors: write `team 2..3`",
                        )
                        .help = Some(
                            "双随机 checks send at least two inspectors (DOMAIN.md §4.3)".into(),
                        );
                    }
                    p.team_min = a.value.trunc_int().clamp(0, 100) as u32;
                    p.team_max = b.value.trunc_int().clamp(0, 100) as u32;
                }
                Stmt::Recuse(rs) => p.recuse = rs.iter().map(|r| r.text.clone()).collect(),
                Stmt::Always(t, e) => {
                    let when = self.bool_expr(&mut ctx, e, "a condition");
                    self.check_truth(file, e.span, &when, "this condition");
                    p.always.push((t.text.clone(), when));
                }
                Stmt::Cover(n, t, e) => {
                    if n.value <= Num::ZERO || n.value > Num::ONE {
                        self.error(
                            "E0611",
                            file,
                            n.span,
                            "a coverage share is between 0% (exclusive) and 100%",
                        );
                    }
                    let when = self.bool_expr(&mut ctx, e, "a condition");
                    p.cover.push(CoverDef {
                        share: n.value,
                        title: t.text.clone(),
                        when,
                    });
                }
                _ => {}
            }
        }
        if !saw_ratio {
            self.error(
                "E0614",
                0,
                Span::default(),
                "a sampling policy needs a `ratio`",
            );
        }
        self.sampling = Some(p);
    }

    // ───────────── expressions ─────────────

    fn expect_ty(&mut self, file: usize, span: Span, got: &Ty, want: &Ty, what: &str) {
        let ok = match (got, want) {
            (Ty::Err, _) | (_, Ty::Err) => true,
            (Ty::Key(_), Ty::Key(_)) | (Ty::Set(_), Ty::Set(_)) => true,
            (a, b) => a == b,
        };
        if !ok {
            let msg = format!(
                "{what} must be {}, but this is {}",
                want.describe(),
                got.describe()
            );
            self.error("E0210", file, span, msg).label =
                Some(format!("this is {}", got.describe()));
        }
    }

    fn bool_expr(&mut self, ctx: &mut Ctx, e: &Expr, what: &str) -> CExpr {
        let (c, ty) = self.expr(ctx, e);
        self.expect_ty(ctx.file, e.span, &ty, &Ty::Bool, what);
        c
    }

    fn expr(&mut self, ctx: &mut Ctx, e: &Expr) -> (CExpr, Ty) {
        let file = ctx.file;
        match &e.kind {
            ExprKind::Num(n) | ExprKind::Percent(n) => (CExpr::Lit(Value::Num(*n)), Ty::Num),
            ExprKind::Bool(b) => (CExpr::Lit(Value::Bool(*b)), Ty::Bool),
            ExprKind::Date(d) => (CExpr::Lit(Value::Date(d.0)), Ty::Date),
            ExprKind::Duration(d) => (
                CExpr::Lit(Value::Dur(Dur {
                    amount: d.amount,
                    unit: d.unit,
                })),
                Ty::Dur,
            ),
            ExprKind::Text(_) => {
                self.error("E0211", file, e.span, "text cannot be used in a rule")
                    .help =
                    Some("compare choices by key (`answer == both`) instead of by label".into());
                (CExpr::Lit(Value::Unknown), Ty::Err)
            }
            ExprKind::Answer => {
                if let Some(t) = &ctx.current {
                    return (CExpr::Current, t.clone());
                }
                match ctx.item {
                    Some(i) => {
                        let ty = self.nodes[i as usize]
                            .item
                            .as_ref()
                            .map_or(Ty::Err, |it| Ty::of(&it.question));
                        if ty == Ty::Text {
                            self.error(
                                "E0211",
                                file,
                                e.span,
                                "a text answer cannot be used in a rule",
                            )
                            .help = Some(
                                "use `answered(ITEM)` to test whether it was filled in".into(),
                            );
                            return (CExpr::Lit(Value::Unknown), Ty::Err);
                        }
                        (CExpr::Answer(i), ty)
                    }
                    None => {
                        self.error(
                            "E0212",
                            file,
                            e.span,
                            "`answer` means the item's own answer, and there is no item here",
                        )
                        .help =
                            Some("use `answer(ITEM_ID)` to read a particular item's answer".into());
                        (CExpr::Lit(Value::Unknown), Ty::Err)
                    }
                }
            }
            ExprKind::Total => {
                if !ctx.total {
                    self.error(
                        "E0213",
                        file,
                        e.span,
                        "`total` can only be used in grade conditions and vetoes",
                    )
                    .help = Some(
                        "elsewhere it would depend on itself; use `points(PART)` for a part".into(),
                    );
                }
                (CExpr::Total, Ty::Num)
            }
            ExprKind::AsOf => (CExpr::AsOf, Ty::Date),
            ExprKind::Name(n) => self.name(ctx, n, e.span, None),
            ExprKind::Not(x) => {
                let c = self.bool_expr(ctx, x, "the operand of `not`");
                (CExpr::Not(Box::new(c)), Ty::Bool)
            }
            ExprKind::Neg(x) => {
                let (c, ty) = self.expr(ctx, x);
                self.expect_ty(file, x.span, &ty, &Ty::Num, "the operand of `-`");
                (CExpr::Neg(Box::new(c)), Ty::Num)
            }
            ExprKind::Binary(op, a, b) => self.binary(ctx, *op, a, b, e.span),
            ExprKind::If(c, a, b) => {
                let cc = self.bool_expr(ctx, c, "the condition of `if`");
                let (ca, ta) = self.expr(ctx, a);
                let (cb, tb) = self.expr(ctx, b);
                if ta != Ty::Err
                    && tb != Ty::Err
                    && std::mem::discriminant(&ta) != std::mem::discriminant(&tb)
                {
                    self.error(
                        "E0210",
                        file,
                        b.span,
                        format!(
                            "`then` gives {} but `else` gives {}",
                            ta.describe(),
                            tb.describe()
                        ),
                    );
                }
                (CExpr::If(Box::new(cc), Box::new(ca), Box::new(cb)), ta)
            }
            ExprKind::Match(s, arms) => self.match_expr(ctx, s, arms, e.span),
            ExprKind::Ref(f, path) => self.ref_call(ctx, *f, path),
            ExprKind::Agg(f, path, body) => self.agg(ctx, *f, path, body),
            ExprKind::Call(f, args) => self.call(ctx, f, args, e.span),
        }
    }

    /// Resolves a bare name: a fact, a let, or (when `keys` is given) an option key.
    fn name(&mut self, ctx: &mut Ctx, n: &str, span: Span, keys: Option<&[String]>) -> (CExpr, Ty) {
        let file = ctx.file;
        if let Some(keys) = keys
            && let Some(k) = keys.iter().position(|k| k == n)
            && !self.fact_index.contains_key(n)
            && !self.let_index.contains_key(n)
        {
            return (CExpr::Lit(Value::Key(k as u16)), Ty::Key(keys.to_vec()));
        }
        if let Some(&i) = self.fact_index.get(n) {
            self.fact_used[i as usize] = true;
            let ty = Ty::of(&self.facts[i as usize].0.ty);
            if ty == Ty::Text {
                self.error(
                    "E0211",
                    file,
                    span,
                    format!("text fact `{n}` cannot be used in a rule"),
                );
                return (CExpr::Lit(Value::Unknown), Ty::Err);
            }
            return (CExpr::Fact(i), ty);
        }
        if let Some(&i) = self.let_index.get(n) {
            return (CExpr::Let(i), self.lets[i as usize].1.clone());
        }
        if self.event_index.contains_key(n) {
            self.error(
                "E0214",
                file,
                span,
                format!("`{n}` is a kind of event, not a value"),
            )
            .help = Some(format!("count events with `within({n}, 3 years)`"));
            return (CExpr::Lit(Value::Unknown), Ty::Err);
        }
        let mut candidates: Vec<&str> = self
            .facts
            .iter()
            .map(|f| f.0.id.as_str())
            .chain(self.lets.iter().map(|l| l.0.id.as_str()))
            .collect();
        if let Some(keys) = keys {
            candidates.extend(keys.iter().map(String::as_str));
        }
        let help = did_you_mean(n, candidates).or_else(|| {
            keys.map(|k| {
                format!(
                    "the options are {}",
                    k.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        });
        let what = if keys.is_some() {
            "option or fact"
        } else {
            "fact"
        };
        let msg = format!("unknown {what} `{n}`");
        let d = self.error("E0201", file, span, msg);
        d.help = help.or_else(|| Some("declare it in `facts { … }` or with `let`".into()));
        (CExpr::Lit(Value::Unknown), Ty::Err)
    }

    /// Lowers `x`, resolving a bare name as an option key of `keys_from` when it is one.
    fn operand_with_keys(&mut self, ctx: &mut Ctx, x: &Expr, keys_from: &Ty) -> (CExpr, Ty) {
        if let (ExprKind::Name(n), Ty::Key(keys) | Ty::Set(keys)) = (&x.kind, keys_from) {
            return self.name(ctx, n, x.span, Some(keys));
        }
        // Sheets often key their options `yes` / `partly` / `no`; against a choice those words
        // are keys, not booleans.
        if let (ExprKind::Bool(b), Ty::Key(keys) | Ty::Set(keys)) = (&x.kind, keys_from) {
            let word = if *b { "yes" } else { "no" };
            if let Some(k) = keys.iter().position(|k| k == word) {
                return (CExpr::Lit(Value::Key(k as u16)), Ty::Key(keys.clone()));
            }
        }
        self.expr(ctx, x)
    }

    fn binary(&mut self, ctx: &mut Ctx, op: BinOp, a: &Expr, b: &Expr, span: Span) -> (CExpr, Ty) {
        let file = ctx.file;
        let is_bare = |e: &Expr| match &e.kind {
            ExprKind::Name(n) => {
                !self.fact_index.contains_key(n) && !self.let_index.contains_key(n)
            }
            ExprKind::Bool(_) => true,
            _ => false,
        };
        // In `answer == both` the key's meaning comes from the other side; handle either order.
        let ((ca, ta), (cb, tb)) = if is_bare(a) && !is_bare(b) {
            let rb = self.expr(ctx, b);
            let ra = self.operand_with_keys(ctx, a, &rb.1);
            (ra, rb)
        } else {
            let ra = self.expr(ctx, a);
            let rb = self.operand_with_keys(ctx, b, &ra.1);
            (ra, rb)
        };
        let out = |c: CExpr, t: Ty| (c, t);
        let node = CExpr::Bin(op, Box::new(ca), Box::new(cb));
        if ta == Ty::Err || tb == Ty::Err {
            return out(
                node,
                if matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div) {
                    Ty::Err
                } else {
                    Ty::Bool
                },
            );
        }
        let mismatch = |l: &mut Self, hint: Option<String>| {
            let msg = format!(
                "cannot apply `{}` to {} and {}",
                op.symbol(),
                ta.describe(),
                tb.describe()
            );
            let d = l.error("E0210", file, span, msg);
            d.help = hint;
        };
        match op {
            BinOp::And | BinOp::Or => {
                if ta != Ty::Bool || tb != Ty::Bool {
                    mismatch(self, Some("`and` and `or` join yes/no conditions".into()));
                }
                out(node, Ty::Bool)
            }
            BinOp::Eq | BinOp::Ne => {
                let ok = match (&ta, &tb) {
                    (Ty::Key(x), Ty::Key(y)) => x == y,
                    (Ty::Set(_), _) | (_, Ty::Set(_)) => {
                        mismatch(self, Some("test a multiple choice with `has(answer, key)` or count it with `selected(answer)`".into()));
                        return out(node, Ty::Bool);
                    }
                    (x, y) => x == y,
                };
                if !ok {
                    let hint = match (&ta, &tb) {
                        (Ty::Bool, Ty::Num) | (Ty::Num, Ty::Bool) => {
                            Some("a yes/no answer compares with `yes` or `no`".to_string())
                        }
                        _ => None,
                    };
                    mismatch(self, hint);
                }
                out(node, Ty::Bool)
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                if !matches!((&ta, &tb), (Ty::Num, Ty::Num) | (Ty::Date, Ty::Date)) {
                    mismatch(self, None);
                }
                out(node, Ty::Bool)
            }
            BinOp::Add | BinOp::Sub => match (&ta, &tb) {
                (Ty::Num, Ty::Num) => out(node, Ty::Num),
                (Ty::Date, Ty::Dur) => out(node, Ty::Date),
                (Ty::Dur, Ty::Date) if op == BinOp::Add => out(node, Ty::Date),
                _ => {
                    mismatch(
                        self,
                        Some("dates move by durations: `as_of - 3 years`".into()),
                    );
                    out(node, Ty::Err)
                }
            },
            BinOp::Mul | BinOp::Div => {
                if ta != Ty::Num || tb != Ty::Num {
                    mismatch(self, None);
                }
                out(node, Ty::Num)
            }
        }
    }

    fn match_expr(
        &mut self,
        ctx: &mut Ctx,
        s: &Expr,
        arms: &[MatchArm],
        span: Span,
    ) -> (CExpr, Ty) {
        let file = ctx.file;
        let (cs, ts) = self.expr(ctx, s);
        let keys = match &ts {
            Ty::Key(k) => k.clone(),
            Ty::Err => Vec::new(),
            other => {
                self.error(
                    "E0210",
                    file,
                    s.span,
                    format!(
                        "`match` works on a choice, but this is {}",
                        other.describe()
                    ),
                );
                Vec::new()
            }
        };
        let mut covered = vec![false; keys.len()];
        let mut out_arms = Vec::new();
        let mut default = None;
        let mut result_ty: Option<Ty> = None;
        for arm in arms {
            let (cv, tv) = self.expr(ctx, &arm.value);
            if let Some(rt) = &result_ty {
                if tv != Ty::Err
                    && *rt != Ty::Err
                    && std::mem::discriminant(rt) != std::mem::discriminant(&tv)
                {
                    self.error(
                        "E0210",
                        file,
                        arm.value.span,
                        format!(
                            "this arm gives {} but an earlier arm gives {}",
                            tv.describe(),
                            rt.describe()
                        ),
                    );
                }
            } else {
                result_ty = Some(tv);
            }
            if arm.keys.is_empty() {
                default = Some(Box::new(cv));
                continue;
            }
            let mut idxs = Vec::new();
            for k in &arm.keys {
                match keys.iter().position(|x| *x == k.text) {
                    Some(p) => {
                        if covered[p] {
                            self.warn(
                                "W0215",
                                file,
                                k.span,
                                format!("option `{}` is already matched above", k.text),
                            );
                        }
                        covered[p] = true;
                        idxs.push(p as u16);
                    }
                    None if !keys.is_empty() => {
                        let help = did_you_mean(&k.text, keys.iter().map(String::as_str));
                        self.error(
                            "E0216",
                            file,
                            k.span,
                            format!("`{}` is not an option of this choice", k.text),
                        )
                        .help = help;
                    }
                    None => {}
                }
            }
            out_arms.push((idxs, cv));
        }
        if default.is_none() && covered.iter().any(|c| !c) {
            let missing: Vec<&str> = keys
                .iter()
                .zip(&covered)
                .filter(|(_, c)| !**c)
                .map(|(k, _)| k.as_str())
                .collect();
            self.error(
                "E0217",
                file,
                span,
                format!("`match` does not cover {}", missing.join(", ")),
            )
            .help = Some("add arms for them or a `_ => …` arm".into());
        }
        (
            CExpr::Match(Box::new(cs), out_arms, default),
            result_ty.unwrap_or(Ty::Err),
        )
    }

    fn resolve_path(&mut self, file: usize, path: &Name) -> Option<u32> {
        match self.path_index.get(&path.text) {
            Some(&i) => Some(i),
            None => {
                let help = did_you_mean(&path.text, self.path_index.keys().map(String::as_str));
                self.error(
                    "E0201",
                    file,
                    path.span,
                    format!("unknown item or section `{}`", path.text),
                )
                .help = help;
                None
            }
        }
    }

    fn ref_call(&mut self, ctx: &mut Ctx, f: RefFn, path: &Name) -> (CExpr, Ty) {
        let file = ctx.file;
        let Some(i) = self.resolve_path(file, path) else {
            return (CExpr::Lit(Value::Unknown), Ty::Err);
        };
        match f {
            RefFn::Points => {
                if self.kind != RulesetKind::Standard {
                    self.error("E0360", file, path.span, "only a standard has points");
                }
                (CExpr::Points(i), Ty::Num)
            }
            RefFn::Answer | RefFn::Answered => {
                let Some(q) = self.nodes[i as usize]
                    .item
                    .as_ref()
                    .map(|it| it.question.clone())
                    .or_else(|| self.question_of(i))
                else {
                    self.error(
                        "E0218",
                        file,
                        path.span,
                        format!("`{}` is a section; only items have answers", path.text),
                    );
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                };
                if f == RefFn::Answered {
                    return (CExpr::Answered(i), Ty::Bool);
                }
                let ty = Ty::of(&q);
                if ty == Ty::Text {
                    self.error(
                        "E0211",
                        file,
                        path.span,
                        "a text answer cannot be used in a rule",
                    )
                    .help = Some(format!("use `answered({})`", path.text));
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                (CExpr::Answer(i), ty)
            }
        }
    }

    /// The question of item `i` straight from its syntax (for items not yet lowered).
    fn question_of(&mut self, i: u32) -> Option<Type> {
        let d = self.node_src[i as usize];
        let (file, item) = (self.drafts[d].file, self.drafts[d].item?);
        let t = item.ask.as_ref()?;
        // Lowering the type twice would repeat its diagnostics; collect and drop them.
        let before = self.diags.len();
        let q = self.lower_type(file, t, true);
        self.diags.truncate(before);
        Some(q)
    }

    fn items_under(&self, i: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n as usize];
            if node.kind == NodeKind::Item {
                out.push(n);
            }
            stack.extend(node.children.iter().rev());
        }
        out.sort_unstable();
        out
    }

    fn agg(&mut self, ctx: &mut Ctx, f: AggFn, path: &Name, body: &Expr) -> (CExpr, Ty) {
        let file = ctx.file;
        let Some(sec) = self.resolve_path(file, path) else {
            return (CExpr::Lit(Value::Unknown), Ty::Err);
        };
        let items = self.items_under(sec);
        let mut cur_ty: Option<Ty> = None;
        for &it in &items {
            let q = self.nodes[it as usize]
                .item
                .as_ref()
                .map(|x| x.question.clone())
                .or_else(|| self.question_of(it));
            let t = q.as_ref().map_or(Ty::Err, Ty::of);
            match &cur_ty {
                None => cur_ty = Some(t),
                Some(c) if *c != t && *c != Ty::Err && t != Ty::Err => {
                    let (first, this) = (
                        self.nodes[items[0] as usize].path.clone(),
                        self.nodes[it as usize].path.clone(),
                    );
                    self.error("E0219", file, path.span, format!("the items of `{}` ask different questions, so `answer` has no single type here", path.text))
                        .help = Some(format!("`{first}` asks {}, `{this}` asks {}", c.describe(), t.describe()));
                    break;
                }
                _ => {}
            }
        }
        let saved = ctx.current.replace(cur_ty.unwrap_or(Ty::Err));
        let (cb, tb) = self.expr(ctx, body);
        ctx.current = saved;
        let want = if f == AggFn::Count { Ty::Bool } else { Ty::Num };
        self.expect_ty(
            file,
            body.span,
            &tb,
            &want,
            if f == AggFn::Count {
                "what `count` counts"
            } else {
                "what is added up"
            },
        );
        (CExpr::Agg(f, items, Box::new(cb)), Ty::Num)
    }

    fn call(&mut self, ctx: &mut Ctx, f: &Name, args: &[Expr], span: Span) -> (CExpr, Ty) {
        let file = ctx.file;
        const FUNCS: &[&str] = &[
            "min",
            "max",
            "abs",
            "floor",
            "within",
            "years_since",
            "days_since",
            "has",
            "selected",
            "unselected",
        ];
        let arity = |l: &mut Self, n: usize| {
            if args.len() != n {
                l.error(
                    "E0221",
                    file,
                    span,
                    format!(
                        "`{}` takes {n} argument{}, not {}",
                        f.text,
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                );
                return false;
            }
            true
        };
        match f.text.as_str() {
            "min" | "max" => {
                if args.is_empty() {
                    self.error(
                        "E0221",
                        file,
                        span,
                        format!("`{}` needs at least one argument", f.text),
                    );
                }
                let cs = args
                    .iter()
                    .map(|a| {
                        let (c, t) = self.expr(ctx, a);
                        self.expect_ty(file, a.span, &t, &Ty::Num, "an argument of min/max");
                        c
                    })
                    .collect();
                (
                    CExpr::Call(
                        if f.text == "min" {
                            Func::Min
                        } else {
                            Func::Max
                        },
                        cs,
                    ),
                    Ty::Num,
                )
            }
            "abs" | "floor" => {
                if !arity(self, 1) {
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                let (c, t) = self.expr(ctx, &args[0]);
                self.expect_ty(file, args[0].span, &t, &Ty::Num, "the argument");
                (
                    CExpr::Call(
                        if f.text == "abs" {
                            Func::Abs
                        } else {
                            Func::Floor
                        },
                        vec![c],
                    ),
                    Ty::Num,
                )
            }
            "within" => {
                if !arity(self, 2) {
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                let ev = match &args[0].kind {
                    ExprKind::Name(n) => self.event_index.get(n).copied(),
                    _ => None,
                };
                let Some(ev) = ev else {
                    let n = match &args[0].kind {
                        ExprKind::Name(n) => n.clone(),
                        _ => String::new(),
                    };
                    let help = did_you_mean(&n, self.events.iter().map(|e| e.0.id.as_str()))
                        .or_else(|| Some("declare the kind with `event ID \"title\"`".into()));
                    self.error(
                        "E0214",
                        file,
                        args[0].span,
                        "the first argument of `within` is a kind of event",
                    )
                    .help = help;
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                };
                let ExprKind::Duration(d) = &args[1].kind else {
                    self.error(
                        "E0214",
                        file,
                        args[1].span,
                        "the second argument of `within` is a duration such as `3 years`",
                    );
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                };
                (
                    CExpr::Within(
                        ev,
                        Dur {
                            amount: d.amount,
                            unit: d.unit,
                        },
                    ),
                    Ty::Num,
                )
            }
            "years_since" | "days_since" => {
                if !arity(self, 1) {
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                let (c, t) = self.expr(ctx, &args[0]);
                self.expect_ty(file, args[0].span, &t, &Ty::Date, "the argument");
                (
                    CExpr::Call(
                        if f.text == "years_since" {
                            Func::YearsSince
                        } else {
                            Func::DaysSince
                        },
                        vec![c],
                    ),
                    Ty::Num,
                )
            }
            "has" => {
                if !arity(self, 2) {
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                let (c, t) = self.expr(ctx, &args[0]);
                if !matches!(t, Ty::Set(_) | Ty::Err) {
                    self.error(
                        "E0210",
                        file,
                        args[0].span,
                        format!(
                            "`has` tests a multiple choice, but this is {}",
                            t.describe()
                        ),
                    );
                }
                let (k, _) = self.operand_with_keys(ctx, &args[1], &t);
                (CExpr::Call(Func::Has, vec![c, k]), Ty::Bool)
            }
            "selected" | "unselected" => {
                if !arity(self, 1) {
                    return (CExpr::Lit(Value::Unknown), Ty::Err);
                }
                let (c, t) = self.expr(ctx, &args[0]);
                let n = match &t {
                    Ty::Set(k) => k.len(),
                    Ty::Err => 0,
                    other => {
                        self.error(
                            "E0210",
                            file,
                            args[0].span,
                            format!(
                                "`{}` counts a multiple choice, but this is {}",
                                f.text,
                                other.describe()
                            ),
                        );
                        0
                    }
                };
                let func = if f.text == "selected" {
                    Func::Selected
                } else {
                    Func::Unselected
                };
                (
                    CExpr::Call(func, vec![c, CExpr::Lit(Value::Num(Num::int(n as i64)))]),
                    Ty::Num,
                )
            }
            other => {
                let help = did_you_mean(other, FUNCS.iter().copied())
                    .or_else(|| Some(format!("the functions are {}", FUNCS.join(", "))));
                self.error("E0220", file, f.span, format!("unknown function `{other}`"))
                    .help = help;
                (CExpr::Lit(Value::Unknown), Ty::Err)
            }
        }
    }

    // ───────────── static analysis ─────────────

    /// The values a numeric expression can take, as [lo, hi]; unbounded ends are MIN/MAX.
    fn range_of(&self, e: &CExpr) -> (Num, Num) {
        const ANY: (Num, Num) = (Num::MIN, Num::MAX);
        let type_range = |t: &Type| match t {
            Type::Number { min, max, .. } | Type::Count { min, max } => {
                (min.unwrap_or(Num::MIN), max.unwrap_or(Num::MAX))
            }
            _ => ANY,
        };
        let bounded = |r: (Num, Num)| r.0 != Num::MIN && r.1 != Num::MAX;
        match e {
            CExpr::Lit(Value::Num(n)) => (*n, *n),
            CExpr::Fact(i) => type_range(&self.facts[*i as usize].0.ty),
            CExpr::Let(i) => self.range_of(&self.lets[*i as usize].0.expr),
            CExpr::Answer(i) => self.nodes[*i as usize]
                .item
                .as_ref()
                .map_or(ANY, |it| type_range(&it.question)),
            CExpr::Points(i) => (Num::ZERO, self.nodes[*i as usize].max.unwrap_or(Num::MAX)),
            CExpr::Neg(x) => {
                let (lo, hi) = self.range_of(x);
                (
                    if hi == Num::MAX {
                        Num::MIN
                    } else {
                        Num::ZERO.minus(hi)
                    },
                    if lo == Num::MIN {
                        Num::MAX
                    } else {
                        Num::ZERO.minus(lo)
                    },
                )
            }
            CExpr::Bin(op, a, b) => {
                let (ra, rb) = (self.range_of(a), self.range_of(b));
                match op {
                    BinOp::Add if bounded(ra) && bounded(rb) => (ra.0.plus(rb.0), ra.1.plus(rb.1)),
                    BinOp::Sub if bounded(ra) && bounded(rb) => {
                        (ra.0.minus(rb.1), ra.1.minus(rb.0))
                    }
                    BinOp::Add => (
                        if ra.0 == Num::MIN || rb.0 == Num::MIN {
                            Num::MIN
                        } else {
                            ra.0.plus(rb.0)
                        },
                        Num::MAX,
                    ),
                    BinOp::Mul if bounded(ra) && bounded(rb) => {
                        let ps = [
                            ra.0.times(rb.0),
                            ra.0.times(rb.1),
                            ra.1.times(rb.0),
                            ra.1.times(rb.1),
                        ];
                        (
                            ps.iter().copied().min().unwrap_or(Num::MIN),
                            ps.iter().copied().max().unwrap_or(Num::MAX),
                        )
                    }
                    BinOp::Div
                        if bounded(ra) && bounded(rb) && (rb.0 > Num::ZERO || rb.1 < Num::ZERO) =>
                    {
                        let qs = [
                            ra.0.checked_div(rb.0),
                            ra.0.checked_div(rb.1),
                            ra.1.checked_div(rb.0),
                            ra.1.checked_div(rb.1),
                        ];
                        let qs: Vec<Num> = qs.iter().flatten().copied().collect();
                        (
                            qs.iter().copied().min().unwrap_or(Num::MIN),
                            qs.iter().copied().max().unwrap_or(Num::MAX),
                        )
                    }
                    _ => ANY,
                }
            }
            CExpr::If(_, a, b) => {
                let (ra, rb) = (self.range_of(a), self.range_of(b));
                (ra.0.min(rb.0), ra.1.max(rb.1))
            }
            CExpr::Match(_, arms, def) => {
                let mut r: Option<(Num, Num)> = None;
                for v in arms.iter().map(|(_, v)| v).chain(def.iter().map(|d| &**d)) {
                    let rv = self.range_of(v);
                    r = Some(r.map_or(rv, |x| (x.0.min(rv.0), x.1.max(rv.1))));
                }
                r.unwrap_or(ANY)
            }
            CExpr::Call(Func::Min, args) | CExpr::Call(Func::Max, args) => {
                let is_min = matches!(e, CExpr::Call(Func::Min, _));
                let rs: Vec<(Num, Num)> = args.iter().map(|a| self.range_of(a)).collect();
                if rs.is_empty() {
                    return ANY;
                }
                let lo = rs.iter().map(|r| r.0);
                let hi = rs.iter().map(|r| r.1);
                if is_min {
                    (lo.min().unwrap_or(Num::MIN), hi.min().unwrap_or(Num::MAX))
                } else {
                    (lo.max().unwrap_or(Num::MIN), hi.max().unwrap_or(Num::MAX))
                }
            }
            CExpr::Call(Func::Abs, a) => {
                let r = a.first().map_or(ANY, |x| self.range_of(x));
                if r.0 >= Num::ZERO {
                    r
                } else {
                    (
                        Num::ZERO,
                        if bounded(r) {
                            Num::ZERO.minus(r.0).max(r.1)
                        } else {
                            Num::MAX
                        },
                    )
                }
            }
            CExpr::Call(Func::Floor, a) => a.first().map_or(ANY, |x| self.range_of(x)),
            CExpr::Call(Func::Selected | Func::Unselected, a) => match a.get(1) {
                Some(CExpr::Lit(Value::Num(n))) => (Num::ZERO, *n),
                _ => (Num::ZERO, Num::MAX),
            },
            CExpr::Within(..) => (Num::ZERO, Num::MAX),
            CExpr::Agg(AggFn::Count, items, _) => (Num::ZERO, Num::int(items.len() as i64)),
            CExpr::Agg(AggFn::Sum, items, body) => {
                let r = self.range_of(body);
                let n = Num::int(items.len() as i64);
                if bounded(r) {
                    (r.0.min(Num::ZERO).times(n), r.1.max(Num::ZERO).times(n))
                } else {
                    ANY
                }
            }
            CExpr::Agg(_, _, body) => self.range_of(body),
            CExpr::Total => (Num::ZERO, self.part_max_total()),
            _ => ANY,
        }
    }

    /// Whether a condition is decided statically: `Some(false)` can never hold.
    fn truth(&self, e: &CExpr) -> Option<bool> {
        match e {
            CExpr::Lit(Value::Bool(b)) => Some(*b),
            CExpr::Not(x) => self.truth(x).map(|b| !b),
            CExpr::Bin(BinOp::And, a, b) => match (self.truth(a), self.truth(b)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            CExpr::Bin(BinOp::Or, a, b) => match (self.truth(a), self.truth(b)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            CExpr::Bin(op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq), a, b) => {
                if let (CExpr::Lit(x), CExpr::Lit(y)) = (&**a, &**b)
                    && *op == BinOp::Eq
                {
                    // An unknown literal stands in for an expression already reported as wrong.
                    return (*x != Value::Unknown && *y != Value::Unknown).then_some(x == y);
                }
                let (ra, rb) = (self.range_of(a), self.range_of(b));
                if ra == (Num::MIN, Num::MAX) && rb == (Num::MIN, Num::MAX) {
                    return None;
                }
                match op {
                    BinOp::Lt if ra.0 != Num::MIN && rb.1 != Num::MAX && ra.0 >= rb.1 => {
                        Some(false)
                    }
                    BinOp::Le if ra.0 != Num::MIN && rb.1 != Num::MAX && ra.0 > rb.1 => Some(false),
                    BinOp::Gt if ra.1 != Num::MAX && rb.0 != Num::MIN && ra.1 <= rb.0 => {
                        Some(false)
                    }
                    BinOp::Ge if ra.1 != Num::MAX && rb.0 != Num::MIN && ra.1 < rb.0 => Some(false),
                    BinOp::Eq
                        if (ra.1 != Num::MAX && rb.0 != Num::MIN && ra.1 < rb.0)
                            || (ra.0 != Num::MIN && rb.1 != Num::MAX && ra.0 > rb.1) =>
                    {
                        Some(false)
                    }
                    BinOp::Ge if ra.0 != Num::MIN && rb.1 != Num::MAX && ra.0 >= rb.1 => Some(true),
                    BinOp::Gt if ra.0 != Num::MIN && rb.1 != Num::MAX && ra.0 > rb.1 => Some(true),
                    BinOp::Le if ra.1 != Num::MAX && rb.0 != Num::MIN && ra.1 <= rb.0 => Some(true),
                    BinOp::Lt if ra.1 != Num::MAX && rb.0 != Num::MIN && ra.1 < rb.0 => Some(true),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn check_truth(&mut self, file: usize, span: Span, c: &CExpr, what: &str) {
        match self.truth(c) {
            Some(false) => {
                self.error("E0230", file, span, format!("{what} can never hold")).help =
                    Some("check the numbers against the declared ranges of the facts and answers it reads".into());
            }
            Some(true) => {
                self.warn(
                    "W0231",
                    file,
                    span,
                    format!("{what} always holds, so it does nothing"),
                );
            }
            None => {}
        }
    }

    fn check_points(&mut self) {
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.children.is_empty() || n.kind == NodeKind::Item {
                continue;
            }
            let Some(max) = n.max else { continue };
            let sum = n.children.iter().fold(Num::ZERO, |a, &c| {
                a.plus(self.nodes[c as usize].max.unwrap_or(Num::ZERO))
            });
            if sum != max {
                let d = self.node_src[i];
                let (file, span, path) = (
                    self.drafts[d].file,
                    self.drafts[d].max.map_or(self.drafts[d].span, |m| m.2),
                    n.path.clone(),
                );
                let mf = self.drafts[d].max.map_or(file, |m| m.1);
                let parts: Vec<String> = n
                    .children
                    .iter()
                    .map(|&c| {
                        format!(
                            "{} {}",
                            self.nodes[c as usize].path.rsplit('.').next().unwrap_or(""),
                            self.nodes[c as usize].max.unwrap_or(Num::ZERO)
                        )
                    })
                    .collect();
                self.error(
                    "E0310",
                    mf,
                    span,
                    format!("the children of `{path}` add up to {sum}, but it declares max {max}"),
                )
                .help = Some(format!("children: {}", parts.join(" + ")));
            }
        }
        let total = self.part_max_total();
        if let Some((m, file, span)) = self.declared_max
            && m != total
        {
            let parts: Vec<String> = self
                .nodes
                .iter()
                .filter(|n| n.parent.is_none())
                .map(|n| format!("{} {}", n.path, n.max.unwrap_or(Num::ZERO)))
                .collect();
            self.error(
                "E0310",
                file,
                span,
                format!("the parts add up to {total}, but the ruleset declares max {m}"),
            )
            .help = Some(format!("parts: {}", parts.join(" + ")));
        }
    }

    fn warn_unused(&mut self) {
        for i in 0..self.facts.len() {
            if !self.fact_used[i] {
                let (id, file, span) =
                    (self.facts[i].0.id.clone(), self.facts[i].1, self.facts[i].2);
                self.warn(
                    "W0232",
                    file,
                    span,
                    format!("fact `{id}` is declared but no rule reads it"),
                );
            }
        }
    }

    // ───────────── evaluation order ─────────────

    fn deps(&self, e: &CExpr, out: &mut Vec<Step>) {
        match e {
            CExpr::Let(i) => out.push(Step::Let(u32::from(*i))),
            CExpr::Answer(i) | CExpr::Answered(i) | CExpr::Points(i) => out.push(Step::Node(*i)),
            CExpr::Total => {
                for (i, n) in self.nodes.iter().enumerate() {
                    if n.parent.is_none() {
                        out.push(Step::Node(i as u32));
                    }
                }
            }
            CExpr::Agg(_, items, body) => {
                out.extend(items.iter().map(|&i| Step::Node(i)));
                self.deps(body, out);
            }
            CExpr::Not(x) | CExpr::Neg(x) => self.deps(x, out),
            CExpr::Bin(_, a, b) => {
                self.deps(a, out);
                self.deps(b, out);
            }
            CExpr::If(a, b, c) => {
                self.deps(a, out);
                self.deps(b, out);
                self.deps(c, out);
            }
            CExpr::Match(s, arms, d) => {
                self.deps(s, out);
                for (_, v) in arms {
                    self.deps(v, out);
                }
                if let Some(d) = d {
                    self.deps(d, out);
                }
            }
            CExpr::Call(_, args) => args.iter().for_each(|a| self.deps(a, out)),
            _ => {}
        }
    }

    fn step_deps(&self, s: Step) -> Vec<Step> {
        let mut out = Vec::new();
        match s {
            Step::Let(i) => self.deps(&self.lets[i as usize].0.expr, &mut out),
            Step::Enter(i) => {
                let n = &self.nodes[i as usize];
                if let Some(p) = n.parent {
                    out.push(Step::Enter(p));
                }
                if let Some(w) = &n.when {
                    self.deps(w, &mut out);
                }
            }
            Step::Node(i) => {
                let n = &self.nodes[i as usize];
                if n.kind == NodeKind::Item {
                    if let Some(p) = n.parent {
                        out.push(Step::Enter(p));
                    }
                    if let Some(w) = &n.when {
                        self.deps(w, &mut out);
                    }
                    match n.item.as_ref().map(|it| &it.score) {
                        Some(ScoreDef::Expr { expr }) => self.deps(expr, &mut out),
                        Some(ScoreDef::Deduct { per, count }) => {
                            self.deps(per, &mut out);
                            self.deps(count, &mut out);
                        }
                        _ => {}
                    }
                    // An item's own answer is an input, not a dependency.
                    out.retain(|d| *d != Step::Node(i));
                } else {
                    out.push(Step::Enter(i));
                    out.extend(n.children.iter().map(|&c| Step::Node(c)));
                }
            }
        }
        out
    }

    fn step_name(&self, s: Step) -> String {
        match s {
            Step::Let(i) => format!("let `{}`", self.lets[i as usize].0.id),
            Step::Enter(i) => format!("the condition of `{}`", self.nodes[i as usize].path),
            Step::Node(i) => format!("`{}`", self.nodes[i as usize].path),
        }
    }

    /// Orders steps so that everything is computed after what it reads; reports cycles.
    fn order(&mut self) {
        let n_nodes = self.nodes.len();
        let key = |s: Step| -> usize {
            match s {
                Step::Let(i) => i as usize,
                Step::Enter(i) => self.lets.len() + i as usize,
                Step::Node(i) => self.lets.len() + n_nodes + i as usize,
            }
        };
        let total = self.lets.len() + 2 * n_nodes;
        // 0 = unvisited, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; total];
        let mut order = Vec::with_capacity(total);
        let mut roots: Vec<Step> = (0..self.lets.len() as u32).map(Step::Let).collect();
        for i in 0..n_nodes as u32 {
            if self.nodes[i as usize].kind != NodeKind::Item {
                roots.push(Step::Enter(i));
            }
            roots.push(Step::Node(i));
        }
        let mut cycle: Option<Vec<Step>> = None;
        for root in roots {
            if state[key(root)] != 0 {
                continue;
            }
            // Iterative depth-first search: chains of references can be long.
            let mut stack: Vec<(Step, Vec<Step>, usize)> = vec![(root, self.step_deps(root), 0)];
            state[key(root)] = 1;
            while let Some(top) = stack.last_mut() {
                if top.2 < top.1.len() {
                    let next = top.1[top.2];
                    top.2 += 1;
                    match state[key(next)] {
                        0 => {
                            state[key(next)] = 1;
                            let d = self.step_deps(next);
                            stack.push((next, d, 0));
                        }
                        1 if cycle.is_none() => {
                            let start = stack.iter().position(|f| f.0 == next).unwrap_or(0);
                            let mut c: Vec<Step> = stack[start..].iter().map(|f| f.0).collect();
                            c.push(next);
                            cycle = Some(c);
                        }
                        _ => {}
                    }
                } else {
                    state[key(top.0)] = 2;
                    order.push(top.0);
                    stack.pop();
                }
            }
        }
        if let Some(c) = cycle {
            let names: Vec<String> = c.iter().map(|s| self.step_name(*s)).collect();
            let (file, span) = match c.first() {
                Some(Step::Node(i)) | Some(Step::Enter(i)) => {
                    let d = self.node_src[*i as usize];
                    (self.drafts[d].file, self.drafts[d].span)
                }
                _ => (0, Span::default()),
            };
            self.error(
                "E0240",
                file,
                span,
                format!("circular reference: {}", names.join(" → ")),
            )
            .help = Some("a rule cannot depend on its own result; break the loop".into());
        }
        self.order = order;
    }

    fn finish(self, units: &[Unit<'_>], hash: String) -> Compiled {
        let layers = units
            .iter()
            .map(|u| Layer {
                id: u.ast.id.text.clone(),
                title: u.ast.title.text.clone(),
                version: u
                    .ast
                    .body
                    .iter()
                    .find_map(|s| {
                        if let Stmt::Version(v) = s {
                            Some(v.text.clone())
                        } else {
                            None
                        }
                    })
                    .unwrap_or_default(),
                hash: u.hash.clone(),
            })
            .collect();
        let max_total = self.part_max_total();
        Compiled {
            format: ir::FORMAT,
            engine: ir::ENGINE.to_string(),
            hash,
            id: self.meta.0,
            kind: self.kind,
            title: self.meta.1,
            version: self.meta.2,
            source: self.meta.3,
            layers,
            facts: self.facts.into_iter().map(|f| f.0).collect(),
            lets: self.lets.into_iter().map(|l| l.0).collect(),
            events: self.events.into_iter().map(|e| e.0).collect(),
            nodes: self.nodes,
            order: self.order,
            vetoes: self.vetoes,
            grades: self.grades,
            grades_origin: self.grades_src.map(|g| g.2).unwrap_or_default(),
            max_total,
            credit: self.credit,
            sampling: self.sampling,
        }
    }
}

fn days_of(d: &Duration) -> i64 {
    match d.unit {
        DurationUnit::Days => d.amount,
        DurationUnit::Months => d.amount * 30,
        DurationUnit::Years => d.amount * 365,
    }
}
