//! `/webhooks`: a bureau's subscriptions to events of its region, their deliveries, and a way to
//! post the due ones now (the server also does every `webhook_interval_secs`).

use super::body::ApiJson;
use crate::auth::AdminUser;
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::webhooks::{self as model, Delivery, NewWebhook, Webhook};
use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;

/// A new subscription with its signing secret (shown this once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// HMAC-SHA256 key: `X-Caregrade-Signature` is `sha256=` + hex(HMAC(secret, body)).
    pub secret: String,
}

/// What a delivery run did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Run {
    /// Deliveries that reached their receiver.
    pub delivered: usize,
}

/// Subscribes a URL to events of the admin's region.
#[utoipa::path(tag = "webhooks", request_body = NewWebhook, responses((status = 201, body = Created), (status = 400, body = Problem)), security(("bearer" = [])))]
#[post("/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0;
    let w = state
        .db(move |c| {
            let region = admin.0.region_code.clone().unwrap_or_default();
            model::create(c, &new, &region, &admin.0.id)
        })
        .await?;
    Ok(HttpResponse::Created().json(Created {
        secret: w.secret.clone(),
        webhook: w,
    }))
}

/// The region's subscriptions.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Vec<Webhook>)), security(("bearer" = [])))]
#[get("/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
) -> Result<web::Json<Vec<Webhook>>, ApiError> {
    state
        .db(move |c| {
            Ok(model::list(
                c,
                admin.0.region_code.as_deref().unwrap_or(""),
            )?)
        })
        .await
        .map(web::Json)
}

/// Deliveries of one subscription, newest first (status, attempts, last error).
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Vec<Delivery>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<Delivery>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let mine = model::list(c, admin.0.region_code.as_deref().unwrap_or(""))?;
            if !mine.iter().any(|w| w.id == id) {
                return Err(ApiError::not_found("webhook"));
            }
            Ok(model::deliveries(c, &id)?)
        })
        .await
        .map(web::Json)
}

/// Posts every delivery due now.
#[utoipa::path(tag = "webhooks", responses((status = 200, body = Run)), security(("bearer" = [])))]
#[post("/webhooks/deliver")]
pub async fn deliver(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> Result<web::Json<Run>, ApiError> {
    let timeout = std::time::Duration::from_millis(state.config.webhook_timeout_ms);
    let delivered = model::deliver_due(&state, timeout).await?;
    Ok(web::Json(Run { delivered }))
}
