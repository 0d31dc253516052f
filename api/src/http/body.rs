//! Request-body and query extractors whose errors are problem+json naming the failing field.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::{LocalBoxFuture, Ready, ready};
use serde::de::DeserializeOwned;

/// Reads at most `limit` bytes of body; more → 413.
async fn read_limited(
    mut payload: Payload,
    declared: Option<usize>,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body_unreadable", None, e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn unsupported(expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Unsupported media type",
        format!("send Content-Type: {expected}"),
    )
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() || path == "." {
        name.to_owned()
    } else if path == name || path.ends_with(&format!(".{name}")) {
        path.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Parses JSON, naming the failing field (`facts.floors`, `beds`, or an unknown field's name).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let quoted = |prefix: &str| {
            msg.strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::bad_request(
                    "malformed_json",
                    None,
                    format!("the body is not valid JSON: {msg}"),
                )
            }
            _ => {
                let (code, name) = if let Some(name) = quoted("unknown field `") {
                    ("unknown_field", join(&path, &name))
                } else if let Some(name) = quoted("missing field `") {
                    ("missing_field", join(&path, &name))
                } else {
                    (
                        "invalid_type",
                        if path == "." { String::new() } else { path },
                    )
                };
                let detail = if name.is_empty() {
                    msg
                } else {
                    format!("{name}: {msg}")
                };
                ApiError::bad_request(code, Some(name).filter(|n| !n.is_empty()), detail)
            }
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request("malformed_json", None, e.to_string()))?;
    Ok(value)
}

/// A JSON body (`application/json`), size-limited by `json_limit`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.json_limit)
            .unwrap_or(1 << 20);
        let mt = media_type(req);
        let ok = mt == "application/json" || mt.ends_with("+json");
        let declared = declared_length(req);
        let payload = payload.take();
        Box::pin(async move {
            if !ok {
                return Err(unsupported("application/json"));
            }
            let body = read_limited(payload, declared, limit).await?;
            parse_json(&body).map(ApiJson)
        })
    }
}

/// A CSV body (`text/csv`), size-limited by `csv_limit`.
#[derive(Debug)]
pub struct CsvBody(pub Vec<u8>);

impl FromRequest for CsvBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.csv_limit)
            .unwrap_or(8 << 20);
        let ok = media_type(req) == "text/csv";
        let declared = declared_length(req);
        let payload = payload.take();
        Box::pin(async move {
            if !ok {
                return Err(unsupported("text/csv"));
            }
            read_limited(payload, declared, limit).await.map(CsvBody)
        })
    }
}

/// A binary body (a photo, or a chunk of one) of any declared type — the bytes are sniffed, the
/// declared type never trusted — size-limited by `photo_limit` (whole photos) or `chunk_limit`.
#[derive(Debug)]
pub struct BinaryBody<const CHUNK: bool>(pub Vec<u8>);

impl<const CHUNK: bool> FromRequest for BinaryBody<CHUNK> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| {
                if CHUNK {
                    s.config.chunk_limit
                } else {
                    s.config.photo_limit
                }
            })
            .unwrap_or(8 << 20);
        let declared = declared_length(req);
        let payload = payload.take();
        Box::pin(async move { read_limited(payload, declared, limit).await.map(BinaryBody) })
    }
}

/// Query parameters, naming the failing parameter on error.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        ready(
            serde_path_to_error::deserialize(de)
                .map(ApiQuery)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let msg = e.into_inner().to_string();
                    let field = msg
                        .strip_prefix("unknown field `")
                        .and_then(|r| r.split('`').next())
                        .map(str::to_owned)
                        .or_else(|| (path != ".").then_some(path));
                    ApiError::bad_request("invalid_query", field, format!("query: {msg}"))
                }),
        )
    }
}

/// The path-parameter error handler: 400 problem+json.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", None, err.to_string()).into()
}
