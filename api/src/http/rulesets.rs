//! `/rulesets`: upload (checked by the language's checker), list, read, download the compiled form
//! (immutable, cached by hash), and put versions in force per region.

use super::body::{ApiJson, ApiQuery};
use crate::auth::{AdminUser, AnyUser};
use crate::error::{ApiError, Problem};
use crate::registry::{Scope, is_region_code, now_text};
use crate::rulesets::{self as model, Checked, RulesetInfo};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

/// An upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// File name, shown in diagnostics (`changsha.rules`).
    pub file_name: String,
    /// The source text.
    pub source: String,
    /// For a layer: the stored base version to compile over (default: the newest of its name).
    #[serde(default)]
    pub base: Option<String>,
    /// Put it in force in your region at once.
    #[serde(default)]
    pub activate: bool,
}

/// What an upload stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    /// The stored version.
    #[serde(flatten)]
    pub ruleset: RulesetInfo,
    /// `false` when this exact version was stored before.
    pub created: bool,
    /// Warnings of the checker (line, column, span, help).
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<caregrade_dsl::diag::LocatedDiagnostic>,
}

/// A version with its source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesetDetail {
    /// Metadata.
    #[serde(flatten)]
    pub ruleset: RulesetInfo,
    /// This layer's source text.
    pub source: String,
}

/// List filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RulesetFilter {
    /// `standard`, `checklist`, `credit` or `sampling`.
    pub kind: Option<String>,
    /// The ruleset's id in the language.
    pub name: Option<String>,
}

/// Where to put a version in force or retire it.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegionBody {
    /// Region code inside your own (2, 4 or 6 digits); default your whole region.
    #[serde(default)]
    pub region: Option<String>,
}

/// Which district's rulesets are in force.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InForceQuery {
    /// District (or region) code; default the caller's own.
    pub district: Option<String>,
}

fn admin_region(admin: &AdminUser) -> String {
    admin.0.region_code.clone().unwrap_or_default()
}

/// The region an admin names, which must lie inside their own.
fn target_region(admin: &AdminUser, asked: Option<String>) -> Result<String, ApiError> {
    let own = admin_region(admin);
    let Some(r) = asked.filter(|r| !r.is_empty()) else {
        return Ok(own);
    };
    if !is_region_code(&r) {
        return Err(ApiError::validation(
            "region",
            "region must be a 2-, 4- or 6-digit code",
        ));
    }
    if !r.starts_with(own.as_str()) {
        return Err(ApiError::forbidden(format!(
            "region {r} is outside your region"
        )));
    }
    Ok(r)
}

