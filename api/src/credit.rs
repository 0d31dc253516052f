//! Credit records: events from inspections, rectifications, gradings and the bureau's own entries
//! (penalties, complaints, broken filing promises, each with its document number), scored by the
//! credit ruleset in force for the institution's district, with the blacklist and its repair.

use crate::db::DbConn;
use crate::db::schema::{credit_events, institutions};
use crate::error::ApiError;
use crate::rulesets::{self, CompiledCache};
use caregrade_dsl::eval::{self, RawEvent, RawInput};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// A stored credit event.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = credit_events)]
pub struct CreditEvent {
    /// Id.
    pub id: String,
    /// Institution.
    pub institution_id: String,
    /// Event kind (an event id of the credit ruleset).
    pub kind: String,
    /// Date it counts from.
    pub occurred_on: String,
    /// `hazard`, `rectification`, `grading` or `bureau`.
    pub source: String,
    /// The record it comes from.
    pub source_id: String,
    /// Document number (文号) of a penalty, complaint decision, blacklisting …
    pub document_no: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// User id, or `system`.
    pub created_by: String,
    /// Recorded.
    pub created_at: String,
}

/// An institution's credit as the ruleset in force computes it today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreditRecord {
    /// Institution.
    pub institution_id: String,
    /// The credit ruleset version that scored it.
    pub ruleset_hash: String,
    /// Its id.
    pub ruleset: String,
    /// Evaluation date.
    pub as_of: String,
    /// SHA-256 of the events scored (canonical JSON): the receipt.
    pub events_hash: String,
    /// Score, level, blacklist and each event's contribution, explained.
    #[schema(value_type = Object)]
    pub credit: Value,
    /// Every event on record, oldest first.
    pub events: Vec<CreditEvent>,
    /// Events of kinds this ruleset does not score (kept, shown, not counted).
    pub not_scored: Vec<String>,
}

/// Events of an institution, oldest first.
pub fn events(conn: &mut DbConn, institution: &str) -> QueryResult<Vec<CreditEvent>> {
    credit_events::table
        .filter(credit_events::institution_id.eq(institution))
        .order((credit_events::occurred_on, credit_events::created_at))
        .select(CreditEvent::as_select())
        .load(conn)
}

/// The credit ruleset in force for a district.
pub fn policy(
    conn: &mut DbConn,
    cache: &CompiledCache,
    district: &str,
) -> Result<std::sync::Arc<caregrade_dsl::ir::Compiled>, ApiError> {
    let row = rulesets::in_force(conn, district)?
        .into_iter()
        .find(|r| r.kind == "credit")
        .ok_or_else(|| {
            ApiError::conflict(
                "no_credit_policy",
                format!("no credit ruleset is in force for district {district}"),
            )
        })?;
    cache
        .get(conn, &row.hash)?
        .ok_or_else(|| ApiError::internal(format!("ruleset {} unreadable", row.hash)))
}

/// Scores the institution's events under the policy in force, as of `as_of`.
pub fn record(
    conn: &mut DbConn,
    cache: &CompiledCache,
    institution: &str,
    as_of: &str,
) -> Result<CreditRecord, ApiError> {
    let district: String = institutions::table
        .find(institution)
        .select(institutions::district_code)
        .first(conn)?;
    let compiled = policy(conn, cache, &district)?;
    let all = events(conn, institution)?;
    let known: Vec<&str> = compiled.events.iter().map(|e| e.id.as_str()).collect();
    let mut not_scored = Vec::new();
    let mut raw = Vec::new();
    for e in &all {
        if known.contains(&e.kind.as_str()) {
            raw.push(RawEvent {
                kind: e.kind.clone(),
                date: e.occurred_on.clone(),
                reference: e.document_no.clone().or_else(|| Some(e.source_id.clone())),
            });
        } else {
            not_scored.push(e.id.clone());
        }
    }
    let events_json = serde_json::to_string(&raw).unwrap_or_default();
    let input = RawInput {
        as_of: Some(as_of.to_owned()),
        events: raw,
        ..RawInput::default()
    };
    let bound = compiled.bind(&input);
    let outcome = eval::evaluate(&compiled, &bound);
    let report = caregrade_dsl::report::report(&compiled, &bound, &outcome);
    Ok(CreditRecord {
        institution_id: institution.to_owned(),
        ruleset_hash: compiled.hash.clone(),
        ruleset: compiled.id.clone(),
        as_of: as_of.to_owned(),
        events_hash: caregrade_dsl::sha256_hex(events_json.as_bytes()),
        credit: serde_json::to_value(&report.credit).unwrap_or(Value::Null),
        events: all,
        not_scored,
    })
}

/// A credit event the bureau enters.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Event kind: an event id of the credit ruleset in force (`penalty`, `complaint`, `bl_…`).
    pub kind: String,
    /// Date it counts from, YYYY-MM-DD.
    pub occurred_on: String,
    /// Document number (文号) of the decision it rests on; required.
    pub document_no: String,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
}

