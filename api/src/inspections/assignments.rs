//! Assignments: the inspections a user may see, as lists and one by one, and the start of an
//! inspection on site (from then on the institution sees it).

use super::{InspectionRow, status};
use crate::auth::Role;
use crate::db::DbConn;
use crate::db::schema::{inspection_members, inspections, inspectors, institutions};
use crate::registry::like_escape;
use crate::registry::users::UserRow;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// An inspection as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionView {
    /// Id.
    pub id: String,
    /// Plan.
    pub plan_id: Option<String>,
    /// The institution: id, name, credit code, address.
    #[schema(value_type = Object)]
    pub institution: serde_json::Value,
    /// Purpose.
    pub purpose: String,
    /// Status.
    pub status: String,
    /// Version.
    pub version: i32,
    /// Due.
    pub due: Option<String>,
    /// Started.
    pub started_at: Option<String>,
    /// Submitted.
    pub submitted_at: Option<String>,
    /// Team: id and name.
    #[schema(value_type = Vec<Object>)]
    pub team: Vec<serde_json::Value>,
    /// Pinned ruleset hashes.
    pub rulesets: Vec<String>,
}

/// List filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InspectionFilter {
    /// Status.
    pub status: Option<String>,
    /// Plan.
    pub plan: Option<String>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Records to skip.
    pub offset: Option<i64>,
}

type Boxed<'a> = inspections::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn visible<'a>(user: &UserRow, f: &InspectionFilter) -> Boxed<'a> {
    let mut q = inspections::table.into_boxed();
    match user.role() {
        Some(Role::Admin) => {
            let r = user.region_code.clone().unwrap_or_default();
            q = q.filter(
                inspections::district_code
                    .like(format!("{}%", like_escape(&r)))
                    .escape('\\'),
            );
        }
        Some(Role::Inspector) => {
            let me = user.inspector_id.clone().unwrap_or_default();
            q = q.filter(
                inspections::id.eq_any(
                    inspection_members::table
                        .filter(inspection_members::inspector_id.eq(me))
                        .select(inspection_members::inspection_id),
                ),
            );
        }
        Some(Role::Institution) => {
            let own = user.institution_id.clone().unwrap_or_default();
            q = q.filter(inspections::institution_id.eq(own)).filter(
                inspections::status
                    .ne(status::ASSIGNED)
                    .or(inspections::purpose.eq(super::purpose::SELF_ASSESSMENT)),
            );
        }
        None => q = q.filter(inspections::id.eq("")),
    }
    if let Some(s) = f.status.clone() {
        q = q.filter(inspections::status.eq(s));
    }
    if let Some(p) = f.plan.clone() {
        q = q.filter(inspections::plan_id.eq(p));
    }
    if let Some(p) = f.purpose.clone() {
        q = q.filter(inspections::purpose.eq(p));
    }
    q
}

/// A page of the inspections `user` may see, due first.
pub fn list(
    conn: &mut DbConn,
    user: &UserRow,
    f: &InspectionFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<InspectionView>, i64)> {
    let total = visible(user, f).count().get_result(conn)?;
    let rows: Vec<InspectionRow> = visible(user, f)
        .order((
            inspections::due.asc(),
            inspections::created_at,
            inspections::id,
        ))
        .limit(limit)
        .offset(offset)
        .select(InspectionRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(conn, r)?);
    }
    Ok((out, total))
}

/// The listed form of one inspection.
pub fn view(conn: &mut DbConn, r: InspectionRow) -> QueryResult<InspectionView> {
    let (name, code, address): (String, String, String) = institutions::table
        .find(&r.institution_id)
        .select((
            institutions::name,
            institutions::credit_code,
            institutions::address,
        ))
        .first(conn)?;
    let team: Vec<(String, String)> = inspection_members::table
        .inner_join(inspectors::table.on(inspectors::id.eq(inspection_members::inspector_id)))
        .filter(inspection_members::inspection_id.eq(&r.id))
        .order(inspectors::name)
        .select((inspectors::id, inspectors::name))
        .load(conn)?;
    Ok(InspectionView {
        rulesets: r.ruleset_hashes(),
        institution: serde_json::json!({ "id": r.institution_id, "name": name, "credit_code": code, "address": address }),
        id: r.id,
        plan_id: r.plan_id,
        purpose: r.purpose,
        status: r.status,
        version: r.version,
        due: r.due,
        started_at: r.started_at,
        submitted_at: r.submitted_at,
        team: team
            .into_iter()
            .map(|(id, name)| serde_json::json!({ "id": id, "name": name }))
            .collect(),
    })
}

/// Marks the inspection started on site (assigned → started; idempotent). Returns the version.
pub fn start(conn: &mut DbConn, r: &InspectionRow, by: &str, now: &str) -> QueryResult<i32> {
    conn.transaction(|c| {
        let n = diesel::update(
            inspections::table
                .find(&r.id)
                .filter(inspections::status.eq(status::ASSIGNED)),
        )
        .set((
            inspections::status.eq(status::STARTED),
            inspections::started_at.eq(now),
        ))
        .execute(c)?;
        if n == 0 {
            return inspections::table
                .find(&r.id)
                .select(inspections::version)
                .first(c);
        }
        let v = super::bump_version(c, &r.id, now)?;
        crate::audit::append(
            c,
            by,
            "inspection.started",
            "inspection",
            &r.id,
            &serde_json::json!({ "version": v }),
        )?;
        Ok(v)
    })
}
