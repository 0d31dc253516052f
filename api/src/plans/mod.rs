//! 双随机 plans and their draws: the scope, rulesets and sampling policy of a round; the draw from
//! a seed published beforehand and a snapshot of the rosters, stored with everything needed to
//! recompute it (`caregrade draw verify`); inspections created for the drawn teams; logged,
//! reproducible replacements of inspectors who become unavailable.

use crate::db::DbConn;
use crate::db::schema::{
    draw_replacements, draws, hazards, inspection_members, inspections, inspectors, institutions,
    plans, rectifications,
};
use crate::error::ApiError;
use crate::inspections::{self as insp, InspectionRow};
use crate::registry::{Scope, is_region_code, like_escape};
use crate::rulesets::{self, CompiledCache};
use caregrade_draw::{Draw, DrawInput};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A stored plan.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plans)]
pub struct PlanRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Year.
    pub year: i32,
    /// Round within the year.
    pub round: i32,
    /// The bureau's region.
    pub region_code: String,
    /// JSON array of district codes or prefixes in scope.
    pub districts: String,
    /// JSON array of institution kinds in scope (empty: all).
    pub kinds: String,
    /// JSON array of checklist/standard hashes inspections use.
    pub rulesets: String,
    /// Sampling policy hash.
    pub sampling_hash: String,
    /// Deadline, YYYY-MM-DD.
    pub deadline: String,
    /// `planned` or `drawn`.
    pub status: String,
    /// Creator.
    pub created_by: Option<String>,
    /// Version.
    pub version: i32,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// A plan as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Year.
    pub year: i32,
    /// Round.
    pub round: i32,
    /// Region.
    pub region_code: String,
    /// Districts in scope.
    pub districts: Vec<String>,
    /// Kinds in scope (empty: all).
    pub kinds: Vec<String>,
    /// Rulesets the inspections use.
    pub rulesets: Vec<String>,
    /// Sampling policy.
    pub sampling: String,
    /// Deadline.
    pub deadline: String,
    /// `planned` or `drawn`.
    pub status: String,
    /// Created.
    pub created_at: String,
}

impl From<PlanRow> for Plan {
    fn from(r: PlanRow) -> Self {
        let list = |s: &str| serde_json::from_str(s).unwrap_or_default();
        Self {
            districts: list(&r.districts),
            kinds: list(&r.kinds),
            rulesets: list(&r.rulesets),
            id: r.id,
            name: r.name,
            year: r.year,
            round: r.round,
            region_code: r.region_code,
            sampling: r.sampling_hash,
            deadline: r.deadline,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

/// A new plan.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    /// Name (e.g. 2026年第一轮养老机构双随机抽查).
    pub name: String,
    /// Year.
    pub year: i32,
    /// Round.
    pub round: i32,
    /// District codes or prefixes inside your region (empty: your whole region).
    #[serde(default)]
    pub districts: Vec<String>,
    /// Institution kinds (public, private, ppp); empty: all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Hashes of stored checklists or standards the inspections are answered under.
    pub rulesets: Vec<String>,
    /// Hash of a stored sampling policy.
    pub sampling: String,
    /// Deadline, YYYY-MM-DD.
    pub deadline: String,
}

/// Validates a plan and builds its row.
pub fn validate(
    conn: &mut DbConn,
    input: PlanInput,
    region: &str,
    by: &str,
    now: &str,
) -> Result<PlanRow, ApiError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation(
            "name",
            "name must have 1–200 characters",
        ));
    }
    if !(2000..=2100).contains(&input.year) {
        return Err(ApiError::validation("year", "year must be 2000–2100"));
    }
    if !(1..=52).contains(&input.round) {
        return Err(ApiError::validation("round", "round must be 1–52"));
    }
    let mut districts = input.districts.clone();
    if districts.is_empty() {
        districts.push(region.to_owned());
    }
    for (i, d) in districts.iter().enumerate() {
        if !(d.is_empty() || is_region_code(d)) {
            return Err(ApiError::validation(
                format!("districts[{i}]"),
                "districts must be 2-, 4- or 6-digit codes",
            ));
        }
        if !d.starts_with(region) {
            return Err(ApiError::validation(
                format!("districts[{i}]"),
                format!("district {d} is outside your region"),
            ));
        }
    }
    for (i, k) in input.kinds.iter().enumerate() {
        if crate::registry::institutions::Kind::parse(k).is_none() {
            return Err(ApiError::validation(
                format!("kinds[{i}]"),
                "kinds are public, private or ppp",
            ));
        }
    }
    if input.rulesets.is_empty() {
        return Err(ApiError::validation(
            "rulesets",
            "name at least one checklist or standard",
        ));
    }
    for (i, h) in input.rulesets.iter().enumerate() {
        match rulesets::get(conn, h)? {
            Some(r) if r.kind == "checklist" || r.kind == "standard" => {}
            Some(_) => {
                return Err(ApiError::validation(
                    format!("rulesets[{i}]"),
                    "inspections are answered under checklists or standards",
                ));
            }
            None => {
                return Err(ApiError::validation(
                    format!("rulesets[{i}]"),
                    "no stored ruleset has this hash",
                ));
            }
        }
    }
    match rulesets::get(conn, &input.sampling)? {
        Some(r) if r.kind == "sampling" => {}
        _ => {
            return Err(ApiError::validation(
                "sampling",
                "sampling must be the hash of a stored sampling policy",
            ));
        }
    }
    if chrono::NaiveDate::parse_from_str(&input.deadline, "%Y-%m-%d").is_err() {
        return Err(ApiError::validation(
            "deadline",
            "deadline must be YYYY-MM-DD",
        ));
    }
    Ok(PlanRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        year: input.year,
        round: input.round,
        region_code: region.to_owned(),
        districts: json!(districts).to_string(),
        kinds: json!(input.kinds).to_string(),
        rulesets: json!(input.rulesets).to_string(),
        sampling_hash: input.sampling,
        deadline: input.deadline,
        status: "planned".into(),
        created_by: Some(by.to_owned()),
        version: 1,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    })
}

