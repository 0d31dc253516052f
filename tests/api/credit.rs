//! Credit: the bureau's entries need a document number and a kind the policy in force knows; the
//! record is scored by that policy, blacklist included.

use crate::harness::World;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CREDIT: &str = include_str!("../../dsl/tests/rulesets/mini_credit.rules");

#[tokio::test]
async fn entries_change_the_level_and_the_blacklist() {
    let w = World::new().await;
    let credit = format!("/api/v1/institutions/{}/credit", w.own);
    let (st, p) = w.server.get(&credit, &w.admin).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "no_credit_policy");
    let (st, v) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "mini_credit.rules", "source": CREDIT, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, r) = w.server.get(&credit, &w.institution).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["credit"]["level"]["id"], "A");
    assert_eq!(r["credit"]["blacklisted"], false);
    assert_eq!(r["ruleset"], "mini_credit");
    let events = format!("{credit}/events");
    let (st, p) = w
        .server
        .post(
            &events,
            Some(&w.admin),
            json!({ "kind": "fire_overdue", "occurred_on": "2026-01-05", "document_no": " " }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "document_no");
    let (st, p) = w
        .server
        .post(&events, Some(&w.admin), json!({ "kind": "arson", "occurred_on": "2026-01-05", "document_no": "长民罚〔2026〕1号" }))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "kind");
    assert!(
        p["detail"].as_str().unwrap().contains("fire_overdue"),
        "{p}"
    );
    let body = json!({ "kind": "fire_overdue", "occurred_on": "2026-01-05", "document_no": "长民罚〔2026〕1号" });
    let (st, e) = w.server.post(&events, Some(&w.admin), body.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    assert_eq!(e["source"], "bureau");
    let (st, p) = w.server.post(&events, Some(&w.admin), body.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    let (st, _) = w
        .server
        .post(&events, Some(&w.inspector), body.clone())
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = w
        .server
        .post(&events, Some(&w.admin_other_city), body)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, r) = w.server.get(&credit, &w.institution).await;
    assert_eq!(r["credit"]["blacklisted"], true, "{r}");
    assert_eq!(r["credit"]["level"]["id"], "B", "{r}");
    assert_eq!(r["events"].as_array().unwrap().len(), 1);
    assert_eq!(r["events_hash"].as_str().unwrap().len(), 64);
    let (st, _) = w
        .server
        .get(
            &format!("/api/v1/institutions/{}/credit", w.other),
            &w.institution,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Removal on application: not before the earliest date; then it ends the listing.
    let repair = |inst: &str| format!("/api/v1/institutions/{inst}/credit/repair");
    let body =
        json!({ "document_no": "长民信修〔2026〕1号", "reason": "无新的严重失信行为，已完成整改" });
    let (st, p) = w
        .server
        .post(&repair(&w.own), Some(&w.admin), body.clone())
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "repair_too_early");
    let (st, e) = w
        .server
        .post(
            &format!("/api/v1/institutions/{}/credit/events", w.other),
            Some(&w.admin),
            json!({ "kind": "fire_overdue", "occurred_on": "2023-06-01", "document_no": "长民信〔2023〕4号" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let (st, r) = w
        .server
        .post(&repair(&w.other), Some(&w.admin), body.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["credit"]["blacklisted"], false);
    let (st, p) = w.server.post(&repair(&w.other), Some(&w.admin), body).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(p["code"], "not_blacklisted");
    // The listing is published as such.
    let (st, b) = w
        .server
        .post("/api/v1/publications/batches", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let listed: Vec<&Value> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "blacklist")
        .collect();
    assert_eq!(listed.len(), 1, "{b}");
    assert_eq!(listed[0]["institution_id"], w.own.as_str());
}
