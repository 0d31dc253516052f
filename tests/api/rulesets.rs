//! Rulesets: upload checked by the language's checker, versions by hash, the compiled form with
//! its ETag, activation per region.

use crate::harness::World;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const CHECKLIST: &str = include_str!("../../dsl/tests/rulesets/mini_checklist.rules");
pub const STANDARD: &str = include_str!("../../dsl/tests/rulesets/mini_standard.rules");
pub const CITY: &str = include_str!("../../dsl/tests/rulesets/mini_city.rules");

/// Uploads a source as `token`; returns status and body.
pub async fn upload(w: &World, token: &str, file: &str, source: &str) -> (StatusCode, Value) {
    w.server
        .post(
            "/api/v1/rulesets",
            Some(token),
            json!({ "file_name": file, "source": source }),
        )
        .await
}

#[tokio::test]
async fn upload_stores_a_version_once_by_hash() {
    let w = World::new().await;
    let (st, v) = upload(&w, &w.admin, "mini_checklist.rules", CHECKLIST).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["name"], "fire_mini");
    assert_eq!(v["kind"], "checklist");
    assert_eq!(v["created"], true);
    let hash = v["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    // The same source again is the same version: nothing new is stored.
    let (st, again) = upload(&w, &w.admin, "mini_checklist.rules", CHECKLIST).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["hash"], hash.as_str());
    assert_eq!(again["created"], false);
    let (st, list) = w
        .server
        .get("/api/v1/rulesets?kind=checklist", &w.inspector)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (st, one) = w
        .server
        .get(&format!("/api/v1/rulesets/{hash}"), &w.institution)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["source"], CHECKLIST);
}

#[tokio::test]
async fn a_ruleset_with_errors_is_refused_with_every_diagnostic() {
    let w = World::new().await;
    let broken = CHECKLIST.replacen("ask yesno", "ask yesnoo", 1).replacen(
        "department fire_rescue",
        "department fire_brigade",
        1,
    );
    let (st, v) = upload(&w, &w.admin, "broken.rules", &broken).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "ruleset_invalid");
    let diags = v["errors"].as_array().unwrap();
    assert!(!diags.is_empty(), "{v}");
    let d = &diags[0];
    assert_eq!(d["path"], "broken.rules");
    assert!(d["line"].as_u64().unwrap() > 1, "{d}");
    assert!(d["column"].as_u64().unwrap() >= 1, "{d}");
    assert!(d["code"].as_str().unwrap().starts_with('E'), "{d}");
    assert!(d["span"]["start"].is_number(), "{d}");
    // Nothing was stored.
    let (_, list) = w.server.get("/api/v1/rulesets", &w.admin).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn a_city_layer_compiles_over_the_stored_base() {
    let w = World::new().await;
    let (st, base) = upload(&w, &w.admin, "mini_standard.rules", STANDARD).await;
    assert_eq!(st, StatusCode::CREATED, "{base}");
    let (st, city) = upload(&w, &w.admin, "mini_city.rules", CITY).await;
    assert_eq!(st, StatusCode::CREATED, "{city}");
    assert_eq!(city["base_hash"], base["hash"]);
    let (st, compiled) = w
        .server
        .get(
            &format!(
                "/api/v1/rulesets/{}/compiled",
                city["hash"].as_str().unwrap()
            ),
            &w.inspector,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        compiled["layers"].as_array().unwrap().len(),
        2,
        "{compiled}"
    );
    assert_eq!(compiled["hash"], city["hash"]);
}

#[tokio::test]
async fn a_layer_without_its_base_is_refused() {
    let w = World::new().await;
    let (st, v) = upload(&w, &w.admin, "mini_city.rules", CITY).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "E0505", "{v}");
}

