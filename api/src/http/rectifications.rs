//! `/rectifications/{id}`: the rectification loop — the institution reports a fix, an inspector or
//! the bureau verifies (销号) or rejects it, the bureau extends a deadline with a reason — and
//! `/escalations/run`, which emits what overdue rectifications entail.

use super::body::ApiJson;
use crate::auth::{AdminUser, AnyUser, InstitutionUser, Role};
use crate::error::{ApiError, Problem};
use crate::inspections::lists::{self, ListEntry};
use crate::inspections::submit::today_cn;
use crate::rectification::{self as model, Escalation, Rectification};
use crate::registry::now_text;
use crate::registry::users::UserRow;
use crate::state::AppState;
use actix_web::{get, post, web};
use serde::Deserialize;

/// A reported fix.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixBody {
    /// What was done.
    pub note: String,
    /// Ids of evidence photos.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The version you read (stale → 409 with the current record).
    #[serde(default)]
    pub version: Option<i32>,
}

/// A verification.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
    /// The version you read.
    #[serde(default)]
    pub version: Option<i32>,
}

/// A rejection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why the fix is not accepted.
    pub reason: String,
    /// A new deadline, when the old one cannot be kept (logged with the same reason).
    #[serde(default)]
    pub extend_to: Option<String>,
    /// The version you read.
    #[serde(default)]
    pub version: Option<i32>,
}

/// A deadline extension.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// New deadline, YYYY-MM-DD, not before today.
    pub deadline: String,
    /// Why.
    pub reason: String,
}

fn text(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("{field} must have 1–{max} characters"),
        ));
    }
    Ok(t.to_owned())
}

fn future_date(field: &str, v: &str) -> Result<String, ApiError> {
    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| ApiError::validation(field, format!("{field} must be YYYY-MM-DD")))?;
    if d < today_cn() {
        return Err(ApiError::validation(
            field,
            format!("{field} is in the past"),
        ));
    }
    Ok(d.format("%Y-%m-%d").to_string())
}

/// The bureau's side (inspectors and admins) verifies and rejects; an institution never verifies
/// its own rectification.
fn bureau(user: &UserRow) -> Result<(), ApiError> {
    match user.role() {
        Some(Role::Admin | Role::Inspector) => Ok(()),
        _ => Err(ApiError::forbidden(
            "only an inspector or the bureau verifies a rectification",
        )),
    }
}

fn load(c: &mut crate::db::DbConn, user: &UserRow, id: &str) -> Result<ListEntry, ApiError> {
    lists::by_rectification(c, &user.scope(), id)?
        .ok_or_else(|| ApiError::not_found("rectification"))
}

fn current(c: &mut crate::db::DbConn, user: &UserRow, id: &str) -> Result<Rectification, ApiError> {
    Ok(Rectification {
        entry: load(c, user, id)?,
        steps: model::steps(c, id)?,
    })
}

/// One rectification with its hazard, responsibility and every step.
#[utoipa::path(tag = "rectifications", responses((status = 200, body = Rectification), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/rectifications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Rectification>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| current(c, &user.0, &id))
        .await
        .map(web::Json)
}

/// The institution reports a fix with evidence and a note (open → submitted).
#[utoipa::path(tag = "rectifications", request_body = FixBody, responses((status = 200, body = Rectification), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/rectifications/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    user: InstitutionUser,
    id: web::Path<String>,
    body: ApiJson<FixBody>,
) -> Result<web::Json<Rectification>, ApiError> {
    let b = body.0;
    let note = text("note", &b.note, 2000)?;
    let id = id.into_inner();
    state
        .db(move |c| {
            let e = load(c, &user.0, &id)?;
            model::submit_fix(
                c,
                &e,
                &note,
                &b.evidence,
                b.version,
                &user.0.id,
                &now_text(),
            )??;
            current(c, &user.0, &id)
        })
        .await
        .map(web::Json)
}

/// Verifies a reported fix (销号): submitted → verified, final.
#[utoipa::path(tag = "rectifications", request_body = VerifyBody, responses((status = 200, body = Rectification), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/rectifications/{id}/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
    body: ApiJson<VerifyBody>,
) -> Result<web::Json<Rectification>, ApiError> {
    bureau(&user.0)?;
    let b = body.0;
    let id = id.into_inner();
    state
        .db(move |c| {
            let e = load(c, &user.0, &id)?;
            model::verify(c, &e, b.note.as_deref(), b.version, &user.0.id, &now_text())??;
            current(c, &user.0, &id)
        })
        .await
        .map(web::Json)
}

