//! Starts the real server in-process on 127.0.0.1:0 (its own actix system on a background
//! thread) against a fresh SQLite file, or a fresh PostgreSQL database when
//! `CAREGRADE_TEST_DATABASE_URL` is set, and talks HTTP to it.

use caregrade::config::{Config, StoreKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::TcpListener;

/// The password of the bootstrap admin (`admin`, country-wide).
pub const ROOT_PASSWORD: &str = "root-password-1";

/// A running server.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub secret: String,
    /// The server's state (its pool), for checks behind the API's back.
    pub state: actix_web::web::Data<caregrade::state::AppState>,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // stop() sends the command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}

fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("CAREGRADE_TEST_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("cg_{}", uuid::Uuid::new_v4().simple());
            caregrade::db::create_pg_database(&admin, &name).expect("create test database");
            let (base, query) = match admin.split_once('?') {
                Some((b, q)) => (b.to_owned(), format!("?{q}")),
                None => (admin.clone(), String::new()),
            };
            let (server, _) = base.rsplit_once('/').expect("database URL has a path");
            format!("{server}/{name}{query}")
        }
        _ => format!("sqlite://{}", dir.join("test.db").display()),
    }
}

/// A configuration for one test server.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        database_url: database_url(dir),
        db_pool_size: 4,
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        jwt_secret: Some(format!("test-secret-{}", uuid::Uuid::new_v4())),
        admin_password: Some(ROOT_PASSWORD.into()),
        log: "warn".into(),
        // Most tests upload what they need; the spot-check tests switch this on.
        bundled_rulesets: false,
        // Tests post webhooks when they ask (POST /webhooks/deliver), not on a timer.
        webhook_interval_secs: 0,
        webhook_timeout_ms: 500,
        ..Config::default()
    };
    if std::env::var("CAREGRADE_TEST_STORE").as_deref() == Ok("s3") {
        c.store = StoreKind::S3;
        c.s3_endpoint = std::env::var("CAREGRADE_TEST_S3_ENDPOINT").ok();
        c.s3_region =
            std::env::var("CAREGRADE_TEST_S3_REGION").unwrap_or_else(|_| "caregrade-test".into());
        c.s3_bucket = format!("cg-{}", uuid::Uuid::new_v4().simple());
        c.s3_access_key = Some("test".into());
        c.s3_secret_key = Some("test".into());
    }
    c
}

impl TestServer {
    /// Starts a server with the default test configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path());
        tweak(&mut config);
        let secret = config.jwt_secret.clone().unwrap_or_default();
        let state = tokio::task::spawn_blocking(move || caregrade::server::prepare(config))
            .await
            .expect("join")
            .expect("server prepares");
        let shared = state.clone();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = caregrade::server::server(state, listener, Some(1)).expect("server");
                let _ = tx.send(server.handle());
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server handle");
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            secret,
            state: shared,
            handle,
            _dir: dir,
        }
    }

    /// Any request; returns status, headers and the body as JSON (Null when empty or not JSON).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.body(body).send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// A request with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (ct, bytes) = match body {
            Some(b) => (
                Some("application/json"),
                serde_json::to_vec(&b).expect("json"),
            ),
            None => (None, Vec::new()),
        };
        let (s, _, v) = self.raw(method, path, token, ct, bytes).await;
        (s, v)
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// Logs in; panics unless 200. Returns the token pair.
    pub async fn login(&self, user: &str, pw: &str) -> Value {
        let (s, v) = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({ "username": user, "password": pw }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {user}: {v}");
        v
    }

    /// The bootstrap admin's access token.
    pub async fn root(&self) -> String {
        token(&self.login("admin", ROOT_PASSWORD).await)
    }
}

