//! 一公开: the bureau publishes spot-check results and credit levels in batches it reviews first.
//! Each published record carries the audit-chain position that proves it, disappears from public
//! view at its withdrawal date (5 years for organisations), and shows its correction when corrected.

use crate::db::DbConn;
use crate::db::schema::{
    credit_events, hazards, inspections, institutions, publication_batches, publications,
};
use crate::error::ApiError;
use crate::registry::{Scope, like_escape};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Publication kinds.
pub mod kind {
    /// The result of a spot check (抽查结果).
    pub const SPOT_CHECK: &str = "spot_check";
    /// An institution's credit level.
    pub const CREDIT: &str = "credit";
    /// A grade granted (等级评定结果).
    pub const GRADE: &str = "grade";
    /// An entry on the 失信联合惩戒对象名单.
    pub const BLACKLIST: &str = "blacklist";
}

/// Years a record about an organisation stays public.
const PUBLIC_YEARS: u64 = 5;

/// Working days within which a spot-check result must be published (Mon–Fri, less the configured
/// holidays, plus the configured make-up working days; see [`WorkingDays`]).
pub const WINDOW_WORKING_DAYS: u32 = 20;

/// A stored publication.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = publications)]
pub struct Publication {
    /// Id.
    pub id: String,
    /// Batch.
    pub batch_id: String,
    /// `spot_check`, `grade` or `credit`.
    pub kind: String,
    /// The inspection, grade or institution it is about.
    pub source_id: String,
    /// Institution.
    pub institution_id: Option<String>,
    /// District.
    pub district_code: String,
    /// The public record (JSON text).
    pub record: String,
    /// `draft`, `published`, `withdrawn` or `corrected`.
    pub status: String,
    /// Published on.
    pub published_on: Option<String>,
    /// Leaves public view on.
    pub withdraw_on: Option<String>,
    /// Audit-chain entry proving publication.
    pub audit_seq: Option<i64>,
    /// The record this one corrects.
    pub replaces: Option<String>,
    /// Why it was withdrawn or corrected.
    pub withdrawn_reason: Option<String>,
    /// Created.
    pub created_at: String,
}

/// What the public sees of one record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicRecord {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// The record's fields (institution name, credit code, matter, date, organ, result, measure …).
    #[schema(value_type = Object)]
    pub record: Value,
    /// `published`, `withdrawn` or `corrected`.
    pub status: String,
    /// Published on.
    pub published_on: Option<String>,
    /// Leaves public view on.
    pub withdraw_on: Option<String>,
    /// Audit-chain entry that proves this publication (`caregrade audit verify`).
    pub audit_seq: Option<i64>,
    /// The record this one corrects.
    pub replaces: Option<String>,
    /// The record that corrects this one.
    pub corrected_by: Option<String>,
    /// Why it was withdrawn or corrected.
    pub reason: Option<String>,
}

impl Publication {
    fn public(self, corrected_by: Option<String>) -> PublicRecord {
        PublicRecord {
            record: serde_json::from_str(&self.record).unwrap_or(Value::Null),
            id: self.id,
            kind: self.kind,
            status: self.status,
            published_on: self.published_on,
            withdraw_on: self.withdraw_on,
            audit_seq: self.audit_seq,
            replaces: self.replaces,
            corrected_by,
            reason: self.withdrawn_reason,
        }
    }
}

/// A batch with its records.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Batch {
    /// Id.
    pub id: String,
    /// Region.
    pub region_code: String,
    /// `draft` or `published`.
    pub status: String,
    /// Published at.
    pub published_at: Option<String>,
    /// The records.
    pub items: Vec<Publication>,
}

fn today() -> chrono::NaiveDate {
    crate::inspections::submit::today_cn()
}

fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn in_region<'a>(
    prefix: &str,
) -> Box<
    dyn BoxableExpression<
            publications::table,
            <DbConn as diesel::Connection>::Backend,
            SqlType = diesel::sql_types::Bool,
        > + 'a,
> {
    Box::new(
        publications::district_code
            .like(format!("{}%", like_escape(prefix)))
            .escape('\\'),
    )
}

/// (grade, institution, district, name, credit code, grade title, certificate, decided, valid until).
type Granted = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// (inspection, institution, district, submitted at, purpose, institution name, credit code).
type Submitted = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);

