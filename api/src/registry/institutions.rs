//! Institutions (养老机构): the record, its validation, and its scoped queries.

use super::{Scope, credit_code, is_district_code, like_escape, now_text};
use crate::db::DbConn;
use crate::db::schema::institutions;
use crate::error::ApiError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// Ownership kind of an institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 公办
    Public,
    /// 民办
    Private,
    /// 公建民营
    PublicPrivate,
}

impl Kind {
    /// Stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Public => "public",
            Kind::Private => "private",
            Kind::PublicPrivate => "public_private",
        }
    }

    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Public => "公办",
            Kind::Private => "民办",
            Kind::PublicPrivate => "公建民营",
        }
    }

    /// Parses the stored form or the Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "public" | "公办" => Some(Kind::Public),
            "private" | "民办" => Some(Kind::Private),
            "public_private" | "公建民营" => Some(Kind::PublicPrivate),
            _ => None,
        }
    }
}

/// A stored institution row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = institutions)]
pub struct InstitutionRow {
    /// Text UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// Address.
    pub address: String,
    /// 6-digit district code.
    pub district_code: String,
    /// Kind, stored form.
    pub kind: String,
    /// Beds.
    pub beds: i32,
    /// Residents.
    pub residents: i32,
    /// 法定代表人.
    pub legal_representative: String,
    /// 安全管理人.
    pub safety_manager: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Floors above ground.
    pub floors: i32,
    /// Has a kitchen.
    pub has_kitchen: bool,
    /// Building area, m².
    pub building_area: f64,
    /// 耐火等级 1–4.
    pub fire_resistance_grade: i32,
    /// 备案.
    pub filed: bool,
    /// Date of filing, YYYY-MM-DD.
    pub filed_on: Option<String>,
    /// JSON object of further facts.
    pub facts: String,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// Created, RFC 3339 UTC.
    pub created_at: String,
    /// Updated, RFC 3339 UTC.
    pub updated_at: String,
}

/// An institution as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Institution {
    /// Id (UUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// 统一社会信用代码.
    pub credit_code: String,
    /// Address.
    pub address: String,
    /// 6-digit district code.
    pub district_code: String,
    /// `public` | `private` | `public_private`.
    pub kind: Kind,
    /// 公办 | 民办 | 公建民营.
    pub kind_label: String,
    /// Beds.
    pub beds: i32,
    /// Residents.
    pub residents: i32,
    /// 法定代表人.
    pub legal_representative: String,
    /// 安全管理人.
    pub safety_manager: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Floors above ground.
    pub floors: i32,
    /// Has a kitchen.
    pub has_kitchen: bool,
    /// Building area, m².
    pub building_area: f64,
    /// 耐火等级 1–4.
    pub fire_resistance_grade: i32,
    /// 备案.
    pub filed: bool,
    /// Date of filing.
    pub filed_on: Option<String>,
    /// Further facts used by the rules.
    #[schema(value_type = Object)]
    pub facts: serde_json::Value,
    /// Version for optimistic concurrency.
    pub version: i32,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

