//! Self-assessment (自评): an institution answers the grading standard in force on its own, with
//! the same sync and photo API as an inspection, and scores it as often as it likes to see its
//! predicted grade, the first threshold it misses for the next grade, and the cheapest items to
//! close the gap. Each run is kept, so runs can be compared over time.

use super::facts::institution_facts;
use super::submit::{score, today_cn};
use super::{InspectionRow, purpose, status};
use crate::db::DbConn;
use crate::db::schema::{inspections, institutions, outcomes};
use crate::error::ApiError;
use crate::registry::institutions::InstitutionRow;
use crate::rulesets::{self, CompiledCache};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// A self-assessment as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelfAssessment {
    /// Id (an inspection: answers and photos go through `/inspections/{id}/…`).
    pub id: String,
    /// The standard's version hash.
    pub ruleset_hash: String,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version (sync cursor).
    pub version: i32,
}

/// One scoring run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Run {
    /// Outcome id.
    pub id: String,
    /// When scored.
    pub created_at: String,
    /// Total.
    pub total: Option<String>,
    /// Predicted grade id.
    pub grade: Option<String>,
    /// SHA-256 of the answers scored.
    pub answers_hash: String,
    /// The explained outcome (grade_reason, gap with the cheapest items, per-part scores …);
    /// omitted in lists.
    #[serde(skip_serializing_if = "Value::is_null")]
    #[schema(value_type = Object)]
    pub report: Value,
}

/// Starts a self-assessment of `institution` under `standard` (default: the standard in force for
/// its district).
pub fn create(
    conn: &mut DbConn,
    institution: &str,
    standard: Option<&str>,
    now: &str,
) -> Result<SelfAssessment, ApiError> {
    let inst: InstitutionRow = institutions::table
        .find(institution)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    let row = match standard {
        Some(h) => rulesets::get(conn, h)?.ok_or_else(|| ApiError::not_found("ruleset"))?,
        None => rulesets::in_force(conn, &inst.district_code)?
            .into_iter()
            .find(|r| r.kind == "standard")
            .ok_or_else(|| {
                ApiError::conflict(
                    "no_standard",
                    "no grading standard is in force for your district",
                )
            })?,
    };
    if row.kind != "standard" {
        return Err(ApiError::validation(
            "standard",
            "a self-assessment is answered under a grading standard",
        ));
    }
    let insp = InspectionRow {
        id: uuid::Uuid::new_v4().to_string(),
        plan_id: None,
        institution_id: inst.id.clone(),
        district_code: inst.district_code.clone(),
        purpose: purpose::SELF_ASSESSMENT.into(),
        rulesets: serde_json::json!([row.hash]).to_string(),
        status: status::STARTED.into(),
        version: 1,
        due: None,
        started_at: Some(now.to_owned()),
        acknowledgement: None,
        submitted_at: None,
        submitted_by: None,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        scope: None,
    };
    super::create(conn, &insp, &[])?;
    Ok(SelfAssessment {
        id: insp.id,
        ruleset_hash: row.hash,
        created_at: insp.created_at,
        updated_at: insp.updated_at,
        version: 1,
    })
}

/// The institution's self-assessments, newest first.
pub fn list(conn: &mut DbConn, institution: &str) -> QueryResult<Vec<SelfAssessment>> {
    let rows: Vec<InspectionRow> = inspections::table
        .filter(inspections::institution_id.eq(institution))
        .filter(inspections::purpose.eq(purpose::SELF_ASSESSMENT))
        .order(inspections::created_at.desc())
        .select(InspectionRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| SelfAssessment {
            ruleset_hash: r.ruleset_hashes().into_iter().next().unwrap_or_default(),
            id: r.id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
        .collect())
}

/// Scores the self-assessment as it stands and keeps the run.
pub fn run(
    conn: &mut DbConn,
    cache: &CompiledCache,
    sa: &InspectionRow,
    now: &str,
) -> Result<Run, ApiError> {
    let hash = sa
        .ruleset_hashes()
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("self-assessment without a standard"))?;
    let compiled = cache
        .get(conn, &hash)?
        .ok_or_else(|| ApiError::internal(format!("ruleset {hash} unreadable")))?;
    let inst: InstitutionRow = institutions::table
        .find(&sa.institution_id)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    let facts = institution_facts(&inst);
    let (answers, rep) = score(
        conn,
        &sa.id,
        &inst,
        &facts,
        &compiled.id,
        &compiled,
        today_cn(),
    )?;
    let answers_hash = caregrade_dsl::sha256_hex(
        serde_json::to_string(&answers)
            .unwrap_or_default()
            .as_bytes(),
    );
    let run = Run {
        id: uuid::Uuid::new_v4().to_string(),
        created_at: now.to_owned(),
        total: rep.total.map(|t| t.to_string()),
        grade: rep.grade.as_ref().map(|g| g.id.clone()),
        answers_hash,
        report: serde_json::to_value(&rep).unwrap_or(Value::Null),
    };
    diesel::insert_into(outcomes::table)
        .values((
            outcomes::id.eq(&run.id),
            outcomes::inspection_id.eq(&sa.id),
            outcomes::ruleset_hash.eq(&compiled.hash),
            outcomes::ruleset.eq(&compiled.id),
            outcomes::answers_hash.eq(&run.answers_hash),
            outcomes::engine.eq(&compiled.engine),
            outcomes::total.eq(&run.total),
            outcomes::grade.eq(&run.grade),
            outcomes::report.eq(run.report.to_string()),
            outcomes::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(run)
}

/// (id, created at, total, grade, answers hash).
type RunRow = (String, String, Option<String>, Option<String>, String);

/// Every run of a self-assessment, oldest first, without their reports.
pub fn runs(conn: &mut DbConn, sa: &str) -> QueryResult<Vec<Run>> {
    let rows: Vec<RunRow> = outcomes::table
        .filter(outcomes::inspection_id.eq(sa))
        .order(outcomes::created_at)
        .select((
            outcomes::id,
            outcomes::created_at,
            outcomes::total,
            outcomes::grade,
            outcomes::answers_hash,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, created_at, total, grade, answers_hash)| Run {
            id,
            created_at,
            total,
            grade,
            answers_hash,
            report: Value::Null,
        })
        .collect())
}
