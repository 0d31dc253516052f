//! The rectification loop: the institution reports fixes, the bureau's side verifies or rejects,
//! deadlines move only with a reason, overdue items escalate once.

use crate::harness::World;
use crate::inspections::submitted_with_two_hazards;
use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn rects(w: &World, inspection: &str) -> (Value, Value) {
    let (st, l) = w
        .server
        .get(
            &format!("/api/v1/lists/rectifications?inspection={inspection}"),
            &w.admin,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    let items = l["items"].as_array().unwrap();
    let general = items
        .iter()
        .find(|e| e["level"] == "general")
        .unwrap()
        .clone();
    let major = items
        .iter()
        .find(|e| e["level"] == "major")
        .unwrap()
        .clone();
    (general, major)
}

async fn sql(w: &World, statement: String) {
    let pool = w.server.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(statement)
            .execute(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn fix_verify_reject_and_extend() {
    let w = World::new().await;
    let insp = submitted_with_two_hazards(&w).await;
    let (general, major) = rects(&w, &insp).await;
    let g = general["rectification_id"].as_str().unwrap();
    let m = major["rectification_id"].as_str().unwrap();
    let path = |id: &str, what: &str| format!("/api/v1/rectifications/{id}/{what}");
    // Evidence must be photos of this hazard's inspection.
    let (st, p) = w
        .server
        .post(
            &path(g, "submit"),
            Some(&w.institution),
            json!({ "note": "已安排双人值班", "evidence": ["nope"] }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "evidence");
    // The institution photographs the fix through the same upload checks.
    let jpeg = crate::fixtures::jpeg_of(&crate::fixtures::picture(320, 240), None);
    let (st, _, ev) = w
        .server
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/rectifications/{g}/evidence?client_uuid=80000000-0000-4000-8000-000000000001"),
            Some(&w.institution),
            Some("image/jpeg"),
            jpeg,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ev}");
    let (st, _, bad) = w
        .server
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/rectifications/{g}/evidence?client_uuid=80000000-0000-4000-8000-000000000002"),
            Some(&w.institution),
            Some("image/jpeg"),
            b"%PDF-1.4".to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{bad}");
    let photo = ev["id"].as_str().unwrap().to_owned();
    // A stale version is refused with the current record.
    let (st, p) = w
        .server
        .post(
            &path(g, "submit"),
            Some(&w.institution),
            json!({ "note": "x", "version": 7 }),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "version_conflict");
    assert_eq!(p["current"]["version"], 1);
    let (st, r) = w
        .server
        .post(
            &path(g, "submit"),
            Some(&w.institution),
            json!({ "note": "已安排双人持证值班", "evidence": [photo], "version": 1 }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "submitted");
    // The institution cannot verify its own fix; the inspector can.
    let (st, _) = w
        .server
        .post(&path(g, "verify"), Some(&w.institution), json!({}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = w
        .server
        .post(
            &path(g, "verify"),
            Some(&w.inspector),
            json!({ "note": "现场核实" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "verified");
    let steps: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["submitted", "verified"]);
    // A verified item is closed for the institution.
    let (st, p) = w
        .server
        .post(
            &path(g, "submit"),
            Some(&w.institution),
            json!({ "note": "again" }),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(p["code"], "rectification_verified");
    // Rejection sends the major one back to open with the deadline unchanged.
    let deadline = major["deadline"].clone();
    let (st, _) = w
        .server
        .post(
            &path(m, "submit"),
            Some(&w.institution),
            json!({ "note": "已清理" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, r) = w
        .server
        .post(
            &path(m, "reject"),
            Some(&w.admin),
            json!({ "reason": "通道仍有杂物" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "open");
    assert_eq!(r["deadline"], deadline);
    // Verifying what was not reported fixed is refused.
    let (st, p) = w
        .server
        .post(&path(m, "verify"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    // Extending needs a reason and a date not in the past; only the bureau extends.
    let (st, p) = w
        .server
        .post(
            &path(m, "extend"),
            Some(&w.admin),
            json!({ "deadline": "2001-01-01", "reason": "施工" }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    let (st, _) = w
        .server
        .post(
            &path(m, "extend"),
            Some(&w.institution),
            json!({ "deadline": "2099-01-01", "reason": "施工" }),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, r) = w
        .server
        .post(
            &path(m, "extend"),
            Some(&w.admin),
            json!({ "deadline": "2099-01-01", "reason": "需改造消防通道" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["deadline"], "2099-01-01");
    let last = r["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "extended");
    assert_eq!(last["old_deadline"], deadline);
    assert_eq!(last["note"], "需改造消防通道");
    // Another city's admin does not see it.
    let (st, _) = w
        .server
        .get(&format!("/api/v1/rectifications/{m}"), &w.admin_other_city)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_overdue_major_hazard_escalates_once() {
    let w = World::new().await;
    let insp = submitted_with_two_hazards(&w).await;
    let (_, major) = rects(&w, &insp).await;
    let m = major["rectification_id"].as_str().unwrap().to_owned();
    sql(
        &w,
        format!("UPDATE rectifications SET deadline = '2020-01-01' WHERE id = '{m}'"),
    )
    .await;
    let (_, l) = w
        .server
        .get("/api/v1/lists/rectifications?overdue=true", &w.admin)
        .await;
    assert_eq!(l["total"], 1, "{l}");
    assert_eq!(l["items"][0]["overdue"], true);
    let (st, e) = w
        .server
        .post("/api/v1/escalations/run", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    assert_eq!(e["escalated"], json!([m]));
    assert_eq!(e["rechecks"].as_array().unwrap().len(), 1);
    let (_, again) = w
        .server
        .post("/api/v1/escalations/run", Some(&w.admin), json!({}))
        .await;
    assert_eq!(again["escalated"], json!([]));
    // The credit events: two hazards found, one major overdue — each once.
    let pool = w.server.state.pool.clone();
    let own = w.own.clone();
    let kinds: Vec<String> = tokio::task::spawn_blocking(move || {
        use caregrade::db::schema::credit_events::dsl::*;
        use diesel::prelude::*;
        credit_events
            .filter(institution_id.eq(own))
            .select(kind)
            .order(kind)
            .load(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(kinds, ["hazard_general", "hazard_major", "major_overdue"]);
    let (st, r) = w
        .server
        .get(&format!("/api/v1/rectifications/{m}"), &w.institution)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        r["steps"].as_array().unwrap().last().unwrap()["action"],
        "escalated"
    );
    let (st, _) = w
        .server
        .post("/api/v1/escalations/run", Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
