//! CSV import of institutions and inspectors: UTF-8 (a BOM is accepted), a header row naming the
//! columns, every row checked before anything is written, then all rows in one transaction.

use super::inspectors::{self, InspectorInput, InspectorRow};
use super::institutions::{self, InstitutionInput, InstitutionRow, Kind};
use super::{Scope, now_text};
use crate::db::DbConn;
use crate::error::ApiError;
use diesel::Connection;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// One problem in one row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub row: u64,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// A successful import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Rows imported.
    pub imported: usize,
    /// Ids of the new records, in file order.
    pub ids: Vec<String>,
}

/// Columns of an institution CSV (`filed`, `filed_on`, `facts` are optional).
pub const INSTITUTION_COLUMNS: &[&str] = &[
    "name",
    "credit_code",
    "address",
    "district_code",
    "kind",
    "beds",
    "residents",
    "legal_representative",
    "safety_manager",
    "contact_phone",
    "floors",
    "has_kitchen",
    "building_area",
    "fire_resistance_grade",
    "filed",
    "filed_on",
    "facts",
];
const INSTITUTION_OPTIONAL: &[&str] = &["filed", "filed_on", "facts"];

/// Columns of an inspector CSV (`previous_employer`, `relations`, `available` are optional).
pub const INSPECTOR_COLUMNS: &[&str] = &[
    "name",
    "department",
    "district_code",
    "certificate_no",
    "previous_employer",
    "relations",
    "available",
];
const INSPECTOR_OPTIONAL: &[&str] = &["previous_employer", "relations", "available"];

fn report(errors: Vec<RowError>) -> ApiError {
    let n = errors.len();
    let mut e = ApiError::bad_request(
        "import_invalid",
        None,
        format!("{n} problem(s) in the file; nothing was imported"),
    );
    e.extra = Some(Box::new(crate::error::Extra {
        current: None,
        errors: serde_json::to_value(errors).ok(),
    }));
    e
}

struct Rows {
    headers: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

fn read(body: &[u8], known: &[&str], optional: &[&str]) -> Result<Rows, ApiError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let mut errors = Vec::new();
    let head = reader.headers().map_err(|e| {
        report(vec![RowError {
            row: 1,
            column: String::new(),
            message: e.to_string(),
        }])
    })?;
    let mut headers = HashMap::new();
    for (i, h) in head.iter().enumerate() {
        if !known.contains(&h) {
            errors.push(RowError {
                row: 1,
                column: h.to_owned(),
                message: format!("unknown column; expected {}", known.join(", ")),
            });
        } else if headers.insert(h.to_owned(), i).is_some() {
            errors.push(RowError {
                row: 1,
                column: h.to_owned(),
                message: "column appears twice".into(),
            });
        }
    }
    for k in known
        .iter()
        .filter(|k| !optional.contains(k) && !headers.contains_key(**k))
    {
        errors.push(RowError {
            row: 1,
            column: (*k).to_owned(),
            message: "missing column".into(),
        });
    }
    if !errors.is_empty() {
        return Err(report(errors));
    }
    let mut records = Vec::new();
    for rec in reader.records() {
        match rec {
            Ok(r) => records.push((r.position().map(|p| p.line()).unwrap_or(0), r)),
            Err(e) => {
                let row = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError {
                    row,
                    column: String::new(),
                    message: e.to_string(),
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(report(errors));
    }
    if records.is_empty() {
        return Err(report(vec![RowError {
            row: 2,
            column: String::new(),
            message: "the file has no data rows".into(),
        }]));
    }
    Ok(Rows { headers, records })
}

struct Row<'a> {
    line: u64,
    headers: &'a HashMap<String, usize>,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    fn text(&self, col: &str) -> String {
        self.headers
            .get(col)
            .and_then(|i| self.rec.get(*i))
            .unwrap_or_default()
            .to_owned()
    }

    fn err(&self, col: &str, msg: impl Into<String>) -> RowError {
        RowError {
            row: self.line,
            column: col.to_owned(),
            message: msg.into(),
        }
    }

    fn int(&self, col: &str) -> Result<i32, RowError> {
        self.text(col)
            .parse()
            .map_err(|_| self.err(col, "expected a whole number"))
    }

    fn float(&self, col: &str) -> Result<f64, RowError> {
        self.text(col)
            .parse()
            .map_err(|_| self.err(col, "expected a number"))
    }

    fn boolean(&self, col: &str, default: bool) -> Result<bool, RowError> {
        match self.text(col).to_lowercase().as_str() {
            "" => Ok(default),
            "true" | "yes" | "1" | "是" | "有" => Ok(true),
            "false" | "no" | "0" | "否" | "无" => Ok(false),
            _ => Err(self.err(col, "expected true/false (是/否)")),
        }
    }

    fn institution(&self) -> Result<InstitutionInput, RowError> {
        let kind = Kind::parse(&self.text("kind")).ok_or_else(|| {
            self.err(
                "kind",
                "expected public/private/public_private (公办/民办/公建民营)",
            )
        })?;
        let facts = match self.text("facts").as_str() {
            "" => serde_json::Map::new(),
            s => match serde_json::from_str(s) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => return Err(self.err("facts", "expected a JSON object")),
            },
        };
        let filed_on = Some(self.text("filed_on")).filter(|s| !s.is_empty());
        Ok(InstitutionInput {
            name: self.text("name"),
            credit_code: self.text("credit_code"),
            address: self.text("address"),
            district_code: self.text("district_code"),
            kind,
            beds: self.int("beds")?,
            residents: self.int("residents")?,
            legal_representative: self.text("legal_representative"),
            safety_manager: self.text("safety_manager"),
            contact_phone: self.text("contact_phone"),
            floors: self.int("floors")?,
            has_kitchen: self.boolean("has_kitchen", false)?,
            building_area: self.float("building_area")?,
            fire_resistance_grade: self.int("fire_resistance_grade")?,
            filed: self.boolean("filed", filed_on.is_some())?,
            filed_on,
            facts,
            version: None,
        })
    }

