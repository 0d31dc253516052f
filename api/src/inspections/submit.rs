//! Acknowledgement and submit: the server re-scores the inspection under its pinned rulesets
//! (whatever the phone computed is ignored), stores each outcome with its receipt, and turns the
//! hazards found into the three lists (隐患清单, 整改清单, 责任清单). After submit the inspection is
//! read-only; submitting again returns what the first submit stored.

use super::facts::{facts_for, institution_facts};
use super::{InspectionRow, status};
use crate::db::DbConn;
use crate::db::schema::{
    answers, hazards, inspections, institutions, outcomes, photos, rectifications, responsibilities,
};
use crate::error::ApiError;
use crate::registry::institutions::InstitutionRow;
use caregrade_dsl::eval::{self, RawInput};
use caregrade_dsl::ir::Compiled;
use caregrade_dsl::report::{self, HazardReport};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The representative's acknowledgement (签字确认).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Acknowledgement {
    /// Name of the institution's representative.
    pub name: String,
    /// Their role (院长, 安全管理员 …).
    #[serde(default)]
    pub role: Option<String>,
    /// When they signed (phone time, RFC 3339); the server time is kept beside it.
    #[serde(default)]
    pub signed_at: Option<String>,
    /// Evidence-store key of the signature image, when one was given.
    #[serde(default)]
    pub signature_key: Option<String>,
    /// Server time of the acknowledgement.
    #[serde(default)]
    pub recorded_at: String,
    /// User who recorded it.
    #[serde(default)]
    pub recorded_by: String,
}

/// One stored outcome with its receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutcomeInfo {
    /// Ruleset id.
    pub ruleset: String,
    /// The pinned version it was scored under.
    pub ruleset_hash: String,
    /// SHA-256 of the answers it was scored from (canonical JSON).
    pub answers_hash: String,
    /// Engine that scored it.
    pub engine: String,
    /// Total points (standards).
    pub total: Option<String>,
    /// Grade id (standards).
    pub grade: Option<String>,
    /// When scored.
    pub created_at: String,
    /// The full explained outcome.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// What a submit produced.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// Inspection.
    pub inspection_id: String,
    /// When submitted.
    pub submitted_at: String,
    /// One outcome per pinned ruleset.
    pub outcomes: Vec<OutcomeInfo>,
    /// Hazards entered in the 隐患清单 (each with one rectification and one responsibility).
    pub hazards: usize,
}

/// Records the acknowledgement and moves the inspection to `acknowledged`.
pub fn acknowledge(
    conn: &mut DbConn,
    inspection: &InspectionRow,
    ack: &Acknowledgement,
    now: &str,
) -> QueryResult<Result<i32, ApiError>> {
    conn.transaction(|c| {
        let n = diesel::update(
            inspections::table
                .find(&inspection.id)
                .filter(inspections::status.ne(status::SUBMITTED)),
        )
        .set((
            inspections::status.eq(status::ACKNOWLEDGED),
            inspections::acknowledgement.eq(serde_json::to_string(ack).ok()),
            inspections::started_at.eq(inspection
                .started_at
                .clone()
                .unwrap_or_else(|| now.to_owned())),
        ))
        .execute(c)?;
        if n == 0 {
            return Ok(Err(super::submitted()));
        }
        let version = super::bump_version(c, &inspection.id, now)?;
        crate::audit::append(
            c,
            &ack.recorded_by,
            "inspection.acknowledged",
            "inspection",
            &inspection.id,
            &serde_json::json!({ "version": version, "acknowledgement": ack }),
        )?;
        Ok(Ok(version))
    })
}