impl From<InstitutionRow> for Institution {
    fn from(r: InstitutionRow) -> Self {
        let kind = Kind::parse(&r.kind).unwrap_or(Kind::Private);
        Self {
            id: r.id,
            name: r.name,
            credit_code: r.credit_code,
            address: r.address,
            district_code: r.district_code,
            kind,
            kind_label: kind.label().to_owned(),
            beds: r.beds,
            residents: r.residents,
            legal_representative: r.legal_representative,
            safety_manager: r.safety_manager,
            contact_phone: r.contact_phone,
            floors: r.floors,
            has_kitchen: r.has_kitchen,
            building_area: r.building_area,
            fire_resistance_grade: r.fire_resistance_grade,
            filed: r.filed,
            filed_on: r.filed_on,
            facts: serde_json::from_str(&r.facts).unwrap_or_else(|_| serde_json::json!({})),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What a client sends to create or (with `version`) update an institution.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstitutionInput {
    /// Name.
    pub name: String,
    /// 统一社会信用代码 (18 characters, GB 32100-2015 check character).
    pub credit_code: String,
    /// Address.
    pub address: String,
    /// 6-digit district code.
    pub district_code: String,
    /// Kind.
    pub kind: Kind,
    /// Beds.
    pub beds: i32,
    /// Residents.
    pub residents: i32,
    /// 法定代表人.
    pub legal_representative: String,
    /// 安全管理人.
    pub safety_manager: String,
    /// Contact phone.
    pub contact_phone: String,
    /// Floors above ground (≥ 1).
    pub floors: i32,
    /// Has a kitchen.
    pub has_kitchen: bool,
    /// Building area, m² (> 0).
    pub building_area: f64,
    /// 耐火等级 1–4.
    pub fire_resistance_grade: i32,
    /// 备案.
    #[serde(default)]
    pub filed: bool,
    /// Date of filing, YYYY-MM-DD.
    #[serde(default)]
    pub filed_on: Option<String>,
    /// Further facts (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// Required on update: the version you read.
    #[serde(default)]
    pub version: Option<i32>,
}

fn non_empty(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let t = v.trim();
    if t.is_empty() {
        return Err(ApiError::validation(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if t.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(t.to_owned())
}

impl InstitutionInput {
    /// Checks every field and builds the row (id and timestamps filled by the caller).
    pub fn validate(
        self,
        id: String,
        version: i32,
        created_at: String,
    ) -> Result<InstitutionRow, ApiError> {
        let credit = self.credit_code.trim().to_ascii_uppercase();
        credit_code::validate(&credit)
            .map_err(|e| ApiError::validation("credit_code", e.to_string()))?;
        if !is_district_code(&self.district_code) {
            return Err(ApiError::validation(
                "district_code",
                "district_code must be 6 digits",
            ));
        }
        for (field, v) in [("beds", self.beds), ("residents", self.residents)] {
            if !(0..=100_000).contains(&v) {
                return Err(ApiError::validation(
                    field,
                    format!("{field} must be between 0 and 100000"),
                ));
            }
        }
        if !(1..=200).contains(&self.floors) {
            return Err(ApiError::validation(
                "floors",
                "floors must be between 1 and 200",
            ));
        }
        if !(self.building_area.is_finite() && self.building_area > 0.0) {
            return Err(ApiError::validation(
                "building_area",
                "building_area must be a positive number of m²",
            ));
        }
        if !(1..=4).contains(&self.fire_resistance_grade) {
            return Err(ApiError::validation(
                "fire_resistance_grade",
                "fire_resistance_grade must be 1, 2, 3 or 4",
            ));
        }
        let phone = non_empty("contact_phone", &self.contact_phone, 20)?;
        if phone.chars().count() < 7
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == ' ')
        {
            return Err(ApiError::validation(
                "contact_phone",
                "contact_phone must be 7–20 digits, '-' or '+'",
            ));
        }
        let filed_on = match self
            .filed_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(d) => {
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    ApiError::validation("filed_on", "filed_on must be a date YYYY-MM-DD")
                })?;
                Some(d.to_owned())
            }
        };
        if filed_on.is_some() && !self.filed {
            return Err(ApiError::validation(
                "filed_on",
                "filed_on is given but filed is false",
            ));
        }
        Ok(InstitutionRow {
            id,
            name: non_empty("name", &self.name, 200)?,
            credit_code: credit,
            address: non_empty("address", &self.address, 500)?,
            district_code: self.district_code,
            kind: self.kind.as_str().to_owned(),
            beds: self.beds,
            residents: self.residents,
            legal_representative: non_empty(
                "legal_representative",
                &self.legal_representative,
                100,
            )?,
            safety_manager: non_empty("safety_manager", &self.safety_manager, 100)?,
            contact_phone: phone,
            floors: self.floors,
            has_kitchen: self.has_kitchen,
            building_area: self.building_area,
            fire_resistance_grade: self.fire_resistance_grade,
            filed: self.filed,
            filed_on,
            facts: serde_json::Value::Object(self.facts).to_string(),
            version,
            created_at,
            updated_at: now_text(),
        })
    }
}

/// List filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InstitutionFilter {
    /// Name contains this text.
    pub q: Option<String>,
    /// District code prefix (2, 4 or 6 digits).
    pub district: Option<String>,
    /// Kind.
    pub kind: Option<Kind>,
    /// Filed or not.
    pub filed: Option<bool>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Records to skip.
    pub offset: Option<i64>,
}

type Boxed<'a> = institutions::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

fn scoped<'a>(scope: &Scope, f: &InstitutionFilter) -> Boxed<'a> {
    let mut q = institutions::table.into_boxed();
    match scope {
        Scope::Region(prefix) => {
            if !prefix.is_empty() {
                q = q.filter(
                    institutions::district_code
                        .like(format!("{}%", like_escape(prefix)))
                        .escape('\\'),
                );
            }
        }
        Scope::Institution(id) => q = q.filter(institutions::id.eq(id.clone())),
    }
    if let Some(text) = f.q.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(
            institutions::name
                .like(format!("%{}%", like_escape(text)))
                .escape('\\'),
        );
    }
    if let Some(d) = f.district.as_deref() {
        q = q.filter(
            institutions::district_code
                .like(format!("{}%", like_escape(d)))
                .escape('\\'),
        );
    }
    if let Some(k) = f.kind {
        q = q.filter(institutions::kind.eq(k.as_str()));
    }
    if let Some(filed) = f.filed {
        q = q.filter(institutions::filed.eq(filed));
    }
    q
}

/// A page of institutions in `scope` matching `f`, with the total.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    f: &InstitutionFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<InstitutionRow>, i64)> {
    let total = scoped(scope, f).count().get_result::<i64>(conn)?;
    let rows = scoped(scope, f)
        .select(InstitutionRow::as_select())
        .order((
            institutions::district_code,
            institutions::name,
            institutions::id,
        ))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// One institution if it is in `scope`.
pub fn get(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<Option<InstitutionRow>> {
    scoped(scope, &InstitutionFilter::default())
        .filter(institutions::id.eq(id.to_owned()))
        .select(InstitutionRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts one row.
pub fn insert(conn: &mut DbConn, row: &InstitutionRow) -> QueryResult<()> {
    diesel::insert_into(institutions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Outcome of a versioned update.
#[derive(Debug)]
pub enum Update {
    /// Written; the new row.
    Done(InstitutionRow),
    /// The version was stale; the current row.
    Stale(InstitutionRow),
    /// No such row in scope.
    Missing,
}

/// Replaces the row if `expected_version` is current; bumps the version.
pub fn update(
    conn: &mut DbConn,
    scope: &Scope,
    mut row: InstitutionRow,
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
        let n = diesel::update(institutions::table)
            .filter(institutions::id.eq(&row.id))
            .filter(institutions::version.eq(expected_version))
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

/// Deletes the row if it is in `scope`; `true` when one was deleted.
pub fn delete(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<bool> {
    conn.transaction(|conn| {
        if get(conn, scope, id)?.is_none() {
            return Ok(false);
        }
        diesel::delete(institutions::table.filter(institutions::id.eq(id)))
            .execute(conn)
            .map(|n| n > 0)
    })
}

/// Ids of institutions whose credit code is one of `codes`.
pub fn existing_credit_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<String>> {
    institutions::table
        .filter(institutions::credit_code.eq_any(codes))
        .select(institutions::credit_code)
        .load(conn)
}
