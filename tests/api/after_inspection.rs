//! After the inspection, end to end: hazards found → the institution fixes two → misses the
//! deadline of the major one → escalation and credit event → the credit level drops → the bureau
//! publishes → the public sees it → the audit chain verifies, and stops verifying once a row is
//! altered behind the server's back.

use crate::harness::World;
use crate::inspections::seed_inspection;
use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const THREE: &str = r#"checklist three "三项检查" {
    version "1"
    source "test fixture"
    part p "检查" {
        item patrol "昼夜巡查记录" {
            clause "GB 38600-2019 4.4"
            ask yesno
            hazard no_patrol general "未落实昼夜巡查" {
                when answer == no
                measure "落实巡查并记录"
                deadline 7 days
                party safety_manager
                department civil_affairs
            }
        }
        item handover "交接班记录" {
            clause "GB 38600-2019 4.4"
            ask yesno
            hazard no_handover general "未落实交接班" {
                when answer == no
                measure "落实交接班并记录"
                deadline 7 days
                party department_head
                department civil_affairs
            }
        }
        item exits "疏散通道畅通" {
            clause "民发〔2023〕37号"
            ask yesno
            hazard blocked major "疏散通道堵塞" {
                when answer == no
                measure "清理疏散通道"
                deadline 3 days
                party fire_safety_manager
                department fire_rescue
                immediate "立即清理并派人值守"
            }
        }
    }
}
"#;

const CREDIT: &str = include_str!("../../checklists/credit.rules");

