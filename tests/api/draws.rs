//! 双随机: plans, the reproducible draw, `caregrade draw verify` on the public JSON, replacements,
//! and who sees which inspection.

use crate::harness::{World, create_user, inspector_body, institution_body, token};
use crate::rulesets::CHECKLIST;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SAMPLING: &str = include_str!("../../dsl/tests/rulesets/mini_sampling.rules");

fn verify_cli(args: &[&std::path::Path]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_caregrade"))
        .arg("draw")
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A region of 12 institutions and 6 inspectors, a checklist and a sampling policy stored.
/// Returns (checklist hash, sampling hash).
pub async fn region(w: &World) -> (String, String) {
    for n in 10..20 {
        let mut b = institution_body(n, if n % 2 == 0 { "430105" } else { "430111" });
        b["facts"] = json!({ "credit": if n % 3 == 0 { "C" } else { "A" }, "graded": n % 4 == 0 });
        let (st, v) = w
            .server
            .post("/api/v1/institutions", Some(&w.admin), b)
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    for n in 10..15 {
        let (st, v) = w
            .server
            .post(
                "/api/v1/inspectors",
                Some(&w.admin),
                inspector_body(n, "430121"),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let mut hashes = Vec::new();
    for (file, src) in [
        ("mini_checklist.rules", CHECKLIST),
        ("mini_sampling.rules", SAMPLING),
    ] {
        let (st, v) = w
            .server
            .post(
                "/api/v1/rulesets",
                Some(&w.admin),
                json!({ "file_name": file, "source": src }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        hashes.push(v["hash"].as_str().unwrap().to_owned());
    }
    (hashes[0].clone(), hashes[1].clone())
}

pub fn plan_body(checklist: &str, sampling: &str) -> Value {
    json!({
        "name": "2026年第一轮养老机构双随机抽查",
        "year": 2026, "round": 1,
        "districts": ["4301"],
        "rulesets": [checklist],
        "sampling": sampling,
        "deadline": "2026-12-31"
    })
}

#[tokio::test]
async fn plan_validation_names_the_field() {
    let w = World::new().await;
    let (checklist, sampling) = region(&w).await;
    let mut b = plan_body(&checklist, &sampling);
    b["districts"] = json!(["4302"]);
    let (st, p) = w.server.post("/api/v1/plans", Some(&w.admin), b).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "districts[0]");
    let mut b = plan_body(&checklist, &checklist);
    b["sampling"] = json!(checklist);
    let (st, p) = w.server.post("/api/v1/plans", Some(&w.admin), b).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "sampling");
    let (st, _) = w
        .server
        .post(
            "/api/v1/plans",
            Some(&w.inspector),
            plan_body(&checklist, &sampling),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_draw_is_reproducible_and_never_repeated() {
    let w = World::new().await;
    let (checklist, sampling) = region(&w).await;
    // The credit level the draw weighs is the one the records give today, not the registry's.
    let credit = include_str!("../../dsl/tests/rulesets/mini_credit.rules");
    let (st, _) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "mini_credit.rules", "source": credit, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = w
        .server
        .post(
            &format!("/api/v1/institutions/{}/credit/events", w.own),
            Some(&w.admin),
            json!({ "kind": "fire_overdue", "occurred_on": "2026-03-01", "document_no": "长民信〔2026〕9号" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let (st, plan) = w
        .server
        .post(
            "/api/v1/plans",
            Some(&w.admin),
            plan_body(&checklist, &sampling),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    let id = plan["id"].as_str().unwrap().to_owned();
    let seed = json!({ "seed": "体彩排列5 2026-11-20 第26310期 41729" });
    let (st, d) = w
        .server
        .post(
            &format!("/api/v1/plans/{id}/draw"),
            Some(&w.admin),
            seed.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let picks = d["result"]["picks"].as_array().unwrap();
    let own = d["input"]["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == w.own.as_str())
        .unwrap();
    assert_eq!(
        own["facts"]["credit"], "B",
        "100 − 20 under the credit policy in force: {own}"
    );
    // 12 institutions in scope, ratio 30 % → at least 4 (coverage rules may add).
    assert_eq!(d["input"]["institutions"].as_array().unwrap().len(), 12);
    assert!(picks.len() >= 4, "{d}");
    let inspectors: std::collections::HashMap<String, String> = d["input"]["inspectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["district"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let institutions: std::collections::HashMap<String, String> = d["input"]["institutions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["district"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for p in picks {
        let team = p["team"].as_array().unwrap();
        assert!(team.len() >= 2, "teams of at least two: {p}");
        for m in team {
            assert_ne!(
                inspectors[m.as_str().unwrap()],
                institutions[p["institution"].as_str().unwrap()],
                "recusal: same district"
            );
        }
    }
    let (st, again) = w
        .server
        .post(&format!("/api/v1/plans/{id}/draw"), Some(&w.admin), seed)
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["code"], "already_drawn");
    // One inspection per pick, assigned to its team.
    let (_, list) = w
        .server
        .get(&format!("/api/v1/inspections?plan={id}"), &w.admin)
        .await;
    assert_eq!(
        list["total"].as_u64().unwrap() as usize,
        picks.len(),
        "{list}"
    );

    // The public JSON verifies with the CLI, and a tampered copy does not.
    let (st, public) = w
        .server
        .call(Method::GET, &format!("/public/v1/draws/{id}"), None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("draw.json");
    std::fs::write(&file, serde_json::to_vec(&public).unwrap()).unwrap();
    let (code, text) = verify_cli(&[&file]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("draw verified"), "{text}");
    let mut tampered = public.clone();
    tampered["input"]["seed"] = json!("another seed");
    let bad = dir.path().join("tampered.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let (code, text) = verify_cli(&[&bad]);
    assert_eq!(code, 1, "{text}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{").unwrap();
    assert_eq!(verify_cli(&[&garbage]).0, 2);

    // A replacement is logged, published and recomputes too.
    let pick = &picks[0];
    let leaving = pick["team"][0].as_str().unwrap();
    let (st, r) = w
        .server
        .post(
            &format!("/api/v1/plans/{id}/replacements"),
            Some(&w.admin),
            json!({ "institution_id": pick["institution"], "inspector_id": leaving, "reason": "病假" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    assert_ne!(r["joining"], leaving);
    let (_, public) = w
        .server
        .call(Method::GET, &format!("/public/v1/draws/{id}"), None, None)
        .await;
    assert_eq!(public["replacements"].as_array().unwrap().len(), 1);
    std::fs::write(&file, serde_json::to_vec(&public).unwrap()).unwrap();
    let (code, text) = verify_cli(&[&file]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 replacement"), "{text}");
}

#[tokio::test]
async fn teams_see_their_inspections_and_institutions_only_once_started() {
    let w = World::new().await;
    let (checklist, sampling) = region(&w).await;
    let (_, plan) = w
        .server
        .post(
            "/api/v1/plans",
            Some(&w.admin),
            plan_body(&checklist, &sampling),
        )
        .await;
    let id = plan["id"].as_str().unwrap();
    let (st, d) = w
        .server
        .post(
            &format!("/api/v1/plans/{id}/draw"),
            Some(&w.admin),
            json!({ "seed": "42" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let pick = &d["result"]["picks"][0];
    let member = pick["team"][0].as_str().unwrap();
    let institution = pick["institution"].as_str().unwrap();
    create_user(&w.server, &w.admin, json!({"username": "drawn", "password": "password-dr", "role": "inspector", "region_code": "4301", "inspector_id": member})).await;
    create_user(&w.server, &w.admin, json!({"username": "drawn-inst", "password": "password-di", "role": "institution", "institution_id": institution})).await;
    let insp = token(&w.server.login("drawn", "password-dr").await);
    let inst = token(&w.server.login("drawn-inst", "password-di").await);
    let (_, mine) = w.server.get("/api/v1/inspections", &insp).await;
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| {
        i["team"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == member)
    }));
    let target = items
        .iter()
        .find(|i| i["institution"]["id"] == institution)
        .unwrap();
    let tid = target["id"].as_str().unwrap();
    assert_eq!(target["status"], "assigned");
    assert_eq!(target["due"], "2026-12-31");
    // Unannounced: the institution sees nothing yet.
    let (_, theirs) = w.server.get("/api/v1/inspections", &inst).await;
    assert_eq!(theirs["total"], 0);
    let (st, _) = w
        .server
        .get(&format!("/api/v1/inspections/{tid}"), &inst)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Someone not on the team cannot start it or see it.
    let (st, _) = w
        .server
        .get(&format!("/api/v1/inspections/{tid}"), &w.inspector)
        .await;
    assert!(
        st == StatusCode::NOT_FOUND
            || target["team"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == w.inspector_id.as_str())
    );
    let (st, v) = w
        .server
        .post(
            &format!("/api/v1/inspections/{tid}/start"),
            Some(&insp),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "started");
    let (st, again) = w
        .server
        .post(
            &format!("/api/v1/inspections/{tid}/start"),
            Some(&insp),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        again["version"], v["version"],
        "starting twice changes nothing"
    );
    let (_, theirs) = w.server.get("/api/v1/inspections", &inst).await;
    assert_eq!(theirs["total"], 1);
    let (st, _) = w
        .server
        .get(&format!("/api/v1/inspections/{tid}"), &w.admin_other_city)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}
