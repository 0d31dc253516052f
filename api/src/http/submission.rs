//! `/inspections/{id}/acknowledge`, `/submit` and `/outcome`: the representative signs, the team
//! submits, the server scores and enters the three lists.

use super::body::ApiJson;
use crate::auth::{AnyUser, InspectorUser};
use crate::error::{ApiError, Problem};
use crate::inspections::submit::{self as model, Acknowledgement, Submitted};
use crate::inspections::{self, Need, facts};
use crate::photos::{PhotoError, PhotoLimits};
use crate::registry::now_text;
use crate::state::AppState;
use actix_web::{get, post, web};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The acknowledgement as the phone sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeBody {
    /// Name of the institution's representative.
    pub name: String,
    /// Their role.
    #[serde(default)]
    pub role: Option<String>,
    /// Phone time of the signature, RFC 3339.
    #[serde(default)]
    pub signed_at: Option<String>,
    /// Signature image (PNG or JPEG), base64.
    #[serde(default)]
    pub signature: Option<String>,
}

/// The inspection's version after the acknowledgement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Acknowledged {
    /// New version.
    pub version: i32,
    /// What was recorded.
    pub acknowledgement: Acknowledgement,
}

fn photo_error(e: PhotoError) -> ApiError {
    let (status, code) = match e.http_status() {
        413 => (
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            "signature_too_large",
        ),
        415 => (
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "signature_not_an_image",
        ),
        422 => (
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "signature_damaged",
        ),
        _ => return ApiError::internal(e),
    };
    let mut err = ApiError::new(status, code, "Bad signature image", e.to_string());
    err.field = Some("signature".into());
    err
}

/// Records the representative's acknowledgement (name, time, optional signature image). May be
/// repeated until submit; the last one counts.
#[utoipa::path(tag = "inspections", request_body = AcknowledgeBody, responses((status = 200, body = Acknowledged), (status = 409, body = Problem), (status = 415, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: InspectorUser,
    id: web::Path<String>,
    body: ApiJson<AcknowledgeBody>,
) -> Result<web::Json<Acknowledged>, ApiError> {
    let b = body.0;
    let name = b.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation(
            "name",
            "name must have 1–100 characters",
        ));
    }
    if b.signed_at
        .as_deref()
        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_err())
    {
        return Err(ApiError::validation(
            "signed_at",
            "signed_at must be RFC 3339",
        ));
    }
    let id = id.into_inner();
    let (u, i) = (user.0.clone(), id.clone());
    let (row, _) = state
        .db(move |c| inspections::require(c, &u, &i, Need::TeamWritable))
        .await?;
    let signature_key = match b.signature {
        None => None,
        Some(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| ApiError::validation("signature", "signature must be base64"))?;
            let limits = PhotoLimits {
                max_bytes: 2 * 1024 * 1024,
                max_side: 4000,
                max_pixels: 8_000_000,
                ..PhotoLimits::default()
            };
            let copy = bytes.clone();
            let ingested = web::block(move || crate::photos::ingest(&copy, &limits))
                .await?
                .map_err(photo_error)?;
            let stored = state
                .store
                .put(&bytes, ingested.mime())
                .await
                .map_err(|e| ApiError::unavailable(e.to_string()))?;
            Some(stored.key.as_str().to_owned())
        }
    };
    let ack = Acknowledgement {
        name,
        role: b
            .role
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty()),
        signed_at: b.signed_at,
        signature_key,
        recorded_at: now_text(),
        recorded_by: user.0.id.clone(),
    };
    let saved = ack.clone();
    let version = state
        .db(move |c| model::acknowledge(c, &row, &saved, &now_text())?)
        .await?;
    Ok(web::Json(Acknowledged {
        version,
        acknowledgement: ack,
    }))
}

/// Submits: the server scores the answers under the pinned rulesets (never the phone's score),
/// stores each outcome with its receipt and enters every hazard in the three lists. Refused with
/// 422 `evidence_missing` (listing each item) while required photos are missing, 409
/// `not_acknowledged` before the representative acknowledged. Submitting again returns the same.
#[utoipa::path(tag = "inspections", responses((status = 200, body = Submitted), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    user: InspectorUser,
    id: web::Path<String>,
) -> Result<web::Json<Submitted>, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::Team)?;
            let pinned = facts::pinned(&st.compiled, c, &row)?.map_err(ApiError::internal)?;
            model::submit(c, &row, &pinned, &user.0.id, &now_text())?
        })
        .await
        .map(web::Json)
}

/// The stored outcomes of a submitted inspection (409 `not_submitted` before).
#[utoipa::path(tag = "inspections", responses((status = 200, body = Submitted), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/outcome")]
pub async fn outcome(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Submitted>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::Read)?;
            if !row.is_read_only() {
                return Err(ApiError::conflict(
                    "not_submitted",
                    "the inspection has not been submitted yet",
                ));
            }
            Ok(model::stored(c, &row)?)
        })
        .await
        .map(web::Json)
}

/// The offline package of an inspection (team and bureau): institution and facts, the compiled
/// rulesets, answers and photos so far, and the version. `ETag` is the inspection's version, so a
/// phone re-fetching with `If-None-Match` gets 304 when nothing changed.
#[utoipa::path(tag = "inspections", responses((status = 200, body = crate::inspections::package::Package), (status = 304, description = "unchanged"), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/package")]
pub async fn package(
    state: web::Data<AppState>,
    user: AnyUser,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use actix_web::http::header;
    let id = id.into_inner();
    let pkg = state
        .db(move |c| {
            let (row, how) = inspections::require(c, &user.0, &id, Need::Read)?;
            if how == inspections::Access::Institution {
                return Err(ApiError::forbidden(
                    "the package is for the inspecting team and the bureau",
                ));
            }
            Ok(crate::inspections::package::build(c, &row)?)
        })
        .await?;
    let etag = format!("W/\"{}-{}\"", pkg.inspection.id, pkg.version);
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return Ok(actix_web::HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    Ok(actix_web::HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(pkg))
}

/// The inspection record (检查记录) with the three lists, as a page that prints on A4 for the
/// representative to sign (before submit: the answers so far; after: the submitted ones).
#[utoipa::path(tag = "inspections", responses((status = 200, content_type = "text/html", body = String), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/record")]
pub async fn record(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    let page = state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::Read)?;
            crate::inspections::record::html(c, &st.compiled, &row)
        })
        .await?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page))
}