/// Checks and stores a ruleset version. Errors → 422 with every diagnostic (code, message, path,
/// line, column, span, help); the same source again → 200 with the stored version.
#[utoipa::path(tag = "rulesets", request_body = Upload, responses((status = 201, body = Uploaded), (status = 200, body = Uploaded), (status = 422, body = Problem)), security(("bearer" = [])))]
#[post("/rulesets")]
pub async fn upload(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<Upload>,
) -> Result<HttpResponse, ApiError> {
    let up = body.0;
    if up.file_name.trim().is_empty() || up.file_name.len() > 200 {
        return Err(ApiError::validation(
            "file_name",
            "file_name must have 1–200 characters",
        ));
    }
    let region = if up.activate {
        Some(admin_region(&admin))
    } else {
        None
    };
    let user = admin.0.id.clone();
    let (row, created, warnings, active) = state
        .db(move |c| {
            let now = now_text();
            let checked = model::check_source(
                c,
                &up.file_name,
                &up.source,
                up.base.as_deref(),
                Some(user.clone()),
                &now,
            )?;
            let (row, warnings) = match checked {
                Checked::Ok { row, warnings } => (row, warnings),
                Checked::Invalid(diags) => {
                    let n = diags
                        .iter()
                        .filter(|d| d.severity == caregrade_dsl::diag::Severity::Error)
                        .count();
                    return Err(ApiError::unprocessable(
                        "ruleset_invalid",
                        format!("the ruleset has {n} error(s); nothing was stored"),
                        serde_json::to_value(&diags).unwrap_or_default(),
                    ));
                }
            };
            let created = model::store_and_activate(c, &row, region.as_deref(), &user, &now)?;
            let active = model::active_regions(c)?
                .remove(&row.hash)
                .unwrap_or_default();
            let stored = model::get(c, &row.hash)?.unwrap_or(*row);
            Ok((stored, created, warnings, active))
        })
        .await?;
    let body = Uploaded {
        ruleset: RulesetInfo::new(&row, active),
        created,
        warnings,
    };
    Ok(if created {
        HttpResponse::Created()
            .insert_header((
                header::LOCATION,
                format!("/api/v1/rulesets/{}", body.ruleset.hash),
            ))
            .json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// Stored versions, newest first, with the regions where each is in force.
#[utoipa::path(tag = "rulesets", params(RulesetFilter), responses((status = 200, body = Vec<RulesetInfo>)), security(("bearer" = [])))]
#[get("/rulesets")]
pub async fn list(
    state: web::Data<AppState>,
    _user: AnyUser,
    q: ApiQuery<RulesetFilter>,
) -> Result<web::Json<Vec<RulesetInfo>>, ApiError> {
    let f = q.0;
    state
        .db(move |c| {
            let rows = model::list(c, f.kind.as_deref(), f.name.as_deref())?;
            let mut active = model::active_regions(c)?;
            Ok(rows
                .iter()
                .map(|r| RulesetInfo::new(r, active.remove(&r.hash).unwrap_or_default()))
                .collect())
        })
        .await
        .map(web::Json)
}

/// The versions in force for a district: per ruleset, the most specific region's activation.
#[utoipa::path(tag = "rulesets", params(InForceQuery), responses((status = 200, body = Vec<RulesetInfo>)), security(("bearer" = [])))]
#[get("/rulesets/in-force")]
pub async fn in_force(
    state: web::Data<AppState>,
    user: AnyUser,
    q: ApiQuery<InForceQuery>,
) -> Result<web::Json<Vec<RulesetInfo>>, ApiError> {
    let asked = q.0.district;
    let scope = user.0.scope();
    state
        .db(move |c| {
            let district = match (asked, &scope) {
                (Some(d), _) => d,
                (None, Scope::Region(r)) => r.clone(),
                (None, Scope::Institution(id)) => {
                    crate::registry::institutions::get(c, &scope, id)?
                        .map(|i| i.district_code)
                        .unwrap_or_default()
                }
            };
            let rows = model::in_force(c, &district)?;
            let mut active = model::active_regions(c)?;
            Ok(rows
                .iter()
                .map(|r| RulesetInfo::new(r, active.remove(&r.hash).unwrap_or_default()))
                .collect())
        })
        .await
        .map(web::Json)
}

/// One version with its source.
#[utoipa::path(tag = "rulesets", responses((status = 200, body = RulesetDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/rulesets/{hash}")]
pub async fn get_one(
    state: web::Data<AppState>,
    _user: AnyUser,
    hash: web::Path<String>,
) -> Result<web::Json<RulesetDetail>, ApiError> {
    let hash = hash.into_inner();
    state
        .db(move |c| {
            let row = model::get(c, &hash)?.ok_or_else(|| ApiError::not_found("ruleset"))?;
            let active = model::active_regions(c)?
                .remove(&row.hash)
                .unwrap_or_default();
            Ok(RulesetDetail {
                ruleset: RulesetInfo::new(&row, active),
                source: row.source,
            })
        })
        .await
        .map(web::Json)
}

/// The compiled form a phone evaluates offline. Immutable: the hash is the ETag, and
/// `If-None-Match` with it answers 304.
#[utoipa::path(tag = "rulesets", responses((status = 200, description = "compiled ruleset (JSON)"), (status = 304, description = "not modified"), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/rulesets/{hash}/compiled")]
pub async fn compiled(
    state: web::Data<AppState>,
    _user: AnyUser,
    req: HttpRequest,
    hash: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = hash.into_inner();
    let etag = format!("\"{hash}\"");
    let cache = (
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let h = hash.clone();
    let row = state
        .db(move |c| model::get(c, &h).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::not_found("ruleset"))?;
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .body(row.compiled))
}

/// Puts a version in force in a region (default: the admin's), retiring the version of the same
/// ruleset that was in force there.
#[utoipa::path(tag = "rulesets", params(RegionBody), responses((status = 200, body = RulesetInfo), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
#[post("/rulesets/{hash}/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    admin: AdminUser,
    hash: web::Path<String>,
    q: ApiQuery<RegionBody>,
) -> Result<web::Json<RulesetInfo>, ApiError> {
    let region = target_region(&admin, q.0.region)?;
    let hash = hash.into_inner();
    let by = admin.0.id.clone();
    state
        .db(move |c| {
            let row = model::get(c, &hash)?.ok_or_else(|| ApiError::not_found("ruleset"))?;
            model::activate(c, &row, &region, Some(&by), &now_text())?;
            let active = model::active_regions(c)?
                .remove(&row.hash)
                .unwrap_or_default();
            Ok(RulesetInfo::new(&row, active))
        })
        .await
        .map(web::Json)
}

/// Retires a version in a region (default: the admin's). 404 when it was not in force there.
#[utoipa::path(tag = "rulesets", params(RegionBody), responses((status = 200, body = RulesetInfo), (status = 404, body = Problem)), security(("bearer" = [])))]
#[post("/rulesets/{hash}/retire")]
pub async fn retire(
    state: web::Data<AppState>,
    admin: AdminUser,
    hash: web::Path<String>,
    q: ApiQuery<RegionBody>,
) -> Result<web::Json<RulesetInfo>, ApiError> {
    let region = target_region(&admin, q.0.region)?;
    let hash = hash.into_inner();
    let by = admin.0.id.clone();
    state
        .db(move |c| {
            let row = model::get(c, &hash)?.ok_or_else(|| ApiError::not_found("ruleset"))?;
            if !model::retire(c, &hash, &region, &by, &now_text())? {
                return Err(ApiError::not_found(
                    "activation of this ruleset in that region",
                ));
            }
            let active = model::active_regions(c)?
                .remove(&row.hash)
                .unwrap_or_default();
            Ok(RulesetInfo::new(&row, active))
        })
        .await
        .map(web::Json)
}