/// Stores a plan.
pub fn insert(conn: &mut DbConn, row: &PlanRow) -> QueryResult<()> {
    conn.transaction(|c| {
        diesel::insert_into(plans::table).values(row).execute(c)?;
        crate::audit::append(
            c,
            row.created_by.as_deref().unwrap_or("system"),
            "plan.created",
            "plan",
            &row.id,
            &json!({ "name": row.name, "districts": row.districts, "rulesets": row.rulesets, "sampling": row.sampling_hash }),
        )?;
        Ok(())
    })
}

/// A plan in scope.
pub fn get(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<Option<PlanRow>> {
    let Scope::Region(r) = scope else {
        return Ok(None);
    };
    plans::table
        .find(id)
        .filter(
            plans::region_code
                .like(format!("{}%", like_escape(r)))
                .escape('\\'),
        )
        .select(PlanRow::as_select())
        .first(conn)
        .optional()
}

/// Plans in scope, newest first.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<PlanRow>, i64)> {
    let Scope::Region(r) = scope else {
        return Ok((Vec::new(), 0));
    };
    let pattern = format!("{}%", like_escape(r));
    let total = plans::table
        .filter(plans::region_code.like(&pattern).escape('\\'))
        .count()
        .get_result(conn)?;
    let rows = plans::table
        .filter(plans::region_code.like(&pattern).escape('\\'))
        .order((plans::created_at.desc(), plans::id))
        .limit(limit)
        .offset(offset)
        .select(PlanRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The stored draw of a plan, with everything needed to recompute it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedDraw {
    /// The plan's public fields.
    #[schema(value_type = Object)]
    pub plan: Value,
    /// The sampling policy's source (every layer, base first), so anyone can recompile it.
    pub policy_source: Vec<PolicyFile>,
    /// The roster snapshot and seed.
    #[schema(value_type = Object)]
    pub input: DrawInput,
    /// The result.
    #[schema(value_type = Object)]
    pub result: Draw,
    /// Replacements since, in order.
    pub replacements: Vec<Replacement>,
}

/// One source file of the policy.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyFile {
    /// File name.
    pub file_name: String,
    /// Source text.
    pub source: String,
}

/// A logged replacement.
#[derive(Debug, Clone, Serialize, Deserialize, Queryable, utoipa::ToSchema)]
pub struct Replacement {
    /// Institution of the pick.
    pub institution_id: String,
    /// Inspector leaving.
    pub leaving: String,
    /// Inspector joining.
    pub joining: String,
    /// Which replacement of this pick it was (0 first).
    pub nth: i32,
    /// Why.
    pub reason: String,
    /// When.
    pub replaced_at: String,
}

/// The sampling facts of institutions in a plan's scope, from the registry and the records.
fn roster_institutions(
    conn: &mut DbConn,
    cache: &CompiledCache,
    plan: &PlanRow,
    declared: &[String],
    today: chrono::NaiveDate,
) -> QueryResult<Vec<caregrade_draw::Institution>> {
    let districts: Vec<String> = serde_json::from_str(&plan.districts).unwrap_or_default();
    let kinds: Vec<String> = serde_json::from_str(&plan.kinds).unwrap_or_default();
    let rows: Vec<crate::registry::institutions::InstitutionRow> = institutions::table
        .select(crate::registry::institutions::InstitutionRow::as_select())
        .order(institutions::id)
        .load(conn)?;
    let year_ago = (today - chrono::Days::new(365))
        .format("%Y-%m-%d")
        .to_string();
    let mut out = Vec::new();
    for r in rows {
        if !districts
            .iter()
            .any(|d| r.district_code.starts_with(d.as_str()))
        {
            continue;
        }
        if !kinds.is_empty() && !kinds.contains(&r.kind) {
            continue;
        }
        let mut all = crate::inspections::facts::institution_facts(&r);
        if declared.iter().any(|d| d == "open_major") {
            let n: i64 = hazards::table
                .inner_join(rectifications::table)
                .filter(hazards::institution_id.eq(&r.id))
                .filter(hazards::level.eq("major"))
                .filter(rectifications::status.ne("verified"))
                .count()
                .get_result(conn)?;
            all.insert("open_major".into(), json!(n));
        }
        if declared.iter().any(|d| d == "hazards_last_year") {
            let n: i64 = hazards::table
                .filter(hazards::institution_id.eq(&r.id))
                .filter(hazards::found_on.ge(&year_ago))
                .count()
                .get_result(conn)?;
            all.insert("hazards_last_year".into(), json!(n));
        }
        // The current credit level and grade, as the records stand today, win over whatever the
        // registry's free-form facts say: the next draw's weights read the published results.
        if declared.iter().any(|d| d == "credit")
            && let Ok(rec) =
                crate::credit::record(conn, cache, &r.id, &today.format("%Y-%m-%d").to_string())
            && let Some(level) = rec.credit["level"]["id"].as_str()
        {
            all.insert("credit".into(), json!(level));
        }
        if declared.iter().any(|d| d == "grade" || d == "graded") {
            let g = crate::grading::active_grade(conn, &r.id)?;
            all.insert("graded".into(), json!(g.is_some()));
            all.insert(
                "grade".into(),
                json!(g.map_or_else(|| "none".to_owned(), |g| g.grade)),
            );
        }
        let facts: BTreeMap<String, Value> = declared
            .iter()
            .filter_map(|d| all.get(d).map(|v| (d.clone(), v.clone())))
            .collect();
        out.push(caregrade_draw::Institution {
            id: r.id,
            district: r.district_code,
            facts,
        });
    }
    Ok(out)
}

/// The available inspectors of the plan's region, with what recusal needs.
fn roster_inspectors(
    conn: &mut DbConn,
    plan: &PlanRow,
    institutions_in_scope: &[caregrade_draw::Institution],
) -> QueryResult<Vec<caregrade_draw::Inspector>> {
    let rows: Vec<crate::registry::inspectors::InspectorRow> = inspectors::table
        .filter(
            inspectors::district_code
                .like(format!("{}%", like_escape(&plan.region_code)))
                .escape('\\'),
        )
        .filter(inspectors::available.eq(true))
        .order(inspectors::id)
        .select(crate::registry::inspectors::InspectorRow::as_select())
        .load(conn)?;
    // The region's previous plan: whom each inspector inspected then.
    let previous: Option<String> = plans::table
        .filter(plans::region_code.eq(&plan.region_code))
        .filter(plans::id.ne(&plan.id))
        .filter(plans::status.eq("drawn"))
        .order(plans::created_at.desc())
        .select(plans::id)
        .first(conn)
        .optional()?;
    let mut last: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(p) = previous {
        let pairs: Vec<(String, String)> = inspection_members::table
            .inner_join(inspections::table)
            .filter(inspections::plan_id.eq(p))
            .select((
                inspection_members::inspector_id,
                inspections::institution_id,
            ))
            .load(conn)?;
        for (who, inst) in pairs {
            last.entry(who).or_default().push(inst);
        }
    }
    let names: Vec<(String, String)> = institutions::table
        .select((institutions::id, institutions::name))
        .load(conn)?;
    let _ = institutions_in_scope;
    Ok(rows
        .into_iter()
        .map(|r| {
            let past_employers = r
                .previous_employer
                .as_deref()
                .map(|p| {
                    names
                        .iter()
                        .filter(|(id, name)| id == p || name == p)
                        .map(|(id, _)| id.clone())
                        .collect()
                })
                .unwrap_or_default();
            let mut last_round = last.remove(&r.id).unwrap_or_default();
            last_round.sort();
            last_round.dedup();
            caregrade_draw::Inspector {
                relations: serde_json::from_str(&r.relations).unwrap_or_default(),
                id: r.id,
                district: r.district_code,
                past_employers,
                last_round,
                available: true,
            }
        })
        .collect())
}

fn policy_files(conn: &mut DbConn, hash: &str) -> QueryResult<Vec<PolicyFile>> {
    let mut out = Vec::new();
    let mut cur = Some(hash.to_owned());
    while let Some(h) = cur.take() {
        if out.len() > 16 {
            break;
        }
        if let Some(r) = rulesets::get(conn, &h)? {
            cur = r.base_hash.clone();
            out.push(PolicyFile {
                file_name: r.file_name,
                source: r.source,
            });
        }
    }
    out.reverse();
    Ok(out)
}

/// Draws a plan: snapshots the rosters, runs the draw, stores it and creates the inspections, in
/// one transaction. A plan is drawn once.
pub fn draw(
    conn: &mut DbConn,
    cache: &CompiledCache,
    plan: &PlanRow,
    seed: &str,
    by: &str,
    now: &str,
) -> Result<PublishedDraw, ApiError> {
    let policy = cache
        .get(conn, &plan.sampling_hash)?
        .ok_or_else(|| ApiError::internal("sampling policy unreadable"))?;
    let declared: Vec<String> = policy.facts.iter().map(|f| f.id.clone()).collect();
    let today = crate::inspections::submit::today_cn();
    if seed.trim().is_empty() || seed.chars().count() > 200 {
        return Err(ApiError::validation(
            "seed",
            "seed must have 1–200 characters (publish it before the draw)",
        ));
    }
    let mut refused: Option<String> = None;
    let done = conn.transaction::<_, diesel::result::Error, _>(|c| {
        // Claim the plan first: a second draw finds it drawn and stops.
        let n = diesel::update(
            plans::table
                .find(&plan.id)
                .filter(plans::status.eq("planned")),
        )
        .set((plans::status.eq("drawn"), plans::updated_at.eq(now)))
        .execute(c)?;
        if n == 0 {
            return Ok(Err(ApiError::conflict(
                "already_drawn",
                "this plan was drawn already; a draw is never repeated",
            )));
        }
        let insts = roster_institutions(c, cache, plan, &declared, today)?;
        let inspectors = roster_inspectors(c, plan, &insts)?;
        let input = DrawInput {
            plan: plan.id.clone(),
            seed: seed.to_owned(),
            institutions: insts.clone(),
            inspectors,
        };
        let result = match caregrade_draw::draw(&policy, &input) {
            Ok(d) => d,
            Err(e) => {
                // Roll the claim back too: nothing of a failed draw remains.
                refused = Some(e.to_string());
                return Err(diesel::result::Error::RollbackTransaction);
            }
        };
        diesel::insert_into(draws::table)
            .values((
                draws::plan_id.eq(&plan.id),
                draws::seed.eq(seed),
                draws::input.eq(serde_json::to_string(&input).unwrap_or_default()),
                draws::result.eq(serde_json::to_string(&result).unwrap_or_default()),
                draws::result_hash.eq(&result.result_hash),
                draws::drawn_by.eq(by),
                draws::drawn_at.eq(now),
            ))
            .execute(c)?;
        let district: BTreeMap<&str, &str> = insts
            .iter()
            .map(|i| (i.id.as_str(), i.district.as_str()))
            .collect();
        for pick in result.picks.iter().filter(|p| !p.team.is_empty()) {
            let row = InspectionRow {
                id: uuid::Uuid::new_v4().to_string(),
                plan_id: Some(plan.id.clone()),
                institution_id: pick.institution.clone(),
                district_code: district.get(pick.institution.as_str()).copied().unwrap_or("").to_owned(),
                purpose: insp::purpose::SPOT_CHECK.into(),
                rulesets: plan.rulesets.clone(),
                status: insp::status::ASSIGNED.into(),
                version: 1,
                due: Some(plan.deadline.clone()),
                started_at: None,
                acknowledgement: None,
                submitted_at: None,
                submitted_by: None,
                created_at: now.to_owned(),
                updated_at: now.to_owned(),
                scope: None,
            };
            insp::create(c, &row, &pick.team)?;
        }
        crate::audit::append(
            c,
            by,
            "plan.drawn",
            "plan",
            &plan.id,
            &json!({ "seed": seed, "result_hash": result.result_hash, "picks": result.picks.len(), "unstaffed": result.unstaffed }),
        )?;
        Ok(Ok(()))
    });
    match (done, refused) {
        (Ok(r), _) => r?,
        (Err(_), Some(why)) => return Err(ApiError::validation("seed", why)),
        (Err(e), None) => return Err(e.into()),
    }
    published(conn, plan)?.ok_or_else(|| ApiError::internal("draw vanished"))
}

/// The public draw of a plan, or `None` before it is drawn.
pub fn published(conn: &mut DbConn, plan: &PlanRow) -> QueryResult<Option<PublishedDraw>> {
    let Some((input, result)): Option<(String, String)> = draws::table
        .find(&plan.id)
        .select((draws::input, draws::result))
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let replacements = draw_replacements::table
        .filter(draw_replacements::plan_id.eq(&plan.id))
        .order((draw_replacements::replaced_at, draw_replacements::nth))
        .select((
            draw_replacements::institution_id,
            draw_replacements::leaving,
            draw_replacements::joining,
            draw_replacements::nth,
            draw_replacements::reason,
            draw_replacements::replaced_at,
        ))
        .load::<Replacement>(conn)?;
    let bad = |e: serde_json::Error| diesel::result::Error::DeserializationError(Box::new(e));
    Ok(Some(PublishedDraw {
        plan: json!({ "id": plan.id, "name": plan.name, "year": plan.year, "round": plan.round, "region_code": plan.region_code }),
        policy_source: policy_files(conn, &plan.sampling_hash)?,
        input: serde_json::from_str(&input).map_err(bad)?,
        result: serde_json::from_str(&result).map_err(bad)?,
        replacements,
    }))
}

/// A plan by id, whatever the region (the public draw).
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<PlanRow>> {
    plans::table
        .find(id)
        .select(PlanRow::as_select())
        .first(conn)
        .optional()
}

/// An inspector to replace.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceInput {
    /// The institution whose team changes.
    pub institution_id: String,
    /// The inspector who became unavailable.
    pub inspector_id: String,
    /// Why (logged and published with the draw).
    pub reason: String,
}

