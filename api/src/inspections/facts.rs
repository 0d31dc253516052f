//! What the registry knows about an institution, as the facts a ruleset declares, and the
//! rulesets an inspection is pinned to.

use super::InspectionRow;
use crate::db::DbConn;
use crate::registry::institutions::InstitutionRow;
use crate::rulesets::CompiledCache;
use caregrade_dsl::ir::Compiled;
use diesel::QueryResult;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every fact the registry can give about `inst`: its columns under the ids the bundled rulesets
/// use (`beds`, `floors`, `has_kitchen` …), then the free-form `facts` JSON (which may add or
/// refine, e.g. `height`, `key_fire_unit`, `credit`).
pub fn institution_facts(inst: &InstitutionRow) -> BTreeMap<String, Value> {
    let mut f = BTreeMap::new();
    f.insert("beds".into(), json!(inst.beds));
    f.insert("residents".into(), json!(inst.residents));
    f.insert("floors".into(), json!(inst.floors));
    f.insert("has_kitchen".into(), json!(inst.has_kitchen));
    f.insert("building_area".into(), json!(inst.building_area));
    f.insert(
        "fire_resistance_grade".into(),
        json!(inst.fire_resistance_grade),
    );
    f.insert("filed".into(), json!(inst.filed));
    if let Some(d) = &inst.filed_on {
        f.insert("filed_on".into(), json!(d));
    }
    f.insert("kind".into(), json!(inst.kind));
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(&inst.facts) {
        for (k, v) in extra {
            f.insert(k, v);
        }
    }
    f
}

/// The facts `compiled` declares, taken from `all`; the others would only be reported as unknown.
pub fn facts_for(compiled: &Compiled, all: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    compiled
        .facts
        .iter()
        .filter_map(|d| all.get(&d.id).map(|v| (d.id.clone(), v.clone())))
        .collect()
}

/// The compiled rulesets an inspection is pinned to, by their id in the language. A pinned hash
/// that is not stored is an internal inconsistency and reported as such by the caller.
pub fn pinned(
    cache: &CompiledCache,
    conn: &mut DbConn,
    inspection: &InspectionRow,
) -> QueryResult<Result<BTreeMap<String, Arc<Compiled>>, String>> {
    let mut out = BTreeMap::new();
    for h in inspection.ruleset_hashes() {
        match cache.get(conn, &h)? {
            Some(c) => {
                out.insert(c.id.clone(), c);
            }
            None => {
                return Ok(Err(format!(
                    "ruleset {h} pinned by the inspection is not stored"
                )));
            }
        }
    }
    Ok(Ok(out))
}