#[tokio::test]
async fn the_compiled_form_is_immutable_and_cached_by_hash() {
    let w = World::new().await;
    let (_, v) = upload(&w, &w.admin, "mini_checklist.rules", CHECKLIST).await;
    let hash = v["hash"].as_str().unwrap();
    let path = format!("{}/api/v1/rulesets/{hash}/compiled", w.server.base);
    let res = w
        .server
        .client
        .get(&path)
        .bearer_auth(&w.inspector)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{hash}\""));
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], "fire_mini");
    let res = w
        .server
        .client
        .get(&path)
        .bearer_auth(&w.inspector)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let (st, _) = w
        .server
        .get(
            &format!("/api/v1/rulesets/{}/compiled", "0".repeat(64)),
            &w.inspector,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn activation_is_per_region_and_the_most_specific_wins() {
    let w = World::new().await;
    let (_, v1) = upload(&w, &w.root, "mini_checklist.rules", CHECKLIST).await;
    let h1 = v1["hash"].as_str().unwrap().to_owned();
    let changed = CHECKLIST.replacen("version \"", "version \"city-", 1);
    let (st, v2) = upload(&w, &w.admin, "mini_checklist.rules", &changed).await;
    assert_eq!(st, StatusCode::CREATED, "{v2}");
    let h2 = v2["hash"].as_str().unwrap().to_owned();
    assert_ne!(h1, h2);
    // Country-wide by the root admin, the city's own version by the 长沙 admin.
    let (st, a) = w
        .server
        .post(
            &format!("/api/v1/rulesets/{h1}/activate"),
            Some(&w.root),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["active_in"], json!([""]));
    let (st, a) = w
        .server
        .post(
            &format!("/api/v1/rulesets/{h2}/activate"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["active_in"], json!(["4301"]));
    let (_, cs) = w
        .server
        .get("/api/v1/rulesets/in-force?district=430102", &w.inspector)
        .await;
    assert_eq!(cs.as_array().unwrap().len(), 1, "{cs}");
    assert_eq!(cs[0]["hash"], h2.as_str());
    let (_, zz) = w
        .server
        .get("/api/v1/rulesets/in-force?district=430202", &w.inspector)
        .await;
    assert_eq!(zz[0]["hash"], h1.as_str());
    // The institution's own district by default.
    let (_, own) = w
        .server
        .get("/api/v1/rulesets/in-force", &w.institution)
        .await;
    assert_eq!(own[0]["hash"], h2.as_str());
    // Another city's admin cannot activate in 长沙.
    let (st, v) = w
        .server
        .call(
            Method::POST,
            &format!("/api/v1/rulesets/{h1}/activate?region=4301"),
            Some(&w.admin_other_city),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // Retiring the city's version falls back to the country's.
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/rulesets/{h2}/retire"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, cs) = w
        .server
        .get("/api/v1/rulesets/in-force?district=430102", &w.inspector)
        .await;
    assert_eq!(cs[0]["hash"], h1.as_str());
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/rulesets/{h2}/retire"),
            Some(&w.admin),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_admins_upload_or_activate() {
    let w = World::new().await;
    for t in [&w.inspector, &w.institution] {
        let (st, v) = upload(&w, t, "mini_checklist.rules", CHECKLIST).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    }
    let (_, v) = upload(&w, &w.admin, "mini_checklist.rules", CHECKLIST).await;
    let (st, _) = w
        .server
        .post(
            &format!("/api/v1/rulesets/{}/activate", v["hash"].as_str().unwrap()),
            Some(&w.inspector),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// A new server loads `checklists/` at first start and puts the national rulesets in force; the
/// city layer is stored for a city to activate.
#[tokio::test]
async fn the_shipped_checklists_are_in_force_at_first_start() {
    let s = crate::harness::TestServer::start_with(|c| c.bundled_rulesets = true).await;
    let root = s.root().await;
    let (st, list) = s.get("/api/v1/rulesets", &root).await;
    assert_eq!(st, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in [
        "gbt37276",
        "changsha",
        "gb38600",
        "fire",
        "major_hazards_2023",
        "credit",
        "sampling",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let (_, in_force) = s
        .get("/api/v1/rulesets/in-force?district=430102", &root)
        .await;
    let mut active: Vec<&str> = in_force
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    active.sort_unstable();
    assert_eq!(
        active,
        [
            "credit",
            "fire",
            "gb38600",
            "gbt37276",
            "major_hazards_2023",
            "sampling"
        ]
    );
    let changsha = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "changsha")
        .unwrap();
    let gbt = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "gbt37276")
        .unwrap();
    assert_eq!(changsha["base_hash"], gbt["hash"]);
    assert_eq!(changsha["active_in"], json!([]));
}
