//! Evidence photos: sniffed not trusted, bombs and fakes refused, idempotent by client UUID,
//! resumable chunked uploads, downloads only for those who may see the inspection.

use crate::fixtures::{ExifSpec, exif_block, jpeg_of, picture, png_of, zero_png};
use crate::harness::{World, create_user, inspector_body, token};
use crate::inspections::seed_inspection;
use crate::rulesets::CHECKLIST;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ITEM: &str = "ruleset=fire_mini&item=duty.control_room";

async fn send(w: &World, tok: &str, path: &str, ct: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let (st, _, v) = w
        .server
        .raw(Method::POST, path, Some(tok), Some(ct), bytes)
        .await;
    (st, v)
}

fn sha(b: &[u8]) -> String {
    caregrade::store::sha256_hex(b)
}

fn photo_now() -> Vec<u8> {
    let local = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y:%m:%d %H:%M:%S")
        .to_string();
    let exif = exif_block(&ExifSpec {
        taken: Some(&local),
        offset: Some("+08:00"),
        ..ExifSpec::default()
    });
    jpeg_of(&picture(640, 480), Some(exif))
}

#[tokio::test]
async fn single_uploads_are_checked_and_idempotent() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let path = |uuid: &str| format!("/api/v1/inspections/{id}/photos?{ITEM}&client_uuid={uuid}");
    let jpeg = photo_now();
    let u1 = "30000000-0000-4000-8000-000000000001";
    let (st, p) = send(&w, &w.inspector, &path(u1), "image/jpeg", jpeg.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["content_type"], "image/jpeg");
    assert_eq!(p["width"], 640);
    assert_eq!(p["sha256"], sha(&jpeg));
    assert_eq!(
        p["flags"],
        json!([]),
        "taken now, no position to compare: {p}"
    );
    // The same UUID again: the same photo, nothing new.
    let (st, again) = send(&w, &w.inspector, &path(u1), "image/jpeg", jpeg.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["id"], p["id"]);
    // A PNG without EXIF is accepted and flagged.
    let (st, png) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000002"),
        "image/png",
        png_of(&picture(300, 200)),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{png}");
    assert_eq!(png["flags"], json!(["no_exif_time"]));
    // Taken years ago, and in Beijing while the institution is in Changsha: flagged, not refused.
    let pool = w.server.state.pool.clone();
    let own = w.own.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("UPDATE institutions SET facts = '{{\"lat\": 28.19, \"lon\": 112.97}}' WHERE id = '{own}'"))
            .execute(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    let old = exif_block(&ExifSpec {
        taken: Some("2020:05:01 10:00:00"),
        offset: Some("+08:00"),
        gps: Some(((39, 54, 2600, "N"), (116, 23, 2900, "E"))),
        ..ExifSpec::default()
    });
    let (st, far) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000008"),
        "image/jpeg",
        jpeg_of(&picture(320, 240), Some(old)),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{far}");
    assert_eq!(
        far["flags"],
        json!(["taken_outside_window", "taken_far_away"]),
        "{far}"
    );
    assert!(
        (far["lat"].as_f64().unwrap() - 39.9072).abs() < 0.001,
        "{far}"
    );
    // A renamed PDF, a 30,000×30,000 PNG, a truncated JPEG.
    let (st, e) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000003"),
        "image/jpeg",
        b"%PDF-1.7\n1 0 obj\n".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");
    assert_eq!(e["code"], "not_a_photo");
    let (st, e) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000004"),
        "image/png",
        zero_png(30_000, 30_000),
    )
    .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    let (st, e) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000005"),
        "image/jpeg",
        jpeg[..jpeg.len() / 2].to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["code"], "photo_damaged");
    // Unknown item: refused naming the field.
    let (st, e) = send(
        &w,
        &w.inspector,
        &format!(
            "/api/v1/inspections/{id}/photos?ruleset=fire_mini&item=duty.nope&client_uuid={u1}"
        ),
        "image/jpeg",
        jpeg.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["field"], "item");
    let (_, list) = w
        .server
        .get(&format!("/api/v1/inspections/{id}/photos"), &w.inspector)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    // Downloads: the original untouched, the thumbnail a JPEG; nobody outside sees them.
    let pid = p["id"].as_str().unwrap();
    let (st, links) = w
        .server
        .get(&format!("/api/v1/photos/{pid}"), &w.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{links}");
    let res = w
        .server
        .client
        .get(format!("{}/api/v1/photos/{pid}/original", w.server.base))
        .bearer_auth(&w.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg);
    let res = w
        .server
        .client
        .get(format!("{}/api/v1/photos/{pid}/thumbnail", w.server.base))
        .bearer_auth(&w.inspector)
        .send()
        .await
        .unwrap();
    assert!(res.bytes().await.unwrap().starts_with(&[0xFF, 0xD8]));
    let (st, _) = w
        .server
        .get(
            &format!("/api/v1/photos/{pid}/original"),
            &w.admin_other_city,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // An inspector of another team cannot upload here.
    let (st, other) = w
        .server
        .post(
            "/api/v1/inspectors",
            Some(&w.admin),
            inspector_body(77, "430107"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    create_user(&w.server, &w.admin, json!({"username": "other-team", "password": "password-ot", "role": "inspector", "region_code": "4301", "inspector_id": other["id"]})).await;
    let stranger = token(&w.server.login("other-team", "password-ot").await);
    let (st, _) = send(
        &w,
        &stranger,
        &path("30000000-0000-4000-8000-000000000006"),
        "image/jpeg",
        jpeg.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // After submit the inspection takes no more photos.
    let pool = w.server.state.pool.clone();
    let i = id.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE inspections SET status = 'submitted' WHERE id = '{i}'"
        ))
        .execute(&mut pool.get().unwrap())
        .unwrap()
    })
    .await
    .unwrap();
    let (st, e) = send(
        &w,
        &w.inspector,
        &path("30000000-0000-4000-8000-000000000007"),
        "image/jpeg",
        jpeg,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["code"], "inspection_submitted");
}