/// Today's date where the bureaus are (UTC+8), which deadlines count from.
pub fn today_cn() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// Submits: guards, scoring, outcomes and the three lists, in one transaction.
pub fn submit(
    conn: &mut DbConn,
    inspection: &InspectionRow,
    pinned: &BTreeMap<String, Arc<Compiled>>,
    user: &str,
    now: &str,
) -> QueryResult<Result<Submitted, ApiError>> {
    conn.transaction::<_, TxError, _>(|c| {
        // The status update comes first: it takes the write lock, so of two concurrent submits
        // exactly one passes and the other returns the stored result.
        let n = diesel::update(
            inspections::table
                .find(&inspection.id)
                .filter(inspections::status.eq(status::ACKNOWLEDGED)),
        )
        .set((
            inspections::status.eq(status::SUBMITTED),
            inspections::submitted_at.eq(now),
            inspections::submitted_by.eq(user),
        ))
        .execute(c)?;
        if n == 0 {
            let current: InspectionRow = inspections::table
                .find(&inspection.id)
                .select(InspectionRow::as_select())
                .first(c)?;
            return if current.status == status::SUBMITTED {
                Ok(Ok(stored(c, &current)?))
            } else {
                Ok(Err(ApiError::conflict(
                    "not_acknowledged",
                    "the institution's representative has not acknowledged the findings yet",
                )))
            };
        }
        let pending = super::uploads::pending(c, &inspection.id)?;
        if !pending.is_empty() {
            return Err(Refused(
                ApiError::conflict(
                    "uploads_pending",
                    format!(
                        "{} photo upload(s) not completed: complete them, or cancel those the phone dropped, then submit",
                        pending.len()
                    ),
                )
                .with_errors(Value::Array(pending)),
            )
            .into());
        }
        let inst: InstitutionRow = institutions::table
            .find(&inspection.institution_id)
            .select(InstitutionRow::as_select())
            .first(c)?;
        let all_facts = institution_facts(&inst);
        let as_of = today_cn();
        let mut scored = Vec::new();
        let mut missing = Vec::new();
        for (name, compiled) in pinned {
            let (answers, rep) =
                score(c, &inspection.id, &inst, &all_facts, name, compiled, as_of)?;
            for gap in &rep.unmet_evidence {
                missing.push(serde_json::json!({
                    "ruleset": name,
                    "item": gap.item,
                    "needed": gap.needed,
                    "given": gap.given,
                }));
            }
            scored.push((name.clone(), compiled.clone(), answers, rep));
        }
        if !missing.is_empty() {
            // Leave nothing behind: the status update above is rolled back with this error.
            return Err(Refused(ApiError::unprocessable(
                "evidence_missing",
                format!("{} item(s) still need photos", missing.len()),
                Value::Array(missing),
            ))
            .into());
        }
        let mut hazard_count = 0;
        let mut hazard_ids = Vec::new();
        let mut receipts = Vec::new();
        for (name, compiled, answers, rep) in &scored {
            let answers_json = serde_json::to_string(answers).unwrap_or_default();
            let report_json = serde_json::to_value(rep).unwrap_or(Value::Null);
            diesel::insert_into(outcomes::table)
                .values((
                    outcomes::id.eq(uuid::Uuid::new_v4().to_string()),
                    outcomes::inspection_id.eq(&inspection.id),
                    outcomes::ruleset_hash.eq(&compiled.hash),
                    outcomes::ruleset.eq(name),
                    outcomes::answers_hash.eq(caregrade_dsl::sha256_hex(answers_json.as_bytes())),
                    outcomes::engine.eq(&compiled.engine),
                    outcomes::total.eq(rep.total.map(|t| t.to_string())),
                    outcomes::grade.eq(rep.grade.as_ref().map(|g| g.id.clone())),
                    outcomes::report.eq(report_json.to_string()),
                    outcomes::created_at.eq(now),
                ))
                .execute(c)?;
            for h in &rep.hazards {
                let id = enter_lists(c, inspection, &inst, name, h, as_of, now)?;
                let kind = match h.level {
                    caregrade_dsl::ast::HazardLevel::Major => "hazard_major",
                    caregrade_dsl::ast::HazardLevel::General => "hazard_general",
                };
                let on = as_of.format("%Y-%m-%d").to_string();
                crate::rectification::credit_event(c, &inst.id, kind, &on, "hazard", &id, user)?;
                hazard_ids
                    .push(serde_json::json!({ "hazard": id, "rule": h.id, "level": h.level }));
                hazard_count += 1;
            }
            receipts.push(serde_json::json!({
                "ruleset": name,
                "ruleset_hash": compiled.hash,
                "answers_hash": caregrade_dsl::sha256_hex(answers_json.as_bytes()),
                "engine": compiled.engine,
                "total": rep.total.map(|t| t.to_string()),
                "grade": rep.grade.as_ref().map(|g| g.id.clone()),
            }));
        }
        let version = super::bump_version(c, &inspection.id, now)?;
        crate::audit::append(
            c,
            user,
            "inspection.submitted",
            "inspection",
            &inspection.id,
            &serde_json::json!({ "version": version, "outcomes": receipts, "hazards": hazard_ids }),
        )?;
        // Submit is refused while evidence is missing, so this fires only once every required
        // photo has arrived.
        crate::webhooks::emit(
            c,
            "inspection.submitted",
            &format!("inspection.submitted:{}", inspection.id),
            &inspection.district_code,
            &serde_json::json!({ "inspection": inspection.id, "institution": inst.id, "institution_name": inst.name, "outcomes": receipts, "hazards": hazard_count }),
        )?;
        let current: InspectionRow = inspections::table
            .find(&inspection.id)
            .select(InspectionRow::as_select())
            .first(c)?;
        let mut out = stored(c, &current)?;
        out.hazards = hazard_count;
        Ok(Ok(out))
    })
    .or_else(|e| match e {
        TxError::Refused(Refused(api)) => Ok(Err(api)),
        TxError::Db(db) => Err(db),
    })
}

