//! Stored rulesets: upload (checked by the language's own checker), versions identified by their
//! content hash, activation per region, and the compiled forms the server evaluates and phones
//! download. A stored version never changes, so outcomes stay pinned to what they were scored under.

pub mod bundled;

use crate::db::DbConn;
use crate::db::schema::{ruleset_activations, rulesets};
use caregrade_dsl::Library;
use caregrade_dsl::diag::LocatedDiagnostic;
use caregrade_dsl::ir::Compiled;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One stored ruleset version.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rulesets)]
pub struct RulesetRow {
    /// Content hash (of every layer's canonical source, base first).
    pub hash: String,
    /// The ruleset's id in the language (`gbt37276`).
    pub name: String,
    /// `standard`, `checklist`, `credit` or `sampling`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// The `version` the ruleset declares.
    pub version_label: String,
    /// File name it was uploaded as (diagnostics name it).
    pub file_name: String,
    /// This layer's source text.
    pub source: String,
    /// The stored version of the ruleset this one extends.
    pub base_hash: Option<String>,
    /// The compiled form, JSON.
    pub compiled: String,
    /// Engine that compiled it.
    pub engine: String,
    /// Uploader (user id); `None` for the bundled checklists.
    pub uploaded_by: Option<String>,
    /// Stored.
    pub created_at: String,
}

/// A ruleset as the API lists it (without source and compiled form).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RulesetInfo {
    /// Content hash: the version's identity.
    pub hash: String,
    /// Id in the language.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Declared version.
    pub version: String,
    /// File name.
    pub file_name: String,
    /// Hash of the base version, for a layer.
    pub base_hash: Option<String>,
    /// Engine.
    pub engine: String,
    /// Stored.
    pub created_at: String,
    /// Regions where it is in force (`""` = country-wide).
    pub active_in: Vec<String>,
}

impl RulesetInfo {
    /// From a row and the regions where it is active.
    pub fn new(r: &RulesetRow, active_in: Vec<String>) -> Self {
        Self {
            hash: r.hash.clone(),
            name: r.name.clone(),
            kind: r.kind.clone(),
            title: r.title.clone(),
            version: r.version_label.clone(),
            file_name: r.file_name.clone(),
            base_hash: r.base_hash.clone(),
            engine: r.engine.clone(),
            created_at: r.created_at.clone(),
            active_in,
        }
    }
}

/// The result of checking an uploaded source.
#[derive(Debug)]
pub enum Checked {
    /// Compiles; warnings kept for the response.
    Ok {
        /// The row to store.
        row: Box<RulesetRow>,
        /// Warnings.
        warnings: Vec<LocatedDiagnostic>,
    },
    /// Errors (and warnings), each with line, column and span.
    Invalid(Vec<LocatedDiagnostic>),
}

/// Checks and compiles `text`. A layer (`extends X`) is compiled over the base version `base`
/// when given, else over the newest stored version of `X`.
pub fn check_source(
    conn: &mut DbConn,
    file_name: &str,
    text: &str,
    base: Option<&str>,
    uploaded_by: Option<String>,
    now: &str,
) -> QueryResult<Checked> {
    let mut lib = Library::new();
    let top = lib.add(file_name, text.as_bytes());
    let mut base_hash = None;
    let extends = lib
        .ruleset(top)
        .and_then(|r| r.extends.as_ref().map(|n| n.text.clone()));
    if let Some(name) = extends {
        let found = match base {
            Some(h) => get(conn, h)?.filter(|r| r.name == name),
            None => newest(conn, &name)?,
        };
        if let Some(b) = found {
            base_hash = Some(b.hash.clone());
            for layer in chain(conn, &b)? {
                lib.add(layer.file_name.clone(), layer.source.as_bytes());
            }
        }
    }
    let comp = lib.compile_file(top);
    let located: Vec<LocatedDiagnostic> = comp
        .diagnostics
        .iter()
        .map(|d| d.located(&lib.sources))
        .collect();
    let Some(c) = comp.compiled else {
        return Ok(Checked::Invalid(located));
    };
    let compiled = serde_json::to_string(&c).map_err(|e| {
        diesel::result::Error::SerializationError(
            Box::new(e) as Box<dyn std::error::Error + Send + Sync>
        )
    })?;
    Ok(Checked::Ok {
        row: Box::new(RulesetRow {
            hash: c.hash.clone(),
            name: c.id.clone(),
            kind: c.kind.keyword().to_owned(),
            title: c.title.clone(),
            version_label: c.version.clone(),
            file_name: file_name.to_owned(),
            source: text.to_owned(),
            base_hash,
            compiled,
            engine: c.engine.clone(),
            uploaded_by,
            created_at: now.to_owned(),
        }),
        warnings: located,
    })
}

