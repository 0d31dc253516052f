//! The outcome explained: what `caregrade rules score` prints and the API stores. Evaluation
//! ([`crate::eval`]) computes by index and allocates only the outcome; this module turns it into
//! self-explaining JSON with one line per item citing the clause and the answer.

use crate::date;
use crate::eval::{GradeStatus, Input, InputProblem, Outcome, Status, Tri};
use crate::ir::*;
use crate::lower::{DEPARTMENTS, PARTIES};
use crate::num::Num;
use serde::Serialize;

/// An outcome with its explanations.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Which ruleset.
    pub ruleset: RulesetRef,
    /// Evaluation date.
    pub as_of: Option<String>,
    /// Total points (standards).
    pub total: Option<Num>,
    /// Maximum total (standards).
    pub max_total: Option<Num>,
    /// Grading status.
    pub status: GradeStatus,
    /// Final grade.
    pub grade: Option<Named>,
    /// Why this grade.
    pub grade_reason: Option<String>,
    /// The layer whose grades apply, when a layer replaced the base's (e.g. a city's thresholds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grades_from: Option<String>,
    /// The next grade up and what it still needs.
    pub gap: Option<Gap>,
    /// Vetoes that apply.
    pub vetoes: Vec<VetoReport>,
    /// Vetoes that cannot be decided for lack of facts or answers.
    pub undetermined_vetoes: Vec<String>,
    /// Parts and groups.
    pub sections: Vec<SectionReport>,
    /// Items.
    pub items: Vec<ItemReport>,
    /// Items without an answer that should have one.
    pub missing_answers: Vec<String>,
    /// Photo requirements not met.
    pub unmet_evidence: Vec<EvidenceGap>,
    /// Hazards found, with everything the three lists need.
    pub hazards: Vec<HazardReport>,
    /// Hazards that cannot be decided because the answer is missing.
    pub undetermined_hazards: Vec<String>,
    /// Credit result.
    pub credit: Option<CreditReport>,
    /// Sampling result.
    pub sampling: Option<SamplingReport>,
    /// Problems with the input (unknown items, answers of the wrong type …).
    pub input_problems: Vec<InputProblem>,
}

/// Identity of the ruleset an outcome was computed under.
#[derive(Clone, Debug, Serialize)]
pub struct RulesetRef {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: crate::ast::RulesetKind,
    /// Content hash.
    pub hash: String,
    /// Engine.
    pub engine: String,
    /// Layers, base first.
    pub layers: Vec<String>,
}

/// An id with its title.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// What the next grade still needs.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    /// The next grade.
    pub grade: Named,
    /// The first of its conditions that fails.
    pub first_failed: Option<String>,
    /// Every failing condition.
    pub failed: Vec<String>,
    /// Points missing on the total.
    pub total_short: Num,
    /// Parts below their floor.
    pub parts: Vec<PartGap>,
    /// The fewest items, largest gains first, that would close the point gaps.
    pub cheapest: Vec<Fix>,
}

/// A part short of its floor.
#[derive(Clone, Debug, Serialize)]
pub struct PartGap {
    /// Part id.
    pub part: String,
    /// Title.
    pub title: String,
    /// Points now.
    pub points: Num,
    /// Floor.
    pub needed: Num,
    /// Short by.
    pub short: Num,
}

/// An item whose full marks would help.
#[derive(Clone, Debug, Serialize)]
pub struct Fix {
    /// Item id.
    pub item: String,
    /// Title.
    pub title: String,
    /// Clause.
    pub clause: Option<String>,
    /// Points now.
    pub points: Num,
    /// Max.
    pub max: Num,
    /// Gain at full marks.
    pub gain: Num,
}

/// A veto that applies.
#[derive(Clone, Debug, Serialize)]
pub struct VetoReport {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Clause.
    pub clause: Option<String>,
    /// What it does, in words.
    pub effect: String,
    /// Layer that declared it.
    pub origin: String,
}

