//! The rectification loop (整改闭环): the institution reports a fix with evidence, an inspector or
//! the bureau verifies it (销号) or rejects it with a reason; deadlines are extended only with a
//! logged reason. Overdue is derived from the deadline and the clock; [`escalate_overdue`] only
//! emits what follows from it (credit events, a look-back re-inspection for a major hazard), once.

use crate::audit;
use crate::db::DbConn;
use crate::db::schema::{
    credit_events, hazards, inspection_members, inspections, photos, rectification_steps,
    rectifications,
};
use crate::error::ApiError;
use crate::inspections::lists::ListEntry;
use crate::inspections::{self as insp, InspectionRow};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// Rectification states.
pub mod state {
    /// To be fixed (also after a rejection).
    pub const OPEN: &str = "open";
    /// The institution reported it fixed; awaiting verification.
    pub const SUBMITTED: &str = "submitted";
    /// Verified fixed (销号); final.
    pub const VERIFIED: &str = "verified";
}

/// One step in a rectification's history.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = rectification_steps)]
pub struct Step {
    /// Id.
    pub id: String,
    /// Rectification.
    pub rectification_id: String,
    /// `submitted`, `verified`, `rejected`, `extended` or `escalated`.
    pub action: String,
    /// Note or reason.
    pub note: Option<String>,
    /// JSON array of evidence photo ids.
    pub evidence: String,
    /// Deadline before (extensions).
    pub old_deadline: Option<String>,
    /// Deadline after (extensions).
    pub new_deadline: Option<String>,
    /// User id, or `system`.
    pub actor: String,
    /// Server time.
    pub at: String,
}

/// A rectification with its history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rectification {
    /// The hazard, its rectification and responsibility.
    #[serde(flatten)]
    pub entry: ListEntry,
    /// Every step, oldest first.
    pub steps: Vec<Step>,
}

/// The steps of a rectification.
pub fn steps(conn: &mut DbConn, id: &str) -> QueryResult<Vec<Step>> {
    rectification_steps::table
        .filter(rectification_steps::rectification_id.eq(id))
        .order((rectification_steps::at, rectification_steps::id))
        .select(Step::as_select())
        .load(conn)
}

fn record(
    conn: &mut DbConn,
    entry: &ListEntry,
    action: &str,
    note: Option<&str>,
    evidence: &[String],
    deadlines: (Option<&str>, Option<&str>),
    (actor, now): (&str, &str),
) -> QueryResult<()> {
    let step = Step {
        id: uuid::Uuid::new_v4().to_string(),
        rectification_id: entry.rectification_id.clone(),
        action: action.to_owned(),
        note: note.map(str::to_owned),
        evidence: serde_json::to_string(evidence).unwrap_or_else(|_| "[]".into()),
        old_deadline: deadlines.0.map(str::to_owned),
        new_deadline: deadlines.1.map(str::to_owned),
        actor: actor.to_owned(),
        at: now.to_owned(),
    };
    diesel::insert_into(rectification_steps::table)
        .values(&step)
        .execute(conn)?;
    audit::append(
        conn,
        actor,
        &format!("rectification.{action}"),
        "rectification",
        &entry.rectification_id,
        &serde_json::json!({
            "hazard": entry.hazard_id,
            "institution": entry.institution_id,
            "note": note,
            "evidence": evidence,
            "old_deadline": deadlines.0,
            "new_deadline": deadlines.1,
        }),
    )?;
    Ok(())
}

