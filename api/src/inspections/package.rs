//! The offline package: everything a phone needs to carry out one inspection without a network
//! — the institution and its facts, the compiled rulesets, the answers and photos so far, and the
//! version to sync against.

use super::InspectionRow;
use super::answers::{self, Answer};
use super::facts::institution_facts;
use crate::db::DbConn;
use crate::db::schema::institutions;
use crate::registry::institutions::{Institution, InstitutionRow};
use crate::rulesets;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The inspection's own fields in a package.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PackageInspection {
    /// Id.
    pub id: String,
    /// Plan it was drawn in.
    pub plan_id: Option<String>,
    /// Purpose.
    pub purpose: String,
    /// Status.
    pub status: String,
    /// Due date.
    pub due: Option<String>,
    /// When the team started.
    pub started_at: Option<String>,
    /// For a look-back re-inspection, the `ruleset:item` keys it covers; absent: every item.
    pub scope: Option<Vec<String>>,
}

/// One pinned ruleset with its compiled form, exactly as stored (its hash is its identity).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PackageRuleset {
    /// Content hash.
    pub hash: String,
    /// Id in the language (answers name it).
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Declared version.
    pub version: String,
    /// The compiled form the phone evaluates offline.
    #[schema(value_type = Object)]
    pub compiled: Box<RawValue>,
}

/// Everything for one inspection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Package {
    /// The inspection.
    pub inspection: PackageInspection,
    /// The institution as registered.
    pub institution: Institution,
    /// The facts the rulesets read, by id.
    #[schema(value_type = Object)]
    pub facts: BTreeMap<String, Value>,
    /// The pinned rulesets.
    pub rulesets: Vec<PackageRuleset>,
    /// Answers so far.
    pub answers: Vec<Answer>,
    /// Photos so far (metadata only; bytes by their own endpoints).
    pub photos: Vec<super::photos::PhotoMeta>,
    /// The inspection's version: send answers based on it, and compare to know what changed.
    pub version: i32,
}

/// Builds the package of `inspection`.
pub fn build(conn: &mut DbConn, inspection: &InspectionRow) -> QueryResult<Package> {
    let photos = super::photos::list_for_inspection(conn, &inspection.id)?;
    let inst: InstitutionRow = institutions::table
        .find(&inspection.institution_id)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    let mut pinned = Vec::new();
    for h in inspection.ruleset_hashes() {
        if let Some(r) = rulesets::get(conn, &h)? {
            let compiled = RawValue::from_string(r.compiled)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            pinned.push(PackageRuleset {
                hash: r.hash,
                id: r.name,
                kind: r.kind,
                title: r.title,
                version: r.version_label,
                compiled,
            });
        }
    }
    Ok(Package {
        inspection: PackageInspection {
            id: inspection.id.clone(),
            plan_id: inspection.plan_id.clone(),
            purpose: inspection.purpose.clone(),
            status: inspection.status.clone(),
            due: inspection.due.clone(),
            started_at: inspection.started_at.clone(),
            scope: inspection
                .scope
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        },
        facts: institution_facts(&inst),
        institution: inst.into(),
        rulesets: pinned,
        answers: answers::list(conn, &inspection.id)?,
        photos,
        version: inspection.version,
    })
}
