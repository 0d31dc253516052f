//! Login, tokens, refresh rotation, throttling.

use crate::harness::{ROOT_PASSWORD, TestServer, World, create_user, token};
use caregrade::auth::token::{Claims, TokenKeys, now_secs};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::json;

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn login_then_me() {
    let s = TestServer::start().await;
    let pair = s.login("admin", ROOT_PASSWORD).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["refresh_token"].as_str().unwrap().len() >= 32);
    let (st, me) = s.get("/api/v1/me", &token(&pair)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["user"]["role"], "admin");
}

#[rstest]
#[case::wrong_password("admin", "not-the-password")]
#[case::unknown_user("nobody", ROOT_PASSWORD)]
#[case::empty_password("admin", "")]
#[tokio::test]
async fn bad_credentials_are_401(#[case] user: &str, #[case] pw: &str) {
    let s = TestServer::start().await;
    let (st, v) = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": user, "password": pw}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["code"], "unauthorized");
    assert!(v.get("access_token").is_none());
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let s = TestServer::start().await;
    let pair = s.login("admin", ROOT_PASSWORD).await;
    let me = s.get("/api/v1/me", &token(&pair)).await.1;
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let keys = TokenKeys::new(&s.secret, 900);
    let now = now_secs();
    let expired = keys
        .sign(&Claims {
            sub: id.clone(),
            role: "admin".into(),
            iat: now - 100,
            exp: now - 10,
        })
        .unwrap();
    let forged = TokenKeys::new("some-other-secret", 900)
        .issue(&id, "admin")
        .unwrap();
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = b64url(
        format!(
            r#"{{"sub":"{id}","role":"admin","iat":{now},"exp":{}}}"#,
            now + 600
        )
        .as_bytes(),
    );
    let alg_none = format!("{header}.{claims}.");
    let valid = token(&pair);
    let (sig_head, _) = valid.rsplit_once('.').unwrap();
    let tampered_sig = format!("{sig_head}.{}", b64url(b"not a signature at all......"));
    for (what, t) in [
        ("expired", expired),
        ("forged", forged),
        ("alg none", alg_none),
        ("garbage", "abc".into()),
        ("bad sig", tampered_sig),
    ] {
        let (st, v) = s.get("/api/v1/me", &t).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{what}: {v}");
        assert_eq!(v["code"], "unauthorized", "{what}");
    }
    let (st, _) = s.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "no token");
}

#[tokio::test]
async fn token_of_deleted_user_is_401() {
    let w = World::new().await;
    let (st, _) = w.server.get("/api/v1/me", &w.institution).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = w
        .server
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{}", w.institution_user_id),
            Some(&w.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, v) = w.server.get("/api/v1/me", &w.institution).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, _) = w
        .server
        .get(&format!("/api/v1/institutions/{}", w.own), &w.institution)
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let s = TestServer::start().await;
    let first = s.login("admin", ROOT_PASSWORD).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (st, second) = s
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!(st, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(s.get("/api/v1/me", &token(&second)).await.0, StatusCode::OK);
    // Reuse of the rotated token: 401, and the whole family is revoked.
    let (st, v) = s
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["code"], "refresh_reused");
    let (st, _) = s
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
        .await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "the newer token of the family is revoked too"
    );
    // Unknown refresh tokens too.
    let (st, _) = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": "0".repeat(64)}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let s = TestServer::start().await;
    let pair = s.login("admin", ROOT_PASSWORD).await;
    let r = pair["refresh_token"].as_str().unwrap();
    let (st, _) = s
        .post("/api/v1/auth/logout", None, json!({"refresh_token": r}))
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r}))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account() {
    let s = TestServer::start_with(|c| c.login_failures_per_account = 3).await;
    for _ in 0..3 {
        let (st, _) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "admin", "password": "wrong-wrong"}),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the window lasts.
    let (st, v) = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "admin", "password": ROOT_PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["code"], "too_many_attempts");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address() {
    let s = TestServer::start_with(|c| c.login_failures_per_address = 4).await;
    for i in 0..4 {
        let (st, _) = s
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": format!("user{i}"), "password": "wrong-wrong"}),
            )
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, _) = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "admin", "password": ROOT_PASSWORD}),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn disabled_user_is_401_for_tokens_and_login() {
    // Disabling behind the API's back (as `caregrade user disable` does) bypasses the user cache's
    // invalidation: it applies after auth_cache_ttl_ms, so this test turns the cache off.
    let s = TestServer::start_with(|c| c.auth_cache_ttl_ms = 0).await;
    let root = s.root().await;
    create_user(&s, &root, json!({"username": "temp", "password": "password-temp", "role": "admin", "region_code": "43"})).await;
    let t = token(&s.login("temp", "password-temp").await);
    assert_eq!(s.get("/api/v1/me", &t).await.0, StatusCode::OK);
    let mut conn = s.state.pool.get().unwrap();
    assert_eq!(
        caregrade::registry::users::set_disabled(&mut conn, "temp", true).unwrap(),
        1
    );
    assert_eq!(s.get("/api/v1/me", &t).await.0, StatusCode::UNAUTHORIZED);
    let (st, _) = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "temp", "password": "password-temp"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}