/// The layers under `top` (itself excluded), base first.
fn chain(conn: &mut DbConn, top: &RulesetRow) -> QueryResult<Vec<RulesetRow>> {
    let mut out = vec![top.clone()];
    let mut cur = top.base_hash.clone();
    // A stored chain cannot loop (a hash covers its base's hash), but a bound keeps a corrupted
    // table from hanging a request.
    while let Some(h) = cur.take() {
        if out.len() > 16 {
            break;
        }
        if let Some(r) = get(conn, &h)? {
            cur = r.base_hash.clone();
            out.push(r);
        }
    }
    out.reverse();
    Ok(out)
}

/// Stores a checked version unless the same hash is stored already. Returns whether it was new.
pub fn store(conn: &mut DbConn, row: &RulesetRow) -> QueryResult<bool> {
    if get(conn, &row.hash)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(rulesets::table)
        .values(row)
        .execute(conn)?;
    Ok(true)
}

/// Stores a checked version (unless stored already) and, when `region` is given, puts it in force
/// there, in one transaction. Returns whether the version was new.
pub fn store_and_activate(
    conn: &mut DbConn,
    row: &RulesetRow,
    region: Option<&str>,
    by: &str,
    now: &str,
) -> QueryResult<bool> {
    conn.transaction(|c| {
        let created = store(c, row)?;
        if created {
            crate::audit::append(
                c,
                by,
                "ruleset.stored",
                "ruleset",
                &row.hash,
                &serde_json::json!({ "name": row.name, "kind": row.kind, "version": row.version_label, "base": row.base_hash }),
            )?;
        }
        if let Some(region) = region {
            activate(c, row, region, Some(by), now)?;
        }
        Ok(created)
    })
}

/// One version by hash.
pub fn get(conn: &mut DbConn, hash: &str) -> QueryResult<Option<RulesetRow>> {
    rulesets::table
        .find(hash)
        .select(RulesetRow::as_select())
        .first(conn)
        .optional()
}

/// The newest stored version of the ruleset named `name`.
pub fn newest(conn: &mut DbConn, name: &str) -> QueryResult<Option<RulesetRow>> {
    rulesets::table
        .filter(rulesets::name.eq(name))
        .order(rulesets::created_at.desc())
        .select(RulesetRow::as_select())
        .first(conn)
        .optional()
}

/// Every stored version, newest first, optionally of one kind or name.
pub fn list(
    conn: &mut DbConn,
    kind: Option<&str>,
    name: Option<&str>,
) -> QueryResult<Vec<RulesetRow>> {
    let mut q = rulesets::table.into_boxed();
    if let Some(k) = kind {
        q = q.filter(rulesets::kind.eq(k.to_owned()));
    }
    if let Some(n) = name {
        q = q.filter(rulesets::name.eq(n.to_owned()));
    }
    q.order((rulesets::created_at.desc(), rulesets::hash))
        .select(RulesetRow::as_select())
        .load(conn)
}

/// Regions where each of `hashes` is in force.
pub fn active_regions(conn: &mut DbConn) -> QueryResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = ruleset_activations::table
        .filter(ruleset_activations::retired_at.is_null())
        .select((ruleset_activations::hash, ruleset_activations::region_code))
        .order(ruleset_activations::region_code)
        .load(conn)?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (h, r) in rows {
        out.entry(h).or_default().push(r);
    }
    Ok(out)
}

/// Puts version `row` in force in `region` (`""` = country-wide), retiring the version of the
/// same ruleset that was in force there. Activating what is already active changes nothing.
pub fn activate(
    conn: &mut DbConn,
    row: &RulesetRow,
    region: &str,
    by: Option<&str>,
    now: &str,
) -> QueryResult<()> {
    conn.transaction(|c| {
        let current: Option<String> = ruleset_activations::table
            .filter(ruleset_activations::region_code.eq(region))
            .filter(ruleset_activations::name.eq(&row.name))
            .filter(ruleset_activations::retired_at.is_null())
            .select(ruleset_activations::hash)
            .first(c)
            .optional()?;
        if current.as_deref() == Some(row.hash.as_str()) {
            return Ok(());
        }
        retire_name(c, &row.name, region, now)?;
        diesel::insert_into(ruleset_activations::table)
            .values((
                ruleset_activations::id.eq(uuid::Uuid::new_v4().to_string()),
                ruleset_activations::region_code.eq(region),
                ruleset_activations::name.eq(&row.name),
                ruleset_activations::kind.eq(&row.kind),
                ruleset_activations::hash.eq(&row.hash),
                ruleset_activations::activated_by.eq(by),
                ruleset_activations::activated_at.eq(now),
            ))
            .execute(c)?;
        crate::audit::append(
            c,
            by.unwrap_or("system"),
            "ruleset.activated",
            "ruleset",
            &row.hash,
            &serde_json::json!({ "region": region, "name": row.name }),
        )?;
        Ok(())
    })
}

