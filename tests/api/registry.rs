//! Registry CRUD, optimistic concurrency, round-trips, CSV import.

use crate::harness::{World, credit_code, inspector_body, institution_body};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn institution_crud_with_versions() {
    let w = World::new().await;
    let s = &w.server;
    let (st, created) = s
        .post(
            "/api/v1/institutions",
            Some(&w.admin),
            institution_body(10, "430105"),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["kind_label"], "民办");
    assert_eq!(created["facts"]["nursing_staff"], 12);
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/institutions/{id}");

    let mut update = institution_body(10, "430105");
    update["beds"] = json!(120);
    update["version"] = json!(1);
    let (st, v) = s
        .call(Method::PUT, &path, Some(&w.admin), Some(update.clone()))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["version"].as_i64(), v["beds"].as_i64()),
        (Some(2), Some(120))
    );

    // A stale version: 409 with the current record, nothing written.
    update["beds"] = json!(5);
    let (st, v) = s
        .call(Method::PUT, &path, Some(&w.admin), Some(update.clone()))
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "version_conflict");
    assert_eq!(v["current"]["version"], 2);
    assert_eq!(v["current"]["beds"], 120);
    assert_eq!(s.get(&path, &w.admin).await.1["beds"], 120);

    // No version at all: 400.
    update.as_object_mut().unwrap().remove("version");
    let (st, v) = s
        .call(Method::PUT, &path, Some(&w.admin), Some(update))
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("version"))
    );

    // Duplicate credit code: 409.
    let (st, v) = s
        .post(
            "/api/v1/institutions",
            Some(&w.admin),
            institution_body(10, "430105"),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("duplicate")),
        "{v}"
    );

    let (st, _) = s.call(Method::DELETE, &path, Some(&w.admin), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&path, &w.admin).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sql_metacharacters_and_chinese_round_trip() {
    let w = World::new().await;
    let s = &w.server;
    let name = "O'Brien\"; DROP TABLE institutions; -- 福寿康%_\\养老院 🧓";
    let address = "湖南省长沙市芙蓉区'; DELETE FROM users; --";
    let mut body = institution_body(11, "430102");
    body["name"] = json!(name);
    body["address"] = json!(address);
    body["legal_representative"] = json!("欧阳·娜娜");
    body["facts"] = json!({"备注": "消防通道\"畅通\"", "quote'key": 1});
    let (st, created) = s.post("/api/v1/institutions", Some(&w.admin), body).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let (_, got) = s
        .get(
            &format!("/api/v1/institutions/{}", created["id"].as_str().unwrap()),
            &w.admin,
        )
        .await;
    assert_eq!(got["name"], name);
    assert_eq!(got["address"], address);
    assert_eq!(got["legal_representative"], "欧阳·娜娜");
    assert_eq!(got["facts"]["备注"], "消防通道\"畅通\"");
    // Searching with metacharacters matches literally: % and _ are not wildcards.
    let q = "%_\\养老院";
    let url = format!("/api/v1/institutions?q={}", url_encode(q));
    let (st, list) = s.get(&url, &w.admin).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let (_, none) = s
        .get(
            &format!("/api/v1/institutions?q={}", url_encode("%")),
            &w.admin,
        )
        .await;
    assert_eq!(
        none["total"], 1,
        "only the name containing a literal % matches"
    );
    // Every table is still there.
    assert_eq!(s.get("/api/v1/users", &w.admin).await.0, StatusCode::OK);
    assert_eq!(s.get("/api/v1/institutions", &w.admin).await.1["total"], 3);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn pagination_and_filters() {
    let w = World::new().await;
    let s = &w.server;
    for n in 20..25 {
        let mut b = institution_body(n, if n % 2 == 0 { "430111" } else { "430112" });
        if n == 24 {
            b["kind"] = json!("public");
        }
        assert_eq!(
            s.post("/api/v1/institutions", Some(&w.admin), b).await.0,
            StatusCode::CREATED
        );
    }
    let (_, page) = s
        .get("/api/v1/institutions?limit=3&offset=0", &w.admin)
        .await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(7), 3)
    );
    let (_, page) = s
        .get("/api/v1/institutions?limit=3&offset=6", &w.admin)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = s
        .get("/api/v1/institutions?district=430111", &w.admin)
        .await;
    assert_eq!(page["total"], 3);
    let (_, page) = s.get("/api/v1/institutions?kind=public", &w.admin).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["kind_label"], "公办");
}

const HEADER: &str = "name,credit_code,address,district_code,kind,beds,residents,legal_representative,safety_manager,contact_phone,floors,has_kitchen,building_area,fire_resistance_grade,filed,filed_on,facts";

fn csv_row(n: usize, kind: &str) -> String {
    format!(
        "\"长沙市测试{n}养老院, 分院\",{},湖南省长沙市天心区{n}号,430103,{kind},60,40,王五,赵六,0731-85550000,2,是,1800.5,2,是,2023-05-06,\"{{\"\"sprinklers\"\": true}}\"",
        credit_code(100 + n)
    )
}