/// A part or group.
#[derive(Clone, Debug, Serialize)]
pub struct SectionReport {
    /// Id.
    pub path: String,
    /// Title.
    pub title: String,
    /// Points.
    pub points: Option<Num>,
    /// Max.
    pub max: Option<Num>,
    /// Status.
    pub status: Status,
}

/// An item.
#[derive(Clone, Debug, Serialize)]
pub struct ItemReport {
    /// Id.
    pub path: String,
    /// Title.
    pub title: String,
    /// Clause.
    pub clause: Option<String>,
    /// The answer as given.
    pub answer: Option<serde_json::Value>,
    /// Points (standards).
    pub points: Option<Num>,
    /// Max (standards).
    pub max: Option<Num>,
    /// Status.
    pub status: Status,
    /// One line: clause, answer, points and why.
    pub explanation: String,
    /// Fields a layer replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

/// A photo requirement not met.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceGap {
    /// Item.
    pub item: String,
    /// Photos needed.
    pub needed: u32,
    /// Photos given.
    pub given: u32,
}

/// A hazard with its 隐患/整改/责任 fields.
#[derive(Clone, Debug, Serialize)]
pub struct HazardReport {
    /// `item.hazard`.
    pub id: String,
    /// Item.
    pub item: String,
    /// Item title.
    pub item_title: String,
    /// Clause of the item.
    pub clause: Option<String>,
    /// `general` or `major`.
    pub level: crate::ast::HazardLevel,
    /// To be settled by experts.
    pub pending: bool,
    /// Description.
    pub description: String,
    /// 整改措施.
    pub measure: String,
    /// 整改期限, days (0 = immediately).
    pub deadline_days: i64,
    /// Deadline date from `as_of`.
    pub deadline: Option<String>,
    /// 主体责任 role.
    pub party: String,
    /// Its Chinese name.
    pub party_title: String,
    /// 监管责任 department.
    pub department: String,
    /// Its Chinese name.
    pub department_title: String,
    /// Category.
    pub category: Option<String>,
    /// Legal basis.
    pub basis: Option<String>,
    /// Immediate measures.
    pub immediate: Option<String>,
    /// Finer level.
    pub tag: Option<String>,
    /// Fields a layer replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

/// Credit result.
#[derive(Clone, Debug, Serialize)]
pub struct CreditReport {
    /// Score.
    pub score: Num,
    /// Level.
    pub level: Option<Named>,
    /// Each event's contribution.
    pub events: Vec<CreditLine>,
    /// On the blacklist.
    pub blacklisted: bool,
    /// Grounds in force.
    pub grounds: Vec<String>,
    /// Listed since.
    pub since: Option<String>,
    /// Earliest removal on application (信用修复).
    pub earliest_removal: Option<String>,
    /// Automatic end.
    pub ends: Option<String>,
}

/// One event's contribution to a credit score.
#[derive(Clone, Debug, Serialize)]
pub struct CreditLine {
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Date.
    pub date: String,
    /// Reference.
    pub reference: Option<String>,
    /// Points counted.
    pub points: Num,
    /// Why not the full points.
    pub note: Option<String>,
}

/// Sampling result.
#[derive(Clone, Debug, Serialize)]
pub struct SamplingReport {
    /// Weight.
    pub weight: Num,
    /// Weights applied.
    pub reasons: Vec<String>,
    /// Always-draw rules that apply.
    pub always: Vec<String>,
    /// Coverage rules the institution counts towards.
    pub cover: Vec<String>,
}

fn title_of(table: &[(&str, &str)], key: &str) -> String {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(String::new, |(_, t)| (*t).to_string())
}

/// The answer as JSON, in the form the input uses.
pub fn answer_json(q: &Type, v: Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Bool(b) => json!(if b { "yes" } else { "no" }),
        Value::Num(n) => serde_json::to_value(n).unwrap_or(serde_json::Value::Null),
        Value::Key(k) => json!(q.options().get(k as usize).map_or("", |o| o.key.as_str())),
        Value::Set(s) => json!(
            q.options()
                .iter()
                .enumerate()
                .filter(|(i, _)| s & (1 << i) != 0)
                .map(|(_, o)| o.key.as_str())
                .collect::<Vec<_>>()
        ),
        Value::Date(d) => json!(date::format(crate::ast::Date(d))),
        Value::Text => json!("(text)"),
        Value::Dur(_) | Value::Unknown => serde_json::Value::Null,
    }
}

