//! Grading (等级评定): an institution applies with its self-assessment; guards refuse what the
//! rules forbid, each with its reason; the bureau reviews eligibility, assigns ≥ 2 assessors with
//! recusal, the assessors assess on site (an inspection under the standard), the committee decides
//! (differing from the computed grade only with a recorded reason), the decision is posted for a
//! notice period (公示), then the grade is granted: a record with its ruleset hash, decision date,
//! three-year validity, issuing level and certificate number.

use crate::db::DbConn;
use crate::db::schema::{
    credit_events, grade_applications, grades, inspections, inspectors, institutions, outcomes,
};
use crate::error::ApiError;
use crate::inspections::{self as insp, InspectionRow};
use crate::registry::institutions::InstitutionRow;
use crate::rulesets::CompiledCache;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Application states.
pub mod state {
    /// Filed; awaiting the eligibility review.
    pub const APPLIED: &str = "applied";
    /// Found eligible; awaiting assessors.
    pub const ELIGIBLE: &str = "eligible";
    /// Refused at review.
    pub const REFUSED: &str = "refused";
    /// Assessors assigned; the on-site assessment runs.
    pub const ASSESSING: &str = "assessing";
    /// The committee decided; the notice period runs.
    pub const DECIDED: &str = "decided";
    /// Closed: the grade granted (or none, for a failed application).
    pub const CLOSED: &str = "closed";
}

/// Years a grade is valid.
const VALID_YEARS: u32 = 3;

