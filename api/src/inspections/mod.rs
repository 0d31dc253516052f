//! Inspections: who may see and change one, its answers and photos, the submit that scores it,
//! and the three lists it produces. Queries return `QueryResult`; rules of the workflow return
//! `ApiError`s with stable codes.

use crate::auth::Role;
use crate::db::DbConn;
use crate::db::schema::{inspection_members, inspections};
use crate::registry::users::UserRow;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

pub mod answers;
pub mod assignments;
pub mod facts;
pub mod lists;
pub mod package;
pub mod photos;
pub mod record;
pub mod self_assessment;
pub mod submit;
pub mod uploads;

/// Why an inspection exists.
pub mod purpose {
    /// A 双随机 spot check drawn from a plan.
    pub const SPOT_CHECK: &str = "spot_check";
    /// A look-back re-inspection (回头看) of an institution's open items.
    pub const RECHECK: &str = "recheck";
    /// An institution's self-assessment (自评) under the grading standard.
    pub const SELF_ASSESSMENT: &str = "self_assessment";
}

/// Where an inspection stands. Only `assigned` hides it from the institution (unannounced checks);
/// only `submitted` makes it read-only.
pub mod status {
    /// Drawn and assigned to its team; the institution does not know yet.
    pub const ASSIGNED: &str = "assigned";
    /// The team is on site; the institution sees it from now on.
    pub const STARTED: &str = "started";
    /// The institution's representative acknowledged the findings.
    pub const ACKNOWLEDGED: &str = "acknowledged";
    /// Scored by the server; read-only.
    pub const SUBMITTED: &str = "submitted";
}

/// A stored inspection.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize)]
#[diesel(table_name = inspections)]
pub struct InspectionRow {
    /// Text UUID.
    pub id: String,
    /// The plan it was drawn in, if any.
    pub plan_id: Option<String>,
    /// The inspected institution.
    pub institution_id: String,
    /// The institution's district (copied so region scoping needs no join).
    pub district_code: String,
    /// See [`purpose`].
    pub purpose: String,
    /// JSON array of the ruleset hashes it is answered and scored under (pinned at creation).
    pub rulesets: String,
    /// See [`status`].
    pub status: String,
    /// Incremented by every change of state, answer or photo: the phone's sync cursor.
    pub version: i32,
    /// Date by which it should be done, `YYYY-MM-DD`.
    pub due: Option<String>,
    /// When the team started on site.
    pub started_at: Option<String>,
    /// JSON of the representative's acknowledgement.
    pub acknowledgement: Option<String>,
    /// When submitted.
    pub submitted_at: Option<String>,
    /// Who submitted (user id).
    pub submitted_by: Option<String>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// For a look-back re-inspection: the `ruleset:item` keys it covers (JSON); `None`: every item.
    pub scope: Option<String>,
}

impl InspectionRow {
    /// The items a look-back re-inspection covers, as `(ruleset, item)`; `None` for every item.
    pub fn scope_items(&self) -> Option<Vec<(String, String)>> {
        let keys: Vec<String> = serde_json::from_str(self.scope.as_deref()?).ok()?;
        Some(
            keys.iter()
                .filter_map(|k| k.split_once(':').map(|(r, i)| (r.to_owned(), i.to_owned())))
                .collect(),
        )
    }

    /// The pinned ruleset hashes.
    pub fn ruleset_hashes(&self) -> Vec<String> {
        serde_json::from_str(&self.rulesets).unwrap_or_default()
    }

    /// `true` once submitted: nothing may change any more.
    pub fn is_read_only(&self) -> bool {
        self.status == status::SUBMITTED
    }
}

/// What a user may do with an inspection they can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// A member of the inspecting team: answers, photos, acknowledgement, submit.
    Team,
    /// A bureau admin whose region covers the institution: reads everything.
    Bureau,
    /// The inspected institution, once the inspection started: reads its results.
    Institution,
}

