//! The audit chain: every state change appends an entry whose hash covers the previous entry's
//! hash. `caregrade audit verify` recomputes the chain and names the first broken link; a
//! published record carries the sequence number that proves it.

use crate::db::DbConn;
use crate::db::schema::{audit_head, audit_log};
use diesel::prelude::*;
use serde::Serialize;

/// One entry as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    /// Position in the chain, from 1, gapless.
    pub seq: i64,
    /// Server time.
    pub at: String,
    /// User id, or `system`.
    pub actor: String,
    /// What happened (`answers.synced`, `inspection.submitted` …).
    pub action: String,
    /// Kind of record (`inspection`, `ruleset` …).
    pub entity: String,
    /// Its id.
    pub entity_id: String,
    /// Details, JSON.
    pub payload: String,
    /// Hash of the previous entry (64 zeros before the first).
    pub prev_hash: String,
    /// SHA-256 over this entry's fields and `prev_hash`.
    pub hash: String,
}

/// The hash of an entry: SHA-256 over its fields, each on its own line, `prev_hash` last.
/// Lines cannot be confused with one another: no field but the payload may hold a newline, and the
/// payload is JSON, whose newlines are escaped.
pub fn entry_hash(e: &Entry) -> String {
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        e.seq, e.at, e.actor, e.action, e.entity, e.entity_id, e.payload, e.prev_hash
    );
    caregrade_dsl::sha256_hex(text.as_bytes())
}

/// Appends an entry inside the caller's transaction (call it in the same transaction as the
/// change it records, so that neither exists without the other). Returns the sequence number.
pub fn append(
    conn: &mut DbConn,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    payload: &serde_json::Value,
) -> QueryResult<i64> {
    // Bump the head first: the write serialises concurrent appends before anything is read.
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    let (seq, prev): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let mut e = Entry {
        seq,
        at: crate::registry::now_text(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_id: entity_id.to_owned(),
        payload: payload.to_string(),
        prev_hash: prev,
        hash: String::new(),
    };
    e.hash = entry_hash(&e);
    diesel::insert_into(audit_log::table)
        .values(&e)
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(&e.hash))
        .execute(conn)?;
    Ok(seq)
}

/// The result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Every link holds; the number of entries.
    Intact(i64),
    /// The first broken link and why.
    Broken {
        /// Sequence number of the first entry that does not verify.
        seq: i64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Recomputes the whole chain, a page at a time, and compares it with the head.
pub fn verify(conn: &mut DbConn) -> QueryResult<Verdict> {
    const PAGE: i64 = 1000;
    let mut prev = "0".repeat(64);
    let mut expected = 1i64;
    loop {
        let page: Vec<Entry> = audit_log::table
            .filter(audit_log::seq.ge(expected))
            .order(audit_log::seq)
            .limit(PAGE)
            .select(Entry::as_select())
            .load(conn)?;
        for e in &page {
            let broken = |reason: String| Verdict::Broken { seq: e.seq, reason };
            if e.seq != expected {
                return Ok(Verdict::Broken {
                    seq: expected,
                    reason: format!("entry {expected} is missing (next stored is {})", e.seq),
                });
            }
            if e.prev_hash != prev {
                return Ok(broken(format!(
                    "prev_hash {} does not match entry {}'s hash {prev}",
                    e.prev_hash,
                    e.seq - 1
                )));
            }
            let again = entry_hash(e);
            if again != e.hash {
                return Ok(broken(format!(
                    "stored hash {} but its fields hash to {again}: the entry was altered",
                    e.hash
                )));
            }
            prev = e.hash.clone();
            expected += 1;
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    let (seq, hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if seq != expected - 1 || hash != prev {
        return Ok(Verdict::Broken {
            seq: expected,
            reason: format!(
                "the head says {seq} entries ending in {hash}, the log has {} ending in {prev}: entries were removed from the end",
                expected - 1
            ),
        });
    }
    Ok(Verdict::Intact(expected - 1))
}

/// The entries about one record, oldest first.
pub fn for_entity(conn: &mut DbConn, entity: &str, id: &str) -> QueryResult<Vec<Entry>> {
    audit_log::table
        .filter(audit_log::entity.eq(entity))
        .filter(audit_log::entity_id.eq(id))
        .order(audit_log::seq)
        .select(Entry::as_select())
        .load(conn)
}
