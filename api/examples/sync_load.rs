//! Load of the answer sync: `PHONES` simulated phones, each syncing `BATCHES` batches of
//! `ANSWERS` answers to its own inspection concurrently, against the real server on a fresh SQLite
//! file (release build, in-process, loopback HTTP). Prints answers/s and latency percentiles, next
//! to SQLite's raw insert rate with the same durability (WAL, synchronous=NORMAL, one transaction
//! per 100 rows) measured in the same run.
//!
//! `cargo run --release -p caregrade --example sync_load -- [PHONES] [BATCHES] [ANSWERS] [RATE]`
//! (defaults 200 5 100). Without RATE every phone sends its next batch as soon as the last one is
//! answered (saturation: the highest rate the server sustains; latency is then mostly queueing,
//! ≈ phones × answers / rate). With RATE (answers/s over all phones) each phone sends a batch
//! every `phones × answers / RATE` seconds, phones staggered evenly: the latency at that load.
//! Figures go to docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use caregrade::config::Config;
use caregrade::inspections::{self, InspectionRow};
use caregrade::registry::{inspectors::InspectorRow, now_text, users};
use caregrade::rulesets::{self, Checked};
use diesel::{Connection, RunQueryDsl};
use serde_json::{Value, json};
use std::fmt::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[path = "../src/photos/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

fn checklist(items: usize) -> String {
    let mut s = String::from(
        "checklist load \"负载测试清单\" {\n    version \"1\"\n    source \"benchmark\"\n",
    );
    for g in 0..items.div_ceil(10) {
        writeln!(s, "    part g{g} \"组{g}\" {{").unwrap();
        for i in 0..10.min(items - g * 10) {
            writeln!(
                s,
                "        item i{i} \"检查项{g}-{i}\" {{\n            clause \"{g}.{i}\"\n            ask yesno\n        }}"
            )
            .unwrap();
        }
        s.push_str("    }\n");
    }
    s.push_str("}\n");
    s
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Rows per second SQLite takes through diesel with the server's pragmas, 100 rows per transaction.
fn raw_sqlite_rate(dir: &std::path::Path, rows: usize) -> f64 {
    let path = dir.join("raw.db");
    let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA journal_mode = WAL")
        .execute(&mut c)
        .unwrap();
    diesel::sql_query("PRAGMA synchronous = NORMAL")
        .execute(&mut c)
        .unwrap();
    diesel::sql_query(
        "CREATE TABLE raw (inspection_id TEXT NOT NULL, item TEXT NOT NULL, value TEXT NOT NULL, \
         client_uuid TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (inspection_id, item))",
    )
    .execute(&mut c)
    .unwrap();
    let start = Instant::now();
    for chunk in 0..rows.div_ceil(100) {
        c.transaction::<_, diesel::result::Error, _>(|c| {
            for i in 0..100 {
                diesel::sql_query(format!(
                    "INSERT INTO raw VALUES ('insp-{chunk}', 'item-{i}', 'true', '{}', 1)",
                    uuid::Uuid::new_v4()
                ))
                .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    }
    rows as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let phones = args.first().copied().unwrap_or(200);
    let batches = args.get(1).copied().unwrap_or(5);
    let answers = args.get(2).copied().unwrap_or(100);
    let rate = args.get(3).copied();
    // Time between two batches of one phone, and the phones' stagger, in open-loop mode.
    let interval = rate.map(|r| Duration::from_secs_f64((phones * answers) as f64 / r as f64));
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("load.db").display()),
        db_pool_size: 8,
        data_dir: dir.path().to_path_buf(),
        jwt_secret: Some("load-secret".into()),
        admin_password: Some("load-password-1".into()),
        bundled_rulesets: false,
        log: "warn".into(),
        ..Config::default()
    };
    let state = caregrade::server::prepare(config).unwrap();
    // Seed: one inspector user, `phones` inspections under a checklist of `answers` items.
    let ids: Vec<String> = {
        let mut c = state.pool.get().unwrap();
        let now = now_text();
        let src = checklist(answers);
        let Checked::Ok { row, .. } =
            rulesets::check_source(&mut c, "load.rules", &src, None, None, &now).unwrap()
        else {
            panic!("load checklist does not compile")
        };
        rulesets::store(&mut c, &row).unwrap();
        let inspector = InspectorRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: "负载".into(),
            department: "民政".into(),
            district_code: "430102".into(),
            certificate_no: "LOAD-1".into(),
            previous_employer: None,
            relations: "[]".into(),
            available: true,
            version: 1,
            created_at: now.clone(),
            updated_at: now.clone(),
        };
        caregrade::registry::inspectors::insert(&mut c, &inspector).unwrap();
        users::insert(
            &mut c,
            &users::UserRow {
                id: uuid::Uuid::new_v4().to_string(),
                username: "phone".into(),
                password_hash: caregrade::auth::password::hash("phone-password-1").unwrap(),
                role: "inspector".into(),
                display_name: "负载".into(),
                region_code: Some("4301".into()),
                inspector_id: Some(inspector.id.clone()),
                institution_id: None,
                disabled: false,
                created_at: now.clone(),
            },
        )
        .unwrap();
        diesel::sql_query(format!(
            "INSERT INTO institutions (id, name, credit_code, address, district_code, kind, beds, residents, legal_representative, safety_manager, contact_phone, floors, has_kitchen, building_area, fire_resistance_grade, filed, filed_on, facts, version, created_at, updated_at) \
             VALUES ('inst-1', '负载养老院', '52430102MJ0000000X', '地址', '430102', 'private', 100, 80, '张三', '李四', '1', 3, true, 1000.0, 2, true, NULL, '{{}}', 1, '{now}', '{now}')"
        ))
        .execute(&mut c)
        .unwrap();
        (0..phones)
            .map(|_| {
                let id = uuid::Uuid::new_v4().to_string();
                let r = InspectionRow {
                    id: id.clone(),
                    plan_id: None,
                    institution_id: "inst-1".into(),
                    district_code: "430102".into(),
                    purpose: inspections::purpose::SPOT_CHECK.into(),
                    rulesets: json!([row.hash]).to_string(),
                    status: inspections::status::STARTED.into(),
                    version: 1,
                    due: None,
                    started_at: Some(now.clone()),
                    acknowledgement: None,
                    submitted_at: None,
                    submitted_by: None,
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    scope: None,
                };
                inspections::create(&mut c, &r, std::slice::from_ref(&inspector.id)).unwrap();
                id
            })
            .collect()
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server_state = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            caregrade::server::server(server_state, listener, None)
                .unwrap()
                .await
                .unwrap();
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let photo_ids = ids.clone();
    let photo_base = base.clone();
    let (lat, wall, applied) = rt.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(phones)
            .build()
            .unwrap();
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "phone", "password": "phone-password-1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["access_token"].as_str().unwrap().to_owned();
        let start = Instant::now();
        let tasks: Vec<_> = ids
            .into_iter()
            .enumerate()
            .map(|(n, id)| {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut applied = 0u64;
                    for b in 0..batches {
                        if let Some(every) = interval {
                            let at = every.mul_f64(b as f64 + n as f64 / phones as f64);
                            tokio::time::sleep_until((start + at).into()).await;
                        }
                        let batch: Vec<Value> = (0..answers)
                            .map(|i| {
                                json!({
                                    "client_uuid": uuid::Uuid::new_v4().to_string(),
                                    "ruleset": "load",
                                    "item": format!("g{}.i{}", i / 10, i % 10),
                                    "value": b % 2 == 0,
                                    "base_version": b,
                                    "client_time": now_text(),
                                })
                            })
                            .collect();
                        let t = Instant::now();
                        let res = client
                            .post(format!("{base}/api/v1/inspections/{id}/answers"))
                            .bearer_auth(&token)
                            .json(&json!({ "answers": batch }))
                            .send()
                            .await
                            .unwrap();
                        let status = res.status();
                        let body: Value = res.json().await.unwrap();
                        lat.push(t.elapsed());
                        assert!(status.is_success(), "{status}: {body}");
                        applied += body["applied"].as_u64().unwrap();
                    }
                    (lat, applied)
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut applied = 0;
        for t in tasks {
            let (l, a) = t.await.unwrap();
            all.extend(l);
            applied += a;
        }
        let wall = start.elapsed();
        // Photo ingest through HTTP: a 12 MP JPEG, 20 sequential uploads (each a new photo to
        // the server: new client UUID; the store keeps one copy of identical bytes).
        let jpeg = fixtures::jpeg_of(&fixtures::picture(4000, 3000), None);
        let mut times = Vec::new();
        for k in 0..21 {
            let t = Instant::now();
            let res = client
                .post(format!(
                    "{photo_base}/api/v1/inspections/{}/photos?ruleset=load&item=g0.i0&client_uuid={}",
                    photo_ids[k % photo_ids.len()],
                    uuid::Uuid::new_v4()
                ))
                .bearer_auth(&token)
                .header("content-type", "image/jpeg")
                .body(jpeg.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 201);
            if k > 0 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        println!(
            "photo: 12 MP JPEG ({} bytes) through POST /inspections/{{id}}/photos, 20 sequential uploads: median {:.1} ms, min {:.1} ms, max {:.1} ms",
            jpeg.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.0),
            percentile(&times, 1.0)
        );
        (all, wall, applied)
    });
    let mut lat = lat;
    lat.sort();
    let total = applied as f64;
    let achieved = total / wall.as_secs_f64();
    let raw = raw_sqlite_rate(dir.path(), applied as usize);
    let mode = match rate {
        Some(r) => format!("offered {r} answers/s"),
        None => "saturation".to_owned(),
    };
    println!(
        "sync ({mode}): {phones} phones × {batches} batches × {answers} answers = {applied} answers in {:.2} s",
        wall.as_secs_f64()
    );
    println!(
        "sync: {achieved:.0} answers/s; batch latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!(
        "raw SQLite (WAL, synchronous=NORMAL, 100 rows per transaction, one connection): {raw:.0} rows/s; sync/raw = {:.3}",
        achieved / raw
    );
}