/// Moves the rectification from `from` to `to` if it is still in `from` at `version` (when
/// given). The write comes first in each transaction so that concurrent steps queue.
fn transition(
    conn: &mut DbConn,
    entry: &ListEntry,
    from: &[&str],
    to: &str,
    version: Option<i32>,
    now: &str,
) -> QueryResult<bool> {
    let mut q = diesel::update(rectifications::table.find(&entry.rectification_id))
        .filter(rectifications::status.eq_any(from.to_vec()))
        .into_boxed();
    if let Some(v) = version {
        q = q.filter(rectifications::version.eq(v));
    }
    let n = q
        .set((
            rectifications::status.eq(to),
            rectifications::version.eq(rectifications::version + 1),
            rectifications::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Why a step cannot be taken now, given the current state.
fn refusal(entry: &ListEntry, version: Option<i32>, wanted: &str) -> ApiError {
    if version.is_some_and(|v| v != entry.version) {
        return ApiError::version_conflict(serde_json::to_value(entry).unwrap_or_default());
    }
    match entry.status.as_str() {
        state::VERIFIED => ApiError::conflict(
            "rectification_verified",
            "the rectification was verified (销号) and is closed",
        ),
        s => ApiError::conflict(
            "rectification_state",
            format!("the rectification is {s}; {wanted} needs another state"),
        ),
    }
}

/// The institution reports the fix, with evidence photos (ids of photos stored for the hazard's
/// inspection) and a note. Allowed while open; again after a rejection.
pub fn submit_fix(
    conn: &mut DbConn,
    entry: &ListEntry,
    note: &str,
    evidence: &[String],
    version: Option<i32>,
    actor: &str,
    now: &str,
) -> QueryResult<Result<(), ApiError>> {
    conn.transaction(|c| {
        let known: i64 = photos::table
            .filter(photos::id.eq_any(evidence))
            .filter(photos::inspection_id.eq(&entry.inspection_id))
            .count()
            .get_result(c)?;
        if known != evidence.len() as i64 {
            return Ok(Err(ApiError::validation(
                "evidence",
                "evidence must be ids of photos stored for this hazard's inspection",
            )));
        }
        if !transition(c, entry, &[state::OPEN], state::SUBMITTED, version, now)? {
            return Ok(Err(refusal(entry, version, "reporting a fix")));
        }
        record(
            c,
            entry,
            "submitted",
            Some(note),
            evidence,
            (None, None),
            (actor, now),
        )?;
        Ok(Ok(()))
    })
}

/// Verifies (销号) a submitted fix.
pub fn verify(
    conn: &mut DbConn,
    entry: &ListEntry,
    note: Option<&str>,
    version: Option<i32>,
    actor: &str,
    now: &str,
) -> QueryResult<Result<(), ApiError>> {
    conn.transaction(|c| {
        if !transition(c, entry, &[state::SUBMITTED], state::VERIFIED, version, now)? {
            return Ok(Err(refusal(entry, version, "verifying")));
        }
        record(c, entry, "verified", note, &[], (None, None), (actor, now))?;
        credit_event(
            c,
            &entry.institution_id,
            "rectification_verified",
            &now[..10],
            "rectification",
            &entry.rectification_id,
            actor,
        )?;
        Ok(Ok(()))
    })
}

/// Rejects a submitted fix with a reason: back to open. The deadline stays unless `extend_to` is
/// given, which is logged as its own step with the same reason.
pub fn reject(
    conn: &mut DbConn,
    entry: &ListEntry,
    reason: &str,
    extend_to: Option<&str>,
    version: Option<i32>,
    actor: &str,
    now: &str,
) -> QueryResult<Result<(), ApiError>> {
    conn.transaction(|c| {
        if !transition(c, entry, &[state::SUBMITTED], state::OPEN, version, now)? {
            return Ok(Err(refusal(entry, version, "rejecting")));
        }
        record(
            c,
            entry,
            "rejected",
            Some(reason),
            &[],
            (None, None),
            (actor, now),
        )?;
        if let Some(d) = extend_to {
            set_deadline(c, entry, d, reason, actor, now)?;
        }
        Ok(Ok(()))
    })
}

/// Extends (or moves) the deadline of an unverified rectification, with a reason.
pub fn extend(
    conn: &mut DbConn,
    entry: &ListEntry,
    deadline: &str,
    reason: &str,
    actor: &str,
    now: &str,
) -> QueryResult<Result<(), ApiError>> {
    conn.transaction(|c| {
        if !transition(
            c,
            entry,
            &[state::OPEN, state::SUBMITTED],
            &entry.status,
            None,
            now,
        )? {
            return Ok(Err(refusal(entry, None, "extending the deadline")));
        }
        set_deadline(c, entry, deadline, reason, actor, now)?;
        Ok(Ok(()))
    })
}

fn set_deadline(
    conn: &mut DbConn,
    entry: &ListEntry,
    deadline: &str,
    reason: &str,
    actor: &str,
    now: &str,
) -> QueryResult<()> {
    diesel::update(rectifications::table.find(&entry.rectification_id))
        .set(rectifications::deadline.eq(deadline))
        .execute(conn)?;
    record(
        conn,
        entry,
        "extended",
        Some(reason),
        &[],
        (Some(&entry.deadline), Some(deadline)),
        (actor, now),
    )
}

/// Records a credit event once: the same (kind, source, source id) again changes nothing.
/// Returns whether it was new.
pub fn credit_event(
    conn: &mut DbConn,
    institution: &str,
    kind: &str,
    on: &str,
    source: &str,
    source_id: &str,
    actor: &str,
) -> QueryResult<bool> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        credit_events::table
            .filter(credit_events::kind.eq(kind))
            .filter(credit_events::source.eq(source))
            .filter(credit_events::source_id.eq(source_id)),
    ))
    .get_result(conn)?;
    if exists {
        return Ok(false);
    }
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(credit_events::table)
        .values((
            credit_events::id.eq(&id),
            credit_events::institution_id.eq(institution),
            credit_events::kind.eq(kind),
            credit_events::occurred_on.eq(on),
            credit_events::source.eq(source),
            credit_events::source_id.eq(source_id),
            credit_events::created_by.eq(actor),
            credit_events::created_at.eq(crate::registry::now_text()),
        ))
        .execute(conn)?;
    audit::append(
        conn,
        actor,
        "credit.event",
        "institution",
        institution,
        &serde_json::json!({ "event": id, "kind": kind, "on": on, "source": source, "source_id": source_id }),
    )?;
    Ok(true)
}