fn answer_words(q: &Type, v: Value) -> String {
    match (q, v) {
        (_, Value::Bool(b)) => (if b { "yes" } else { "no" }).to_string(),
        (Type::Number { unit: Some(u), .. }, Value::Num(n)) => format!("{n} {u}"),
        (_, Value::Num(n)) => n.to_string(),
        (_, Value::Key(k)) => q
            .options()
            .get(k as usize)
            .map_or_else(String::new, |o| format!("`{}` ({})", o.key, o.title)),
        (_, Value::Set(s)) => {
            let chosen: Vec<&str> = q
                .options()
                .iter()
                .enumerate()
                .filter(|(i, _)| s & (1 << i) != 0)
                .map(|(_, o)| o.key.as_str())
                .collect();
            format!("[{}]", chosen.join(", "))
        }
        (_, Value::Date(d)) => date::format(crate::ast::Date(d)),
        (_, Value::Text) => "text given".to_string(),
        _ => "?".to_string(),
    }
}

/// Explains an outcome.
pub fn report(c: &Compiled, input: &Input, o: &Outcome) -> Report {
    let standard = c.kind == crate::ast::RulesetKind::Standard;
    let mut sections = Vec::new();
    let mut items = Vec::new();
    let mut missing = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        let no = o.nodes.get(i).copied().unwrap_or(crate::eval::NodeOutcome {
            status: Status::Missing,
            points: Num::ZERO,
            condition_unknown: false,
        });
        let Some(item) = &n.item else {
            sections.push(SectionReport {
                path: n.path.clone(),
                title: n.title.clone(),
                points: standard.then_some(no.points),
                max: n.max,
                status: no.status,
            });
            continue;
        };
        let ans = input.answers.get(i).copied().flatten();
        let clause = n
            .clause
            .as_deref()
            .map_or_else(String::new, |c| format!("[{c}] "));
        let max = n.max.unwrap_or(Num::ZERO);
        let explanation = match no.status {
            Status::NotApplicable => {
                format!("{clause}not applicable (不参与评分): its condition does not hold")
            }
            Status::Missing if ans.is_none() => {
                missing.push(n.path.clone());
                if standard {
                    format!("{clause}no answer: scores 0 of {max}")
                } else {
                    format!("{clause}no answer")
                }
            }
            Status::Missing => format!(
                "{clause}answer {} but the score rule reads something missing: scores 0 of {max}",
                answer_words(&item.question, ans.unwrap_or(Value::Unknown))
            ),
            Status::Scored => {
                let a = answer_words(&item.question, ans.unwrap_or(Value::Unknown));
                if !standard {
                    format!("{clause}answer {a}")
                } else {
                    let how = match &item.score {
                        ScoreDef::YesNo => "yes scores full marks".to_string(),
                        ScoreDef::Options => "by the option's points".to_string(),
                        ScoreDef::Expr { .. } => "by the score rule".to_string(),
                        ScoreDef::Deduct { .. } => {
                            format!("{max} less the deductions, not below 0")
                        }
                        ScoreDef::None => String::new(),
                    };
                    let over = if n.overrides.is_empty() {
                        String::new()
                    } else {
                        format!(" (overridden: {})", n.overrides.join("; "))
                    };
                    format!("{clause}answer {a} → {} of {max}, {how}{over}", no.points)
                }
            }
        };
        items.push(ItemReport {
            path: n.path.clone(),
            title: n.title.clone(),
            clause: n.clause.clone(),
            answer: ans.map(|v| answer_json(&item.question, v)),
            points: standard.then_some(no.points),
            max: n.max,
            status: no.status,
            explanation,
            overrides: n.overrides.clone(),
        });
    }
    let hazard_report = |&(i, h): &(u32, u16)| -> Option<HazardReport> {
        let n = c.nodes.get(i as usize)?;
        let hd = n.item.as_ref()?.hazards.get(h as usize)?;
        Some(HazardReport {
            id: format!("{}.{}", n.path, hd.id),
            item: n.path.clone(),
            item_title: n.title.clone(),
            clause: n.clause.clone(),
            level: hd.level,
            pending: hd.pending,
            description: hd.title.clone(),
            measure: hd.measure.clone(),
            deadline_days: hd.deadline_days,
            deadline: input.as_of.map(|d| {
                date::format(date::shift(
                    d,
                    hd.deadline_days,
                    crate::ast::DurationUnit::Days,
                ))
            }),
            party: hd.party.clone(),
            party_title: title_of(PARTIES, &hd.party),
            department: hd.department.clone(),
            department_title: title_of(DEPARTMENTS, &hd.department),
            category: hd.category.clone(),
            basis: hd.basis.clone(),
            immediate: hd.immediate.clone(),
            tag: hd.tag.clone(),
            overrides: hd.overrides.clone(),
        })
    };
    let named_grade = |g: u16| {
        c.grades.get(g as usize).map(|g| Named {
            id: g.id.clone(),
            title: g.title.clone(),
        })
    };
    let (grade_reason, gap) = if standard {
        grade_reason_and_gap(c, o)
    } else {
        (None, None)
    };
    Report {
        ruleset: RulesetRef {
            id: c.id.clone(),
            title: c.title.clone(),
            version: c.version.clone(),
            kind: c.kind,
            hash: c.hash.clone(),
            engine: c.engine.clone(),
            layers: c
                .layers
                .iter()
                .map(|l| format!("{} {}", l.id, l.version))
                .collect(),
        },
        as_of: input.as_of.map(date::format),
        total: standard.then_some(o.total),
        max_total: standard.then_some(c.max_total),
        status: o.status,
        grade: o.grade.and_then(named_grade),
        grade_reason,
        grades_from: (c.layers.len() > 1 && !c.grades_origin.is_empty())
            .then(|| c.grades_origin.clone()),
        gap,
        vetoes: o
            .vetoes
            .iter()
            .filter_map(|&v| c.vetoes.get(v as usize))
            .map(|v| VetoReport {
                id: v.id.clone(),
                title: v.title.clone(),
                clause: v.clause.clone(),
                effect: match v.effect {
                    Effect::Ineligible => "not eligible for grading (不予评定)".to_string(),
                    Effect::Terminate => "evaluation terminated (终止评定)".to_string(),
                    Effect::Cap(g) => format!(
                        "grade capped at {}",
                        c.grades.get(g as usize).map_or("?", |g| g.title.as_str())
                    ),
                },
                origin: v.origin.clone(),
            })
            .collect(),
        undetermined_vetoes: o
            .undetermined_vetoes
            .iter()
            .filter_map(|&v| c.vetoes.get(v as usize))
            .map(|v| v.id.clone())
            .collect(),
        sections,
        items,
        missing_answers: missing,
        unmet_evidence: o
            .unmet_evidence
            .iter()
            .filter_map(|&(i, need, got)| {
                c.nodes.get(i as usize).map(|n| EvidenceGap {
                    item: n.path.clone(),
                    needed: need,
                    given: got,
                })
            })
            .collect(),
        hazards: o.hazards.iter().filter_map(hazard_report).collect(),
        undetermined_hazards: o
            .undetermined_hazards
            .iter()
            .filter_map(hazard_report)
            .map(|h| h.id)
            .collect(),
        credit: o
            .credit
            .as_ref()
            .zip(c.credit.as_ref())
            .map(|(cr, cd)| CreditReport {
                score: cr.score,
                level: cr
                    .level
                    .and_then(|l| cd.levels.get(l as usize))
                    .map(|l| Named {
                        id: l.id.clone(),
                        title: l.title.clone(),
                    }),
                events: cr
                    .contributions
                    .iter()
                    .filter_map(|(idx, pts, note)| {
                        let (k, d, r) = input.events.get(*idx)?;
                        let e = c.events.get(*k as usize)?;
                        Some(CreditLine {
                            kind: e.id.clone(),
                            title: e.title.clone(),
                            date: date::format(*d),
                            reference: r.clone(),
                            points: *pts,
                            note: note.clone(),
                        })
                    })
                    .collect(),
                blacklisted: cr.blacklisted,
                grounds: cr
                    .grounds
                    .iter()
                    .filter_map(|&g| {
                        input.events.get(g).and_then(|(k, d, _)| {
                            c.events
                                .get(*k as usize)
                                .map(|e| format!("{} ({})", e.title, date::format(*d)))
                        })
                    })
                    .collect(),
                since: cr.since.map(date::format),
                earliest_removal: cr.earliest_removal.map(date::format),
                ends: cr.ends.map(date::format),
            }),
        sampling: o
            .sampling
            .as_ref()
            .zip(c.sampling.as_ref())
            .map(|(s, sd)| SamplingReport {
                weight: s.weight,
                reasons: s
                    .weights
                    .iter()
                    .filter_map(|&k| sd.weights.get(k))
                    .map(|w| format!("{} ×{}", w.title, w.factor))
                    .collect(),
                always: s
                    .always
                    .iter()
                    .filter_map(|&k| sd.always.get(k))
                    .map(|a| a.0.clone())
                    .collect(),
                cover: s
                    .cover
                    .iter()
                    .filter_map(|&k| sd.cover.get(k))
                    .map(|cv| cv.title.clone())
                    .collect(),
            }),
        input_problems: o.problems.clone(),
    }
}

