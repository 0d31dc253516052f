//! The inspection on the phone: answers synced idempotently, acknowledgement, submit scored by the
//! server, the three lists.

use crate::harness::World;
use crate::rulesets::CHECKLIST;
use caregrade::inspections::{self, InspectionRow};
use caregrade::registry::now_text;
use caregrade::rulesets::{self, Checked};
use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Stores `source` and creates an inspection of the world's own institution under it, assigned
/// to the world's inspector, behind the API's back (the draw that normally creates it is tested
/// in `draws`). Returns the inspection id.
pub async fn seed_inspection(w: &World, source: &'static str) -> String {
    let pool = w.server.state.pool.clone();
    let (own, inspector) = (w.own.clone(), w.inspector_id.clone());
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().unwrap();
        let now = now_text();
        let Checked::Ok { row, .. } =
            rulesets::check_source(&mut c, "mini.rules", source, None, None, &now).unwrap()
        else {
            panic!("fixture does not compile")
        };
        rulesets::store(&mut c, &row).unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let insp = InspectionRow {
            id: id.clone(),
            plan_id: None,
            institution_id: own,
            district_code: "430102".into(),
            purpose: inspections::purpose::SPOT_CHECK.into(),
            rulesets: json!([row.hash]).to_string(),
            status: inspections::status::ASSIGNED.into(),
            version: 1,
            due: None,
            started_at: None,
            acknowledgement: None,
            submitted_at: None,
            submitted_by: None,
            created_at: now.clone(),
            updated_at: now,
            scope: None,
        };
        inspections::create(&mut c, &insp, &[inspector]).unwrap();
        id
    })
    .await
    .unwrap()
}

/// Records a photo of `item` behind the API's back (uploads are tested in `photos`).
pub async fn fake_photo(w: &World, inspection: &str, ruleset: &str, item: &str) -> String {
    let pool = w.server.state.pool.clone();
    let (i, r, it) = (inspection.to_owned(), ruleset.to_owned(), item.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut c = pool.get().unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        diesel::sql_query(format!(
            "INSERT INTO photos (id, inspection_id, ruleset, item, client_uuid, object_key, sha256, size, content_type, width, height, thumb_key, flags, uploaded_by, created_at) \
             VALUES ('{id}', '{i}', '{r}', '{it}', '{id}', 'k', 'h', 1, 'image/jpeg', 1, 1, 't', '[]', 'u', '{}')",
            now_text()
        ))
        .execute(&mut c)
        .unwrap();
        id
    })
    .await
    .unwrap()
}

fn answer(uuid: &str, item: &str, value: Value, base: i32) -> Value {
    json!({
        "client_uuid": uuid,
        "ruleset": "fire_mini",
        "item": item,
        "value": value,
        "base_version": base,
        "note": "二楼东侧",
        "client_time": now_text(),
        "lat": 28.19,
        "lon": 112.97
    })
}

const U1: &str = "00000000-0000-4000-8000-000000000001";
const U2: &str = "00000000-0000-4000-8000-000000000002";
const U3: &str = "00000000-0000-4000-8000-000000000003";
const U4: &str = "00000000-0000-4000-8000-000000000004";
const U5: &str = "00000000-0000-4000-8000-000000000005";
const U6: &str = "00000000-0000-4000-8000-000000000006";

