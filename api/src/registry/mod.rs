//! The registry: institutions, inspectors, users. Queries return `QueryResult`; validation
//! returns `ApiError`s naming the field.

pub mod credit_code;
pub mod import;
pub mod inspectors;
pub mod institutions;
pub mod users;

use serde::{Deserialize, Serialize};

/// What part of the registry a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Records whose district code starts with this prefix ("" is the whole country).
    Region(String),
    /// Exactly one institution.
    Institution(String),
}

impl Scope {
    /// `true` when a district code lies in this scope.
    pub fn covers_district(&self, district: &str) -> bool {
        match self {
            Scope::Region(prefix) => district.starts_with(prefix.as_str()),
            Scope::Institution(_) => false,
        }
    }
}

/// A page of results with the total matching count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The records of this page.
    pub items: Vec<T>,
    /// How many records match in all.
    pub total: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Records skipped.
    pub offset: i64,
}

/// Pagination parameters.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
pub struct Paging {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Records to skip (default 0).
    pub offset: Option<i64>,
}

impl Paging {
    /// Clamped (limit, offset).
    pub fn resolve(self) -> Result<(i64, i64), crate::error::ApiError> {
        let limit = self.limit.unwrap_or(50);
        let offset = self.offset.unwrap_or(0);
        if !(1..=200).contains(&limit) {
            return Err(crate::error::ApiError::validation(
                "limit",
                "limit must be between 1 and 200",
            ));
        }
        if offset < 0 {
            return Err(crate::error::ApiError::validation(
                "offset",
                "offset must not be negative",
            ));
        }
        Ok((limit, offset))
    }
}

/// Now, as RFC 3339 UTC text with milliseconds (sorts as text).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `true` for a 2-, 4- or 6-digit 行政区划 code prefix.
pub fn is_region_code(code: &str) -> bool {
    matches!(code.len(), 2 | 4 | 6) && code.bytes().all(|b| b.is_ascii_digit())
}

/// `true` for a 6-digit district code.
pub fn is_district_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `\` as escape character.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
