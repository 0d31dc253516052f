//! A whole 双随机 spot check as phones play it: plan and draw, the public draw verified, the
//! package downloaded, answers synced with retries and duplicates, a photo uploaded in chunks and
//! resumed after a cut, the representative's acknowledgement, submit, the three lists and their
//! CSV export. Runs on SQLite + local store and on PostgreSQL + S3 (scripts/test.sh).

use crate::draws::{plan_body, region};
use crate::fixtures::{jpeg_of, picture};
use crate::harness::{World, create_user, token};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_spot_check_from_draw_to_lists() {
    let w = World::new().await;
    let (checklist, sampling) = region(&w).await;
    // The bureau plans and draws with a seed published beforehand.
    let (st, plan) = w
        .server
        .post(
            "/api/v1/plans",
            Some(&w.admin),
            plan_body(&checklist, &sampling),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{plan}");
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    let (st, drawn) = w
        .server
        .post(
            &format!("/api/v1/plans/{plan_id}/draw"),
            Some(&w.admin),
            json!({ "seed": "2026-11-20 福彩3D 第2026310期 517" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{drawn}");
    // Anyone verifies the draw from the public JSON.
    let (_, public) = w
        .server
        .call(
            Method::GET,
            &format!("/public/v1/draws/{plan_id}"),
            None,
            None,
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("draw.json");
    std::fs::write(&file, serde_json::to_vec(&public).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_caregrade"))
        .args(["draw", "verify"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The first drawn team member logs in on the phone.
    let pick = &drawn["result"]["picks"][0];
    let member = pick["team"][0].as_str().unwrap();
    create_user(&w.server, &w.admin, json!({"username": "phone", "password": "password-ph", "role": "inspector", "region_code": "4301", "inspector_id": member})).await;
    let phone = token(&w.server.login("phone", "password-ph").await);
    let (_, mine) = w
        .server
        .get(&format!("/api/v1/inspections?plan={plan_id}"), &phone)
        .await;
    let inspection = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["institution"]["id"] == pick["institution"])
        .unwrap()
        .clone();
    let id = inspection["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/inspections/{id}");

    // Offline package: facts, compiled ruleset, nothing answered yet.
    let (st, pkg) = w.server.get(&format!("{base}/package"), &phone).await;
    assert_eq!(st, StatusCode::OK, "{pkg}");
    assert_eq!(pkg["rulesets"][0]["compiled"]["id"], "fire_mini");
    assert_eq!(pkg["answers"], json!([]));
    let (st, _) = w
        .server
        .post(&format!("{base}/start"), Some(&phone), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);

    // Answers synced offline-first: the first batch is resent after a timeout, with one more.
    let a = |uuid: &str, item: &str, value: Value| json!({ "client_uuid": uuid, "ruleset": "fire_mini", "item": item, "value": value, "base_version": 0, "note": "东楼一层" });
    let first = json!({ "answers": [
        a("50000000-0000-4000-8000-000000000001", "duty.control_room", json!(false)),
    ]});
    let (st, r) = w
        .server
        .post(&format!("{base}/answers"), Some(&phone), first)
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let retry = json!({ "answers": [
        a("50000000-0000-4000-8000-000000000001", "duty.control_room", json!(false)),
        a("50000000-0000-4000-8000-000000000002", "duty.exits", json!("locked")),
    ]});
    let (st, r) = w
        .server
        .post(&format!("{base}/answers"), Some(&phone), retry)
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["duplicates"], 1);
    assert_eq!(r["applied"], 1);

    // The control-room photo goes up in chunks; the connection drops after the first.
    let photo = jpeg_of(&picture(1200, 900), None);
    let half = photo.len() / 2;
    let announce = json!({
        "ruleset": "fire_mini", "item": "duty.control_room",
        "client_uuid": "50000000-0000-4000-8000-0000000000aa",
        "size": photo.len(), "sha256": caregrade::store::sha256_hex(&photo)
    });
    let (st, up) = w
        .server
        .post(&format!("{base}/uploads"), Some(&phone), announce.clone())
        .await;
    assert_eq!(st, StatusCode::CREATED, "{up}");
    let uid = up["id"].as_str().unwrap().to_owned();
    let put = |offset: usize, bytes: Vec<u8>| {
        let req = w
            .server
            .client
            .put(format!(
                "{}/api/v1/uploads/{uid}?offset={offset}",
                w.server.base
            ))
            .bearer_auth(&phone)
            .header("x-chunk-sha256", caregrade::store::sha256_hex(&bytes))
            .body(bytes);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(put(0, photo[..half].to_vec()).await, StatusCode::OK);
    let (_, resumed) = w
        .server
        .post(&format!("{base}/uploads"), Some(&phone), announce)
        .await;
    let at = resumed["received"].as_u64().unwrap() as usize;
    assert_eq!(at, half);
    assert_eq!(put(at, photo[at..].to_vec()).await, StatusCode::OK);
    let (st, p) = w
        .server
        .post(
            &format!("/api/v1/uploads/{uid}/complete"),
            Some(&phone),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");

    // The representative acknowledges; the phone submits (twice, as a retry would).
    let (st, _) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&phone),
            json!({ "name": "赵院长", "role": "院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, s) = w
        .server
        .post(&format!("{base}/submit"), Some(&phone), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    assert_eq!(s["hazards"], 2);
    let (st, s2) = w
        .server
        .post(&format!("{base}/submit"), Some(&phone), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s2["outcomes"], s["outcomes"]);

    // The three lists for the region, and the export.
    for list in ["hazards", "rectifications", "responsibilities"] {
        let (st, l) = w
            .server
            .get(&format!("/api/v1/lists/{list}?inspection={id}"), &w.admin)
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(l["total"], 2, "{list}: {l}");
    }
    let (_, hz) = w
        .server
        .get(
            &format!("/api/v1/lists/hazards?inspection={id}&level=general"),
            &w.admin,
        )
        .await;
    assert_eq!(hz["items"][0]["photos"], json!([p["id"]]));
    assert_eq!(hz["items"][0]["location"], "东楼一层");
    let res = w
        .server
        .client
        .get(format!(
            "{}/api/v1/lists/hazards/export?district=4301",
            w.server.base
        ))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    let text = String::from_utf8(res.bytes().await.unwrap()[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("重大隐患（待专家认定）"), "{text}");
}
