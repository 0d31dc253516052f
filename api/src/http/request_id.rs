//! Request ids: taken from `x-request-id` when the client sends a sane one, else generated;
//! echoed in the response and carried by the request's tracing span (so every log line of the
//! request has it). Also records the request's metrics.

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use std::time::Instant;
use tracing::Instrument;

/// The header name.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The middleware (use with `actix_web::middleware::from_fn`).
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let start = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = start.elapsed().as_secs_f64();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let status = res.status();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = state {
        state
            .metrics
            .observe(method.as_str(), &route, status, elapsed);
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed * 1000.0,
            "served"
        )
    });
    Ok(res)
}