    fn inspector(&self) -> Result<InspectorInput, RowError> {
        let relations = self
            .text("relations")
            .split([';', '；', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(InspectorInput {
            name: self.text("name"),
            department: self.text("department"),
            district_code: self.text("district_code"),
            certificate_no: self.text("certificate_no"),
            previous_employer: Some(self.text("previous_employer")),
            relations,
            available: self.boolean("available", true)?,
            version: None,
        })
    }
}

fn field_error(line: u64, e: ApiError) -> RowError {
    let column = e.field.clone().unwrap_or_default();
    let column = column.split('[').next().unwrap_or_default().to_owned();
    RowError {
        row: line,
        column,
        message: e.detail,
    }
}

/// Parses and validates every row of an institution CSV; any problem → 400 with all of them.
pub fn parse_institutions(
    body: &[u8],
    scope: &Scope,
) -> Result<Vec<(u64, InstitutionRow)>, ApiError> {
    let rows = read(body, INSTITUTION_COLUMNS, INSTITUTION_OPTIONAL)?;
    let (mut out, mut errors, mut seen) = (Vec::new(), Vec::new(), HashMap::new());
    let now = now_text();
    for (line, rec) in &rows.records {
        let row = Row {
            line: *line,
            headers: &rows.headers,
            rec,
        };
        let parsed = row.institution().and_then(|input| {
            input
                .validate(uuid::Uuid::new_v4().to_string(), 1, now.clone())
                .map_err(|e| field_error(*line, e))
        });
        match parsed {
            Ok(r) if !scope.covers_district(&r.district_code) => {
                errors.push(row.err("district_code", "outside your region"))
            }
            Ok(r) => {
                if let Some(first) = seen.insert(r.credit_code.clone(), *line) {
                    errors.push(row.err("credit_code", format!("same credit code as row {first}")));
                }
                out.push((*line, r));
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(report(errors))
    }
}

/// Writes all rows in one transaction; a credit code already registered fails the whole import.
pub fn store_institutions(
    conn: &mut DbConn,
    rows: Vec<(u64, InstitutionRow)>,
) -> Result<ImportReport, ApiError> {
    conn.transaction(|conn| {
        let codes: Vec<String> = rows.iter().map(|(_, r)| r.credit_code.clone()).collect();
        let taken: HashSet<String> = institutions::existing_credit_codes(conn, &codes)?
            .into_iter()
            .collect();
        let errors: Vec<RowError> = rows
            .iter()
            .filter(|(_, r)| taken.contains(&r.credit_code))
            .map(|(line, _)| RowError {
                row: *line,
                column: "credit_code".into(),
                message: "already registered".into(),
            })
            .collect();
        if !errors.is_empty() {
            return Err(report(errors));
        }
        let mut ids = Vec::with_capacity(rows.len());
        for (_, r) in &rows {
            institutions::insert(conn, r)?;
            ids.push(r.id.clone());
        }
        Ok(ImportReport {
            imported: ids.len(),
            ids,
        })
    })
}

/// Parses and validates every row of an inspector CSV.
pub fn parse_inspectors(body: &[u8], scope: &Scope) -> Result<Vec<(u64, InspectorRow)>, ApiError> {
    let rows = read(body, INSPECTOR_COLUMNS, INSPECTOR_OPTIONAL)?;
    let (mut out, mut errors, mut seen) = (Vec::new(), Vec::new(), HashMap::new());
    let now = now_text();
    for (line, rec) in &rows.records {
        let row = Row {
            line: *line,
            headers: &rows.headers,
            rec,
        };
        let parsed = row.inspector().and_then(|input| {
            input
                .validate(uuid::Uuid::new_v4().to_string(), 1, now.clone())
                .map_err(|e| field_error(*line, e))
        });
        match parsed {
            Ok(r) if !scope.covers_district(&r.district_code) => {
                errors.push(row.err("district_code", "outside your region"))
            }
            Ok(r) => {
                if let Some(first) = seen.insert(r.certificate_no.clone(), *line) {
                    errors.push(row.err(
                        "certificate_no",
                        format!("same certificate number as row {first}"),
                    ));
                }
                out.push((*line, r));
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(report(errors))
    }
}

/// Writes all inspector rows in one transaction; a duplicate certificate fails the whole import.
pub fn store_inspectors(
    conn: &mut DbConn,
    rows: Vec<(u64, InspectorRow)>,
) -> Result<ImportReport, ApiError> {
    conn.transaction(|conn| {
        let mut ids = Vec::with_capacity(rows.len());
        for (line, r) in &rows {
            if let Err(e) = inspectors::insert(conn, r) {
                return Err(match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    ) => report(vec![RowError {
                        row: *line,
                        column: "certificate_no".into(),
                        message: "already registered".into(),
                    }]),
                    other => other.into(),
                });
            }
            ids.push(r.id.clone());
        }
        Ok(ImportReport {
            imported: ids.len(),
            ids,
        })
    })
}