/// What one escalation run did.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Escalation {
    /// Rectifications found overdue for the first time.
    pub escalated: Vec<String>,
    /// Look-back re-inspections (回头看) created for overdue major hazards.
    pub rechecks: Vec<String>,
}

/// Emits what follows from rectifications being overdue on `today`, once per rectification: a
/// step `escalated`, a credit event (`rectification_overdue`, or `major_overdue` for a major
/// hazard) and, for a major hazard, a look-back re-inspection of the institution limited to its
/// open items, assigned to the team that found it. Safe to run any number of times.
pub fn escalate_overdue(conn: &mut DbConn, today: &str) -> QueryResult<Escalation> {
    let now = crate::registry::now_text();
    let due: Vec<(String, String, String, String, String, String)> = rectifications::table
        .inner_join(hazards::table)
        .filter(rectifications::status.ne(state::VERIFIED))
        .filter(rectifications::deadline.lt(today))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            rectification_steps::table
                .filter(rectification_steps::rectification_id.eq(rectifications::id))
                .filter(rectification_steps::action.eq("escalated")),
        )))
        .select((
            rectifications::id,
            hazards::id,
            hazards::level,
            hazards::inspection_id,
            hazards::institution_id,
            hazards::district_code,
        ))
        .load(conn)?;
    let mut out = Escalation::default();
    for (rect, hazard, level, inspection, institution, district) in due {
        conn.transaction(|c| {
            // Another run may have escalated it since the query above.
            let done: bool = diesel::select(diesel::dsl::exists(
                rectification_steps::table
                    .filter(rectification_steps::rectification_id.eq(&rect))
                    .filter(rectification_steps::action.eq("escalated")),
            ))
            .get_result(c)?;
            if done {
                return Ok(());
            }
            diesel::insert_into(rectification_steps::table)
                .values(&Step {
                    id: uuid::Uuid::new_v4().to_string(),
                    rectification_id: rect.clone(),
                    action: "escalated".into(),
                    note: Some(format!("overdue on {today}")),
                    evidence: "[]".into(),
                    old_deadline: None,
                    new_deadline: None,
                    actor: "system".into(),
                    at: now.clone(),
                })
                .execute(c)?;
            let kind = if level == "major" {
                "major_overdue"
            } else {
                "rectification_overdue"
            };
            credit_event(
                c,
                &institution,
                kind,
                today,
                "rectification",
                &rect,
                "system",
            )?;
            audit::append(
                c,
                "system",
                "rectification.escalated",
                "rectification",
                &rect,
                &serde_json::json!({ "hazard": hazard, "level": level, "on": today }),
            )?;
            crate::webhooks::emit(
                c,
                "rectification.overdue",
                &format!("rectification.overdue:{rect}"),
                &district,
                &serde_json::json!({ "rectification": rect, "hazard": hazard, "level": level, "institution": institution, "on": today }),
            )?;
            if level == "major"
                && let Some(id) = recheck(c, &inspection, &now)?
            {
                out.rechecks.push(id);
            }
            out.escalated.push(rect.clone());
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    Ok(out)
}

/// A look-back re-inspection of the institution of `inspection`, pinned to the same rulesets and
/// assigned to the same team; one open recheck per institution at a time.
fn recheck(conn: &mut DbConn, inspection: &str, now: &str) -> QueryResult<Option<String>> {
    let orig: InspectionRow = inspections::table
        .find(inspection)
        .select(InspectionRow::as_select())
        .first(conn)?;
    let open: bool = diesel::select(diesel::dsl::exists(
        inspections::table
            .filter(inspections::institution_id.eq(&orig.institution_id))
            .filter(inspections::purpose.eq(insp::purpose::RECHECK))
            .filter(inspections::status.ne(insp::status::SUBMITTED)),
    ))
    .get_result(conn)?;
    if open {
        return Ok(None);
    }
    let team: Vec<String> = inspection_members::table
        .filter(inspection_members::inspection_id.eq(inspection))
        .select(inspection_members::inspector_id)
        .load(conn)?;
    // Limited to the institution's open items under the same rulesets.
    let mut names = Vec::new();
    for h in orig.ruleset_hashes() {
        if let Some(r) = crate::rulesets::get(conn, &h)? {
            names.push(r.name);
        }
    }
    let open: Vec<(String, String)> = hazards::table
        .inner_join(rectifications::table)
        .filter(hazards::institution_id.eq(&orig.institution_id))
        .filter(rectifications::status.ne(state::VERIFIED))
        .filter(hazards::ruleset.eq_any(&names))
        .select((hazards::ruleset, hazards::item))
        .load(conn)?;
    let mut keys: Vec<String> = open.into_iter().map(|(r, i)| format!("{r}:{i}")).collect();
    keys.sort();
    keys.dedup();
    let row = InspectionRow {
        id: uuid::Uuid::new_v4().to_string(),
        plan_id: orig.plan_id.clone(),
        institution_id: orig.institution_id.clone(),
        district_code: orig.district_code.clone(),
        purpose: insp::purpose::RECHECK.into(),
        rulesets: orig.rulesets.clone(),
        status: insp::status::ASSIGNED.into(),
        version: 1,
        due: None,
        started_at: None,
        acknowledgement: None,
        submitted_at: None,
        submitted_by: None,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        scope: Some(serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into())),
    };
    insp::create(conn, &row, &team)?;
    audit::append(
        conn,
        "system",
        "inspection.created",
        "inspection",
        &row.id,
        &serde_json::json!({ "purpose": row.purpose, "after": inspection, "team": team, "scope": keys }),
    )?;
    Ok(Some(row.id))
}
