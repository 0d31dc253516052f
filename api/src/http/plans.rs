//! `/plans`: 双随机 plans, their draw from a published seed, replacements; `/public/v1/draws`: the
//! draw as anyone can recompute it.

use super::body::{ApiJson, ApiQuery};
use crate::auth::AdminUser;
use crate::error::{ApiError, Problem};
use crate::plans::{self as model, Plan, PlanInput, PublishedDraw, ReplaceInput, Replacement};
use crate::registry::{Page, Paging, now_text};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

/// The seed of a draw.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawBody {
    /// Published before the draw (e.g. a future lottery number with its date and source).
    pub seed: String,
}

/// Creates a plan in the admin's region.
#[utoipa::path(tag = "plans", request_body = PlanInput, responses((status = 201, body = Plan), (status = 400, body = Problem)), security(("bearer" = [])))]
#[post("/plans")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    let plan = state
        .db(move |c| {
            let region = admin.0.region_code.clone().unwrap_or_default();
            let row = model::validate(c, input, &region, &admin.0.id, &now_text())?;
            model::insert(c, &row)?;
            Ok(Plan::from(row))
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/plans/{}", plan.id)))
        .json(plan))
}

/// Plans of the admin's region, newest first.
#[utoipa::path(tag = "plans", params(Paging), responses((status = 200, body = Page<Plan>)), security(("bearer" = [])))]
#[get("/plans")]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    q: ApiQuery<Paging>,
) -> Result<web::Json<Page<Plan>>, ApiError> {
    let (limit, offset) = q.0.resolve()?;
    let (rows, total) = state
        .db(move |c| Ok(model::list(c, &admin.0.scope(), limit, offset)?))
        .await?;
    Ok(web::Json(Page {
        items: rows.into_iter().map(Plan::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// One plan.
#[utoipa::path(tag = "plans", responses((status = 200, body = Plan), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/plans/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<Plan>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            model::get(c, &admin.0.scope(), &id)?
                .map(Plan::from)
                .ok_or_else(|| ApiError::not_found("plan"))
        })
        .await
        .map(web::Json)
}

/// Draws the plan from the published seed: institutions by the policy's ratio, weights, always
/// and coverage rules; teams with recusal; one inspection per staffed pick. Never twice (409
/// `already_drawn`).
#[utoipa::path(tag = "plans", request_body = DrawBody, responses((status = 201, body = PublishedDraw), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/plans/{id}/draw")]
pub async fn draw(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<DrawBody>,
) -> Result<HttpResponse, ApiError> {
    let seed = body.0.seed;
    let id = id.into_inner();
    let st = state.clone();
    let drawn = state
        .db(move |c| {
            let plan =
                model::get(c, &admin.0.scope(), &id)?.ok_or_else(|| ApiError::not_found("plan"))?;
            model::draw(
                c,
                &st.compiled,
                &plan,
                seed.trim(),
                &admin.0.id,
                &now_text(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(drawn))
}

/// The draw of a plan (the admin's view; the same as the public one).
#[utoipa::path(tag = "plans", responses((status = 200, body = PublishedDraw), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/plans/{id}/draw")]
pub async fn get_draw(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<PublishedDraw>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let plan =
                model::get(c, &admin.0.scope(), &id)?.ok_or_else(|| ApiError::not_found("plan"))?;
            model::published(c, &plan)?.ok_or_else(|| ApiError::not_found("draw"))
        })
        .await
        .map(web::Json)
}

/// Replaces an inspector who became unavailable, by a logged redraw anyone can recompute.
#[utoipa::path(tag = "plans", request_body = ReplaceInput, responses((status = 201, body = Replacement), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/plans/{id}/replacements")]
pub async fn replace(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<ReplaceInput>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let id = id.into_inner();
    let st = state.clone();
    let rep = state
        .db(move |c| {
            let plan =
                model::get(c, &admin.0.scope(), &id)?.ok_or_else(|| ApiError::not_found("plan"))?;
            model::replace(c, &st.compiled, &plan, &b, &admin.0.id, &now_text())
        })
        .await?;
    Ok(HttpResponse::Created().json(rep))
}

/// The draw of a plan for anyone: seed, roster snapshot, policy source, result and replacements —
/// save it and run `caregrade draw verify FILE` to recompute it bit for bit.
#[utoipa::path(tag = "public", responses((status = 200, body = PublishedDraw), (status = 404, body = Problem)))]
#[get("/draws/{plan_id}")]
pub async fn public_draw(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let pd = state
        .db(move |c| {
            let plan = model::by_id(c, &id)?.ok_or_else(|| ApiError::not_found("draw"))?;
            model::published(c, &plan)?.ok_or_else(|| ApiError::not_found("draw"))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(pd))
}
