//! The rulesets shipped in `checklists/`, embedded at build time, and their loading at first start.

use super::{RulesetRow, activate, store};
use crate::db::DbConn;
use crate::db::schema::rulesets;
use caregrade_dsl::Library;
use diesel::prelude::*;
use std::collections::HashMap;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// When no ruleset is stored yet, compiles every bundled ruleset, stores it and puts it in force
/// country-wide. Returns how many were loaded. A bundled file that does not compile is logged and
/// skipped (the checklists' own tests keep that from shipping).
pub fn load_if_empty(conn: &mut DbConn, now: &str) -> QueryResult<usize> {
    let stored: i64 = rulesets::table.count().get_result(conn)?;
    if stored > 0 {
        return Ok(0);
    }
    load(conn, BUNDLED, now)
}

/// Compiles, stores and activates `files` (`(name, source)`), bases before the layers on them.
/// Rulesets that extend nothing are put in force country-wide; layers (a city's refinement) are
/// stored for a bureau to activate in its own region. Returns how many were stored.
pub fn load(conn: &mut DbConn, files: &[(&str, &str)], now: &str) -> QueryResult<usize> {
    let mut lib = Library::new();
    for (name, text) in files {
        lib.add(format!("checklists/{name}"), text.as_bytes());
    }
    // Hash of each compiled ruleset by id, filled base-first so that a layer can name its base.
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut rows: Vec<RulesetRow> = Vec::new();
    let mut pending: Vec<usize> = (0..files.len()).collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|&i| {
            let base = lib
                .ruleset(i)
                .and_then(|r| r.extends.as_ref().map(|b| b.text.clone()));
            if base.as_ref().is_some_and(|b| !hashes.contains_key(b)) {
                return true;
            }
            let comp = lib.compile_file(i);
            let Some(compiled) = comp.compiled else {
                let first = comp
                    .diagnostics
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| d.render(&lib.sources))
                    .unwrap_or_default();
                tracing::error!(file = files[i].0, %first, "bundled ruleset does not compile");
                return false;
            };
            let Ok(json) = serde_json::to_string(&compiled) else {
                return false;
            };
            hashes.insert(compiled.id.clone(), compiled.hash.clone());
            rows.push(RulesetRow {
                hash: compiled.hash.clone(),
                name: compiled.id.clone(),
                kind: compiled.kind.keyword().to_owned(),
                title: compiled.title.clone(),
                version_label: compiled.version.clone(),
                file_name: files[i].0.to_owned(),
                source: files[i].1.to_owned(),
                base_hash: base.and_then(|b| hashes.get(&b).cloned()),
                compiled: json,
                engine: compiled.engine.clone(),
                uploaded_by: None,
                created_at: now.to_owned(),
            });
            false
        });
        if pending.len() == before {
            // What is left extends a ruleset that is missing or does not compile.
            for &i in &pending {
                tracing::error!(
                    file = files[i].0,
                    "bundled ruleset extends one that did not load"
                );
            }
            break;
        }
    }
    conn.transaction(|c| {
        for row in &rows {
            store(c, row)?;
            crate::audit::append(
                c,
                "system",
                "ruleset.stored",
                "ruleset",
                &row.hash,
                &serde_json::json!({ "name": row.name, "kind": row.kind, "version": row.version_label, "bundled": row.file_name }),
            )?;
            if row.base_hash.is_none() {
                activate(c, row, "", None, now)?;
            }
        }
        Ok(rows.len())
    })
}