async fn level(w: &World) -> Value {
    let (st, r) = w
        .server
        .get(
            &format!("/api/v1/institutions/{}/credit", w.own),
            &w.institution,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    r["credit"].clone()
}

#[tokio::test]
async fn hazards_fixes_an_overdue_major_credit_publication_and_the_audit_chain() {
    let w = World::new().await;
    let (st, v) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "credit.rules", "source": CREDIT, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(level(&w).await["level"]["id"], "A");

    // The inspection finds three hazards.
    let id = seed_inspection(&w, THREE).await;
    let base = format!("/api/v1/inspections/{id}");
    let answers: Vec<Value> = ["p.patrol", "p.handover", "p.exits"]
        .iter()
        .enumerate()
        .map(|(k, item)| json!({ "client_uuid": format!("90000000-0000-4000-8000-{k:012}"), "ruleset": "three", "item": item, "value": false }))
        .collect();
    let (st, r) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": answers }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, _) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "钱院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, s) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    assert_eq!(s["hazards"], 3);
    // 100 − 2 − 2 − 10 = 86.
    let c = level(&w).await;
    assert_eq!(c["score"], 86, "{c}");
    assert_eq!(c["level"]["id"], "B");

    // The institution fixes the two general ones, with photos; the inspector verifies them.
    let (_, list) = w
        .server
        .get(
            &format!("/api/v1/lists/rectifications?inspection={id}"),
            &w.institution,
        )
        .await;
    let items = list["items"].as_array().unwrap().clone();
    let jpeg = crate::fixtures::jpeg_of(&crate::fixtures::picture(200, 150), None);
    for (k, e) in items.iter().filter(|e| e["level"] == "general").enumerate() {
        let rid = e["rectification_id"].as_str().unwrap();
        let (st, _, photo) = w
            .server
            .raw(
                Method::POST,
                &format!("/api/v1/rectifications/{rid}/evidence?client_uuid=91000000-0000-4000-8000-{k:012}"),
                Some(&w.institution),
                Some("image/jpeg"),
                jpeg.clone(),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{photo}");
        let (st, r) = w
            .server
            .post(
                &format!("/api/v1/rectifications/{rid}/submit"),
                Some(&w.institution),
                json!({ "note": "已整改并建立记录", "evidence": [photo["id"]] }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let (st, r) = w
            .server
            .post(
                &format!("/api/v1/rectifications/{rid}/verify"),
                Some(&w.inspector),
                json!({ "note": "复查合格" }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    // + 1 + 1 for the verified fixes: 88, still B.
    assert_eq!(level(&w).await["score"], 88);

    // The major one's deadline passes unfixed.
    let major = items.iter().find(|e| e["level"] == "major").unwrap();
    let rid = major["rectification_id"].as_str().unwrap().to_owned();
    let pool = w.server.state.pool.clone();
    let r2 = rid.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!(
            "UPDATE rectifications SET deadline = '2026-01-01' WHERE id = '{r2}'"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (_, overdue) = w
        .server
        .get("/api/v1/lists/rectifications?overdue=true", &w.admin)
        .await;
    assert_eq!(overdue["total"], 1);
    let (st, e) = w
        .server
        .post("/api/v1/escalations/run", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(e["escalated"], json!([rid]));
    assert_eq!(
        e["rechecks"].as_array().unwrap().len(),
        1,
        "a look-back re-inspection is created"
    );
    // The look-back re-inspection covers only what is still open.
    let recheck = e["rechecks"][0].as_str().unwrap().to_owned();
    let (st, pkg) = w
        .server
        .get(
            &format!("/api/v1/inspections/{recheck}/package"),
            &w.inspector,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{pkg}");
    assert_eq!(pkg["inspection"]["scope"], json!(["three:p.exits"]));
    let (st, r) = w
        .server
        .post(
            &format!("/api/v1/inspections/{recheck}/answers"),
            Some(&w.inspector),
            json!({ "answers": [
                { "client_uuid": "92000000-0000-4000-8000-000000000001", "ruleset": "three", "item": "p.patrol", "value": true },
                { "client_uuid": "92000000-0000-4000-8000-000000000002", "ruleset": "three", "item": "p.exits", "value": true },
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["results"][0]["status"], "rejected");
    assert_eq!(r["results"][0]["field"], "item");
    assert_eq!(r["results"][1]["status"], "applied");
    // − 20 for the overdue major hazard: 68, C.
    let c = level(&w).await;
    assert_eq!(c["score"], 68, "{c}");
    assert_eq!(c["level"]["id"], "C");

    // The bureau publishes; the public sees the result and the level.
    let (st, b) = w
        .server
        .post("/api/v1/publications/batches", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let kinds: Vec<&str> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"spot_check") && kinds.contains(&"credit"),
        "{b}"
    );
    let (st, _) = w
        .server
        .post(
            &format!(
                "/api/v1/publications/batches/{}/publish",
                b["id"].as_str().unwrap()
            ),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, public) = w
        .server
        .call(
            Method::GET,
            "/public/v1/publications?kind=credit",
            None,
            None,
        )
        .await;
    assert_eq!(public["items"][0]["record"]["level"], "C", "{public}");
    assert_eq!(public["items"][0]["record"]["institution"], "测试养老院1");
    let (_, checks) = w
        .server
        .call(
            Method::GET,
            "/public/v1/publications?kind=spot_check",
            None,
            None,
        )
        .await;
    assert_eq!(checks["items"][0]["record"]["result"], "发现重大事故隐患");
    let seq = checks["items"][0]["audit_seq"].as_i64().unwrap();

    // The audit chain verifies, and names the first altered entry.
    let url = w.server.state.config.database_url.clone();
    let verify = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_caregrade"));
        for (k, _) in std::env::vars() {
            if k.starts_with("CAREGRADE_") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .args(["audit", "verify"])
            .env("CAREGRADE_DATABASE_URL", &url)
            .env("CAREGRADE_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, text) = verify();
    assert!(ok, "{text}");
    let pool = w.server.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!(
            "UPDATE audit_log SET actor = 'someone else' WHERE seq = {seq}"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (ok, text) = verify();
    assert!(!ok, "{text}");
    assert!(text.contains(&format!("broken at entry {seq}")), "{text}");
}
