//! Authorisation: every write endpoint × every role that may not use it → 403; scoping → 404.

use crate::harness::{World, inspector_body, institution_body};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::{Value, json};

fn body_for(path: &str) -> Option<Value> {
    if path.ends_with("/import") {
        None
    } else if path.starts_with("/api/v1/institutions") {
        let mut b = institution_body(90, "430102");
        b["version"] = json!(1);
        Some(b)
    } else if path.starts_with("/api/v1/inspectors") {
        let mut b = inspector_body(90, "430103");
        b["version"] = json!(1);
        Some(b)
    } else if path.starts_with("/api/v1/users") {
        Some(
            json!({"username": "someone", "password": "password-1", "role": "admin", "region_code": "43"}),
        )
    } else {
        None
    }
}

#[rstest]
#[case::create_institution("POST", "/api/v1/institutions")]
#[case::update_institution("PUT", "/api/v1/institutions/{own}")]
#[case::delete_institution("DELETE", "/api/v1/institutions/{own}")]
#[case::import_institutions("POST", "/api/v1/institutions/import")]
#[case::create_inspector("POST", "/api/v1/inspectors")]
#[case::update_inspector("PUT", "/api/v1/inspectors/{inspector}")]
#[case::delete_inspector("DELETE", "/api/v1/inspectors/{inspector}")]
#[case::import_inspectors("POST", "/api/v1/inspectors/import")]
#[case::create_user("POST", "/api/v1/users")]
#[case::delete_user("DELETE", "/api/v1/users/{user}")]
#[case::list_inspectors("GET", "/api/v1/inspectors")]
#[case::list_users("GET", "/api/v1/users")]
#[tokio::test]
async fn non_admins_get_403(
    #[case] method: &str,
    #[case] path: &str,
    #[values("inspector", "institution")] role: &str,
) {
    let w = World::new().await;
    let path = path
        .replace("{own}", &w.own)
        .replace("{inspector}", &w.inspector_id)
        .replace("{user}", &w.institution_user_id);
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let (ct, body) = match body_for(&path) {
        Some(b) => (Some("application/json"), serde_json::to_vec(&b).unwrap()),
        None if path.ends_with("/import") => (Some("text/csv"), b"name\nx\n".to_vec()),
        None => (None, vec![]),
    };
    let (st, _, v) = w
        .server
        .raw(m, &path, Some(w.token_of(role)), ct, body)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{role} {method} {path}: {v}");
    assert_eq!(v["code"], "forbidden");
    // Nothing changed: the institution and the inspector are still there, unchanged.
    let (st, inst) = w
        .server
        .get(&format!("/api/v1/institutions/{}", w.own), &w.admin)
        .await;
    assert_eq!((st, inst["version"].as_i64()), (StatusCode::OK, Some(1)));
    let (st, _) = w
        .server
        .get(&format!("/api/v1/inspectors/{}", w.inspector_id), &w.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn institution_user_sees_only_its_own_institution() {
    let w = World::new().await;
    let (st, v) = w
        .server
        .get(&format!("/api/v1/institutions/{}", w.own), &w.institution)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = w
        .server
        .get(&format!("/api/v1/institutions/{}", w.other), &w.institution)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["code"], "not_found");
    let (_, list) = w.server.get("/api/v1/institutions", &w.institution).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], w.own.as_str());
}

#[tokio::test]
async fn admins_are_scoped_to_their_region() {
    let w = World::new().await;
    // 株洲 (4302) sees nothing of 长沙 (4301).
    let (st, _) = w
        .server
        .get(
            &format!("/api/v1/institutions/{}", w.own),
            &w.admin_other_city,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = w
        .server
        .get("/api/v1/institutions", &w.admin_other_city)
        .await;
    assert_eq!(list["total"], 0);
    let (st, v) = w
        .server
        .post(
            "/api/v1/institutions",
            Some(&w.admin_other_city),
            institution_body(70, "430102"),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, _) = w
        .server
        .call(
            Method::DELETE,
            &format!("/api/v1/institutions/{}", w.own),
            Some(&w.admin_other_city),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // A city admin cannot create a province admin.
    let (st, _) = w.server.post("/api/v1/users", Some(&w.admin), json!({"username": "prov", "password": "password-1", "role": "admin", "region_code": "43"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The 长沙 admin sees both institutions; the country-wide admin too.
    assert_eq!(
        w.server.get("/api/v1/institutions", &w.admin).await.1["total"],
        2
    );
    assert_eq!(
        w.server.get("/api/v1/institutions", &w.root).await.1["total"],
        2
    );
}

#[tokio::test]
async fn inspectors_read_institutions_in_scope() {
    let w = World::new().await;
    let (st, list) = w.server.get("/api/v1/institutions", &w.inspector).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["total"], 2);
    let (st, me) = w.server.get("/api/v1/me", &w.inspector).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["inspector"]["department"], "民政");
}