#[tokio::test]
async fn csv_import_with_bom_and_chinese_labels() {
    let w = World::new().await;
    let s = &w.server;
    let csv = format!(
        "\u{feff}{HEADER}\n{}\n{}\n{}\n",
        csv_row(1, "民办"),
        csv_row(2, "公建民营"),
        csv_row(3, "public")
    );
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/institutions/import",
            Some(&w.admin),
            Some("text/csv; charset=utf-8"),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["imported"], 3);
    let (_, list) = s
        .get("/api/v1/institutions?district=430103", &w.admin)
        .await;
    assert_eq!(list["total"], 3);
    let first = &list["items"][0];
    assert_eq!(first["facts"]["sprinklers"], true);
    assert!(first["name"].as_str().unwrap().contains(", 分院"));
}

#[tokio::test]
async fn csv_import_with_one_bad_row_imports_nothing() {
    let w = World::new().await;
    let s = &w.server;
    let mut bad = csv_row(5, "民办");
    bad = bad.replace(&credit_code(105), "91440300192203821X");
    let bad_beds = csv_row(6, "民办").replace(",60,40,", ",sixty,40,");
    let csv = format!(
        "{HEADER}\n{}\n{bad}\n{}\n{bad_beds}\n",
        csv_row(4, "民办"),
        csv_row(7, "民办")
    );
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/institutions/import",
            Some(&w.admin),
            Some("text/csv"),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "import_invalid");
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v}");
    assert_eq!(
        (errors[0]["row"].as_u64(), errors[0]["column"].as_str()),
        (Some(3), Some("credit_code"))
    );
    assert_eq!(
        (errors[1]["row"].as_u64(), errors[1]["column"].as_str()),
        (Some(5), Some("beds"))
    );
    let (_, list) = s
        .get("/api/v1/institutions?district=430103", &w.admin)
        .await;
    assert_eq!(list["total"], 0, "nothing imported");

    // A row whose credit code is already registered fails the whole import in the database.
    let (_, existing) = s
        .get(&format!("/api/v1/institutions/{}", w.own), &w.admin)
        .await;
    let dup =
        csv_row(8, "民办").replace(&credit_code(108), existing["credit_code"].as_str().unwrap());
    let csv = format!("{HEADER}\n{}\n{dup}\n", csv_row(9, "民办"));
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/institutions/import",
            Some(&w.admin),
            Some("text/csv"),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["row"], 3);
    assert_eq!(
        s.get("/api/v1/institutions?district=430103", &w.admin)
            .await
            .1["total"],
        0
    );

    // Missing and unknown columns are reported against row 1.
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/institutions/import",
            Some(&w.admin),
            Some("text/csv"),
            b"name,colour\nx,red\n".to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["row"], 1);
}

#[tokio::test]
async fn inspector_roster_crud_and_import() {
    let w = World::new().await;
    let s = &w.server;
    let mut body = inspector_body(30, "430104");
    body["relations"] = json!([w.own]);
    body["previous_employer"] = json!("长沙市某养老服务公司");
    let (st, created) = s
        .post("/api/v1/inspectors", Some(&w.admin), body.clone())
        .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(created["relations"][0], w.own.as_str());
    let path = format!("/api/v1/inspectors/{}", created["id"].as_str().unwrap());
    body["available"] = json!(false);
    body["version"] = json!(1);
    let (st, v) = s
        .call(Method::PUT, &path, Some(&w.admin), Some(body.clone()))
        .await;
    assert_eq!(
        (st, v["available"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{v}"
    );
    let (st, v) = s.call(Method::PUT, &path, Some(&w.admin), Some(body)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (_, list) = s.get("/api/v1/inspectors?available=false", &w.admin).await;
    assert_eq!(list["total"], 1);

    let csv = "\u{feff}name,department,district_code,certificate_no,previous_employer,relations,available\n\
               刘洋,消防救援,430105,湘执A001,,,是\n陈静,卫健,430111,湘执A002,某医院,,否\n";
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/inspectors/import",
            Some(&w.admin),
            Some("text/csv"),
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["imported"], 2);
    let bad = "name,department,district_code,certificate_no\n刘洋,消防救援,430105,湘执B001\n陈静,卫健,4301,湘执B002\n";
    let (st, _, v) = s
        .raw(
            Method::POST,
            "/api/v1/inspectors/import",
            Some(&w.admin),
            Some("text/csv"),
            bad.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        (
            v["errors"][0]["row"].as_u64(),
            v["errors"][0]["column"].as_str()
        ),
        (Some(3), Some("district_code"))
    );
    assert_eq!(
        s.get("/api/v1/inspectors", &w.admin).await.1["total"],
        4,
        "1 seeded + 1 created + 2 imported"
    );
}

#[tokio::test]
async fn demo_loads_once_with_valid_credit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::harness::test_config(dir.path());
    let pool = caregrade::server::open_database(&config).unwrap();
    let mut conn = pool.get().unwrap();
    let summary = caregrade::demo::load(&mut conn).unwrap();
    assert!(summary.contains("36 institutions"));
    for i in 0..36 {
        let code = caregrade::demo::institution(i).credit_code;
        assert_eq!(
            caregrade::registry::credit_code::validate(&code),
            Ok(()),
            "{code}"
        );
    }
    assert!(
        caregrade::demo::load(&mut conn)
            .unwrap()
            .contains("already")
    );
}
