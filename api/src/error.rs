//! The one error type at the HTTP edge, rendered as `application/problem+json` (RFC 9457) with a
//! stable machine `code`, and the failing `field` for validation errors.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error answered to a client (kept small: it travels in every `Result`).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine code, e.g. `validation_failed`, `version_conflict`.
    pub code: &'static str,
    /// Short human summary of the problem type.
    pub title: &'static str,
    /// What went wrong in this case.
    pub detail: String,
    /// The failing field (JSON path or CSV column) for validation errors.
    pub field: Option<String>,
    /// The current record (version conflicts) or per-row errors (CSV imports).
    pub extra: Option<Box<Extra>>,
}

/// Larger, rarer parts of an error.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// The current record, on a version conflict.
    pub current: Option<serde_json::Value>,
    /// Per-row errors, for CSV imports.
    pub errors: Option<serde_json::Value>,
}

/// The `application/problem+json` body (RFC 9457) of every error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// A URI naming the problem type (`urn:caregrade:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the problem type.
    pub title: &'a str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: &'a str,
    /// Stable machine code.
    pub code: &'a str,
    /// The failing field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
    /// The current record, on a version conflict (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<&'a serde_json::Value>,
    /// Every reason: per-row errors (`row`, `column`, `message`) of a CSV import, diagnostics
    /// of a ruleset, per-answer results of a sync, evidence missing at submit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<&'a serde_json::Value>,
}

impl ApiError {
    /// A new error with the given status, code, title and detail.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status: status.as_u16(),
            code,
            title,
            detail: detail.into(),
            field: None,
            extra: None,
        }
    }

    /// 400: a field failed validation.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Invalid field",
            detail,
        );
        e.field = Some(field.into());
        e
    }

    /// 400: the body is not what the endpoint reads.
    pub fn bad_request(
        code: &'static str,
        field: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail);
        e.field = field;
        e
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Not authenticated",
            detail,
        )
    }

    /// 403: authenticated, but the role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    /// 404: no such record in the caller's scope.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("no such {what}"),
        )
    }

    /// 409: the `version` sent is stale; `current` is the record as it is now.
    pub fn version_conflict(current: serde_json::Value) -> Self {
        let mut e = Self::new(
            StatusCode::CONFLICT,
            "version_conflict",
            "Stale version",
            "the record was changed since you read it; `current` holds it as it is now",
        );
        e.extra = Some(Box::new(Extra {
            current: Some(current),
            errors: None,
        }));
        e
    }

    /// 409: the request conflicts with the record's state (`code` says which rule).
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    /// 422: well-formed but refused by a rule; `errors` lists every reason (e.g. the
    /// diagnostics of a ruleset with line, column and span, or the evidence still missing).
    pub fn unprocessable(
        code: &'static str,
        detail: impl Into<String>,
        errors: serde_json::Value,
    ) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "Unprocessable",
            detail,
        );
        e.extra = Some(Box::new(Extra {
            current: None,
            errors: Some(errors),
        }));
        e
    }

    /// The same error listing every reason in `errors` (e.g. the uploads a submit waits for).
    pub fn with_errors(mut self, errors: serde_json::Value) -> Self {
        let current = self.extra.take().and_then(|x| x.current);
        self.extra = Some(Box::new(Extra {
            current,
            errors: Some(errors),
        }));
        self
    }

    /// 409: a unique value is already taken.
    pub fn duplicate(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "duplicate", "Already exists", detail)
    }

    /// 413: the body is larger than allowed.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Body too large",
            format!("the body exceeds {limit} bytes"),
        )
    }

    /// 429: too many failed logins.
    pub fn too_many_attempts() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many attempts",
            "too many failed logins; try again later",
        )
    }

    /// 503: a dependency is unavailable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Unavailable",
            detail,
        )
    }

    /// 500: logged with its cause; the client sees no internals.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "internal error",
        )
    }
}

impl ApiError {
    /// The body to send.
    pub fn problem(&self) -> Problem<'_> {
        let extra = self.extra.as_deref();
        Problem {
            kind: format!("urn:caregrade:problem:{}", self.code),
            title: self.title,
            status: self.status,
            detail: &self.detail,
            code: self.code,
            field: self.field.as_deref(),
            current: extra.and_then(|e| e.current.as_ref()),
            errors: extra.and_then(|e| e.errors.as_ref()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/problem+json")
            .json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::not_found("record"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Self::duplicate(format!(
                    "a record with this value already exists ({})",
                    info.message()
                ))
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::bad_request(
                "reference_invalid",
                None,
                "a referenced record does not exist",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::error!(cause = %e, "database pool");
        Self::unavailable("the database is not reachable")
    }
}
