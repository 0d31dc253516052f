//! 一公开: draft, review, publish once; the public sees it without logging in, with its proof in
//! the audit chain; corrections and withdrawals show; late results are listed.

use crate::harness::World;
use crate::inspections::submitted_with_two_hazards;
use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn publish_correct_withdraw_and_the_window() {
    let w = World::new().await;
    let insp = submitted_with_two_hazards(&w).await;
    let (st, public) = w
        .server
        .call(Method::GET, "/public/v1/publications", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(public["total"], 0);
    // Submitted long ago and not published: listed as late until it is.
    let pool = w.server.state.pool.clone();
    let i = insp.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!(
            "UPDATE inspections SET submitted_at = '2026-01-05T02:00:00.000Z' WHERE id = '{i}'"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (st, late) = w.server.get("/api/v1/publications/late", &w.admin).await;
    assert_eq!(st, StatusCode::OK, "{late}");
    assert_eq!(late[0]["inspection_id"], insp.as_str());
    assert_eq!(late[0]["due_on"], "2026-02-02");
    let (st, b) = w
        .server
        .post("/api/v1/publications/batches", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "draft");
    let items = b["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{b}");
    assert_eq!(items[0]["kind"], "spot_check");
    assert_eq!(items[0]["source_id"], insp.as_str());
    let batch = b["id"].as_str().unwrap().to_owned();
    // Nothing is public while the batch is a draft.
    let (_, public) = w
        .server
        .call(Method::GET, "/public/v1/publications", None, None)
        .await;
    assert_eq!(public["total"], 0);
    let (st, p) = w
        .server
        .post(
            &format!("/api/v1/publications/batches/{batch}/publish"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, again) = w
        .server
        .post(
            &format!("/api/v1/publications/batches/{batch}/publish"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["code"], "already_published");
    let res = w
        .server
        .client
        .get(format!(
            "{}/public/v1/publications?kind=spot_check&district=4301",
            w.server.base
        ))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("public")
    );
    let public: serde_json::Value = res.json().await.unwrap();
    assert_eq!(public["total"], 1, "{public}");
    let rec = &public["items"][0];
    assert_eq!(rec["record"]["institution"], "测试养老院1");
    assert_eq!(rec["record"]["result"], "发现重大事故隐患");
    assert!(rec["audit_seq"].as_i64().unwrap() > 0);
    let first = rec["id"].as_str().unwrap().to_owned();
    // Nothing new to publish.
    let (st, p) = w
        .server
        .post("/api/v1/publications/batches", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "nothing_to_publish");
    // A correction replaces it in the lists; the old record points to it.
    let (st, c) = w
        .server
        .post(
            &format!("/api/v1/publications/{first}/correct"),
            Some(&w.admin),
            json!({ "changes": { "measure": "责令立即整改，已复查" }, "reason": "处理措施表述更正" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["replaces"], first.as_str());
    let second = c["id"].as_str().unwrap().to_owned();
    let (_, old) = w
        .server
        .call(
            Method::GET,
            &format!("/public/v1/publications/{first}"),
            None,
            None,
        )
        .await;
    assert_eq!(old["status"], "corrected");
    assert_eq!(old["corrected_by"], second.as_str());
    let (_, public) = w
        .server
        .call(Method::GET, "/public/v1/publications", None, None)
        .await;
    assert_eq!(public["total"], 1);
    assert_eq!(public["items"][0]["id"], second.as_str());
    // Withdrawn: gone from lists, shown by id with its reason.
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/publications/{second}/withdraw"),
            Some(&w.admin_other_city),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, wd) = w
        .server
        .post(
            &format!("/api/v1/publications/{second}/withdraw"),
            Some(&w.admin),
            json!({ "reason": "机构申诉复核中" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{wd}");
    assert_eq!(wd["status"], "withdrawn");
    assert_eq!(wd["reason"], "机构申诉复核中");
    let (_, public) = w
        .server
        .call(Method::GET, "/public/v1/publications", None, None)
        .await;
    assert_eq!(public["total"], 0);
    let (_, late) = w.server.get("/api/v1/publications/late", &w.admin).await;
    assert_eq!(
        late,
        json!([]),
        "published once, in time or not, it is no longer due"
    );
    let (st, _) = w
        .server
        .get("/api/v1/publications/late", &w.inspector)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// The 20-working-day window follows the configured calendar: weekday holidays do not count, a
/// make-up Saturday (调休) does. The dates are illustrative, not a real year's notice.
#[tokio::test]
async fn the_window_follows_the_configured_calendar() {
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let w = World::new_with(|c| {
        c.holidays = [
            "2026-01-26",
            "2026-01-27",
            "2026-01-28",
            "2026-01-29",
            "2026-01-30",
        ]
        .iter()
        .map(|d| day(d))
        .collect();
        c.extra_working_days = vec![day("2026-01-31")];
    })
    .await;
    let insp = submitted_with_two_hazards(&w).await;
    let pool = w.server.state.pool.clone();
    let i = insp.clone();
    tokio::task::spawn_blocking(move || {
        diesel::sql_query(format!(
            "UPDATE inspections SET submitted_at = '2026-01-05T02:00:00.000Z' WHERE id = '{i}'"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (st, late) = w.server.get("/api/v1/publications/late", &w.admin).await;
    assert_eq!(st, StatusCode::OK, "{late}");
    assert_eq!(late[0]["inspection_id"], insp.as_str());
    // Weekdays only: 2026-02-02. Five holidays push it to 02-09; the make-up Saturday pulls it
    // back to 02-06.
    assert_eq!(late[0]["due_on"], "2026-02-06");
}
