//! The inspector roster (执法检查人员名录) used by the spot-check draws.

use super::{Scope, is_district_code, like_escape, now_text};
use crate::db::DbConn;
use crate::db::schema::inspectors;
use crate::error::ApiError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// A stored roster row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = inspectors)]
pub struct InspectorRow {
    /// Text UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Department (民政, 消防救援, 市场监管, 卫健 …).
    pub department: String,
    /// 6-digit district code.
    pub district_code: String,
    /// 执法证号.
    pub certificate_no: String,
    /// Previous employer (for recusal).
    pub previous_employer: Option<String>,
    /// JSON array of institution ids the inspector declared relations with.
    pub relations: String,
    /// Available for draws.
    pub available: bool,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// An inspector as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Inspector {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Department.
    pub department: String,
    /// District code.
    pub district_code: String,
    /// Certificate number.
    pub certificate_no: String,
    /// Previous employer.
    pub previous_employer: Option<String>,
    /// Institution ids with declared relations.
    pub relations: Vec<String>,
    /// Available for draws.
    pub available: bool,
    /// Version.
    pub version: i32,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

impl From<InspectorRow> for Inspector {
    fn from(r: InspectorRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            department: r.department,
            district_code: r.district_code,
            certificate_no: r.certificate_no,
            previous_employer: r.previous_employer,
            relations: serde_json::from_str(&r.relations).unwrap_or_default(),
            available: r.available,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What a client sends to create or (with `version`) update an inspector.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectorInput {
    /// Name.
    pub name: String,
    /// Department.
    pub department: String,
    /// 6-digit district code.
    pub district_code: String,
    /// Certificate number.
    pub certificate_no: String,
    /// Previous employer.
    #[serde(default)]
    pub previous_employer: Option<String>,
    /// Institution ids with declared relations.
    #[serde(default)]
    pub relations: Vec<String>,
    /// Available for draws (default true).
    #[serde(default = "yes")]
    pub available: bool,
    /// Required on update: the version you read.
    #[serde(default)]
    pub version: Option<i32>,
}

fn yes() -> bool {
    true
}

fn text(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("{field} must have 1–{max} characters"),
        ));
    }
    Ok(t.to_owned())
}

impl InspectorInput {
    /// Checks every field and builds the row.
    pub fn validate(
        self,
        id: String,
        version: i32,
        created_at: String,
    ) -> Result<InspectorRow, ApiError> {
        if !is_district_code(&self.district_code) {
            return Err(ApiError::validation(
                "district_code",
                "district_code must be 6 digits",
            ));
        }
        for (i, r) in self.relations.iter().enumerate() {
            if uuid::Uuid::parse_str(r).is_err() {
                return Err(ApiError::validation(
                    format!("relations[{i}]"),
                    "relations must be institution ids",
                ));
            }
        }
        Ok(InspectorRow {
            id,
            name: text("name", &self.name, 100)?,
            department: text("department", &self.department, 100)?,
            district_code: self.district_code,
            certificate_no: text("certificate_no", &self.certificate_no, 50)?,
            previous_employer: self
                .previous_employer
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            relations: serde_json::Value::from(self.relations).to_string(),
            available: self.available,
            version,
            created_at,
            updated_at: now_text(),
        })
    }
}

/// List filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InspectorFilter {
    /// Name contains.
    pub q: Option<String>,
    /// District code prefix.
    pub district: Option<String>,
    /// Department equals.
    pub department: Option<String>,
    /// Available or not.
    pub available: Option<bool>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Records to skip.
    pub offset: Option<i64>,
}

type Boxed<'a> = inspectors::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn scoped<'a>(scope: &Scope, f: &InspectorFilter) -> Boxed<'a> {
    let mut q = inspectors::table.into_boxed();
    match scope {
        Scope::Region(prefix) => {
            q = q.filter(
                inspectors::district_code
                    .like(format!("{}%", like_escape(prefix)))
                    .escape('\\'),
            );
        }
        // Institutions never see the roster.
        Scope::Institution(_) => q = q.filter(inspectors::id.eq("")),
    }
    if let Some(t) = f.q.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(
            inspectors::name
                .like(format!("%{}%", like_escape(t)))
                .escape('\\'),
        );
    }
    if let Some(d) = f.district.as_deref() {
        q = q.filter(
            inspectors::district_code
                .like(format!("{}%", like_escape(d)))
                .escape('\\'),
        );
    }
    if let Some(d) = f.department.clone() {
        q = q.filter(inspectors::department.eq(d));
    }
    if let Some(a) = f.available {
        q = q.filter(inspectors::available.eq(a));
    }
    q
}

/// A page of inspectors with the total.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    f: &InspectorFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<InspectorRow>, i64)> {
    let total = scoped(scope, f).count().get_result::<i64>(conn)?;
    let rows = scoped(scope, f)
        .select(InspectorRow::as_select())
        .order((inspectors::district_code, inspectors::name, inspectors::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// One inspector in scope.
pub fn get(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<Option<InspectorRow>> {
    scoped(scope, &InspectorFilter::default())
        .filter(inspectors::id.eq(id.to_owned()))
        .select(InspectorRow::as_select())
        .first(conn)
        .optional()
}

/// One inspector by id, unscoped (for the inspector's own profile).
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<InspectorRow>> {
    inspectors::table
        .find(id)
        .select(InspectorRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts one row.
pub fn insert(conn: &mut DbConn, row: &InspectorRow) -> QueryResult<()> {
    diesel::insert_into(inspectors::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Outcome of a versioned update.
#[derive(Debug)]
pub enum Update {
    /// Written.
    Done(InspectorRow),
    /// Stale version; the current row.
    Stale(InspectorRow),
    /// Not in scope.
    Missing,
}

/// Replaces the row if `expected_version` is current.
pub fn update(
    conn: &mut DbConn,
    scope: &Scope,
    mut row: InspectorRow,
    expected_version: i32,
) -> QueryResult<Update> {
    conn.transaction(|conn| {
        let Some(current) = get(conn, scope, &row.id)? else {
            return Ok(Update::Missing);
        };
        if current.version != expected_version {
            return Ok(Update::Stale(current));
        }
        row.version = expected_version + 1;
        row.created_at = current.created_at;
        let n = diesel::update(inspectors::table)
            .filter(inspectors::id.eq(&row.id))
            .filter(inspectors::version.eq(expected_version))
            .set(&row)
            .execute(conn)?;
        if n == 0 {
            return match get(conn, scope, &row.id)? {
                Some(now) => Ok(Update::Stale(now)),
                None => Ok(Update::Missing),
            };
        }
        Ok(Update::Done(row))
    })
}

/// Deletes the row if in scope.
pub fn delete(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<bool> {
    conn.transaction(|conn| {
        if get(conn, scope, id)?.is_none() {
            return Ok(false);
        }
        diesel::delete(inspectors::table.filter(inspectors::id.eq(id)))
            .execute(conn)
            .map(|n| n > 0)
    })
}