#[tokio::test]
async fn a_chunked_upload_resumes_after_a_cut() {
    let w = World::new().await;
    let id = seed_inspection(&w, CHECKLIST).await;
    let photo = jpeg_of(&picture(1600, 1200), None);
    let n = photo.len().div_ceil(4);
    let chunks: Vec<&[u8]> = photo.chunks(n).collect();
    assert_eq!(chunks.len(), 4);
    let announce = json!({
        "ruleset": "fire_mini", "item": "duty.control_room",
        "client_uuid": "40000000-0000-4000-8000-000000000001",
        "size": photo.len(), "sha256": sha(&photo)
    });
    let (st, up) = w
        .server
        .post(
            &format!("/api/v1/inspections/{id}/uploads"),
            Some(&w.inspector),
            announce.clone(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{up}");
    let uid = up["id"].as_str().unwrap().to_owned();
    let put = |offset: usize, bytes: &[u8], hash: String| {
        let req = w
            .server
            .client
            .put(format!(
                "{}/api/v1/uploads/{uid}?offset={offset}",
                w.server.base
            ))
            .bearer_auth(&w.inspector)
            .header("x-chunk-sha256", hash)
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec());
        async move {
            let res = req.send().await.unwrap();
            let st = res.status();
            (st, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (k, c) in chunks.iter().take(2).enumerate() {
        let (st, v) = put(k * n, c, sha(c)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    // The connection drops; the phone announces again and learns where to resume.
    let (st, again) = w
        .server
        .post(
            &format!("/api/v1/inspections/{id}/uploads"),
            Some(&w.inspector),
            announce,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["received"].as_u64().unwrap() as usize, 2 * n);
    let (_, status) = w
        .server
        .get(&format!("/api/v1/uploads/{uid}"), &w.inspector)
        .await;
    assert_eq!(status["received"], again["received"]);
    // Out of order, a wrong hash, and a resent chunk.
    let (st, e) = put(3 * n, chunks[3], sha(chunks[3])).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["code"], "wrong_offset");
    assert_eq!(e["current"]["received"].as_u64().unwrap() as usize, 2 * n);
    let (st, e) = put(2 * n, chunks[2], "0".repeat(64)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["code"], "chunk_hash_mismatch");
    let (st, _) = put(n, chunks[1], sha(chunks[1])).await;
    assert_eq!(
        st,
        StatusCode::OK,
        "a chunk already received is accepted again"
    );
    // Completing early is refused; then the rest, and completion.
    let (st, e) = w
        .server
        .post(
            &format!("/api/v1/uploads/{uid}/complete"),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    for (k, c) in chunks.iter().enumerate().skip(2) {
        let (st, v) = put(k * n, c, sha(c)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (st, p) = w
        .server
        .post(
            &format!("/api/v1/uploads/{uid}/complete"),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(p["sha256"], sha(&photo));
    assert_eq!(p["width"], 1600);
    let (st, same) = w
        .server
        .post(
            &format!("/api/v1/uploads/{uid}/complete"),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(same["id"], p["id"]);
    let (_, list) = w
        .server
        .get(&format!("/api/v1/inspections/{id}/photos"), &w.inspector)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Someone else's upload does not exist for them.
    let (st, _) = w
        .server
        .get(&format!("/api/v1/uploads/{uid}"), &w.admin_other_city)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// A store that fails mid-upload: 503, no photo recorded; the same upload succeeds once it is back.
#[tokio::test]
async fn a_store_that_is_down_records_nothing() {
    let w = World::new().await;
    let caregrade::store::EvidenceStore::Local(_) = &w.server.state.store else {
        // The S3 pass cannot stop moto from here; the local pass breaks the directory instead.
        return;
    };
    let id = seed_inspection(&w, CHECKLIST).await;
    let path = format!(
        "/api/v1/inspections/{id}/photos?{ITEM}&client_uuid=30000000-0000-4000-8000-0000000000ff"
    );
    let dir = w.server.state.config.photo_dir();
    let moved = dir.with_extension("away");
    std::fs::rename(&dir, &moved).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let jpeg = photo_now();
    let (st, e) = send(&w, &w.inspector, &path, "image/jpeg", jpeg.clone()).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was recorded"),
        "{e}"
    );
    let (_, list) = w
        .server
        .get(&format!("/api/v1/inspections/{id}/photos"), &w.inspector)
        .await;
    assert_eq!(list, json!([]));
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&moved, &dir).unwrap();
    let (st, p) = send(&w, &w.inspector, &path, "image/jpeg", jpeg).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
}

/// Submit waits for the photos still uploading: after submit no chunk is accepted, so a photo
/// in flight would be lost. The phone completes what it has and cancels what it dropped.
#[tokio::test]
async fn submit_waits_for_uploads_in_flight() {
    let w = World::new().await;
    let id = crate::inspections::seed_inspection(&w, CHECKLIST).await;
    let base = format!("/api/v1/inspections/{id}");
    let now = caregrade::registry::now_text();
    let (st, r) = w
        .server
        .post(
            &format!("{base}/answers"),
            Some(&w.inspector),
            json!({ "answers": [
                { "client_uuid": "50000000-0000-4000-8000-000000000001", "ruleset": "fire_mini",
                  "item": "duty.control_room", "value": false, "base_version": 0, "client_time": now },
            ]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    crate::inspections::fake_photo(&w, &id, "fire_mini", "duty.control_room").await;
    let photo = jpeg_of(&picture(800, 600), None);
    let half = photo.len() / 2;
    let announce = |uuid: &str| {
        json!({ "ruleset": "fire_mini", "item": "duty.control_room", "client_uuid": uuid,
                "size": photo.len(), "sha256": sha(&photo) })
    };
    let (st, a) = w
        .server
        .post(
            &format!("{base}/uploads"),
            Some(&w.inspector),
            announce("50000000-0000-4000-8000-00000000000a"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let a = a["id"].as_str().unwrap().to_owned();
    let (st, b) = w
        .server
        .post(
            &format!("{base}/uploads"),
            Some(&w.inspector),
            announce("50000000-0000-4000-8000-00000000000b"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let b = b["id"].as_str().unwrap().to_owned();
    let put = |offset: usize, bytes: Vec<u8>| {
        let req = w
            .server
            .client
            .put(format!(
                "{}/api/v1/uploads/{a}?offset={offset}",
                w.server.base
            ))
            .bearer_auth(&w.inspector)
            .header("x-chunk-sha256", sha(&bytes))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(put(0, photo[..half].to_vec()).await, StatusCode::OK);
    let (st, _) = w
        .server
        .post(
            &format!("{base}/acknowledge"),
            Some(&w.inspector),
            json!({ "name": "王院长" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // Two uploads in flight: refused, each listed with where it stands; nothing submitted.
    let (st, e) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["code"], "uploads_pending");
    let pending = e["errors"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{e}");
    let of = |u: &str| pending.iter().find(|p| p["upload"] == u).cloned().unwrap();
    assert_eq!(of(&a)["received"].as_u64().unwrap() as usize, half);
    assert_eq!(of(&b)["received"], 0);
    let (_, insp) = w.server.get(&base, &w.inspector).await;
    assert_eq!(insp["status"], "acknowledged", "{insp}");
    // The dropped photo is cancelled (once); the other one is finished.
    let cancel = |u: &str, tok: &str| {
        let req = w
            .server
            .client
            .delete(format!("{}/api/v1/uploads/{u}", w.server.base))
            .bearer_auth(tok);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(cancel(&b, &w.admin_other_city).await, StatusCode::NOT_FOUND);
    assert_eq!(cancel(&b, &w.inspector).await, StatusCode::NO_CONTENT);
    assert_eq!(cancel(&b, &w.inspector).await, StatusCode::NOT_FOUND);
    assert_eq!(put(half, photo[half..].to_vec()).await, StatusCode::OK);
    let (st, p) = w
        .server
        .post(
            &format!("/api/v1/uploads/{a}/complete"),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    assert_eq!(
        cancel(&a, &w.inspector).await,
        StatusCode::CONFLICT,
        "a photo is not cancelled"
    );
    let (st, s) = w
        .server
        .post(&format!("{base}/submit"), Some(&w.inspector), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{s}");
    let (_, list) = w.server.get(&format!("{base}/photos"), &w.inspector).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
}