impl NewEvent {
    /// Checks the fields that need no database.
    pub fn validate(&self) -> Result<(), ApiError> {
        if chrono::NaiveDate::parse_from_str(&self.occurred_on, "%Y-%m-%d").is_err() {
            return Err(ApiError::validation(
                "occurred_on",
                "occurred_on must be YYYY-MM-DD",
            ));
        }
        let doc = self.document_no.trim();
        if doc.is_empty() || doc.chars().count() > 100 {
            return Err(ApiError::validation(
                "document_no",
                "document_no (the decision's 文号) is required, at most 100 characters",
            ));
        }
        Ok(())
    }
}

/// A bureau's entry (penalty, complaint upheld, broken filing promise, blacklisting …): the kind
/// must be an event of the policy in force, the document number is required.
pub fn enter(
    conn: &mut DbConn,
    cache: &CompiledCache,
    institution: &str,
    new: &NewEvent,
    actor: &str,
) -> Result<CreditEvent, ApiError> {
    new.validate()?;
    let (kind, on, document_no, note) = (
        new.kind.as_str(),
        new.occurred_on.as_str(),
        new.document_no.trim(),
        new.note.as_deref(),
    );
    let district: String = institutions::table
        .find(institution)
        .select(institutions::district_code)
        .first(conn)?;
    let compiled = policy(conn, cache, &district)?;
    if !compiled.events.iter().any(|e| e.id == kind) {
        let known: Vec<&str> = compiled.events.iter().map(|e| e.id.as_str()).collect();
        return Err(ApiError::validation(
            "kind",
            format!(
                "`{kind}` is not an event of the credit ruleset in force (known: {})",
                known.join(", ")
            ),
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.transaction(|c| {
        diesel::insert_into(credit_events::table)
            .values((
                credit_events::id.eq(&id),
                credit_events::institution_id.eq(institution),
                credit_events::kind.eq(kind),
                credit_events::occurred_on.eq(on),
                credit_events::source.eq("bureau"),
                credit_events::source_id.eq(document_no),
                credit_events::document_no.eq(document_no),
                credit_events::note.eq(note),
                credit_events::created_by.eq(actor),
                credit_events::created_at.eq(crate::registry::now_text()),
            ))
            .execute(c)?;
        crate::audit::append(
            c,
            actor,
            "credit.event",
            "institution",
            institution,
            &serde_json::json!({ "event": id, "kind": kind, "on": on, "document_no": document_no }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => ApiError::duplicate(format!(
            "an event `{kind}` with document number {document_no} is already recorded"
        )),
        other => other.into(),
    })?;
    Ok(credit_events::table
        .find(&id)
        .select(CreditEvent::as_select())
        .first(conn)?)
}

/// A removal from the blacklist on application (信用修复).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Repair {
    /// Document number of the decision to remove.
    pub document_no: String,
    /// Why (no new serious violation; obligations fulfilled and rectification finished).
    pub reason: String,
}

/// Removes a listed institution from the blacklist on its application: refused while it is not
/// listed (409 `not_blacklisted`) or before the earliest removal date (409 `repair_too_early`);
/// recorded as the policy's repair event with the decision's document number.
pub fn repair(
    conn: &mut DbConn,
    cache: &CompiledCache,
    institution: &str,
    req: &Repair,
    actor: &str,
    today: &str,
) -> Result<CreditRecord, ApiError> {
    if req.reason.trim().is_empty() {
        return Err(ApiError::validation(
            "reason",
            "the decision's reason is required",
        ));
    }
    let rec = record(conn, cache, institution, today)?;
    if rec.credit["blacklisted"] != Value::Bool(true) {
        return Err(ApiError::conflict(
            "not_blacklisted",
            "the institution is not on the blacklist",
        ));
    }
    if let Some(from) = rec.credit["earliest_removal"].as_str()
        && from > today
    {
        return Err(ApiError::conflict(
            "repair_too_early",
            format!("removal may be applied for from {from}"),
        ));
    }
    let district: String = institutions::table
        .find(institution)
        .select(institutions::district_code)
        .first(conn)?;
    let policy = policy(conn, cache, &district)?;
    let Some(kind) = policy
        .events
        .iter()
        .find(|e| e.repair)
        .map(|e| e.id.clone())
    else {
        return Err(ApiError::conflict(
            "no_repair_event",
            "the credit ruleset in force has no repair event",
        ));
    };
    enter(
        conn,
        cache,
        institution,
        &NewEvent {
            kind,
            occurred_on: today.to_owned(),
            document_no: req.document_no.clone(),
            note: Some(req.reason.clone()),
        },
        actor,
    )?;
    record(conn, cache, institution, today)
}
