//! Webhooks: an event is delivered once per subscription, signed; a failing receiver is retried
//! with backoff, a hanging one times out without holding the others back.

use crate::harness::World;
use crate::inspections::submitted_with_two_hazards;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Received {
    calls: Vec<(String, String, String, Vec<u8>)>,
    /// Event ids posted to `/slow`.
    slow: Vec<String>,
}

/// A receiver on loopback: `/flaky` answers 500 the first time and 200 after, `/hang` never
/// answers in time, `/slow` answers 200 after 300 ms. Returns its base URL and what it received.
fn receiver() -> (String, Arc<Mutex<Received>>) {
    let got = Arc::new(Mutex::new(Received::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shared = got.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let got = shared.clone();
                App::new()
                    .app_data(web::Data::new(got))
                    .route(
                        "/flaky",
                        web::post().to(
                            |req: HttpRequest,
                             body: web::Bytes,
                             got: web::Data<Arc<Mutex<Received>>>| async move {
                                let h = |n: &str| {
                                    req.headers()
                                        .get(n)
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or("")
                                        .to_owned()
                                };
                                let mut g = got.lock().unwrap();
                                g.calls.push((
                                    h("x-caregrade-event"),
                                    h("x-caregrade-event-id"),
                                    h("x-caregrade-signature"),
                                    body.to_vec(),
                                ));
                                if g.calls.len() == 1 {
                                    HttpResponse::InternalServerError().finish()
                                } else {
                                    HttpResponse::Ok().finish()
                                }
                            },
                        ),
                    )
                    .route(
                        "/slow",
                        web::post().to(
                            |req: HttpRequest, got: web::Data<Arc<Mutex<Received>>>| async move {
                                let id = req
                                    .headers()
                                    .get("x-caregrade-event-id")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned();
                                got.lock().unwrap().slow.push(id);
                                actix_web::rt::time::sleep(std::time::Duration::from_millis(300))
                                    .await;
                                HttpResponse::Ok().finish()
                            },
                        ),
                    )
                    .route(
                        "/hang",
                        web::post().to(|| async {
                            actix_web::rt::time::sleep(std::time::Duration::from_secs(5)).await;
                            HttpResponse::Ok().finish()
                        }),
                    )
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        })
    });
    (base, got)
}

#[tokio::test]
async fn submitted_inspections_are_announced_once_signed_and_retried() {
    let w = World::new().await;
    let (base, got) = receiver();
    let (st, flaky) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.admin),
            json!({ "url": format!("{base}/flaky"), "events": ["inspection.submitted"] }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{flaky}");
    let secret = flaky["secret"].as_str().unwrap().to_owned();
    let (st, hang) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.admin),
            json!({ "url": format!("{base}/hang"), "events": ["inspection.submitted"] }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, p) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.admin),
            json!({ "url": "ftp://x", "events": ["inspection.submitted"] }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{p}");
    let (st, p) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.admin),
            json!({ "url": format!("{base}/x"), "events": ["everything"] }),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(p["field"], "events[0]");

    let insp = submitted_with_two_hazards(&w).await;
    // Submitting again announces nothing new.
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/inspections/{insp}/submit"),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let started = std::time::Instant::now();
    let (st, run) = w
        .server
        .post("/api/v1/webhooks/deliver", Some(&w.admin), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{run}");
    assert_eq!(
        run["delivered"], 0,
        "the flaky receiver failed, the other hung"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "a hanging receiver is cut off by the timeout"
    );
    let (_, d) = w
        .server
        .get(
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                flaky["id"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await;
    assert_eq!(
        d.as_array().unwrap().len(),
        1,
        "one delivery per event: {d}"
    );
    assert_eq!(d[0]["status"], "pending");
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(d[0]["last_error"], "HTTP 500");
    let (_, h) = w
        .server
        .get(
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                hang["id"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await;
    assert_eq!(h[0]["last_error"], "timed out");
    // Backoff: not due again at once; due after its wait (moved back behind the API's back).
    let (_, run) = w
        .server
        .post("/api/v1/webhooks/deliver", Some(&w.admin), json!({}))
        .await;
    assert_eq!(run["delivered"], 0);
    assert_eq!(got.lock().unwrap().calls.len(), 1);
    let pool = w.server.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE webhook_deliveries SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE last_error = 'HTTP 500'")
            .execute(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    let (_, run) = w
        .server
        .post("/api/v1/webhooks/deliver", Some(&w.admin), json!({}))
        .await;
    assert_eq!(run["delivered"], 1);
    let calls = got.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 2);
    let (event, id, sig, body) = &calls[1];
    assert_eq!(event, "inspection.submitted");
    assert_eq!(id, &format!("inspection.submitted:{insp}"));
    assert_eq!(sig, &caregrade::webhooks::signature(&secret, body));
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["data"]["hazards"], 2);
    assert_eq!(
        calls[0].1, calls[1].1,
        "the retry carries the same event id"
    );
    let (_, d) = w
        .server
        .get(
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                flaky["id"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await;
    assert_eq!(d[0]["status"], "delivered");
    let (st, _) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.inspector),
            json!({ "url": "http://x", "events": ["grade.decided"] }),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// Two delivery runs at once (two API servers, or the loop and the manual endpoint) post each
/// delivery once: the first to claim it owns it while it is being posted.
#[tokio::test]
async fn overlapping_delivery_runs_post_once() {
    let w = World::new().await;
    let (base, got) = receiver();
    let (st, slow) = w
        .server
        .post(
            "/api/v1/webhooks",
            Some(&w.admin),
            json!({ "url": format!("{base}/slow"), "events": ["inspection.submitted"] }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{slow}");
    let insp = submitted_with_two_hazards(&w).await;
    let run = || {
        w.server
            .post("/api/v1/webhooks/deliver", Some(&w.admin), json!({}))
    };
    let ((s1, r1), (s2, r2)) = tokio::join!(run(), run());
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK), "{r1} {r2}");
    let delivered = r1["delivered"].as_u64().unwrap() + r2["delivered"].as_u64().unwrap();
    assert_eq!(delivered, 1, "{r1} {r2}");
    assert_eq!(
        got.lock().unwrap().slow,
        vec![format!("inspection.submitted:{insp}")],
        "posted once"
    );
    let (_, d) = w
        .server
        .get(
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                slow["id"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await;
    assert_eq!(d[0]["status"], "delivered", "{d}");
    assert_eq!(d[0]["attempts"], 1, "{d}");
}