/// Replaces `leaving` on the team of `institution`'s pick, reproducibly (see
/// `caregrade_draw::replace`), updating the inspection's team; refused after submit.
pub fn replace(
    conn: &mut DbConn,
    cache: &CompiledCache,
    plan: &PlanRow,
    req: &ReplaceInput,
    by: &str,
    now: &str,
) -> Result<Replacement, ApiError> {
    let (institution, leaving) = (req.institution_id.as_str(), req.inspector_id.as_str());
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::validation(
            "reason",
            "reason must have 1–500 characters",
        ));
    }
    let policy = cache
        .get(conn, &plan.sampling_hash)?
        .ok_or_else(|| ApiError::internal("sampling policy unreadable"))?;
    let Some(mut pd) = published(conn, plan)? else {
        return Err(ApiError::conflict(
            "not_drawn",
            "the plan has not been drawn",
        ));
    };
    // Apply earlier replacements to the published teams, so the next one sees today's teams.
    for r in &pd.replacements {
        if let Some(p) = pd
            .result
            .picks
            .iter_mut()
            .find(|p| p.institution == r.institution_id)
        {
            for m in &mut p.team {
                if *m == r.leaving {
                    m.clone_from(&r.joining);
                }
            }
        }
    }
    let Some(pick) = pd
        .result
        .picks
        .iter()
        .find(|p| p.institution == institution)
    else {
        return Err(ApiError::not_found(
            "pick for that institution in this draw",
        ));
    };
    if !pick.team.iter().any(|m| m == leaving) {
        return Err(ApiError::validation(
            "inspector_id",
            "that inspector is not on this team",
        ));
    }
    let nth = pd
        .replacements
        .iter()
        .filter(|r| r.institution_id == institution)
        .count() as u32;
    let mut input = pd.input.clone();
    for i in &mut input.inspectors {
        if i.id == leaving {
            i.available = false;
        }
    }
    let joining = caregrade_draw::replace(&policy, &input, &pd.result, institution, leaving, nth)
        .ok_or_else(|| {
        ApiError::conflict(
            "no_replacement",
            "no available inspector may join this team without a recusal",
        )
    })?;
    let inspection: InspectionRow = inspections::table
        .filter(inspections::plan_id.eq(&plan.id))
        .filter(inspections::institution_id.eq(institution))
        .select(InspectionRow::as_select())
        .first(conn)?;
    if inspection.is_read_only() {
        return Err(insp::submitted());
    }
    let rep = Replacement {
        institution_id: institution.to_owned(),
        leaving: leaving.to_owned(),
        joining: joining.clone(),
        nth: nth as i32,
        reason: reason.to_owned(),
        replaced_at: now.to_owned(),
    };
    conn.transaction(|c| {
        diesel::insert_into(draw_replacements::table)
            .values((
                draw_replacements::id.eq(uuid::Uuid::new_v4().to_string()),
                draw_replacements::plan_id.eq(&plan.id),
                draw_replacements::institution_id.eq(institution),
                draw_replacements::leaving.eq(leaving),
                draw_replacements::joining.eq(&joining),
                draw_replacements::nth.eq(rep.nth),
                draw_replacements::reason.eq(reason),
                draw_replacements::replaced_by.eq(by),
                draw_replacements::replaced_at.eq(now),
            ))
            .execute(c)?;
        diesel::update(
            inspection_members::table
                .filter(inspection_members::inspection_id.eq(&inspection.id))
                .filter(inspection_members::inspector_id.eq(leaving)),
        )
        .set(inspection_members::inspector_id.eq(&joining))
        .execute(c)?;
        crate::audit::append(
            c,
            by,
            "plan.replaced",
            "plan",
            &plan.id,
            &json!({ "institution": institution, "leaving": leaving, "joining": joining, "nth": nth, "reason": reason }),
        )?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(rep)
}

/// Recomputes a published draw and its replacements from the public data alone.
pub fn verify_published(pd: &PublishedDraw) -> Result<String, String> {
    let mut lib = caregrade_dsl::Library::new();
    let mut last = 0;
    for f in &pd.policy_source {
        last = lib.add(f.file_name.clone(), f.source.as_bytes());
    }
    let policy = lib
        .compile_file(last)
        .compiled
        .ok_or_else(|| "the published policy does not compile".to_owned())?;
    caregrade_draw::verify(&policy, &pd.input, &pd.result)?;
    let mut teams = pd.result.clone();
    let mut input = pd.input.clone();
    for r in &pd.replacements {
        for i in &mut input.inspectors {
            if i.id == r.leaving {
                i.available = false;
            }
        }
        let again = caregrade_draw::replace(
            &policy,
            &input,
            &teams,
            &r.institution_id,
            &r.leaving,
            u32::try_from(r.nth).unwrap_or(0),
        );
        if again.as_deref() != Some(r.joining.as_str()) {
            return Err(format!(
                "replacement of {} at {} recomputes to {:?}, published {}",
                r.leaving, r.institution_id, again, r.joining
            ));
        }
        if let Some(p) = teams
            .picks
            .iter_mut()
            .find(|p| p.institution == r.institution_id)
        {
            for m in &mut p.team {
                if *m == r.leaving {
                    m.clone_from(&r.joining);
                }
            }
        }
    }
    Ok(format!(
        "draw verified: {} picks, {} replacement(s), result hash {}",
        pd.result.picks.len(),
        pd.replacements.len(),
        pd.result.result_hash
    ))
}