/// The public result category of a submitted inspection, from the hazards it found.
fn result_of(conn: &mut DbConn, inspection: &str) -> QueryResult<(String, String)> {
    let levels: Vec<String> = hazards::table
        .filter(hazards::inspection_id.eq(inspection))
        .select(hazards::level)
        .load(conn)?;
    Ok(if levels.iter().any(|l| l == "major") {
        ("发现重大事故隐患".into(), "责令立即整改并跟踪复查".into())
    } else if levels.is_empty() {
        ("未发现问题".into(), "无".into())
    } else {
        ("发现一般隐患".into(), "责令限期整改".into())
    })
}

/// Drafts a batch with everything in `region` not yet published: the results of submitted spot
/// checks and look-back inspections, grades granted, and the current credit level of institutions
/// with credit events (when a credit ruleset is in force). 409 `nothing_to_publish` when there is nothing.
pub fn draft(
    conn: &mut DbConn,
    cache: &crate::rulesets::CompiledCache,
    region: &str,
    organ: &str,
    actor: &str,
    now: &str,
) -> Result<Batch, ApiError> {
    let pattern = format!("{}%", like_escape(region));
    let done: Vec<String> = publications::table
        .filter(publications::status.ne("withdrawn"))
        .select(publications::source_id)
        .load(conn)?;
    let submitted: Vec<Submitted> = inspections::table
        .inner_join(institutions::table)
        .filter(inspections::status.eq(crate::inspections::status::SUBMITTED))
        .filter(inspections::district_code.like(&pattern).escape('\\'))
        .filter(inspections::id.ne_all(&done))
        .order(inspections::submitted_at)
        .select((
            inspections::id,
            inspections::institution_id,
            inspections::district_code,
            inspections::submitted_at,
            inspections::purpose,
            institutions::name,
            institutions::credit_code,
        ))
        .load(conn)?;
    let mut items: Vec<(String, String, String, String, Value)> = Vec::new();
    for (id, inst, district, at, purpose, name, code) in submitted {
        let (result, measure) = result_of(conn, &id)?;
        let matter = if purpose == crate::inspections::purpose::RECHECK {
            "养老机构隐患整改回头看"
        } else {
            "养老机构双随机抽查"
        };
        items.push((
            kind::SPOT_CHECK.into(),
            id,
            inst,
            district,
            json!({
                "institution": name, "credit_code": code, "matter": matter,
                "date": at.as_deref().map(|t| &t[..10.min(t.len())]),
                "organ": organ, "result": result, "measure": measure,
            }),
        ));
    }
    let with_events: Vec<(String, String, String, String)> = institutions::table
        .filter(institutions::district_code.like(&pattern).escape('\\'))
        .filter(diesel::dsl::exists(
            credit_events::table.filter(credit_events::institution_id.eq(institutions::id)),
        ))
        .select((
            institutions::id,
            institutions::district_code,
            institutions::name,
            institutions::credit_code,
        ))
        .load(conn)?;
    let as_of = date(today());
    for (inst, district, name, code) in with_events {
        let Ok(rec) = crate::credit::record(conn, cache, &inst, &as_of) else {
            continue;
        };
        let source = format!("{inst}@{}", rec.events_hash);
        if done.contains(&source) {
            continue;
        }
        let c = &rec.credit;
        if c["blacklisted"] == Value::Bool(true) {
            let since = c["since"].as_str().unwrap_or_default().to_owned();
            let source = format!("{inst}@blacklist@{since}");
            if !done.contains(&source) {
                items.push((
                    kind::BLACKLIST.into(),
                    source,
                    inst.clone(),
                    district.clone(),
                    json!({
                        "institution": name, "credit_code": code, "organ": organ,
                        "grounds": c["grounds"], "since": since, "earliest_removal": c["earliest_removal"],
                    }),
                ));
            }
        }
        items.push((
            kind::CREDIT.into(),
            source,
            inst,
            district,
            json!({
                "institution": name, "credit_code": code, "as_of": as_of, "organ": organ,
                "level": c["level"]["id"], "level_title": c["level"]["title"],
                "blacklisted": c["blacklisted"], "ruleset": rec.ruleset_hash,
            }),
        ));
    }
    let granted: Vec<Granted> = crate::db::schema::grades::table
        .inner_join(institutions::table)
        .filter(institutions::district_code.like(&pattern).escape('\\'))
        .filter(crate::db::schema::grades::status.eq("active"))
        .filter(crate::db::schema::grades::id.ne_all(&done))
        .select((
            crate::db::schema::grades::id,
            institutions::id,
            institutions::district_code,
            institutions::name,
            institutions::credit_code,
            crate::db::schema::grades::grade_title,
            crate::db::schema::grades::certificate_no,
            crate::db::schema::grades::decision_date,
            crate::db::schema::grades::valid_until,
        ))
        .load(conn)?;
    for (gid, inst, district, name, code, title, cert, on, until) in granted {
        items.push((
            kind::GRADE.into(),
            gid,
            inst,
            district,
            json!({
                "institution": name, "credit_code": code, "grade": title, "certificate_no": cert,
                "decision_date": on, "valid_until": until, "organ": organ,
            }),
        ));
    }
    if items.is_empty() {
        return Err(ApiError::conflict(
            "nothing_to_publish",
            "every result in your region is published already",
        ));
    }
    let batch = uuid::Uuid::new_v4().to_string();
    conn.transaction(|c| {
        diesel::insert_into(publication_batches::table)
            .values((
                publication_batches::id.eq(&batch),
                publication_batches::region_code.eq(region),
                publication_batches::status.eq("draft"),
                publication_batches::created_by.eq(actor),
                publication_batches::created_at.eq(now),
            ))
            .execute(c)?;
        for (k, source, inst, district, record) in &items {
            diesel::insert_into(publications::table)
                .values((
                    publications::id.eq(uuid::Uuid::new_v4().to_string()),
                    publications::batch_id.eq(&batch),
                    publications::kind.eq(k),
                    publications::source_id.eq(source),
                    publications::institution_id.eq(inst),
                    publications::district_code.eq(district),
                    publications::record.eq(record.to_string()),
                    publications::status.eq("draft"),
                    publications::created_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    get_batch(conn, &Scope::Region(region.to_owned()), &batch)?
        .ok_or_else(|| ApiError::internal("draft batch vanished"))
}

/// A batch in scope.
pub fn get_batch(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<Option<Batch>> {
    let Some((id, region_code, status, published_at)) = publication_batches::table
        .find(id)
        .select((
            publication_batches::id,
            publication_batches::region_code,
            publication_batches::status,
            publication_batches::published_at,
        ))
        .first::<(String, String, String, Option<String>)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if !matches!(scope, Scope::Region(r) if region_code.starts_with(r.as_str())) {
        return Ok(None);
    }
    let items = publications::table
        .filter(publications::batch_id.eq(&id))
        .order((
            publications::kind,
            publications::created_at,
            publications::id,
        ))
        .select(Publication::as_select())
        .load(conn)?;
    Ok(Some(Batch {
        id,
        region_code,
        status,
        published_at,
        items,
    }))
}

/// Publishes a reviewed draft: every record goes public today with its withdrawal date and an
/// audit entry. Publishing twice is refused.
pub fn publish(conn: &mut DbConn, batch: &Batch, actor: &str, now: &str) -> Result<(), ApiError> {
    let on = today();
    let until = on + chrono::Months::new(12 * PUBLIC_YEARS as u32);
    conn.transaction(|c| {
        let n = diesel::update(
            publication_batches::table
                .find(&batch.id)
                .filter(publication_batches::status.eq("draft")),
        )
        .set((
            publication_batches::status.eq("published"),
            publication_batches::published_by.eq(actor),
            publication_batches::published_at.eq(now),
        ))
        .execute(c)?;
        if n == 0 {
            return Ok(Err(ApiError::conflict(
                "already_published",
                "this batch was published already",
            )));
        }
        crate::webhooks::emit(
            c,
            "publication.published",
            &format!("publication.published:{}", batch.id),
            &batch.region_code,
            &json!({ "batch": batch.id, "records": batch.items.len() }),
        )?;
        for item in &batch.items {
            let seq = crate::audit::append(
                c,
                actor,
                "publication.published",
                "publication",
                &item.id,
                &json!({ "kind": item.kind, "source": item.source_id, "record": item.record }),
            )?;
            diesel::update(publications::table.find(&item.id))
                .set((
                    publications::status.eq("published"),
                    publications::published_on.eq(date(on)),
                    publications::withdraw_on.eq(date(until)),
                    publications::audit_seq.eq(seq),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(Ok(()))
    })?
}

/// A published record in scope.
pub fn get(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<Option<Publication>> {
    let Scope::Region(r) = scope else {
        return Ok(None);
    };
    publications::table
        .find(id)
        .filter(in_region(r))
        .select(Publication::as_select())
        .first(conn)
        .optional()
}

/// Withdraws a published record (it stays visible by id, marked withdrawn with the reason).
pub fn withdraw(
    conn: &mut DbConn,
    p: &Publication,
    reason: &str,
    actor: &str,
) -> Result<(), ApiError> {
    conn.transaction(|c| {
        let n = diesel::update(
            publications::table
                .find(&p.id)
                .filter(publications::status.eq("published")),
        )
        .set((
            publications::status.eq("withdrawn"),
            publications::withdrawn_reason.eq(reason),
        ))
        .execute(c)?;
        if n == 0 {
            return Ok(Err(ApiError::conflict(
                "not_published",
                format!("the record is {}, not published", p.status),
            )));
        }
        crate::audit::append(
            c,
            actor,
            "publication.withdrawn",
            "publication",
            &p.id,
            &json!({ "reason": reason }),
        )?;
        Ok::<_, diesel::result::Error>(Ok(()))
    })?
}

/// Corrects a published record: a new record with the changed fields replaces it; the old one is
/// marked corrected and points to the new one.
pub fn correct(
    conn: &mut DbConn,
    p: &Publication,
    changes: &serde_json::Map<String, Value>,
    reason: &str,
    actor: &str,
    now: &str,
) -> Result<String, ApiError> {
    let mut record: Value = serde_json::from_str(&p.record).unwrap_or(json!({}));
    for (k, v) in changes {
        record[k] = v.clone();
    }
    let id = uuid::Uuid::new_v4().to_string();
    conn.transaction(|c| {
        let n = diesel::update(
            publications::table
                .find(&p.id)
                .filter(publications::status.eq("published")),
        )
        .set((
            publications::status.eq("corrected"),
            publications::withdrawn_reason.eq(reason),
        ))
        .execute(c)?;
        if n == 0 {
            return Ok(Err(ApiError::conflict(
                "not_published",
                format!("the record is {}, not published", p.status),
            )));
        }
        let seq = crate::audit::append(
            c,
            actor,
            "publication.corrected",
            "publication",
            &id,
            &json!({ "replaces": p.id, "reason": reason, "record": record }),
        )?;
        diesel::insert_into(publications::table)
            .values((
                publications::id.eq(&id),
                publications::batch_id.eq(&p.batch_id),
                publications::kind.eq(&p.kind),
                publications::source_id.eq(&p.source_id),
                publications::institution_id.eq(&p.institution_id),
                publications::district_code.eq(&p.district_code),
                publications::record.eq(record.to_string()),
                publications::status.eq("published"),
                publications::published_on.eq(date(today())),
                publications::withdraw_on.eq(&p.withdraw_on),
                publications::audit_seq.eq(seq),
                publications::replaces.eq(&p.id),
                publications::withdrawn_reason.eq(reason),
                publications::created_at.eq(now),
            ))
            .execute(c)?;
        Ok::<_, diesel::result::Error>(Ok(id.clone()))
    })?
}

/// Public filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PublicFilter {
    /// `spot_check` or `credit`.
    pub kind: Option<String>,
    /// District code prefix.
    pub district: Option<String>,
    /// Institution name contains.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Records to skip.
    pub offset: Option<i64>,
}

/// Records in public view today (published, not past their withdrawal date), newest first.
pub fn public_list(
    conn: &mut DbConn,
    f: &PublicFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<PublicRecord>, i64)> {
    let today = date(today());
    let query = || {
        let mut q = publications::table
            .filter(publications::status.eq("published"))
            .filter(publications::withdraw_on.gt(today.clone()))
            .into_boxed();
        if let Some(k) = f.kind.clone() {
            q = q.filter(publications::kind.eq(k));
        }
        if let Some(d) = f.district.as_deref() {
            q = q.filter(in_region(d));
        }
        if let Some(t) = f.q.as_deref().filter(|t| !t.is_empty()) {
            q = q.filter(
                publications::record
                    .like(format!("%{}%", like_escape(t)))
                    .escape('\\'),
            );
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((publications::published_on.desc(), publications::id))
        .limit(limit)
        .offset(offset)
        .select(Publication::as_select())
        .load(conn)?;
    Ok((rows.into_iter().map(|p| p.public(None)).collect(), total))
}

/// One record by id as the public sees it: withdrawn and corrected records say so (and point to
/// the correction); a record past its withdrawal date, or never published, is not found.
pub fn public_get(conn: &mut DbConn, id: &str) -> QueryResult<Option<PublicRecord>> {
    let today = date(today());
    let Some(p) = publications::table
        .find(id)
        .filter(publications::status.ne("draft"))
        .filter(publications::withdraw_on.gt(today))
        .select(Publication::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let corrected_by = if p.status == "corrected" {
        publications::table
            .filter(publications::replaces.eq(&p.id))
            .select(publications::id)
            .first(conn)
            .optional()?
    } else {
        None
    };
    Ok(Some(p.public(corrected_by)))
}

/// The official working-day calendar: Monday to Friday, except the public holidays, plus the
/// weekend days made working days (调休). Both lists come from the configuration, because the
/// State Council fixes them year by year; with neither configured every weekday counts, so the
/// late list errs on the early side.
#[derive(Debug, Clone, Default)]
pub struct WorkingDays {
    holidays: std::collections::BTreeSet<chrono::NaiveDate>,
    extra: std::collections::BTreeSet<chrono::NaiveDate>,
}

impl WorkingDays {
    /// A calendar from the configured holidays and make-up working days.
    pub fn new(holidays: &[chrono::NaiveDate], extra_working_days: &[chrono::NaiveDate]) -> Self {
        Self {
            holidays: holidays.iter().copied().collect(),
            extra: extra_working_days.iter().copied().collect(),
        }
    }

    /// Whether `d` is a working day.
    pub fn is_working(&self, d: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        if self.extra.contains(&d) {
            return true;
        }
        d.weekday().number_from_monday() <= 5 && !self.holidays.contains(&d)
    }

    /// The day `n` working days after `from`.
    pub fn add(&self, from: chrono::NaiveDate, n: u32) -> chrono::NaiveDate {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            let Some(next) = d.succ_opt() else {
                return d;
            };
            d = next;
            if self.is_working(d) {
                left -= 1;
            }
        }
        d
    }
}

/// A result published late or still due.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Late {
    /// Inspection.
    pub inspection_id: String,
    /// Institution.
    pub institution_id: String,
    /// Submitted on.
    pub submitted_on: String,
    /// Last day to publish (20 working days).
    pub due_on: String,
}

/// Submitted spot checks in `region` not published within the window, as of today.
pub fn late(conn: &mut DbConn, region: &str, calendar: &WorkingDays) -> QueryResult<Vec<Late>> {
    let published: Vec<String> = publications::table
        .filter(publications::kind.eq(kind::SPOT_CHECK))
        .filter(publications::status.eq_any(["published", "corrected"]))
        .select(publications::source_id)
        .load(conn)?;
    let rows: Vec<(String, String, Option<String>)> = inspections::table
        .filter(inspections::status.eq(crate::inspections::status::SUBMITTED))
        .filter(
            inspections::district_code
                .like(format!("{}%", like_escape(region)))
                .escape('\\'),
        )
        .filter(inspections::id.ne_all(&published))
        .order(inspections::submitted_at)
        .select((
            inspections::id,
            inspections::institution_id,
            inspections::submitted_at,
        ))
        .load(conn)?;
    let today = today();
    Ok(rows
        .into_iter()
        .filter_map(|(id, inst, at)| {
            let on =
                chrono::NaiveDate::parse_from_str(at.as_deref()?.get(..10)?, "%Y-%m-%d").ok()?;
            let due = calendar.add(on, WINDOW_WORKING_DAYS);
            (due < today).then(|| Late {
                inspection_id: id,
                institution_id: inst,
                submitted_on: date(on),
                due_on: date(due),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::WorkingDays;
    use chrono::NaiveDate;
    use rstest::rstest;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[rstest]
    #[case("2026-11-23", 20, "2026-12-21")] // Monday + 4 weeks
    #[case("2026-11-27", 1, "2026-11-30")] // Friday → Monday
    #[case("2026-11-28", 1, "2026-11-30")] // Saturday → Monday
    #[case("2026-11-23", 0, "2026-11-23")]
    fn weekdays_only(#[case] from: &str, #[case] n: u32, #[case] want: &str) {
        let cal = WorkingDays::default();
        assert_eq!(cal.add(day(from), n), day(want));
    }

    /// A configured calendar (illustrative dates, not a real year's notice): a holiday week
    /// pushes the due date out by five days, a make-up Saturday pulls it back by one.
    #[rstest]
    #[case(&[], &[], "2026-02-02")]
    #[case(&["2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30"], &[], "2026-02-09")]
    #[case(&["2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30"], &["2026-01-31"], "2026-02-06")]
    #[case(&["2026-01-31"], &[], "2026-02-02")] // a holiday on a weekend changes nothing
    fn holidays_and_make_up_days(
        #[case] holidays: &[&str],
        #[case] extra: &[&str],
        #[case] want: &str,
    ) {
        let holidays: Vec<_> = holidays.iter().map(|d| day(d)).collect();
        let extra: Vec<_> = extra.iter().map(|d| day(d)).collect();
        let cal = WorkingDays::new(&holidays, &extra);
        assert_eq!(cal.add(day("2026-01-05"), 20), day(want));
        assert_eq!(cal.is_working(day("2026-01-31")), !extra.is_empty());
    }
}
