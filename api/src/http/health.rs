//! Liveness and readiness.

use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, description = "alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers and the evidence store is reachable.
#[utoipa::path(tag = "operations", responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down", body = Problem)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    check_database(&state).await?;
    check_store(&state).await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "status": "ready", "database": "ok", "store": "ok" })))
}

/// The database answers a trivial query.
pub async fn check_database(state: &AppState) -> Result<(), ApiError> {
    state
        .db(|c| crate::db::ping(c).map_err(|e| ApiError::unavailable(format!("database: {e}"))))
        .await
        .map_err(|e| {
            if e.status == 503 {
                e
            } else {
                ApiError::unavailable("database unreachable")
            }
        })
}

/// The evidence store is reachable: the local directory takes a write, or the bucket answers.
pub async fn check_store(state: &AppState) -> Result<(), ApiError> {
    state
        .store
        .health()
        .await
        .map_err(|e| ApiError::unavailable(format!("evidence store: {e}")))
}