/// A stored application.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = grade_applications)]
pub struct ApplicationRow {
    /// Id.
    pub id: String,
    /// Institution.
    pub institution_id: String,
    /// District.
    pub district_code: String,
    /// The self-assessment attached.
    pub self_assessment_id: String,
    /// Grade applied for.
    pub requested_grade: String,
    /// See [`state`].
    pub status: String,
    /// Why refused at review, or the review note.
    pub review_reason: Option<String>,
    /// The on-site assessment (an inspection).
    pub assessment_id: Option<String>,
    /// Grade the assessment computed (`none` for no grade).
    pub computed_grade: Option<String>,
    /// Grade the committee decided (`none` for no grade).
    pub decided_grade: Option<String>,
    /// Why the decision differs from the computed grade.
    pub decision_reason: Option<String>,
    /// Who recorded the decision.
    pub decided_by: Option<String>,
    /// Decision date.
    pub decided_on: Option<String>,
    /// Last day of the public notice (公示).
    pub notice_until: Option<String>,
    /// Version.
    pub version: i32,
    /// Filed.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// A grade record.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = grades)]
pub struct GradeRow {
    /// Id.
    pub id: String,
    /// Institution.
    pub institution_id: String,
    /// Application.
    pub application_id: String,
    /// Grade id.
    pub grade: String,
    /// Its title (三级 …).
    pub grade_title: String,
    /// The standard's version it was assessed under.
    pub ruleset_hash: String,
    /// Decision date.
    pub decision_date: String,
    /// Last day of validity.
    pub valid_until: String,
    /// `city` or `province`.
    pub issuing_level: String,
    /// `active`, `superseded`, `lapsed`, `downgraded` or `withdrawn` (lapsed is derived from the
    /// clock when read).
    pub status: String,
    /// Certificate number.
    pub certificate_no: String,
    /// The grade this one upgraded, within its validity.
    pub upgrade_of: Option<String>,
    /// Recorded.
    pub created_at: String,
}

fn today() -> chrono::NaiveDate {
    crate::inspections::submit::today_cn()
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The standard of a self-assessment, compiled.
fn standard_of(
    conn: &mut DbConn,
    cache: &CompiledCache,
    sa: &InspectionRow,
) -> Result<std::sync::Arc<caregrade_dsl::ir::Compiled>, ApiError> {
    let hash = sa
        .ruleset_hashes()
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("self-assessment without a standard"))?;
    cache
        .get(conn, &hash)?
        .ok_or_else(|| ApiError::internal("standard unreadable"))
}

fn rank(c: &caregrade_dsl::ir::Compiled, grade: &str) -> Option<usize> {
    c.grades.iter().position(|g| g.id == grade)
}

/// The active grade of an institution today (a grade past its validity has lapsed).
pub fn active_grade(conn: &mut DbConn, institution: &str) -> QueryResult<Option<GradeRow>> {
    grades::table
        .filter(grades::institution_id.eq(institution))
        .filter(grades::status.eq("active"))
        .filter(grades::valid_until.ge(date(today())))
        .order(grades::decision_date.desc())
        .select(GradeRow::as_select())
        .first(conn)
        .optional()
}

/// Every guard an application violates, each with its reason (empty: none).
fn guards(
    conn: &mut DbConn,
    cache: &CompiledCache,
    inst: &InstitutionRow,
    c: &caregrade_dsl::ir::Compiled,
    requested: usize,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let today = today();
    let two_years_ago = date(today - chrono::Months::new(24));
    if !inst.filed {
        out.push(json!({ "guard": "not_filed", "reason": "the institution is not filed (备案) with the civil-affairs bureau" }));
    }
    let facts: Value = serde_json::from_str(&inst.facts).unwrap_or(Value::Null);
    let listed = match crate::credit::record(conn, cache, &inst.id, &date(today)) {
        Ok(r) => r.credit["blacklisted"].as_bool().unwrap_or(false),
        Err(_) => facts["blacklisted"].as_bool().unwrap_or(false),
    };
    if listed {
        out.push(json!({ "guard": "blacklisted", "reason": "the institution is on the 失信联合惩戒对象名单" }));
    }
    let penalties: i64 = credit_events::table
        .filter(credit_events::institution_id.eq(&inst.id))
        .filter(credit_events::kind.eq("penalty"))
        .filter(credit_events::occurred_on.ge(&two_years_ago))
        .count()
        .get_result(conn)?;
    if penalties > 0 {
        out.push(json!({ "guard": "penalty_within_2_years", "reason": "an administrative penalty in the last 2 years" }));
    }
    let failed: i64 = grade_applications::table
        .filter(grade_applications::institution_id.eq(&inst.id))
        .filter(grade_applications::decided_grade.eq("none"))
        .filter(grade_applications::decided_on.ge(&two_years_ago))
        .count()
        .get_result(conn)?;
    if failed > 0 {
        out.push(json!({ "guard": "failed_within_2_years", "reason": "an application failed in the last 2 years: no new application for 2 years" }));
    }
    let ever: i64 = grades::table
        .filter(grades::institution_id.eq(&inst.id))
        .count()
        .get_result(conn)?;
    if ever == 0 && requested > 2 {
        out.push(json!({ "guard": "first_application_above_g3", "reason": "a first application may ask for 三级 at most" }));
    }
    if let Some(g) = active_grade(conn, &inst.id)? {
        let current = rank(c, &g.grade).unwrap_or(0);
        if requested > current {
            let a_year_after = chrono::NaiveDate::parse_from_str(&g.decision_date, "%Y-%m-%d")
                .map(|d| d + chrono::Months::new(12))
                .unwrap_or(today);
            if g.upgrade_of.is_some() {
                out.push(json!({ "guard": "already_upgraded", "reason": format!("the current grade was already an upgrade in this validity period (until {})", g.valid_until) }));
            } else if today < a_year_after {
                out.push(json!({ "guard": "upgrade_too_soon", "reason": format!("an upgrade may be applied for from {}", date(a_year_after)) }));
            }
        } else {
            let renew_from = chrono::NaiveDate::parse_from_str(&g.valid_until, "%Y-%m-%d")
                .map(|d| d - chrono::Months::new(1))
                .unwrap_or(today);
            if today < renew_from {
                out.push(json!({ "guard": "grade_held", "reason": format!("the institution holds {} until {}; re-apply from {}", g.grade_title, g.valid_until, date(renew_from)) }));
            }
        }
    }
    Ok(out)
}

/// Files an application with a self-assessment that has been scored at least once. Guards that
/// apply refuse it with 422 `application_refused`, listing each.
pub fn apply(
    conn: &mut DbConn,
    cache: &CompiledCache,
    institution: &str,
    self_assessment: &str,
    requested: &str,
    now: &str,
) -> Result<ApplicationRow, ApiError> {
    let sa: InspectionRow = inspections::table
        .find(self_assessment)
        .filter(inspections::institution_id.eq(institution))
        .filter(inspections::purpose.eq(insp::purpose::SELF_ASSESSMENT))
        .select(InspectionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ApiError::validation("self_assessment_id", "not one of your self-assessments")
        })?;
    let runs: i64 = outcomes::table
        .filter(outcomes::inspection_id.eq(&sa.id))
        .count()
        .get_result(conn)?;
    if runs == 0 {
        return Err(ApiError::conflict(
            "self_assessment_not_run",
            "score the self-assessment at least once before applying",
        ));
    }
    let c = standard_of(conn, cache, &sa)?;
    let Some(r) = rank(&c, requested) else {
        let known: Vec<&str> = c.grades.iter().map(|g| g.id.as_str()).collect();
        return Err(ApiError::validation(
            "requested_grade",
            format!(
                "`{requested}` is not a grade of the standard (grades: {})",
                known.join(", ")
            ),
        ));
    };
    let inst: InstitutionRow = institutions::table
        .find(institution)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    let violated = guards(conn, cache, &inst, &c, r)?;
    if !violated.is_empty() {
        return Err(ApiError::unprocessable(
            "application_refused",
            format!(
                "the application cannot be filed: {} rule(s) apply",
                violated.len()
            ),
            Value::Array(violated),
        ));
    }
    let row = ApplicationRow {
        id: uuid::Uuid::new_v4().to_string(),
        institution_id: inst.id.clone(),
        district_code: inst.district_code.clone(),
        self_assessment_id: sa.id.clone(),
        requested_grade: requested.to_owned(),
        status: state::APPLIED.into(),
        review_reason: None,
        assessment_id: None,
        computed_grade: None,
        decided_grade: None,
        decision_reason: None,
        decided_by: None,
        decided_on: None,
        notice_until: None,
        version: 1,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    };
    conn.transaction(|c| {
        diesel::insert_into(grade_applications::table)
            .values(&row)
            .execute(c)?;
        crate::audit::append(
            c,
            "institution",
            "grading.applied",
            "grade_application",
            &row.id,
            &json!({ "institution": row.institution_id, "requested": requested }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(row)
}

/// An application in the region of an admin, or of the institution itself.
pub fn get(
    conn: &mut DbConn,
    scope: &crate::registry::Scope,
    id: &str,
) -> QueryResult<Option<ApplicationRow>> {
    let row: Option<ApplicationRow> = grade_applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.filter(|r| match scope {
        crate::registry::Scope::Region(p) => r.district_code.starts_with(p.as_str()),
        crate::registry::Scope::Institution(i) => &r.institution_id == i,
    }))
}

/// 409 unless the application is in state `from` (what `wanted` needs).
fn require_state(app: &ApplicationRow, from: &str, wanted: &str) -> Result<(), ApiError> {
    if app.status != from {
        return Err(ApiError::conflict(
            "application_state",
            format!(
                "the application is {}; {wanted} needs it {from}",
                app.status
            ),
        ));
    }
    Ok(())
}

/// Eligibility review: eligible, or refused with a reason.
pub fn review(
    conn: &mut DbConn,
    app: &ApplicationRow,
    eligible: bool,
    reason: Option<&str>,
    by: &str,
    now: &str,
) -> Result<(), ApiError> {
    require_state(app, state::APPLIED, "a review")?;
    if !eligible && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::validation("reason", "a refusal needs its reason"));
    }
    let to = if eligible {
        state::ELIGIBLE
    } else {
        state::REFUSED
    };
    conn.transaction(|c| {
        diesel::update(
            grade_applications::table
                .find(&app.id)
                .filter(grade_applications::status.eq(state::APPLIED)),
        )
        .set((
            grade_applications::status.eq(to),
            grade_applications::review_reason.eq(reason),
            grade_applications::version.eq(grade_applications::version + 1),
            grade_applications::updated_at.eq(now),
        ))
        .execute(c)?;
        crate::audit::append(
            c,
            by,
            "grading.reviewed",
            "grade_application",
            &app.id,
            &json!({ "eligible": eligible, "reason": reason }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Assigns ≥ 2 assessors (recusal: same district, a declared relation, a previous employer) and
/// creates the on-site assessment under the self-assessment's standard.
pub fn assign(
    conn: &mut DbConn,
    app: &ApplicationRow,
    assessors: &[String],
    by: &str,
    now: &str,
) -> Result<String, ApiError> {
    require_state(app, state::ELIGIBLE, "assigning assessors")?;
    let mut team = assessors.to_vec();
    team.sort();
    team.dedup();
    if team.len() < 2 {
        return Err(ApiError::validation(
            "assessors",
            "at least two different assessors",
        ));
    }
    let inst: InstitutionRow = institutions::table
        .find(&app.institution_id)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    for (i, a) in team.iter().enumerate() {
        let Some(r) = crate::registry::inspectors::by_id(conn, a)? else {
            return Err(ApiError::validation(
                format!("assessors[{i}]"),
                "no such inspector",
            ));
        };
        let relations: Vec<String> = serde_json::from_str(&r.relations).unwrap_or_default();
        let why = if r.district_code == inst.district_code {
            Some("works in the institution's district")
        } else if relations.contains(&inst.id) {
            Some("declared a relation with the institution")
        } else if r
            .previous_employer
            .as_deref()
            .is_some_and(|p| p == inst.id || p == inst.name)
        {
            Some("previously worked for the institution")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(ApiError::validation(
                format!("assessors[{i}]"),
                format!("{} must recuse: {why}", r.name),
            ));
        }
    }
    let sa: InspectionRow = inspections::table
        .find(&app.self_assessment_id)
        .select(InspectionRow::as_select())
        .first(conn)?;
    let row = InspectionRow {
        id: uuid::Uuid::new_v4().to_string(),
        plan_id: None,
        institution_id: inst.id.clone(),
        district_code: inst.district_code.clone(),
        purpose: "grading".into(),
        rulesets: sa.rulesets.clone(),
        status: insp::status::ASSIGNED.into(),
        version: 1,
        due: None,
        started_at: None,
        acknowledgement: None,
        submitted_at: None,
        submitted_by: None,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        scope: None,
    };
    conn.transaction(|c| {
        insp::create(c, &row, &team)?;
        diesel::update(grade_applications::table.find(&app.id))
            .set((
                grade_applications::status.eq(state::ASSESSING),
                grade_applications::assessment_id.eq(&row.id),
                grade_applications::version.eq(grade_applications::version + 1),
                grade_applications::updated_at.eq(now),
            ))
            .execute(c)?;
        crate::audit::append(
            c,
            by,
            "grading.assessors",
            "grade_application",
            &app.id,
            &json!({ "assessment": row.id, "assessors": team }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(row.id)
}

/// The committee's decision after the assessment was submitted. A grade other than the computed
/// one needs a reason. The notice period (公示) starts.
pub fn decide(
    conn: &mut DbConn,
    app: &ApplicationRow,
    grade: &str,
    reason: Option<&str>,
    notice_days: u32,
    by: &str,
    now: &str,
) -> Result<(), ApiError> {
    require_state(app, state::ASSESSING, "a decision")?;
    let assessment = app.assessment_id.clone().unwrap_or_default();
    let submitted: Option<(Option<String>, String)> = outcomes::table
        .filter(outcomes::inspection_id.eq(&assessment))
        .select((outcomes::grade, outcomes::ruleset_hash))
        .first(conn)
        .optional()?;
    let Some((computed, _)) = submitted else {
        return Err(ApiError::conflict(
            "assessment_not_submitted",
            "the on-site assessment has not been submitted yet",
        ));
    };
    let computed = computed.unwrap_or_else(|| "none".into());
    if grade != computed && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::validation(
            "reason",
            format!(
                "the assessment computed `{computed}`; deciding `{grade}` needs a recorded reason"
            ),
        ));
    }
    let until = today() + chrono::Days::new(u64::from(notice_days));
    conn.transaction(|c| {
        diesel::update(grade_applications::table.find(&app.id))
            .set((
                grade_applications::status.eq(state::DECIDED),
                grade_applications::computed_grade.eq(&computed),
                grade_applications::decided_grade.eq(grade),
                grade_applications::decision_reason.eq(reason),
                grade_applications::decided_by.eq(by),
                grade_applications::decided_on.eq(date(today())),
                grade_applications::notice_until.eq(date(until)),
                grade_applications::version.eq(grade_applications::version + 1),
                grade_applications::updated_at.eq(now),
            ))
            .execute(c)?;
        crate::audit::append(c, by, "grading.decided", "grade_application", &app.id, &json!({ "computed": computed, "decided": grade, "reason": reason, "notice_until": date(until) }))?;
        crate::webhooks::emit(
            c,
            "grade.decided",
            &format!("grade.decided:{}", app.id),
            &app.district_code,
            &json!({ "application": app.id, "institution": app.institution_id, "computed": computed, "decided": grade, "notice_until": date(until) }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// After the notice period, the grade record (or, for `none`, the failed application's closing).
pub fn grant(
    conn: &mut DbConn,
    cache: &CompiledCache,
    app: &ApplicationRow,
    by: &str,
    now: &str,
) -> Result<Option<GradeRow>, ApiError> {
    require_state(app, state::DECIDED, "granting")?;
    let until = app.notice_until.clone().unwrap_or_default();
    if date(today()) < until {
        return Err(ApiError::conflict(
            "notice_running",
            format!("the public notice runs until {until}"),
        ));
    }
    let decided = app.decided_grade.clone().unwrap_or_else(|| "none".into());
    let sa: InspectionRow = inspections::table
        .find(&app.self_assessment_id)
        .select(InspectionRow::as_select())
        .first(conn)?;
    let c = standard_of(conn, cache, &sa)?;
    let previous = active_grade(conn, &app.institution_id)?;
    let on = app.decided_on.clone().unwrap_or_else(|| date(today()));
    let record = if decided == "none" {
        None
    } else {
        let r = rank(&c, &decided).unwrap_or(0);
        let title = c.grades.get(r).map(|g| g.title.clone()).unwrap_or_default();
        let decision = chrono::NaiveDate::parse_from_str(&on, "%Y-%m-%d").unwrap_or(today());
        let n: i64 = grades::table.count().get_result(conn)?;
        Some(GradeRow {
            id: uuid::Uuid::new_v4().to_string(),
            institution_id: app.institution_id.clone(),
            application_id: app.id.clone(),
            grade: decided.clone(),
            grade_title: title,
            ruleset_hash: c.hash.clone(),
            decision_date: on.clone(),
            valid_until: date(
                decision + chrono::Months::new(12 * VALID_YEARS) - chrono::Days::new(1),
            ),
            issuing_level: if r >= 2 {
                "province".into()
            } else {
                "city".into()
            },
            status: "active".into(),
            certificate_no: format!(
                "{}-{}-{:05}",
                &app.district_code,
                &on[..4.min(on.len())],
                n + 1
            ),
            upgrade_of: previous
                .as_ref()
                .filter(|p| rank(&c, &p.grade).is_some_and(|pr| pr < r))
                .map(|p| p.id.clone()),
            created_at: now.to_owned(),
        })
    };
    conn.transaction(|cx| {
        diesel::update(grade_applications::table.find(&app.id))
            .set((
                grade_applications::status.eq(state::CLOSED),
                grade_applications::version.eq(grade_applications::version + 1),
                grade_applications::updated_at.eq(now),
            ))
            .execute(cx)?;
        if let Some(g) = &record {
            if let Some(p) = &previous {
                diesel::update(grades::table.find(&p.id))
                    .set(grades::status.eq("superseded"))
                    .execute(cx)?;
            }
            diesel::insert_into(grades::table).values(g).execute(cx)?;
            crate::rectification::credit_event(cx, &app.institution_id, "grade_awarded", &on, "grading", &app.id, by)?;
            crate::audit::append(cx, by, "grading.granted", "grade", &g.id, &json!({ "institution": g.institution_id, "grade": g.grade, "certificate": g.certificate_no, "valid_until": g.valid_until, "ruleset": g.ruleset_hash }))?;
        } else {
            crate::audit::append(cx, by, "grading.closed", "grade_application", &app.id, &json!({ "grade": "none" }))?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(record)
}

/// An institution's grades, newest first; an active grade past its validity reads as lapsed.
pub fn grades_of(conn: &mut DbConn, institution: &str) -> QueryResult<Vec<GradeRow>> {
    let today = date(today());
    let mut rows: Vec<GradeRow> = grades::table
        .filter(grades::institution_id.eq(institution))
        .order(grades::decision_date.desc())
        .select(GradeRow::as_select())
        .load(conn)?;
    for g in &mut rows {
        if g.status == "active" && g.valid_until < today {
            g.status = "lapsed".into();
        }
    }
    Ok(rows)
}

/// One item compared between the self-assessment and the official assessment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemComparison {
    /// Item path.
    pub item: String,
    /// Title.
    pub title: String,
    /// Max points.
    #[schema(value_type = Option<f64>)]
    pub max: Option<Value>,
    /// Points the institution gave itself (latest run).
    #[schema(value_type = Option<f64>)]
    pub self_points: Option<Value>,
    /// Points of the official assessment.
    #[schema(value_type = Option<f64>)]
    pub official_points: Option<Value>,
    /// The two differ by half the item's points or more.
    pub large_difference: bool,
}

/// Item by item: the latest self-assessment run against the submitted assessment.
pub fn comparison(conn: &mut DbConn, app: &ApplicationRow) -> QueryResult<Vec<ItemComparison>> {
    let latest = |conn: &mut DbConn, inspection: &str| -> QueryResult<Option<Value>> {
        Ok(outcomes::table
            .filter(outcomes::inspection_id.eq(inspection))
            .order(outcomes::created_at.desc())
            .select(outcomes::report)
            .first::<String>(conn)
            .optional()?
            .and_then(|r| serde_json::from_str(&r).ok()))
    };
    let Some(own) = latest(conn, &app.self_assessment_id)? else {
        return Ok(Vec::new());
    };
    let official = match &app.assessment_id {
        Some(a) => latest(conn, a)?,
        None => None,
    };
    let official_items: std::collections::HashMap<String, Value> = official
        .as_ref()
        .and_then(|o| o["items"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| Some((i["path"].as_str()?.to_owned(), i)))
        .collect();
    let mut out = Vec::new();
    for i in own["items"].as_array().cloned().unwrap_or_default() {
        let path = i["path"].as_str().unwrap_or_default().to_owned();
        let o = official_items.get(&path);
        let mine = i["points"].as_f64();
        let theirs = o.and_then(|o| o["points"].as_f64());
        let max = i["max"].as_f64().unwrap_or(0.0);
        let large =
            matches!((mine, theirs), (Some(a), Some(b)) if max > 0.0 && (a - b).abs() * 2.0 >= max);
        out.push(ItemComparison {
            title: i["title"].as_str().unwrap_or_default().to_owned(),
            max: i.get("max").cloned(),
            self_points: i.get("points").cloned(),
            official_points: o.and_then(|o| o.get("points").cloned()),
            large_difference: large,
            item: path,
        });
    }
    Ok(out)
}

/// The assessors of an application's assessment, for display.
pub fn assessors(conn: &mut DbConn, app: &ApplicationRow) -> QueryResult<Vec<String>> {
    let Some(a) = &app.assessment_id else {
        return Ok(Vec::new());
    };
    crate::db::schema::inspection_members::table
        .inner_join(
            inspectors::table
                .on(inspectors::id.eq(crate::db::schema::inspection_members::inspector_id)),
        )
        .filter(crate::db::schema::inspection_members::inspection_id.eq(a))
        .select(inspectors::name)
        .load(conn)
}

/// A grading request body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Apply {
    /// The self-assessment attached (scored at least once).
    pub self_assessment_id: String,
    /// The grade applied for (a grade id of the standard, e.g. `g3`).
    pub requested_grade: String,
}

/// A change to a granted grade.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeChange {
    /// `downgraded` (to `grade`) or `withdrawn`.
    pub status: String,
    /// The lower grade, for a downgrade.
    #[serde(default)]
    pub grade: Option<String>,
    /// Why (a re-check's finding, a decision's document number).
    pub reason: String,
}

/// Downgrades or withdraws an active grade (a re-check found it no longer met, or a violation):
/// the old record keeps its history with the new status, a downgrade adds the lower grade with
/// the same validity end, and a `grade_downgraded` credit event is recorded.
pub fn change(
    conn: &mut DbConn,
    cache: &CompiledCache,
    grade: &GradeRow,
    ch: &GradeChange,
    by: &str,
    now: &str,
) -> Result<Option<GradeRow>, ApiError> {
    if grade.status != "active" {
        return Err(ApiError::conflict(
            "grade_not_active",
            format!("the grade is {}", grade.status),
        ));
    }
    if ch.reason.trim().is_empty() {
        return Err(ApiError::validation("reason", "a reason is required"));
    }
    let c = cache
        .get(conn, &grade.ruleset_hash)?
        .ok_or_else(|| ApiError::internal("standard unreadable"))?;
    let lower = match ch.status.as_str() {
        "withdrawn" => None,
        "downgraded" => {
            let to = ch.grade.clone().unwrap_or_default();
            let (Some(new), Some(old)) = (rank(&c, &to), rank(&c, &grade.grade)) else {
                return Err(ApiError::validation("grade", "name the lower grade"));
            };
            if new >= old {
                return Err(ApiError::validation(
                    "grade",
                    "a downgrade goes to a lower grade",
                ));
            }
            let n: i64 = grades::table.count().get_result(conn)?;
            Some(GradeRow {
                id: uuid::Uuid::new_v4().to_string(),
                grade: to,
                grade_title: c.grades[new].title.clone(),
                certificate_no: format!("{}-{:05}", &grade.certificate_no, n + 1),
                issuing_level: if new >= 2 {
                    "province".into()
                } else {
                    "city".into()
                },
                status: "active".into(),
                upgrade_of: None,
                created_at: now.to_owned(),
                decision_date: date(today()),
                ..grade.clone()
            })
        }
        _ => {
            return Err(ApiError::validation(
                "status",
                "status is downgraded or withdrawn",
            ));
        }
    };
    conn.transaction(|cx| {
        diesel::update(grades::table.find(&grade.id))
            .set(grades::status.eq(&ch.status))
            .execute(cx)?;
        if let Some(g) = &lower {
            diesel::insert_into(grades::table).values(g).execute(cx)?;
        }
        crate::rectification::credit_event(
            cx,
            &grade.institution_id,
            "grade_downgraded",
            &date(today()),
            "grade",
            &grade.id,
            by,
        )?;
        crate::audit::append(
            cx,
            by,
            &format!("grading.{}", ch.status),
            "grade",
            &grade.id,
            &json!({ "reason": ch.reason, "to": ch.grade }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(lower)
}

/// One grade of an institution in `scope`.
pub fn grade_in_scope(
    conn: &mut DbConn,
    scope: &crate::registry::Scope,
    id: &str,
) -> QueryResult<Option<GradeRow>> {
    let g: Option<GradeRow> = grades::table
        .find(id)
        .select(GradeRow::as_select())
        .first(conn)
        .optional()?;
    let Some(g) = g else { return Ok(None) };
    Ok(crate::registry::institutions::get(conn, scope, &g.institution_id)?.map(|_| g))
}