/// Rejects a reported fix with a reason: back to open, the deadline unchanged unless `extend_to`.
#[utoipa::path(tag = "rectifications", request_body = RejectBody, responses((status = 200, body = Rectification), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/rectifications/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
    body: ApiJson<RejectBody>,
) -> Result<web::Json<Rectification>, ApiError> {
    bureau(&user.0)?;
    let b = body.0;
    let reason = text("reason", &b.reason, 2000)?;
    let extend_to = b
        .extend_to
        .as_deref()
        .map(|d| future_date("extend_to", d))
        .transpose()?;
    let id = id.into_inner();
    state
        .db(move |c| {
            let e = load(c, &user.0, &id)?;
            model::reject(
                c,
                &e,
                &reason,
                extend_to.as_deref(),
                b.version,
                &user.0.id,
                &now_text(),
            )??;
            current(c, &user.0, &id)
        })
        .await
        .map(web::Json)
}

/// Moves the deadline of an unverified rectification, with a reason (the bureau only).
#[utoipa::path(tag = "rectifications", request_body = ExtendBody, responses((status = 200, body = Rectification), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/rectifications/{id}/extend")]
pub async fn extend(
    state: web::Data<AppState>,
    user: AdminUser,
    id: web::Path<String>,
    body: ApiJson<ExtendBody>,
) -> Result<web::Json<Rectification>, ApiError> {
    let b = body.0;
    let deadline = future_date("deadline", &b.deadline)?;
    let reason = text("reason", &b.reason, 2000)?;
    let id = id.into_inner();
    state
        .db(move |c| {
            let e = load(c, &user.0, &id)?;
            model::extend(c, &e, &deadline, &reason, &user.0.id, &now_text())??;
            current(c, &user.0, &id)
        })
        .await
        .map(web::Json)
}

/// Emits what overdue rectifications entail (credit events; a look-back re-inspection for a
/// major hazard), once each. The server also runs this every `escalation_interval_secs`.
#[utoipa::path(tag = "rectifications", responses((status = 200, body = Escalation)), security(("bearer" = [])))]
#[post("/escalations/run")]
pub async fn run_escalation(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> Result<web::Json<Escalation>, ApiError> {
    let today = today_cn().format("%Y-%m-%d").to_string();
    state
        .db(move |c| Ok(model::escalate_overdue(c, &today)?))
        .await
        .map(web::Json)
}

/// Where a fix's evidence photo belongs.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// The phone's UUID for this photo (a resend returns the same photo).
    pub client_uuid: String,
}

/// The institution uploads a photo proving a fix (same checks as inspection photos: sniffed,
/// size- and bomb-limited, idempotent by client UUID). Its id goes into `evidence` of the submit.
#[utoipa::path(tag = "rectifications", params(EvidenceQuery), request_body(content = Vec<u8>, content_type = "image/jpeg"), responses((status = 201, body = crate::inspections::photos::PhotoMeta), (status = 200, body = crate::inspections::photos::PhotoMeta), (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)), security(("bearer" = [])))]
#[post("/rectifications/{id}/evidence")]
pub async fn evidence(
    state: web::Data<AppState>,
    user: InstitutionUser,
    id: web::Path<String>,
    q: super::body::ApiQuery<EvidenceQuery>,
    body: super::body::BinaryBody<false>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let client_uuid = q.0.client_uuid;
    if uuid::Uuid::parse_str(&client_uuid).is_err() {
        return Err(ApiError::validation(
            "client_uuid",
            "client_uuid must be a UUID",
        ));
    }
    let (u, rid) = (user.0.clone(), id.into_inner());
    let (entry, inspection) = state
        .db(move |c| {
            let e = load(c, &u, &rid)?;
            if e.status == crate::rectification::state::VERIFIED {
                return Err(ApiError::conflict(
                    "rectification_verified",
                    "the rectification was verified (销号) and is closed",
                ));
            }
            let row = crate::inspections::by_id(c, &e.inspection_id)?
                .ok_or_else(|| ApiError::not_found("inspection"))?;
            Ok((e, row))
        })
        .await?;
    let target = crate::inspections::photos::Target {
        ruleset: "rectification".into(),
        item: entry.rectification_id.clone(),
        client_uuid,
    };
    let (meta, new) =
        crate::inspections::photos::ingest(&state, &inspection, target, body.0, &user.0.id).await?;
    Ok(if new {
        actix_web::HttpResponse::Created().json(meta)
    } else {
        actix_web::HttpResponse::Ok().json(meta)
    })
}
