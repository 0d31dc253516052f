//! Grading: self-assessment → application (refused for each guard that applies) → review →
//! assessors with recusal → on-site assessment → decision (a different grade needs a reason) →
//! notice → grant, with the item-by-item comparison.

use crate::harness::{World, inspector_body};
use crate::rulesets::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CREDIT: &str = include_str!("../../dsl/tests/rulesets/mini_credit.rules");

fn standard4() -> String {
    STANDARD.replacen(
        "        grade g3 \"三级\" {",
        "        grade g4 \"四级\" {\n            total >= 20\n            each part >= 100%\n            require occupancy >= 40% \"入住率不低于40%\"\n        }\n        grade g3 \"三级\" {",
        1,
    )
}

fn best(prefix: u32) -> Value {
    let a = |n: u32, item: &str, v: Value| json!({ "client_uuid": format!("60000000-0000-4000-8000-{prefix:04}{n:08}"), "ruleset": "mini", "item": item, "value": v });
    json!({ "answers": [
        a(1, "env.traffic.stop", json!("both")),
        a(2, "env.traffic.bus", json!(250)),
        a(3, "env.traffic.inner", json!(true)),
        a(4, "env.traffic.records", json!(0)),
        a(5, "service.care", json!("full")),
    ]})
}

#[tokio::test]
async fn from_self_assessment_to_granted_grade() {
    let w = World::new().await;
    // Grades must be listed lowest first: put g4 after g3.
    let src = standard4();
    let g3 = src.find("grade g3").unwrap();
    let g4 = src.find("grade g4").unwrap();
    assert!(g4 < g3);
    let src = {
        let start = src[..g4].rfind('\n').unwrap() + 1;
        let end = g3 - 8;
        let block = src[start..end].to_owned();
        let without = format!("{}{}", &src[..start], &src[end..]);
        let g3_end = without.find("\"入住率不低于40%\"\n        }\n").unwrap()
            + "\"入住率不低于40%\"\n        }\n".len();
        format!("{}{}{}", &without[..g3_end], block, &without[g3_end..])
    };
    let (st, v) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "mini4.rules", "source": src, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (_, sa) = w
        .server
        .post("/api/v1/self-assessments", Some(&w.institution), json!({}))
        .await;
    let sa_id = sa["id"].as_str().unwrap().to_owned();
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/inspections/{sa_id}/answers"),
            Some(&w.institution),
            best(1),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let apply = |grade: &str| json!({ "self_assessment_id": sa_id, "requested_grade": grade });
    // Not scored yet.
    let (st, p) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            apply("g3"),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    let (st, run) = w
        .server
        .post(
            &format!("/api/v1/self-assessments/{sa_id}/runs"),
            Some(&w.institution),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{run}");
    // A first application above 三级 is refused, with the reason.
    let (st, p) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            apply("g4"),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["code"], "application_refused");
    assert_eq!(p["errors"][0]["guard"], "first_application_above_g3");
    let (st, p) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            apply("g9"),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "requested_grade");
    let (st, app) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            apply("g3"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{app}");
    let id = app["id"].as_str().unwrap().to_owned();
    let path = |what: &str| format!("/api/v1/grading/applications/{id}/{what}");
    let (st, _) = w
        .server
        .post(
            &path("review"),
            Some(&w.admin),
            json!({ "eligible": false }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a refusal needs a reason");
    let (st, r) = w
        .server
        .post(&path("review"), Some(&w.admin), json!({ "eligible": true }))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "eligible");
    // Assessors: two, none from the institution's district.
    let (_, near) = w
        .server
        .post(
            "/api/v1/inspectors",
            Some(&w.admin),
            inspector_body(60, "430102"),
        )
        .await;
    let (_, far) = w
        .server
        .post(
            "/api/v1/inspectors",
            Some(&w.admin),
            inspector_body(61, "430111"),
        )
        .await;
    let (st, p) = w
        .server
        .post(
            &path("assessors"),
            Some(&w.admin),
            json!({ "assessors": [w.inspector_id, near["id"]] }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("recuse"), "{p}");
    let (st, r) = w
        .server
        .post(
            &path("assessors"),
            Some(&w.admin),
            json!({ "assessors": [w.inspector_id, far["id"]] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let assessment = r["assessment_id"].as_str().unwrap().to_owned();
    // The decision waits for the assessment.
    let (st, p) = w
        .server
        .post(&path("decision"), Some(&w.admin), json!({ "grade": "g3" }))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    // On site: the world's inspector answers, one item worse than the self-assessment.
    let insp = format!("/api/v1/inspections/{assessment}");
    let mut answers = best(2);
    answers["answers"][4]["value"] = json!("partial");
    for (k, a) in answers["answers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        a["client_uuid"] = json!(format!("70000000-0000-4000-8000-{k:012}"));
    }
    let (st, r) = w
        .server
        .post(&format!("{insp}/answers"), Some(&w.inspector), answers)
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, _) = w
        .server
        .post(
            &format!("{insp}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, s) = w
        .server
        .post(&format!("{insp}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let computed = s["outcomes"][0]["grade"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    // 环境 10 + 服务 5 (部分符合) = 15: 二级 (≥ 12, each part ≥ 50 %), short of 三级 (18).
    assert_eq!(computed, "g2");
    let other = if computed == "g1" { "g2" } else { "g1" };
    let (st, p) = w
        .server
        .post(&path("decision"), Some(&w.admin), json!({ "grade": other }))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["field"], "reason");
    let (st, d) = w
        .server
        .post(
            &path("decision"),
            Some(&w.admin),
            json!({ "grade": computed, "notice_days": 7 }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "decided");
    // The comparison flags the item the assessors scored lower.
    let care = d["comparison"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "service.care")
        .unwrap()
        .clone();
    assert_eq!(care["self_points"], 10);
    assert_eq!(care["official_points"], 5);
    assert_eq!(care["large_difference"], true);
    let (st, p) = w
        .server
        .post(&path("grant"), Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "notice_running");
    // The notice ends (moved back behind the API's back), and the grade is granted.
    let pool = w.server.state.pool.clone();
    let app_id = id.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE grade_applications SET notice_until = '2026-01-01' WHERE id = '{app_id}'"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (st, g) = w
        .server
        .post(&path("grant"), Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{g}");
    assert_eq!(g["grade"], computed.as_str());
    assert_eq!(g["status"], "active");
    assert!(g["certificate_no"].as_str().unwrap().starts_with("430102-"));
    let (st, list) = w
        .server
        .get(
            &format!("/api/v1/institutions/{}/grades", w.own),
            &w.institution,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Holding the grade, a new application for it is refused.
    let (st, p) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            apply(&computed),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["guard"], "grade_held");
    // The bureau publishes the grade.
    let (st, b) = w
        .server
        .post("/api/v1/publications/batches", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let grade_item = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "grade")
        .unwrap()
        .clone();
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
            reqwest::Method::GET,
            "/public/v1/publications?kind=grade",
            None,
            None,
        )
        .await;
    assert_eq!(public["total"], 1, "{public}");
    assert_eq!(
        public["items"][0]["record"]["certificate_no"],
        g["certificate_no"]
    );
    assert_eq!(public["items"][0]["id"], grade_item["id"]);
    // Upgrading within a year of the decision is refused; so is a second upgrade in a validity.
    {
        let (st, p) = w
            .server
            .post(
                "/api/v1/grading/applications",
                Some(&w.institution),
                apply("g3"),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["errors"][0]["guard"], "upgrade_too_soon");
        let pool = w.server.state.pool.clone();
        tokio::task::spawn_blocking(move || {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "UPDATE grades SET upgrade_of = 'earlier', decision_date = '2025-01-10'",
            )
            .execute(&mut pool.get().unwrap())
            .unwrap()
        })
        .await
        .unwrap();
        let (st, p) = w
            .server
            .post(
                "/api/v1/grading/applications",
                Some(&w.institution),
                apply("g3"),
            )
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["errors"][0]["guard"], "already_upgraded");
    }
    // A re-check finds the grade no longer met: downgraded to 一级, then withdrawn.
    let gid = g["id"].as_str().unwrap();
    let (st, p) = w
        .server
        .post(
            &format!("/api/v1/grades/{gid}/change"),
            Some(&w.admin),
            json!({ "status": "downgraded", "grade": "g9", "reason": "复核" }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    {
        let (st, lower) = w
            .server
            .post(
                &format!("/api/v1/grades/{gid}/change"),
                Some(&w.admin),
                json!({ "status": "downgraded", "grade": "g1", "reason": "年度复核不达标" }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{lower}");
        assert_eq!(lower["grade"], "g1");
        assert_eq!(lower["valid_until"], g["valid_until"]);
        let (st, gone) = w
            .server
            .post(
                &format!("/api/v1/grades/{}/change", lower["id"].as_str().unwrap()),
                Some(&w.admin),
                json!({ "status": "withdrawn", "reason": "发生重大责任事故" }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{gone}");
        let (_, list) = w
            .server
            .get(&format!("/api/v1/institutions/{}/grades", w.own), &w.admin)
            .await;
        let statuses: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["status"].as_str().unwrap())
            .collect();
        assert!(
            statuses.contains(&"downgraded") && statuses.contains(&"withdrawn"),
            "{list}"
        );
        let (st, _) = w
            .server
            .post(
                &format!("/api/v1/grades/{gid}/change"),
                Some(&w.admin),
                json!({ "status": "withdrawn", "reason": "x" }),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "only an active grade changes");
    }
}

#[tokio::test]
async fn every_guard_that_applies_is_named() {
    let w = World::new().await;
    let (st, _) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "mini.rules", "source": STANDARD, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let credit = CREDIT.replacen(
        "    event praise",
        "    event penalty \"行政处罚\" {\n        points -5\n    }\n    event praise",
        1,
    );
    let (st, v) = w
        .server
        .post(
            "/api/v1/rulesets",
            Some(&w.root),
            json!({ "file_name": "credit.rules", "source": credit, "activate": true }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let events = format!("/api/v1/institutions/{}/credit/events", w.own);
    let today = caregrade::inspections::submit::today_cn()
        .format("%Y-%m-%d")
        .to_string();
    for (kind, doc) in [
        ("penalty", "长民罚〔2026〕7号"),
        ("fire_overdue", "长民信〔2026〕3号"),
    ] {
        let (st, e) = w
            .server
            .post(
                &events,
                Some(&w.admin),
                json!({ "kind": kind, "occurred_on": today, "document_no": doc }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{e}");
    }
    let (_, sa) = w
        .server
        .post("/api/v1/self-assessments", Some(&w.institution), json!({}))
        .await;
    let sa_id = sa["id"].as_str().unwrap();
    // Not filed any more (the registry says so), and an application failed this year.
    let (_, inst) = w
        .server
        .get(&format!("/api/v1/institutions/{}", w.own), &w.admin)
        .await;
    let mut body = crate::harness::institution_body(1, "430102");
    body["filed"] = json!(false);
    body["filed_on"] = json!(null);
    body["version"] = inst["version"].clone();
    let (st, v) = w
        .server
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/institutions/{}", w.own),
            Some(&w.admin),
            Some(body),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let pool = w.server.state.pool.clone();
    let (own, sa_owned) = (w.own.clone(), sa_id.to_owned());
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "INSERT INTO grade_applications (id, institution_id, district_code, self_assessment_id, requested_grade, status, decided_grade, decided_on, version, created_at, updated_at) \
             VALUES ('failed-1', '{own}', '430102', '{sa_owned}', 'g2', 'closed', 'none', '{}', 1, 'x', 'x')",
            caregrade::inspections::submit::today_cn().format("%Y-%m-%d")
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/self-assessments/{sa_id}/runs"),
            Some(&w.institution),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, p) = w
        .server
        .post(
            "/api/v1/grading/applications",
            Some(&w.institution),
            json!({ "self_assessment_id": sa_id, "requested_grade": "g1" }),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let guards: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["guard"].as_str().unwrap())
        .collect();
    assert_eq!(
        guards,
        [
            "not_filed",
            "blacklisted",
            "penalty_within_2_years",
            "failed_within_2_years"
        ],
        "{p}"
    );
}
