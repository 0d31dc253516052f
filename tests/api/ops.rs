//! Operations: health, readiness, metrics, request ids, the OpenAPI document.

use crate::harness::TestServer;
use reqwest::{Method, StatusCode};

/// Every route the server registers (method, OpenAPI path). Keep in step with `http::routes`;
/// `openapi_lists_every_route` fails when one of them is missing from the document.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/institutions"),
    ("post", "/api/v1/institutions"),
    ("post", "/api/v1/institutions/import"),
    ("get", "/api/v1/institutions/{id}"),
    ("put", "/api/v1/institutions/{id}"),
    ("delete", "/api/v1/institutions/{id}"),
    ("get", "/api/v1/inspectors"),
    ("post", "/api/v1/inspectors"),
    ("post", "/api/v1/inspectors/import"),
    ("get", "/api/v1/inspectors/{id}"),
    ("put", "/api/v1/inspectors/{id}"),
    ("delete", "/api/v1/inspectors/{id}"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("delete", "/api/v1/users/{id}"),
    ("post", "/api/v1/rulesets"),
    ("get", "/api/v1/rulesets"),
    ("get", "/api/v1/rulesets/in-force"),
    ("get", "/api/v1/rulesets/{hash}"),
    ("get", "/api/v1/rulesets/{hash}/compiled"),
    ("post", "/api/v1/rulesets/{hash}/activate"),
    ("post", "/api/v1/rulesets/{hash}/retire"),
    ("post", "/api/v1/plans"),
    ("get", "/api/v1/plans"),
    ("get", "/api/v1/plans/{id}"),
    ("post", "/api/v1/plans/{id}/draw"),
    ("get", "/api/v1/plans/{id}/draw"),
    ("post", "/api/v1/plans/{id}/replacements"),
    ("get", "/api/v1/inspections"),
    ("get", "/api/v1/inspections/{id}"),
    ("post", "/api/v1/inspections/{id}/start"),
    ("get", "/public/v1/draws/{plan_id}"),
    ("post", "/api/v1/inspections/{id}/photos"),
    ("get", "/api/v1/inspections/{id}/photos"),
    ("post", "/api/v1/inspections/{id}/uploads"),
    ("put", "/api/v1/uploads/{id}"),
    ("get", "/api/v1/uploads/{id}"),
    ("delete", "/api/v1/uploads/{id}"),
    ("post", "/api/v1/uploads/{id}/complete"),
    ("get", "/api/v1/photos/{id}"),
    ("get", "/api/v1/photos/{id}/original"),
    ("get", "/api/v1/photos/{id}/thumbnail"),
    ("post", "/api/v1/inspections/{id}/answers"),
    ("get", "/api/v1/inspections/{id}/answers"),
    ("get", "/api/v1/inspections/{id}/answers/history"),
    ("post", "/api/v1/inspections/{id}/acknowledge"),
    ("post", "/api/v1/inspections/{id}/submit"),
    ("get", "/api/v1/inspections/{id}/outcome"),
    ("get", "/api/v1/inspections/{id}/package"),
    ("get", "/api/v1/inspections/{id}/record"),
    ("get", "/api/v1/lists/{list}"),
    ("get", "/api/v1/lists/{list}/export"),
    ("get", "/api/v1/rectifications/{id}"),
    ("post", "/api/v1/rectifications/{id}/submit"),
    ("post", "/api/v1/rectifications/{id}/verify"),
    ("post", "/api/v1/rectifications/{id}/reject"),
    ("post", "/api/v1/rectifications/{id}/extend"),
    ("post", "/api/v1/rectifications/{id}/evidence"),
    ("post", "/api/v1/escalations/run"),
    ("get", "/api/v1/institutions/{id}/credit"),
    ("post", "/api/v1/institutions/{id}/credit/events"),
    ("post", "/api/v1/institutions/{id}/credit/repair"),
    ("post", "/api/v1/publications/batches"),
    ("get", "/api/v1/publications/batches/{id}"),
    ("post", "/api/v1/publications/batches/{id}/publish"),
    ("post", "/api/v1/publications/{id}/withdraw"),
    ("post", "/api/v1/publications/{id}/correct"),
    ("get", "/api/v1/publications/late"),
    ("post", "/api/v1/grading/applications"),
    ("get", "/api/v1/grading/applications/{id}"),
    ("post", "/api/v1/grading/applications/{id}/review"),
    ("post", "/api/v1/grading/applications/{id}/assessors"),
    ("post", "/api/v1/grading/applications/{id}/decision"),
    ("post", "/api/v1/grading/applications/{id}/grant"),
    ("get", "/api/v1/institutions/{id}/grades"),
    ("post", "/api/v1/grades/{id}/change"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("post", "/api/v1/webhooks/deliver"),
    ("post", "/api/v1/self-assessments"),
    ("get", "/api/v1/self-assessments"),
    ("post", "/api/v1/self-assessments/{id}/runs"),
    ("get", "/api/v1/self-assessments/{id}/runs"),
    ("get", "/public/v1/publications"),
    ("get", "/public/v1/publications/{id}"),
];

#[tokio::test]
async fn openapi_lists_every_route() {
    let s = TestServer::start().await;
    let (st, doc) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut missing = Vec::new();
    for (method, path) in ROUTES {
        if paths.get(*path).and_then(|p| p.get(*method)).is_none() {
            missing.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    // And every route is really served (not 404 "no such route").
    for (method, path) in ROUTES {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let (_, _, v) = s.raw(m, &concrete, None, None, vec![]).await;
        assert_ne!(
            v["detail"], "no such route",
            "{method} {path} is in the test table but not served"
        );
    }
    // The document names no route the table does not know.
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "update ROUTES (and the role tests) for new routes"
    );
}

#[tokio::test]
async fn health_ready_metrics() {
    let s = TestServer::start().await;
    let (st, v) = s.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (st, v) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["database"], "ok");
    assert_eq!(v["store"], "ok");
    let text = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "caregrade_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("caregrade_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let s = TestServer::start().await;
    let res = s
        .client
        .get(format!("{}/healthz", s.base))
        .header("x-request-id", "phone-42.abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "phone-42.abc");
    let res = s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36);
    // A hostile id is replaced, not echoed.
    let res = s
        .client
        .get(format!("{}/healthz", s.base))
        .header("x-request-id", "a b<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b<script>");
    // Errors carry it too.
    let res = s
        .client
        .get(format!("{}/api/v1/me", s.base))
        .header("x-request-id", "rid-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["x-request-id"], "rid-1");
}

#[test]
fn typo_in_database_url_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "postgress://x@127.0.0.1/db",
        "sqlit://data.db",
        "data/caregrade",
    ] {
        let config = caregrade::config::Config {
            database_url: url.into(),
            data_dir: dir.path().into(),
            ..Default::default()
        };
        assert!(
            caregrade::server::prepare(config).is_err(),
            "{url} should be refused"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be created"
    );
}

/// A store that stops taking writes makes the server unready (503 problem), and ready again once
/// it recovers. Only the local store can be broken from here; the S3 pass proves the bucket probe.
#[tokio::test]
async fn readyz_fails_while_the_store_is_down() {
    let s = TestServer::start().await;
    let caregrade::store::EvidenceStore::Local(_) = &s.state.store else {
        let (st, v) = s.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        return;
    };
    let dir = s.state.config.photo_dir();
    let moved = dir.with_extension("away");
    std::fs::rename(&dir, &moved).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let (st, v) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["code"], "unavailable");
    assert!(
        v["detail"].as_str().unwrap().contains("evidence store"),
        "{v}"
    );
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&moved, &dir).unwrap();
    let (st, _) = s.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK);
}