/// An error that rolls the transaction back but is the client's answer, not a failure.
#[derive(Debug)]
struct Refused(ApiError);

/// Errors inside the submit transaction.
#[derive(Debug)]
enum TxError {
    Refused(Refused),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<Refused> for TxError {
    fn from(r: Refused) -> Self {
        Self::Refused(r)
    }
}

/// Scores one pinned ruleset of an inspection as it stands: its answers, photo counts, the
/// institution's facts and its dated events of kinds the ruleset declares (accidents, penalties
/// … recorded as credit events). Returns the answers scored and the explained report.
pub fn score(
    conn: &mut DbConn,
    inspection: &str,
    inst: &InstitutionRow,
    all_facts: &BTreeMap<String, Value>,
    name: &str,
    compiled: &Compiled,
    as_of: chrono::NaiveDate,
) -> QueryResult<(BTreeMap<String, Value>, report::Report)> {
    let answers = answers_of(conn, inspection, name)?;
    let photos = photo_counts(conn, inspection, name)?;
    let declared: Vec<&str> = compiled.events.iter().map(|e| e.id.as_str()).collect();
    let events = crate::credit::events(conn, &inst.id)?
        .into_iter()
        .filter(|e| declared.contains(&e.kind.as_str()))
        .map(|e| eval::RawEvent {
            kind: e.kind,
            date: e.occurred_on,
            reference: e.document_no,
        })
        .collect();
    let input = RawInput {
        as_of: Some(as_of.format("%Y-%m-%d").to_string()),
        facts: facts_for(compiled, all_facts),
        answers: answers.clone(),
        photos,
        events,
    };
    let bound = compiled.bind(&input);
    let outcome = eval::evaluate(compiled, &bound);
    Ok((answers, report::report(compiled, &bound, &outcome)))
}

/// The answers of one ruleset as the evaluator reads them.
fn answers_of(
    conn: &mut DbConn,
    inspection: &str,
    ruleset: &str,
) -> QueryResult<BTreeMap<String, Value>> {
    let rows: Vec<(String, String)> = answers::table
        .filter(answers::inspection_id.eq(inspection))
        .filter(answers::ruleset.eq(ruleset))
        .select((answers::item, answers::value))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, v)| serde_json::from_str(&v).ok().map(|v| (k, v)))
        .filter(|(_, v): &(String, Value)| !v.is_null())
        .collect())
}

/// Photos per item of one ruleset.
fn photo_counts(
    conn: &mut DbConn,
    inspection: &str,
    ruleset: &str,
) -> QueryResult<BTreeMap<String, u32>> {
    let items: Vec<String> = photos::table
        .filter(photos::inspection_id.eq(inspection))
        .filter(photos::ruleset.eq(ruleset))
        .select(photos::item)
        .load(conn)?;
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(i).or_insert(0) += 1;
    }
    Ok(out)
}

/// The name of whoever holds `role` at the institution, from the registry: its columns, then a
/// `parties` object in its facts (`{"fire_safety_manager": "王五"}`). The legal representative
/// answers for a role nobody was named for, as the fire law makes them responsible by default.
fn party_name(inst: &InstitutionRow, role: &str) -> String {
    let named = serde_json::from_str::<Value>(&inst.facts)
        .ok()
        .and_then(|f| f.get("parties")?.get(role)?.as_str().map(str::to_owned));
    if let Some(n) = named.filter(|n| !n.trim().is_empty()) {
        return n;
    }
    match role {
        "safety_manager" | "fire_safety_manager" if !inst.safety_manager.is_empty() => {
            inst.safety_manager.clone()
        }
        _ => inst.legal_representative.clone(),
    }
}