/// The inspection `id` if `user` may see it, with how. `None` is answered as 404 so that nobody
/// learns of an inspection outside their reach (above all an institution before an unannounced
/// visit starts).
pub fn access(
    conn: &mut DbConn,
    user: &UserRow,
    id: &str,
) -> QueryResult<Option<(InspectionRow, Access)>> {
    let Some(row) = inspections::table
        .find(id)
        .select(InspectionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let how = match user.role() {
        Some(Role::Admin) => row
            .district_code
            .starts_with(user.region_code.as_deref().unwrap_or(""))
            .then_some(Access::Bureau),
        Some(Role::Inspector) => match &user.inspector_id {
            Some(me) => is_member(conn, &row.id, me)?.then_some(Access::Team),
            None => None,
        },
        Some(Role::Institution)
            if user.institution_id.as_deref() != Some(row.institution_id.as_str()) =>
        {
            None
        }
        // In its own self-assessment the institution is the one answering.
        Some(Role::Institution) if row.purpose == purpose::SELF_ASSESSMENT => Some(Access::Team),
        Some(Role::Institution) => (row.status != status::ASSIGNED).then_some(Access::Institution),
        None => None,
    };
    Ok(how.map(|a| (row, a)))
}

/// One inspection by id, whoever asks (callers authorise).
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<InspectionRow>> {
    inspections::table
        .find(id)
        .select(InspectionRow::as_select())
        .first(conn)
        .optional()
}

/// `true` when `inspector` is on the team of `inspection`.
pub fn is_member(conn: &mut DbConn, inspection: &str, inspector: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        inspection_members::table
            .filter(inspection_members::inspection_id.eq(inspection))
            .filter(inspection_members::inspector_id.eq(inspector)),
    ))
    .get_result(conn)
}

/// The team of an inspection, inspector ids in order.
pub fn members(conn: &mut DbConn, inspection: &str) -> QueryResult<Vec<String>> {
    inspection_members::table
        .filter(inspection_members::inspection_id.eq(inspection))
        .select(inspection_members::inspector_id)
        .order(inspection_members::inspector_id)
        .load(conn)
}

/// Creates an inspection with its team.
pub fn create(conn: &mut DbConn, row: &InspectionRow, team: &[String]) -> QueryResult<()> {
    conn.transaction(|c| {
        diesel::insert_into(inspections::table)
            .values(row)
            .execute(c)?;
        for m in team {
            diesel::insert_into(inspection_members::table)
                .values((
                    inspection_members::inspection_id.eq(&row.id),
                    inspection_members::inspector_id.eq(m),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// Bumps the sync cursor of an inspection (inside the caller's transaction).
pub fn bump_version(conn: &mut DbConn, id: &str, now: &str) -> QueryResult<i32> {
    diesel::update(inspections::table.find(id))
        .set((
            inspections::version.eq(inspections::version + 1),
            inspections::updated_at.eq(now),
        ))
        .execute(conn)?;
    inspections::table
        .find(id)
        .select(inspections::version)
        .first(conn)
}

/// What a request needs of an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// To see it.
    Read,
    /// To be on its team.
    Team,
    /// To be on its team while it can still change.
    TeamWritable,
}

/// The inspection `id` if `user` may do what `need` says: 404 when they cannot see it, 403 when
/// they see it but are not on the team, 409 `inspection_submitted` when it is read-only.
pub fn require(
    conn: &mut DbConn,
    user: &UserRow,
    id: &str,
    need: Need,
) -> Result<(InspectionRow, Access), crate::error::ApiError> {
    use crate::error::ApiError;
    let (row, how) = access(conn, user, id)?.ok_or_else(|| ApiError::not_found("inspection"))?;
    if need != Need::Read && how != Access::Team {
        return Err(ApiError::forbidden("only the inspecting team may do this"));
    }
    if need == Need::TeamWritable && row.is_read_only() {
        return Err(submitted());
    }
    Ok((row, how))
}

/// 409: the inspection was submitted and is read-only.
pub fn submitted() -> crate::error::ApiError {
    crate::error::ApiError::conflict(
        "inspection_submitted",
        "the inspection was submitted and is read-only",
    )
}