fn describe_cond(c: &Compiled, o: &Outcome, cond: &GradeCondDef, r: Tri) -> String {
    match cond {
        GradeCondDef::Total { min } => format!(
            "total {} {} {min}",
            o.total,
            if r == Tri::Yes { "≥" } else { "<" }
        ),
        GradeCondDef::Part { part, min, percent } => {
            let n = &c.nodes[*part as usize];
            let have = o.nodes.get(*part as usize).map_or(Num::ZERO, |x| x.points);
            let pct = percent.map_or_else(String::new, |p| {
                format!(
                    " ({}% of {})",
                    p.times(Num::int(100)),
                    n.max.unwrap_or(Num::ZERO)
                )
            });
            format!(
                "part {} {} {have} {} {min}{pct}",
                n.path,
                n.title,
                if r == Tri::Yes { "≥" } else { "<" }
            )
        }
        GradeCondDef::Require { label, .. } => match r {
            Tri::Yes => format!("{label}: holds"),
            Tri::No => format!("{label}: does not hold"),
            Tri::Unknown => format!("{label}: unknown (a fact or answer it needs is missing)"),
        },
    }
}

fn grade_reason_and_gap(c: &Compiled, o: &Outcome) -> (Option<String>, Option<Gap>) {
    let checks = |g: u16| o.grade_checks.iter().filter(move |(gg, _, _)| *gg == g);
    let reason = match o.status {
        GradeStatus::Ineligible | GradeStatus::Terminated => {
            let names: Vec<&str> = o
                .vetoes
                .iter()
                .filter_map(|&v| c.vetoes.get(v as usize))
                .map(|v| v.title.as_str())
                .collect();
            Some(format!("no grade: {}", names.join("; ")))
        }
        _ => o.grade.and_then(|g| c.grades.get(g as usize)).map(|gd| {
            let g = o.grade.unwrap_or(0);
            let conds: Vec<String> = checks(g)
                .filter_map(|(_, k, r)| {
                    gd.conds
                        .get(*k as usize)
                        .map(|cd| describe_cond(c, o, cd, *r))
                })
                .collect();
            let capped = if o.computed_grade != o.grade {
                " (capped by a veto)"
            } else {
                ""
            };
            format!("{}{capped}: {}", gd.title, conds.join("; "))
        }),
    };
    if matches!(o.status, GradeStatus::Ineligible | GradeStatus::Terminated) {
        return (reason, None);
    }
    let next = match o.grade {
        Some(g) => g + 1,
        None => 0,
    };
    let Some(gd) = c.grades.get(next as usize) else {
        return (reason.or_else(|| Some("no grade is defined".into())), None);
    };
    let mut failed = Vec::new();
    let mut total_short = Num::ZERO;
    let mut parts = Vec::new();
    for (_, k, r) in checks(next) {
        let Some(cond) = gd.conds.get(*k as usize) else {
            continue;
        };
        if *r == Tri::Yes {
            continue;
        }
        failed.push(describe_cond(c, o, cond, *r));
        match cond {
            GradeCondDef::Total { min } => total_short = min.minus(o.total),
            GradeCondDef::Part { part, min, .. } => {
                let have = o.nodes.get(*part as usize).map_or(Num::ZERO, |x| x.points);
                let n = &c.nodes[*part as usize];
                parts.push(PartGap {
                    part: n.path.clone(),
                    title: n.title.clone(),
                    points: have,
                    needed: *min,
                    short: min.minus(have),
                });
            }
            GradeCondDef::Require { .. } => {}
        }
    }
    // A veto cap can hold the grade below what the points reach: say so.
    if failed.is_empty() && o.computed_grade >= Some(next) {
        failed.push("a veto caps the grade".to_string());
    }
    let cheapest = cheapest_fixes(c, o, &parts, total_short);
    let gap = Gap {
        grade: Named {
            id: gd.id.clone(),
            title: gd.title.clone(),
        },
        first_failed: failed.first().cloned(),
        failed,
        total_short,
        parts,
        cheapest,
    };
    (reason, Some(gap))
}