#[tokio::test]
async fn sync_is_idempotent_and_refuses_bad_answers_one_by_one() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let path = format!("/api/v1/inspections/{id}/answers");
    // Before the team arrives the institution does not even learn the inspection exists.
    let (st, _) = w.server.get(&path, &w.institution).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let batch = json!({ "answers": [
        answer(U1, "duty.control_room", json!(false), 0),
        answer(U2, "duty.exits", json!("locked"), 0),
        answer(U3, "duty.no_such_item", json!(true), 0),
        answer(U4, "duty.exits", json!(5), 0),
    ]});
    let (st, r) = w
        .server
        .post(&path, Some(&w.inspector), batch.clone())
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["applied"], 2, "{r}");
    assert_eq!(r["rejected"], 2);
    assert_eq!(r["results"][0]["status"], "applied");
    assert_eq!(r["results"][0]["version"], 1);
    assert_eq!(r["results"][2]["status"], "rejected");
    assert_eq!(r["results"][2]["field"], "item");
    assert_eq!(r["results"][3]["field"], "value");
    let version = r["version"].as_i64().unwrap();
    // The same batch again: same results for the stored ones, nothing written.
    let (st, again) = w.server.post(&path, Some(&w.inspector), batch).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["applied"], 0);
    assert_eq!(again["duplicates"], 2);
    assert_eq!(again["results"][1]["status"], "duplicate");
    assert_eq!(again["results"][1]["version"], 1);
    assert_eq!(again["version"].as_i64().unwrap(), version);
    let (_, hist) = w.server.get(&format!("{path}/history"), &w.inspector).await;
    assert_eq!(hist.as_array().unwrap().len(), 2, "{hist}");
    // The offline package carries everything, and is unchanged until something changes.
    let pkg_path = format!("/api/v1/inspections/{id}/package");
    let (st, pkg) = w.server.get(&pkg_path, &w.inspector).await;
    assert_eq!(st, StatusCode::OK, "{pkg}");
    assert_eq!(pkg["version"].as_i64().unwrap(), version);
    assert_eq!(pkg["rulesets"][0]["id"], "fire_mini");
    assert_eq!(pkg["rulesets"][0]["compiled"]["id"], "fire_mini");
    assert_eq!(
        pkg["rulesets"][0]["compiled"]["hash"],
        pkg["rulesets"][0]["hash"]
    );
    assert_eq!(pkg["facts"]["floors"], 3);
    assert_eq!(pkg["facts"]["sprinklers"], true);
    assert_eq!(pkg["institution"]["id"], w.own.as_str());
    assert_eq!(pkg["answers"].as_array().unwrap().len(), 2);
    let res = w
        .server
        .client
        .get(format!("{}{pkg_path}", w.server.base))
        .bearer_auth(&w.inspector)
        .send()
        .await
        .unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let res = w
        .server
        .client
        .get(format!("{}{pkg_path}", w.server.base))
        .bearer_auth(&w.inspector)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let (st, _) = w.server.get(&pkg_path, &w.admin).await;
    assert_eq!(st, StatusCode::OK);
    // The first answer started the inspection: now the institution sees it.
    let (st, seen) = w.server.get(&path, &w.institution).await;
    assert_eq!(st, StatusCode::OK, "{seen}");
    assert_eq!(seen.as_array().unwrap().len(), 2);
    assert_eq!(seen[0]["item"], "duty.control_room");
    assert_eq!(seen[0]["value"], false);
    // A stale edit is refused with the current state; the valid answer beside it is kept.
    let (st, c) = w
        .server
        .post(
            &path,
            Some(&w.inspector),
            json!({ "answers": [
                answer(U5, "duty.control_room", json!(true), 0),
                answer(U6, "duty.exits", json!("blocked"), 1),
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{c}");
    assert_eq!(c["code"], "answer_conflict");
    assert_eq!(c["errors"][0]["client_uuid"], U5);
    assert_eq!(c["errors"][0]["current"]["version"], 1);
    assert_eq!(c["errors"][0]["current"]["value"], false);
    assert_eq!(c["current"]["applied"], 1);
    let (_, hist) = w.server.get(&format!("{path}/history"), &w.inspector).await;
    let hist = hist.as_array().unwrap();
    assert_eq!(hist.len(), 3);
    assert_eq!(hist[2]["old_value"], "\"locked\"");
    assert_eq!(hist[2]["new_value"], "\"blocked\"");
    let (st, _) = w.server.get(&pkg_path, &w.institution).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The institution reads but may not answer, nor read the audit trail.
    let (st, _) = w
        .server
        .post(&path, Some(&w.institution), json!({"answers": []}))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = w
        .server
        .get(&format!("{path}/history"), &w.institution)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn clock_skew_and_malformed_batches_are_refused_clearly() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let path = format!("/api/v1/inspections/{id}/answers");
    let mut future = answer(U1, "duty.control_room", json!(true), 0);
    future["client_time"] = json!("2099-01-01T00:00:00Z");
    let mut garbled = answer(U2, "duty.control_room", json!(true), 0);
    garbled["client_time"] = json!("yesterday");
    let (st, r) = w
        .server
        .post(
            &path,
            Some(&w.inspector),
            json!({ "answers": [future, garbled] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["rejected"], 2);
    assert_eq!(r["results"][0]["field"], "client_time");
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("future")
    );
    // A body that is not a batch: problem+json naming the field.
    let (st, p) = w
        .server
        .post(
            &path,
            Some(&w.inspector),
            json!({ "answers": [{ "client_uuid": U3 }] }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    assert!(
        p["field"].as_str().unwrap().starts_with("answers[0]"),
        "{p}"
    );
    // Someone else's inspection does not exist for them.
    let (st, _) = w
        .server
        .post(&path, Some(&w.admin), json!({ "answers": [] }))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/inspections/{}/answers", uuid::Uuid::new_v4()),
            Some(&w.inspector),
            json!({ "answers": [] }),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn submit_scores_on_the_server_and_fills_the_three_lists_once() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let base = format!("/api/v1/inspections/{id}");
    let (st, r) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": [
                answer(U1, "duty.control_room", json!(false), 0),
                answer(U2, "duty.exits", json!("locked"), 0),
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, p) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "not_acknowledged");
    let (st, a) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "王院长", "role": "院长", "signed_at": now_text() }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["acknowledgement"]["name"], "王院长");
    // The failed control-room item asks for a photo: submit lists what is missing and stores nothing.
    let (st, p) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["code"], "evidence_missing");
    assert_eq!(p["errors"][0]["item"], "duty.control_room");
    assert_eq!(p["errors"][0]["needed"], 1);
    let (st, _) = w.server.get(&format!("{base}/outcome"), &w.inspector).await;
    assert_eq!(st, StatusCode::CONFLICT);
    fake_photo(&w, &id, "fire_mini", "duty.control_room").await;
    let (st, s) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    assert_eq!(s["hazards"], 2);
    let o = &s["outcomes"][0];
    assert_eq!(o["ruleset"], "fire_mini");
    assert_eq!(o["answers_hash"].as_str().unwrap().len(), 64);
    assert!(o["engine"].as_str().unwrap().starts_with("caregrade-dsl"));
    let hazards = o["report"]["hazards"].as_array().unwrap();
    assert_eq!(hazards.len(), 2);
    // Again: the same stored result, nothing duplicated.
    let (st, again) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["outcomes"][0]["created_at"], o["created_at"]);
    assert_eq!(again["hazards"], 2);
    // Read-only now.
    let (st, p) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": [answer(U3, "duty.control_room", json!(true), 1)] }),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["code"], "inspection_submitted");
    // The institution reads its outcome.
    let (st, mine) = w
        .server
        .get(&format!("{base}/outcome"), &w.institution)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mine["hazards"], 2);
    let (st, _) = w
        .server
        .call(
            Method::GET,
            &format!("{base}/outcome"),
            Some(&w.admin_other_city),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The printable record, signed by the representative, lists the three lists.
    let res = w
        .server
        .client
        .get(format!("{}{base}/record", w.server.base))
        .bearer_auth(&w.institution)
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = res.text().await.unwrap();
    for part in [
        "养老机构监督检查记录",
        "隐患清单",
        "整改清单",
        "责任清单",
        "疏散通道堵塞或锁闭",
        "立即疏散相关区域老年人",
        "消防救援机构",
        "王院长",
        "@page",
    ] {
        assert!(page.contains(part), "{part} missing from the record");
    }
    // The three lists.
    let (st, l) = w
        .server
        .get(
            &format!("/api/v1/lists/hazards?inspection={id}"),
            &w.inspector,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{l}");
    assert_eq!(l["total"], 2, "{l}");
    let major = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["level"] == "major")
        .unwrap();
    assert_eq!(major["item"], "duty.exits");
    assert_eq!(major["pending"], true);
    assert_eq!(major["immediate"], "立即疏散相关区域老年人");
    assert_eq!(major["location"], "二楼东侧");
    assert_eq!(major["status"], "open");
    assert_eq!(major["party_role"], "principal");
    assert_eq!(
        major["party_name"], "张三",
        "the legal representative answers as principal"
    );
    assert_eq!(major["department_title"], "消防救援机构");
    let general = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["level"] == "general")
        .unwrap();
    assert_eq!(
        general["party_name"], "李四",
        "the safety manager answers for fire-safety management"
    );
    assert_eq!(general["photos"].as_array().unwrap().len(), 1);
    // Deadline 7 days from today (UTC+8) for the general one, today for the immediate one.
    let today = caregrade::inspections::submit::today_cn();
    assert_eq!(major["deadline"], today.format("%Y-%m-%d").to_string());
    assert_eq!(
        general["deadline"],
        (today + chrono::Days::new(7))
            .format("%Y-%m-%d")
            .to_string()
    );
    let (_, none) = w
        .server
        .get("/api/v1/lists/rectifications?overdue=true", &w.admin)
        .await;
    assert_eq!(none["total"], 0);
    let (_, majors) = w
        .server
        .get(
            "/api/v1/lists/rectifications?level=major&status=open",
            &w.institution,
        )
        .await;
    assert_eq!(majors["total"], 1);
    let (_, elsewhere) = w
        .server
        .get("/api/v1/lists/responsibilities", &w.admin_other_city)
        .await;
    assert_eq!(elsewhere["total"], 0);
    let (st, _) = w.server.get("/api/v1/lists/nonsense", &w.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let res = w
        .server
        .client
        .get(format!(
            "{}/api/v1/lists/responsibilities/export?inspection={id}",
            w.server.base
        ))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM first, for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("机构名称,统一社会信用代码,隐患描述,主体责任,责任人,监管责任"),
        "{text}"
    );
    assert!(text.contains("消防安全管理人,李四,消防救援机构"), "{text}");
}

/// Plays an inspection of the world's own institution to submit with one general hazard
/// (control room) and one major (exits locked). Returns the inspection id.
pub async fn submitted_with_two_hazards(w: &World) -> String {
    let id = seed_inspection(w, CHECKLIST).await;
    let base = format!("/api/v1/inspections/{id}");
    let (st, r) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": [
                answer(U1, "duty.control_room", json!(false), 0),
                answer(U2, "duty.exits", json!("locked"), 0),
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    fake_photo(w, &id, "fire_mini", "duty.control_room").await;
    let (st, _) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "王院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, s) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    id
}
