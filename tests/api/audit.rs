//! The audit chain: state changes append hash-linked entries; `caregrade audit verify` passes on an
//! untouched database and names the first broken link after a row is altered or removed.

use crate::harness::World;
use crate::inspections::{fake_photo, seed_inspection};
use crate::rulesets::CHECKLIST;
use caregrade::audit::{self, Verdict};
use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

fn verify_cli(database_url: &str) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caregrade"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CAREGRADE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args(["audit", "verify"])
        .env("CAREGRADE_DATABASE_URL", database_url)
        .env("CAREGRADE_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn sql(w: &World, statement: &str) {
    let pool = w.server.state.pool.clone();
    let statement = statement.to_owned();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(statement)
            .execute(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_chain_records_the_inspection_and_detects_tampering() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let base = format!("/api/v1/inspections/{id}");
    let (st, _) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": [{
                "client_uuid": "10000000-0000-4000-8000-000000000001",
                "ruleset": "fire_mini", "item": "duty.control_room", "value": false
            }]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    fake_photo(&w, &id, "fire_mini", "duty.control_room").await;
    let (st, _) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "王院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);

    let pool = w.server.state.pool.clone();
    let (verdict, entries) = tokio::task::spawn_blocking(move || {
        let mut c = pool.get().unwrap();
        (
            audit::verify(&mut c).unwrap(),
            audit::for_entity(&mut c, "inspection", &id).unwrap(),
        )
    })
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "answers.synced",
            "inspection.acknowledged",
            "inspection.submitted"
        ]
    );
    let Verdict::Intact(n) = verdict else {
        panic!("{verdict:?}")
    };
    assert!(n >= 3);
    let url = w.server.state.config.database_url.clone();
    let (ok, text) = verify_cli(&url);
    assert!(ok, "{text}");
    assert!(text.contains(&format!("intact: {n} entries")), "{text}");

    // Alter one entry's payload: that entry is the first broken link.
    let target = entries[1].seq;
    sql(
        &w,
        &format!("UPDATE audit_log SET payload = '{{}}' WHERE seq = {target}"),
    )
    .await;
    let (ok, text) = verify_cli(&url);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("broken at entry {target}")),
        "{text}"
    );
    assert!(text.contains("altered"), "{text}");
}

#[tokio::test]
async fn removing_the_last_entries_is_detected_too() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/inspections/{id}/answers"),
            Some(&w.inspector),
            json!({ "answers": [{
                "client_uuid": "10000000-0000-4000-8000-000000000002",
                "ruleset": "fire_mini", "item": "duty.control_room", "value": true
            }]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    sql(
        &w,
        "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
    )
    .await;
    let (ok, text) = verify_cli(&w.server.state.config.database_url);
    assert!(!ok, "{text}");
    assert!(text.contains("removed from the end"), "{text}");
}