/// Picks the fewest items (largest missing points first) that close each short part and then
/// the total. Deterministic: ties go to the item that comes first in the ruleset.
fn cheapest_fixes(c: &Compiled, o: &Outcome, parts: &[PartGap], total_short: Num) -> Vec<Fix> {
    let lost = |i: usize| -> Num {
        let max = c.nodes[i].max.unwrap_or(Num::ZERO);
        match o.nodes.get(i) {
            Some(n) if n.status != Status::NotApplicable => max.minus(n.points),
            _ => Num::ZERO,
        }
    };
    let part_of = |mut i: usize| -> usize {
        while let Some(p) = c.nodes[i].parent {
            i = p as usize;
        }
        i
    };
    let mut candidates: Vec<usize> = (0..c.nodes.len())
        .filter(|&i| c.nodes[i].item.is_some() && lost(i) > Num::ZERO)
        .collect();
    candidates.sort_by(|&a, &b| lost(b).cmp(&lost(a)).then(a.cmp(&b)));
    let mut picked: Vec<usize> = Vec::new();
    let mut gained = Num::ZERO;
    for pg in parts {
        let Some(pi) = c.node_index(&pg.part) else {
            continue;
        };
        let mut need = pg.short;
        for &i in &candidates {
            if need <= Num::ZERO {
                break;
            }
            if part_of(i) == pi && !picked.contains(&i) {
                picked.push(i);
                need = need.minus(lost(i));
                gained = gained.plus(lost(i));
            }
        }
    }
    let mut need = total_short.minus(gained);
    for &i in &candidates {
        if need <= Num::ZERO {
            break;
        }
        if !picked.contains(&i) {
            picked.push(i);
            need = need.minus(lost(i));
        }
    }
    picked
        .into_iter()
        .map(|i| {
            let n = &c.nodes[i];
            let pts = o.nodes.get(i).map_or(Num::ZERO, |x| x.points);
            Fix {
                item: n.path.clone(),
                title: n.title.clone(),
                clause: n.clause.clone(),
                points: pts,
                max: n.max.unwrap_or(Num::ZERO),
                gain: lost(i),
            }
        })
        .collect()
}
