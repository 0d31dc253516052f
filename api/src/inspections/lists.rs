//! The three lists — 隐患清单 (hazards), 整改清单 (rectifications), 责任清单 (responsibilities) — as
//! one joined row per hazard, filtered and scoped, a page at a time (so an export streams them).

use super::submit::today_cn;
use crate::db::DbConn;
use crate::db::schema::{hazards, institutions, rectifications, responsibilities};
use crate::registry::{Scope, like_escape};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// A CSV column: its header and how to read it from an entry.
pub type Column = (&'static str, fn(&ListEntry) -> String);

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// 隐患清单.
    Hazards,
    /// 整改清单.
    Rectifications,
    /// 责任清单.
    Responsibilities,
}

impl ListKind {
    /// Parses the path segment.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hazards" => Some(Self::Hazards),
            "rectifications" => Some(Self::Rectifications),
            "responsibilities" => Some(Self::Responsibilities),
            _ => None,
        }
    }

    /// CSV columns: header (Chinese, as the bureau's forms name them) and how to read the entry.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Hazards => &[
                ("机构名称", |e| e.institution_name.clone()),
                ("统一社会信用代码", |e| e.credit_code.clone()),
                ("检查项", |e| e.item_title.clone()),
                ("条款", |e| e.clause.clone().unwrap_or_default()),
                ("隐患描述", |e| e.description.clone()),
                ("隐患等级", |e| level_title(&e.level, e.pending)),
                ("位置", |e| e.location.clone().unwrap_or_default()),
                ("类别", |e| e.category.clone().unwrap_or_default()),
                ("依据", |e| e.basis.clone().unwrap_or_default()),
                ("发现日期", |e| e.found_on.clone()),
                ("照片数", |e| e.photos.len().to_string()),
            ],
            Self::Rectifications => &[
                ("机构名称", |e| e.institution_name.clone()),
                ("统一社会信用代码", |e| e.credit_code.clone()),
                ("隐患描述", |e| e.description.clone()),
                ("隐患等级", |e| level_title(&e.level, e.pending)),
                ("整改措施", |e| e.measure.clone()),
                ("立即措施", |e| e.immediate.clone().unwrap_or_default()),
                ("整改期限", |e| e.deadline.clone()),
                ("状态", |e| status_title(&e.status, e.overdue)),
            ],
            Self::Responsibilities => &[
                ("机构名称", |e| e.institution_name.clone()),
                ("统一社会信用代码", |e| e.credit_code.clone()),
                ("隐患描述", |e| e.description.clone()),
                ("主体责任", |e| e.party_title.clone()),
                ("责任人", |e| e.party_name.clone()),
                ("监管责任", |e| e.department_title.clone()),
                ("整改期限", |e| e.deadline.clone()),
            ],
        }
    }
}

fn level_title(level: &str, pending: bool) -> String {
    let l = if level == "major" {
        "重大隐患"
    } else {
        "一般隐患"
    };
    if pending {
        format!("{l}（待专家认定）")
    } else {
        l.to_owned()
    }
}

fn status_title(status: &str, overdue: bool) -> String {
    let s = match status {
        "open" => "待整改",
        "submitted" => "已提交待核查",
        "verified" => "已销号",
        other => other,
    };
    if overdue {
        format!("{s}（已逾期）")
    } else {
        s.to_owned()
    }
}

/// One hazard with its rectification and responsibility.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListEntry {
    /// Hazard id.
    pub hazard_id: String,
    /// Inspection that found it.
    pub inspection_id: String,
    /// Institution.
    pub institution_id: String,
    /// Its name.
    pub institution_name: String,
    /// Its 统一社会信用代码.
    pub credit_code: String,
    /// District.
    pub district_code: String,
    /// Ruleset id.
    pub ruleset: String,
    /// Item path.
    pub item: String,
    /// Item title.
    pub item_title: String,
    /// Hazard rule id within the item.
    pub rule: String,
    /// `general` or `major`.
    pub level: String,
    /// To be settled by experts (待专家认定).
    pub pending: bool,
    /// Description.
    pub description: String,
    /// Clause.
    pub clause: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Legal basis.
    pub basis: Option<String>,
    /// Immediate measures.
    pub immediate: Option<String>,
    /// Where (the inspector's note).
    pub location: Option<String>,
    /// Photo ids.
    pub photos: Vec<String>,
    /// Date found.
    pub found_on: String,
    /// Rectification id.
    pub rectification_id: String,
    /// 整改措施.
    pub measure: String,
    /// 整改期限.
    pub deadline: String,
    /// `open`, `submitted` or `verified`.
    pub status: String,
    /// Past its deadline and not verified (derived from the clock, never stored).
    pub overdue: bool,
    /// Rectification version (for later edits).
    pub version: i32,
    /// 主体责任 role.
    pub party_role: String,
    /// Its Chinese name.
    pub party_title: String,
    /// The person holding it, from the registry.
    pub party_name: String,
    /// 监管责任 department.
    pub department: String,
    /// Its Chinese name.
    pub department_title: String,
}

/// Filters for every list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    /// One rectification.
    pub rectification: Option<String>,
    /// One inspection.
    pub inspection: Option<String>,
    /// One institution.
    pub institution: Option<String>,
    /// District code prefix.
    pub district: Option<String>,
    /// `general` or `major`.
    pub level: Option<String>,
    /// `open`, `submitted` or `verified`.
    pub status: Option<String>,
    /// Only overdue (true) or only not overdue (false).
    pub overdue: Option<bool>,
    /// Found on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Found on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// Page size, 1–200 (default 50); exports ignore it.
    pub limit: Option<i64>,
    /// Records to skip; exports ignore it.
    pub offset: Option<i64>,
}

