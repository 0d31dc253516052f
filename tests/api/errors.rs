//! Bad input: malformed JSON, unknown fields, wrong types, oversize bodies, bad credit codes.

use crate::harness::{TestServer, World, institution_body};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::json;

#[rstest]
#[case::malformed(r#"{"username": "x","#, "malformed_json", None)]
#[case::not_json("hello", "malformed_json", None)]
#[case::trailing(r#"{"username":"a","password":"b"} x"#, "malformed_json", None)]
#[case::unknown_field(
    r#"{"username":"a","password":"b","admin":true}"#,
    "unknown_field",
    Some("admin")
)]
#[case::wrong_type(r#"{"username":"a","password":12}"#, "invalid_type", Some("password"))]
#[case::missing_field(r#"{"username":"a"}"#, "missing_field", Some("password"))]
#[tokio::test]
async fn bad_login_bodies_are_400_naming_the_field(
    #[case] body: &str,
    #[case] code: &str,
    #[case] field: Option<&str>,
) {
    let s = TestServer::start().await;
    let (st, headers, v) = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some("application/json"),
            body.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], 400);
    assert!(v["type"].as_str().unwrap().ends_with(code));
    assert!(v["title"].is_string() && v["detail"].is_string());
    assert_eq!(v["field"].as_str(), field, "{v}");
}

#[rstest]
#[case::nested_wrong_type("beds", json!("many"), "beds")]
#[case::unknown_field("bedz", json!(3), "bedz")]
#[case::bad_kind("kind", json!("state_owned"), "kind")]
#[case::facts_not_object("facts", json!([1, 2]), "facts")]
#[tokio::test]
async fn bad_institution_bodies_name_the_field(
    #[case] key: &str,
    #[case] value: serde_json::Value,
    #[case] field: &str,
) {
    let w = World::new().await;
    let mut body = institution_body(50, "430102");
    body[key] = value;
    let (st, v) = w
        .server
        .post("/api/v1/institutions", Some(&w.admin), body)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], field, "{v}");
}

#[rstest]
#[case::check_digit("914403001922038217")]
#[case::too_short("91440300192203821")]
#[case::forbidden_letter("91440300192203821I")]
#[case::lowercase_garbage("abcdefghijklmnopqr")]
#[tokio::test]
async fn invalid_credit_code_is_400(#[case] code: &str) {
    let w = World::new().await;
    let mut body = institution_body(51, "430102");
    body["credit_code"] = json!(code);
    let (st, v) = w
        .server
        .post("/api/v1/institutions", Some(&w.admin), body)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "validation_failed");
    assert_eq!(v["field"], "credit_code");
}

#[rstest]
#[case::district("district_code", json!("43010"))]
#[case::floors("floors", json!(0))]
#[case::area("building_area", json!(-5.0))]
#[case::grade("fire_resistance_grade", json!(7))]
#[case::date("filed_on", json!("2024-02-30"))]
#[case::phone("contact_phone", json!("call me"))]
#[case::name("name", json!("   "))]
#[tokio::test]
async fn invalid_values_are_400_with_field(#[case] key: &str, #[case] value: serde_json::Value) {
    let w = World::new().await;
    let mut body = institution_body(52, "430102");
    body[key] = value;
    let (st, v) = w
        .server
        .post("/api/v1/institutions", Some(&w.admin), body)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], key, "{v}");
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let s = TestServer::start_with(|c| {
        c.json_limit = 4096;
        c.csv_limit = 4096;
    })
    .await;
    let big = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(10_000));
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some("application/json"),
            big.into_bytes(),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["code"], "payload_too_large");
    let root = s.root().await;
    let csv = "name\n".to_owned() + &"x\n".repeat(5000);
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/institutions/import",
            Some(&root),
            Some("text/csv"),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let s = TestServer::start().await;
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(v["code"], "unsupported_media_type");
}

#[rstest]
#[case::bad_number("/api/v1/institutions?limit=abc", "limit")]
#[case::out_of_range("/api/v1/institutions?limit=100000", "limit")]
#[case::unknown_param("/api/v1/institutions?colour=red", "colour")]
#[case::bad_bool("/api/v1/institutions?filed=perhaps", "filed")]
#[tokio::test]
async fn bad_query_parameters_are_400(#[case] path: &str, #[case] field: &str) {
    let w = World::new().await;
    let (st, v) = w.server.get(path, &w.admin).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["field"], field, "{v}");
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let s = TestServer::start().await;
    let (st, headers, v) = s
        .raw(Method::GET, "/api/v1/nothing-here", None, None, vec![])
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(v["code"], "not_found");
}