/// Retires version `hash` in `region`. Returns whether it was in force there.
pub fn retire(
    conn: &mut DbConn,
    hash: &str,
    region: &str,
    by: &str,
    now: &str,
) -> QueryResult<bool> {
    conn.transaction(|c| {
        let n = retire_hash(c, hash, region, now)?;
        if n {
            crate::audit::append(
                c,
                by,
                "ruleset.retired",
                "ruleset",
                hash,
                &serde_json::json!({ "region": region }),
            )?;
        }
        Ok(n)
    })
}

fn retire_hash(conn: &mut DbConn, hash: &str, region: &str, now: &str) -> QueryResult<bool> {
    let n = diesel::update(
        ruleset_activations::table
            .filter(ruleset_activations::region_code.eq(region))
            .filter(ruleset_activations::hash.eq(hash))
            .filter(ruleset_activations::retired_at.is_null()),
    )
    .set(ruleset_activations::retired_at.eq(now))
    .execute(conn)?;
    Ok(n > 0)
}

fn retire_name(conn: &mut DbConn, name: &str, region: &str, now: &str) -> QueryResult<usize> {
    diesel::update(
        ruleset_activations::table
            .filter(ruleset_activations::region_code.eq(region))
            .filter(ruleset_activations::name.eq(name))
            .filter(ruleset_activations::retired_at.is_null()),
    )
    .set(ruleset_activations::retired_at.eq(now))
    .execute(conn)
}

/// The versions in force for a district (or region) code: per ruleset name, the activation of the
/// most specific region that covers it (a city's version wins over the country's).
pub fn in_force(conn: &mut DbConn, district: &str) -> QueryResult<Vec<RulesetRow>> {
    let rows: Vec<(String, String, String)> = ruleset_activations::table
        .filter(ruleset_activations::retired_at.is_null())
        .select((
            ruleset_activations::name,
            ruleset_activations::region_code,
            ruleset_activations::hash,
        ))
        .load(conn)?;
    let mut best: HashMap<String, (usize, String)> = HashMap::new();
    for (name, region, hash) in rows {
        if !district.starts_with(region.as_str()) {
            continue;
        }
        let e = best.entry(name).or_insert((0, String::new()));
        if e.1.is_empty() || region.len() > e.0 {
            *e = (region.len(), hash);
        }
    }
    let mut hashes: Vec<String> = best.into_values().map(|(_, h)| h).collect();
    hashes.sort();
    let mut out = Vec::new();
    for h in hashes {
        if let Some(r) = get(conn, &h)? {
            out.push(r);
        }
    }
    out.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    Ok(out)
}

/// Compiled forms by hash, deserialised once per process: a stored version never changes, so the
/// cache needs no invalidation, and scoring a submit does not pay the JSON parse each time.
#[derive(Debug, Default)]
pub struct CompiledCache {
    map: Mutex<HashMap<String, Arc<Compiled>>>,
}

impl CompiledCache {
    /// The compiled form of version `hash`, from the cache or the database. `None` when no such
    /// version is stored (or its stored form is unreadable, which `validate` refuses).
    pub fn get(&self, conn: &mut DbConn, hash: &str) -> QueryResult<Option<Arc<Compiled>>> {
        if let Some(c) = self.lock().get(hash) {
            return Ok(Some(c.clone()));
        }
        let Some(row) = get(conn, hash)? else {
            return Ok(None);
        };
        let Ok(c) = serde_json::from_str::<Compiled>(&row.compiled) else {
            tracing::error!(hash, "stored compiled ruleset does not deserialise");
            return Ok(None);
        };
        if let Err(e) = c.validate() {
            tracing::error!(hash, error = %e, "stored compiled ruleset is invalid");
            return Ok(None);
        }
        let c = Arc::new(c);
        self.lock().insert(hash.to_owned(), c.clone());
        Ok(Some(c))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Compiled>>> {
        // A panic while holding the lock cannot leave the map half-updated (insert is atomic
        // from our side), so a poisoned lock is still usable.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
