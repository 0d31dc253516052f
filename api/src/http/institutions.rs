//! `/institutions`: the registry of elderly-care institutions.

use super::body::{ApiJson, ApiQuery, CsvBody};
use crate::auth::{AdminUser, AnyUser};
use crate::error::{ApiError, Problem};
use crate::registry::import::{self, ImportReport};
use crate::registry::institutions::{
    self as model, Institution, InstitutionFilter, InstitutionInput, Update,
};
use crate::registry::{Page, Paging, Scope, now_text};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, put, web};

fn out_of_scope(district: &str) -> ApiError {
    ApiError::forbidden(format!("district {district} is outside your region"))
}

/// Lists institutions in the caller's scope (institution users: only their own).
#[utoipa::path(tag = "registry", params(InstitutionFilter), responses((status = 200, body = Page<Institution>)), security(("bearer" = [])))]
#[get("/institutions")]
pub async fn list(
    state: web::Data<AppState>,
    user: AnyUser,
    q: ApiQuery<InstitutionFilter>,
) -> Result<web::Json<Page<Institution>>, ApiError> {
    let filter = q.0;
    let (limit, offset) = Paging {
        limit: filter.limit,
        offset: filter.offset,
    }
    .resolve()?;
    let scope = user.0.scope();
    let (rows, total) = state
        .db(move |c| model::list(c, &scope, &filter, limit, offset).map_err(ApiError::from))
        .await?;
    Ok(web::Json(Page {
        items: rows.into_iter().map(Institution::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// One institution; 404 when it is not in the caller's scope.
#[utoipa::path(tag = "registry", responses((status = 200, body = Institution), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/institutions/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Institution>, ApiError> {
    let scope = user.0.scope();
    let id = id.into_inner();
    state
        .db(move |c| model::get(c, &scope, &id).map_err(ApiError::from))
        .await?
        .map(|r| web::Json(r.into()))
        .ok_or_else(|| ApiError::not_found("institution"))
}

/// Creates an institution (admins, inside their region).
#[utoipa::path(tag = "registry", request_body = InstitutionInput, responses((status = 201, body = Institution), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/institutions")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<InstitutionInput>,
) -> Result<HttpResponse, ApiError> {
    let scope = admin.0.scope();
    let row = body
        .0
        .validate(uuid::Uuid::new_v4().to_string(), 1, now_text())?;
    if !scope.covers_district(&row.district_code) {
        return Err(out_of_scope(&row.district_code));
    }
    let saved = row.clone();
    state
        .db(move |c| model::insert(c, &row).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/institutions/{}", saved.id)))
        .json(Institution::from(saved)))
}

/// Replaces an institution; `version` must be the one read, else 409 with the current record.
#[utoipa::path(tag = "registry", request_body = InstitutionInput, responses((status = 200, body = Institution), (status = 409, body = Problem)), security(("bearer" = [])))]
#[put("/institutions/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<InstitutionInput>,
) -> Result<web::Json<Institution>, ApiError> {
    let scope = admin.0.scope();
    let input = body.0;
    let expected = input.version.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            Some("version".into()),
            "version: the version you read is required",
        )
    })?;
    let row = input.validate(id.into_inner(), expected, String::new())?;
    if !scope.covers_district(&row.district_code) {
        return Err(out_of_scope(&row.district_code));
    }
    match state
        .db(move |c| model::update(c, &scope, row, expected).map_err(ApiError::from))
        .await?
    {
        Update::Done(r) => Ok(web::Json(r.into())),
        Update::Stale(r) => Err(ApiError::version_conflict(
            serde_json::to_value(Institution::from(r)).unwrap_or_default(),
        )),
        Update::Missing => Err(ApiError::not_found("institution")),
    }
}

/// Deletes an institution (and its users).
#[utoipa::path(tag = "registry", responses((status = 204, description = "deleted"), (status = 404, body = Problem)), security(("bearer" = [])))]
#[delete("/institutions/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scope = admin.0.scope();
    let id = id.into_inner();
    let deleted = state
        .db(move |c| model::delete(c, &scope, &id).map_err(ApiError::from))
        .await?;
    // Users (and an institution's users, ON DELETE CASCADE) are gone: their tokens stop now.
    state.user_cache.clear();
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("institution"))
    }
}

/// Imports institutions from CSV (UTF-8, BOM accepted). All rows or none: any invalid row → 400
/// with a per-row report (row, column, message).
#[utoipa::path(tag = "registry", request_body(content = String, content_type = "text/csv"), responses((status = 201, body = ImportReport), (status = 400, body = Problem)), security(("bearer" = [])))]
#[post("/institutions/import")]
pub async fn import_csv(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: CsvBody,
) -> Result<HttpResponse, ApiError> {
    let scope: Scope = admin.0.scope();
    let rows = import::parse_institutions(&body.0, &scope)?;
    let report = state
        .db(move |c| import::store_institutions(c, rows))
        .await?;
    Ok(HttpResponse::Created().json(report))
}