/// The access token of a token pair.
pub fn token(pair: &Value) -> String {
    pair["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A valid credit code, different for each `n`.
pub fn credit_code(n: usize) -> String {
    caregrade::registry::credit_code::complete(&format!("52430102MJ{:07}", 3_000_000 + n))
        .expect("code")
}

/// A valid institution body in `district`.
pub fn institution_body(n: usize, district: &str) -> Value {
    json!({
        "name": format!("测试养老院{n}"),
        "credit_code": credit_code(n),
        "address": "湖南省长沙市芙蓉区五一大道1号",
        "district_code": district,
        "kind": "private",
        "beds": 100,
        "residents": 80,
        "legal_representative": "张三",
        "safety_manager": "李四",
        "contact_phone": "0731-88888888",
        "floors": 3,
        "has_kitchen": true,
        "building_area": 3200.5,
        "fire_resistance_grade": 2,
        "filed": true,
        "filed_on": "2024-03-01",
        "facts": { "sprinklers": true, "nursing_staff": 12 }
    })
}

/// A valid inspector body.
pub fn inspector_body(n: usize, district: &str) -> Value {
    json!({
        "name": format!("检查员{n}"),
        "department": "民政",
        "district_code": district,
        "certificate_no": format!("湘执{n:08}"),
    })
}

/// A seeded world: a city admin for 长沙 (4301), an admin for 株洲 (4302), an inspector of 4301,
/// a user of institution `own`, and another institution `other` in the same city.
pub struct World {
    pub server: TestServer,
    pub root: String,
    pub admin: String,
    pub admin_other_city: String,
    pub inspector: String,
    pub institution: String,
    pub own: String,
    pub other: String,
    pub inspector_id: String,
    pub institution_user_id: String,
}

/// Creates a user through the API and returns its id.
pub async fn create_user(server: &TestServer, by: &str, body: Value) -> String {
    let (s, v) = server.post("/api/v1/users", Some(by), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().expect("id").to_owned()
}

impl World {
    /// Seeds the world on a fresh server.
    pub async fn new() -> Self {
        Self::new_with(|_| {}).await
    }

    /// Seeds the world on a fresh server whose configuration `tweak` adjusts.
    pub async fn new_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let server = TestServer::start_with(tweak).await;
        let root = server.root().await;
        create_user(&server, &root, json!({"username": "cs-admin", "password": "password-cs", "role": "admin", "region_code": "4301"})).await;
        create_user(&server, &root, json!({"username": "zz-admin", "password": "password-zz", "role": "admin", "region_code": "4302"})).await;
        let admin = token(&server.login("cs-admin", "password-cs").await);
        let (s, own) = server
            .post(
                "/api/v1/institutions",
                Some(&admin),
                institution_body(1, "430102"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{own}");
        let (s, other) = server
            .post(
                "/api/v1/institutions",
                Some(&admin),
                institution_body(2, "430104"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{other}");
        let (s, insp) = server
            .post(
                "/api/v1/inspectors",
                Some(&admin),
                inspector_body(1, "430103"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{insp}");
        let own = own["id"].as_str().expect("id").to_owned();
        let other = other["id"].as_str().expect("id").to_owned();
        let inspector_id = insp["id"].as_str().expect("id").to_owned();
        create_user(&server, &admin, json!({"username": "cs-inspector", "password": "password-in", "role": "inspector", "region_code": "4301", "inspector_id": inspector_id})).await;
        let institution_user_id = create_user(&server, &admin, json!({"username": "own-user", "password": "password-ow", "role": "institution", "institution_id": own})).await;
        let admin_other_city = token(&server.login("zz-admin", "password-zz").await);
        let inspector = token(&server.login("cs-inspector", "password-in").await);
        let institution = token(&server.login("own-user", "password-ow").await);
        Self {
            server,
            root,
            admin,
            admin_other_city,
            inspector,
            institution,
            own,
            other,
            inspector_id,
            institution_user_id,
        }
    }

    /// The token of a role name used in test tables.
    pub fn token_of(&self, role: &str) -> &str {
        match role {
            "admin" => &self.admin,
            "inspector" => &self.inspector,
            "institution" => &self.institution,
            "other_admin" => &self.admin_other_city,
            _ => &self.root,
        }
    }
}
