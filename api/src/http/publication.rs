//! 一公开: the bureau drafts, reviews and publishes batches, withdraws or corrects records, and
//! sees results not published within the window; `/public/v1/publications` shows them to anyone.

use super::body::{ApiJson, ApiQuery};
use crate::auth::AdminUser;
use crate::error::{ApiError, Problem};
use crate::publication::{self as model, Batch, Late, PublicFilter, PublicRecord};
use crate::registry::{Page, Paging, now_text};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

/// Why a record is withdrawn.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Reason, shown to the public.
    pub reason: String,
}

/// A correction.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectBody {
    /// Fields of the public record to change (`result`, `measure` …).
    #[schema(value_type = Object)]
    pub changes: serde_json::Map<String, serde_json::Value>,
    /// Reason, shown to the public.
    pub reason: String,
}

fn reason(r: &str) -> Result<String, ApiError> {
    let t = r.trim();
    if t.is_empty() || t.chars().count() > 500 {
        return Err(ApiError::validation(
            "reason",
            "reason must have 1–500 characters",
        ));
    }
    Ok(t.to_owned())
}

/// Drafts a batch of everything in the admin's region not yet published, for review.
#[utoipa::path(tag = "publication", responses((status = 201, body = Batch), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/publications/batches")]
pub async fn draft(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let drafted = state
        .db(move |c| {
            let region = admin.0.region_code.clone().unwrap_or_default();
            model::draft(
                c,
                &st.compiled,
                &region,
                &admin.0.display_name,
                &admin.0.id,
                &now_text(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(drafted))
}

/// A batch with its records.
#[utoipa::path(tag = "publication", responses((status = 200, body = Batch), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/publications/batches/{id}")]
pub async fn get_batch(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<Batch>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            model::get_batch(c, &admin.0.scope(), &id)?.ok_or_else(|| ApiError::not_found("batch"))
        })
        .await
        .map(web::Json)
}

/// Publishes a reviewed batch (each record with its audit-chain entry); twice is refused.
#[utoipa::path(tag = "publication", responses((status = 200, body = Batch), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/publications/batches/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<Batch>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let scope = admin.0.scope();
            let b =
                model::get_batch(c, &scope, &id)?.ok_or_else(|| ApiError::not_found("batch"))?;
            model::publish(c, &b, &admin.0.id, &now_text())?;
            model::get_batch(c, &scope, &id)?.ok_or_else(|| ApiError::not_found("batch"))
        })
        .await
        .map(web::Json)
}

/// Withdraws a published record, with a reason the public sees.
#[utoipa::path(tag = "publication", request_body = WithdrawBody, responses((status = 200, body = PublicRecord), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/publications/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<WithdrawBody>,
) -> Result<web::Json<PublicRecord>, ApiError> {
    let why = reason(&body.0.reason)?;
    let id = id.into_inner();
    state
        .db(move |c| {
            let p = model::get(c, &admin.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("publication"))?;
            model::withdraw(c, &p, &why, &admin.0.id)?;
            model::public_get(c, &id)?.ok_or_else(|| ApiError::not_found("publication"))
        })
        .await
        .map(web::Json)
}

/// Corrects a published record: the correction replaces it in public lists, and the old record
/// points to it.
#[utoipa::path(tag = "publication", request_body = CorrectBody, responses((status = 200, body = PublicRecord), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/publications/{id}/correct")]
pub async fn correct(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<CorrectBody>,
) -> Result<web::Json<PublicRecord>, ApiError> {
    let b = body.0;
    let why = reason(&b.reason)?;
    if b.changes.is_empty() {
        return Err(ApiError::validation(
            "changes",
            "changes must name at least one field",
        ));
    }
    let id = id.into_inner();
    state
        .db(move |c| {
            let p = model::get(c, &admin.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("publication"))?;
            let new = model::correct(c, &p, &b.changes, &why, &admin.0.id, &now_text())?;
            model::public_get(c, &new)?.ok_or_else(|| ApiError::not_found("publication"))
        })
        .await
        .map(web::Json)
}

/// Spot-check results in the admin's region not published within 20 working days of submit
/// (working days by the configured calendar: `holidays`, `extra_working_days`).
#[utoipa::path(tag = "publication", responses((status = 200, body = Vec<Late>)), security(("bearer" = [])))]
#[get("/publications/late")]
pub async fn late(
    state: web::Data<AppState>,
    admin: AdminUser,
) -> Result<web::Json<Vec<Late>>, ApiError> {
    let calendar = state.working_days.clone();
    state
        .db(move |c| {
            Ok(model::late(
                c,
                admin.0.region_code.as_deref().unwrap_or(""),
                &calendar,
            )?)
        })
        .await
        .map(web::Json)
}

/// Published results, credit levels and corrections, for anyone: paginated, filterable,
/// cacheable for a few minutes.
#[utoipa::path(tag = "public", params(PublicFilter), responses((status = 200, body = Page<PublicRecord>)))]
#[get("/publications")]
pub async fn public_list(
    state: web::Data<AppState>,
    q: ApiQuery<PublicFilter>,
) -> Result<HttpResponse, ApiError> {
    let f = q.0;
    let (limit, offset) = Paging {
        limit: f.limit,
        offset: f.offset,
    }
    .resolve()?;
    let (items, total) = state
        .db(move |c| Ok(model::public_list(c, &f, limit, offset)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(Page {
            items,
            total,
            limit,
            offset,
        }))
}

/// One public record; a withdrawn or corrected one says so and points to its correction.
#[utoipa::path(tag = "public", responses((status = 200, body = PublicRecord), (status = 404, body = Problem)))]
#[get("/publications/{id}")]
pub async fn public_get(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rec = state
        .db(move |c| model::public_get(c, &id)?.ok_or_else(|| ApiError::not_found("publication")))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(rec))
}