type Joined = diesel::dsl::InnerJoin<
    diesel::dsl::InnerJoin<
        diesel::dsl::InnerJoin<hazards::table, rectifications::table>,
        responsibilities::table,
    >,
    institutions::table,
>;
type Boxed<'a> =
    diesel::helper_types::IntoBoxed<'a, Joined, <DbConn as diesel::Connection>::Backend>;

fn query<'a>(scope: &Scope, f: &ListFilter, today: &str) -> Boxed<'a> {
    let mut q = hazards::table
        .inner_join(rectifications::table)
        .inner_join(responsibilities::table)
        .inner_join(institutions::table)
        .into_boxed();
    match scope {
        Scope::Region(prefix) => {
            q = q.filter(
                hazards::district_code
                    .like(format!("{}%", like_escape(prefix)))
                    .escape('\\'),
            );
        }
        Scope::Institution(id) => q = q.filter(hazards::institution_id.eq(id.clone())),
    }
    if let Some(v) = f.rectification.clone() {
        q = q.filter(rectifications::id.eq(v));
    }
    if let Some(v) = f.inspection.clone() {
        q = q.filter(hazards::inspection_id.eq(v));
    }
    if let Some(v) = f.institution.clone() {
        q = q.filter(hazards::institution_id.eq(v));
    }
    if let Some(d) = f.district.as_deref() {
        q = q.filter(
            hazards::district_code
                .like(format!("{}%", like_escape(d)))
                .escape('\\'),
        );
    }
    if let Some(v) = f.level.clone() {
        q = q.filter(hazards::level.eq(v));
    }
    if let Some(v) = f.status.clone() {
        q = q.filter(rectifications::status.eq(v));
    }
    match f.overdue {
        Some(true) => {
            q = q
                .filter(rectifications::status.ne("verified"))
                .filter(rectifications::deadline.lt(today.to_owned()));
        }
        Some(false) => {
            q = q.filter(
                rectifications::status
                    .eq("verified")
                    .or(rectifications::deadline.ge(today.to_owned())),
            );
        }
        None => {}
    }
    if let Some(v) = f.from.clone() {
        q = q.filter(hazards::found_on.ge(v));
    }
    if let Some(v) = f.to.clone() {
        q = q.filter(hazards::found_on.le(v));
    }
    q
}

type Row = (
    (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        bool,
    ),
    (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    ),
    (String, String, String, String, i32),
    (String, String, String, String, String),
    (String, String),
);

fn entry(r: Row, today: &str) -> ListEntry {
    let (
        (
            hazard_id,
            inspection_id,
            institution_id,
            district_code,
            ruleset,
            item,
            item_title,
            rule,
            level,
            pending,
        ),
        (description, clause, category, basis, immediate, location, photos, found_on),
        (rectification_id, measure, deadline, status, version),
        (party_role, party_title, party_name, department, department_title),
        (institution_name, credit_code),
    ) = r;
    let overdue = status != "verified" && deadline.as_str() < today;
    ListEntry {
        hazard_id,
        inspection_id,
        institution_id,
        institution_name,
        credit_code,
        district_code,
        ruleset,
        item,
        item_title,
        rule,
        level,
        pending,
        description,
        clause,
        category,
        basis,
        immediate,
        location,
        photos: serde_json::from_str(&photos).unwrap_or_default(),
        found_on,
        rectification_id,
        measure,
        deadline,
        status,
        overdue,
        version,
        party_role,
        party_title,
        party_name,
        department,
        department_title,
    }
}

/// A page of entries (newest found first) and the total.
pub fn page(
    conn: &mut DbConn,
    scope: &Scope,
    f: &ListFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<ListEntry>, i64)> {
    let today = today_cn().format("%Y-%m-%d").to_string();
    let total = query(scope, f, &today).count().get_result::<i64>(conn)?;
    let rows: Vec<Row> = query(scope, f, &today)
        .order((hazards::found_on.desc(), hazards::id))
        .limit(limit)
        .offset(offset)
        .select((
            (
                hazards::id,
                hazards::inspection_id,
                hazards::institution_id,
                hazards::district_code,
                hazards::ruleset,
                hazards::item,
                hazards::item_title,
                hazards::rule,
                hazards::level,
                hazards::pending,
            ),
            (
                hazards::description,
                hazards::clause,
                hazards::category,
                hazards::basis,
                hazards::immediate,
                hazards::location,
                hazards::photos,
                hazards::found_on,
            ),
            (
                rectifications::id,
                rectifications::measure,
                rectifications::deadline,
                rectifications::status,
                rectifications::version,
            ),
            (
                responsibilities::party_role,
                responsibilities::party_title,
                responsibilities::party_name,
                responsibilities::department,
                responsibilities::department_title,
            ),
            (institutions::name, institutions::credit_code),
        ))
        .load(conn)?;
    Ok((rows.into_iter().map(|r| entry(r, &today)).collect(), total))
}

/// One entry by its rectification id, within `scope`.
pub fn by_rectification(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<ListEntry>> {
    let f = ListFilter {
        rectification: Some(id.to_owned()),
        ..ListFilter::default()
    };
    Ok(page(conn, scope, &f, 1, 0)?.0.into_iter().next())
}