/// Enters one hazard in the three lists.
fn enter_lists(
    conn: &mut DbConn,
    inspection: &InspectionRow,
    inst: &InstitutionRow,
    ruleset: &str,
    h: &HazardReport,
    as_of: chrono::NaiveDate,
    now: &str,
) -> QueryResult<String> {
    let hazard_id = uuid::Uuid::new_v4().to_string();
    let (note,): (Option<String>,) = answers::table
        .filter(answers::inspection_id.eq(&inspection.id))
        .filter(answers::ruleset.eq(ruleset))
        .filter(answers::item.eq(&h.item))
        .select((answers::note,))
        .first(conn)
        .optional()?
        .unwrap_or((None,));
    let photo_ids: Vec<String> = photos::table
        .filter(photos::inspection_id.eq(&inspection.id))
        .filter(photos::ruleset.eq(ruleset))
        .filter(photos::item.eq(&h.item))
        .order(photos::created_at)
        .select(photos::id)
        .load(conn)?;
    let level = serde_json::to_value(h.level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "general".into());
    let rule = h.id.rsplit('.').next().unwrap_or(&h.id).to_owned();
    diesel::insert_into(hazards::table)
        .values((
            hazards::id.eq(&hazard_id),
            hazards::inspection_id.eq(&inspection.id),
            hazards::institution_id.eq(&inst.id),
            hazards::district_code.eq(&inst.district_code),
            hazards::ruleset.eq(ruleset),
            hazards::item.eq(&h.item),
            hazards::rule.eq(rule),
            hazards::level.eq(level),
            hazards::pending.eq(h.pending),
            hazards::description.eq(&h.description),
            hazards::item_title.eq(&h.item_title),
            hazards::clause.eq(&h.clause),
            hazards::category.eq(&h.category),
            hazards::basis.eq(&h.basis),
            hazards::immediate.eq(&h.immediate),
            hazards::location.eq(note),
            hazards::photos.eq(serde_json::to_string(&photo_ids).unwrap_or_else(|_| "[]".into())),
            hazards::found_on.eq(as_of.format("%Y-%m-%d").to_string()),
            hazards::created_at.eq(now),
        ))
        .execute(conn)?;
    let deadline = as_of + chrono::Days::new(u64::try_from(h.deadline_days.max(0)).unwrap_or(0));
    diesel::insert_into(rectifications::table)
        .values((
            rectifications::id.eq(uuid::Uuid::new_v4().to_string()),
            rectifications::hazard_id.eq(&hazard_id),
            rectifications::institution_id.eq(&inst.id),
            rectifications::district_code.eq(&inst.district_code),
            rectifications::measure.eq(&h.measure),
            rectifications::deadline.eq(deadline.format("%Y-%m-%d").to_string()),
            rectifications::status.eq("open"),
            rectifications::version.eq(1),
            rectifications::created_at.eq(now),
            rectifications::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(responsibilities::table)
        .values((
            responsibilities::id.eq(uuid::Uuid::new_v4().to_string()),
            responsibilities::hazard_id.eq(&hazard_id),
            responsibilities::institution_id.eq(&inst.id),
            responsibilities::district_code.eq(&inst.district_code),
            responsibilities::party_role.eq(&h.party),
            responsibilities::party_title.eq(&h.party_title),
            responsibilities::party_name.eq(party_name(inst, &h.party)),
            responsibilities::department.eq(&h.department),
            responsibilities::department_title.eq(&h.department_title),
            responsibilities::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(hazard_id)
}

/// What a submitted inspection stored.
pub fn stored(conn: &mut DbConn, inspection: &InspectionRow) -> QueryResult<Submitted> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<Row> = outcomes::table
        .filter(outcomes::inspection_id.eq(&inspection.id))
        .order(outcomes::ruleset)
        .select((
            outcomes::ruleset,
            outcomes::ruleset_hash,
            outcomes::answers_hash,
            outcomes::engine,
            outcomes::total,
            outcomes::grade,
            outcomes::created_at,
            outcomes::report,
        ))
        .load(conn)?;
    let hazards: i64 = hazards::table
        .filter(hazards::inspection_id.eq(&inspection.id))
        .count()
        .get_result(conn)?;
    Ok(Submitted {
        inspection_id: inspection.id.clone(),
        submitted_at: inspection.submitted_at.clone().unwrap_or_default(),
        outcomes: rows
            .into_iter()
            .map(
                |(
                    ruleset,
                    ruleset_hash,
                    answers_hash,
                    engine,
                    total,
                    grade,
                    created_at,
                    report,
                )| OutcomeInfo {
                    ruleset,
                    ruleset_hash,
                    answers_hash,
                    engine,
                    total,
                    grade,
                    created_at,
                    report: serde_json::from_str(&report).unwrap_or(Value::Null),
                },
            )
            .collect(),
        hazards: usize::try_from(hazards).unwrap_or(0),
    })
}
