//! Self-assessment: the institution answers the standard in force through the same sync API,
//! scores itself, sees its predicted grade and gap, and compares runs.

use crate::harness::World;
use crate::rulesets::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn answer(n: u32, item: &str, value: Value, base: i32) -> Value {
    json!({
        "client_uuid": format!("20000000-0000-4000-8000-{n:012}"),
        "ruleset": "mini", "item": item, "value": value, "base_version": base
    })
}

#[tokio::test]
async fn predicted_grade_gap_and_runs_over_time() {
    let w = World::new().await;
    let (st, p) = w
        .server
        .post("/api/v1/self-assessments", Some(&w.institution), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "no_standard");
    let (st, v) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "mini_standard.rules", "source": STANDARD, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, sa) = w
        .server
        .post("/api/v1/self-assessments", Some(&w.institution), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sa}");
    assert_eq!(sa["ruleset_hash"], v["hash"]);
    let id = sa["id"].as_str().unwrap().to_owned();
    let sync = format!("/api/v1/inspections/{id}/answers");
    let (st, r) = w
        .server
        .post(
            &sync,
            Some(&w.institution),
            json!({ "answers": [
                answer(1, "env.traffic.stop", json!("site"), 0),
                answer(2, "env.traffic.bus", json!(250), 0),
                answer(3, "env.traffic.inner", json!(true), 0),
                answer(4, "env.traffic.records", json!(0), 0),
                answer(5, "service.care", json!("partial"), 0),
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["applied"], 5, "{r}");
    let runs = format!("/api/v1/self-assessments/{id}/runs");
    let (st, first) = w.server.post(&runs, Some(&w.institution), json!({})).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let report = &first["report"];
    assert!(report["grade_reason"].is_string(), "{report}");
    assert!(
        report["gap"].is_object(),
        "the gap to the next grade is shown: {report}"
    );
    let total1: f64 = first["total"].as_str().unwrap().parse().unwrap();
    // Answer one item better: the next run scores higher.
    let (st, _) = w
        .server
        .post(
            &sync,
            Some(&w.institution),
            json!({ "answers": [answer(6, "service.care", json!("full"), 1)] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, second) = w.server.post(&runs, Some(&w.institution), json!({})).await;
    assert_eq!(st, StatusCode::CREATED);
    let total2: f64 = second["total"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        total2 - total1,
        5.0,
        "partial (5) → full (10) on the care item"
    );
    let (st, list) = w.server.get(&runs, &w.institution).await;
    assert_eq!(st, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["total"], first["total"]);
    assert!(list[0].get("report").is_none());
    // The bureau of the region reads the runs; an inspector not on it and another city do not.
    let (st, _) = w.server.get(&runs, &w.admin).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = w.server.get(&runs, &w.inspector).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = w.server.get(&runs, &w.admin_other_city).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, mine) = w
        .server
        .get("/api/v1/self-assessments", &w.institution)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mine.as_array().unwrap().len(), 1);
}
