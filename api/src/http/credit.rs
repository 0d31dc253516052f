//! `/institutions/{id}/credit`: an institution's credit record (score, level, blacklist, and why),
//! and the bureau's credit entries.

use super::body::ApiJson;
use crate::auth::{AdminUser, AnyUser};
use crate::credit::{self as model, CreditEvent, CreditRecord, NewEvent};
use crate::error::{ApiError, Problem};
use crate::inspections::submit::today_cn;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};

/// The credit record as of today: every event, and the score, level and blacklist state the
/// credit ruleset in force computes from them, with each event's contribution explained. An
/// institution sees its own; the bureau and inspectors those of their region.
#[utoipa::path(tag = "credit", responses((status = 200, body = CreditRecord), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[get("/institutions/{id}/credit")]
pub async fn record(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<CreditRecord>, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    state
        .db(move |c| {
            crate::registry::institutions::get(c, &user.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("institution"))?;
            let today = today_cn().format("%Y-%m-%d").to_string();
            model::record(c, &st.compiled, &id, &today)
        })
        .await
        .map(web::Json)
}

/// Enters a credit event decided by the bureau (penalty, complaint upheld, blacklisting …) with
/// its document number.
#[utoipa::path(tag = "credit", request_body = NewEvent, responses((status = 201, body = CreditEvent), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/institutions/{id}/credit/events")]
pub async fn enter(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<NewEvent>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0;
    new.validate()?;
    let id = id.into_inner();
    let st = state.clone();
    let event = state
        .db(move |c| {
            crate::registry::institutions::get(c, &admin.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("institution"))?;
            model::enter(c, &st.compiled, &id, &new, &admin.0.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(event))
}

/// Removes the institution from the blacklist on its application (信用修复), from the earliest
/// removal date the policy sets, with the decision's document number and reason.
#[utoipa::path(tag = "credit", request_body = crate::credit::Repair, responses((status = 200, body = CreditRecord), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/institutions/{id}/credit/repair")]
pub async fn repair(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<crate::credit::Repair>,
) -> Result<web::Json<CreditRecord>, ApiError> {
    let req = body.0;
    let id = id.into_inner();
    let st = state.clone();
    state
        .db(move |c| {
            crate::registry::institutions::get(c, &admin.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("institution"))?;
            let today = today_cn().format("%Y-%m-%d").to_string();
            model::repair(c, &st.compiled, &id, &req, &admin.0.id, &today)
        })
        .await
        .map(web::Json)
}
