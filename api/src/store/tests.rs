//! The same cases against every backend: always the local directory, and S3 when
//! `CAREGRADE_TEST_S3_ENDPOINT` names a server (e.g. `moto_server -H 127.0.0.1 -p 9100`).

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Local,
    S3,
}

/// A fresh, empty store; `None` when the backend is not available in this environment.
/// The guard keeps the local directory alive for the test.
async fn fresh(backend: Backend) -> Option<(EvidenceStore, Option<TempDir>)> {
    match backend {
        Backend::Local => {
            let dir = TempDir::new();
            let config = StoreConfig {
                local_dir: dir.0.clone(),
                ..StoreConfig::default()
            };
            Some((
                EvidenceStore::open(&config).await.expect("local store"),
                Some(dir),
            ))
        }
        Backend::S3 => {
            let endpoint = std::env::var("CAREGRADE_TEST_S3_ENDPOINT").ok()?;
            static N: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .subsec_nanos();
            let bucket = format!(
                "cg-test-{}-{}-{nanos}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            let config = StoreConfig {
                kind: StoreKind::S3,
                s3_endpoint: Some(endpoint),
                s3_region: Some("caregrade-test".into()),
                s3_bucket: Some(bucket),
                s3_access_key: Some(
                    std::env::var("CAREGRADE_TEST_S3_ACCESS_KEY").unwrap_or("test".into()),
                ),
                s3_secret_key: Some(
                    std::env::var("CAREGRADE_TEST_S3_SECRET_KEY").unwrap_or("test".into()),
                ),
                ..StoreConfig::default()
            };
            Some((EvidenceStore::open(&config).await.expect("S3 store"), None))
        }
    }
}

/// A unique temporary directory removed on drop (no tempfile crate for one helper).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "caregrade-store-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

macro_rules! store_or_skip {
    ($backend:expr) => {
        match fresh($backend).await {
            Some(s) => s,
            None => {
                eprintln!("skipped: set CAREGRADE_TEST_S3_ENDPOINT to test the S3 backend");
                return;
            }
        }
    };
}

const PHOTO: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg, the store does not care";

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn round_trip(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let stored = store.put(PHOTO, "image/jpeg").await.unwrap();
    assert_eq!(stored.sha256, sha256_hex(PHOTO));
    assert_eq!(stored.size, PHOTO.len() as u64);
    assert_eq!(
        stored.key.as_str(),
        format!("sha256/{}/{}", &stored.sha256[..2], stored.sha256)
    );
    assert!(store.exists(stored.key.as_str()).await.unwrap());
    assert_eq!(store.get(stored.key.as_str()).await.unwrap(), PHOTO);
    store.health().await.unwrap();
}

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn put_is_idempotent(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let first = store.put(PHOTO, "image/jpeg").await.unwrap();
    let second = store.put(PHOTO, "image/jpeg").await.unwrap();
    assert_eq!(first, second);
    let other = store.put(b"other bytes", "image/jpeg").await.unwrap();
    assert_ne!(first.key, other.key);
    assert_eq!(store.get(first.key.as_str()).await.unwrap(), PHOTO);
}

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn missing_object_is_not_found(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let key = ObjectKey::for_sha256(&sha256_hex(b"never stored")).unwrap();
    assert!(!store.exists(key.as_str()).await.unwrap());
    let err = store.get(key.as_str()).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn delete_removes_and_is_idempotent(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let stored = store.put(PHOTO, "image/jpeg").await.unwrap();
    store.delete(stored.key.as_str()).await.unwrap();
    assert!(!store.exists(stored.key.as_str()).await.unwrap());
    assert!(matches!(
        store.get(stored.key.as_str()).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete(stored.key.as_str()).await.unwrap();
}

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn keys_that_are_not_content_addresses_are_refused(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let digest = sha256_hex(PHOTO);
    for key in [
        "../../etc/passwd".to_owned(),
        "/etc/passwd".to_owned(),
        format!("sha256/../{digest}"),
        format!("sha256/{}/../../{digest}", &digest[..2]),
        format!("sha256/ff/{digest}"),
        format!("sha256/{}/{}", &digest[..2], digest.to_uppercase()),
        format!("sha256/{}/{digest}/x", &digest[..2]),
        String::new(),
    ] {
        let err = store.get(&key).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{key}: {err:?}");
        assert!(
            matches!(store.delete(&key).await, Err(StoreError::Invalid(_))),
            "{key}"
        );
        assert!(
            matches!(store.exists(&key).await, Err(StoreError::Invalid(_))),
            "{key}"
        );
    }
}

#[rstest]
#[case::local(Backend::Local)]
#[case::s3(Backend::S3)]
#[tokio::test]
async fn signed_url_serves_the_bytes(#[case] backend: Backend) {
    let (store, _dir) = store_or_skip!(backend);
    let stored = store.put(PHOTO, "image/jpeg").await.unwrap();
    let url = store
        .signed_url(stored.key.as_str(), Duration::from_secs(60))
        .await
        .unwrap();
    match backend {
        Backend::Local => assert_eq!(url, None, "local photos are served by the API itself"),
        Backend::S3 => {
            let (status, body) = http_get(&url.expect("presigned URL")).await;
            assert_eq!(status, 200);
            assert_eq!(body, PHOTO);
        }
    }
}

#[tokio::test]
async fn local_put_writes_no_temp_files_and_repairs_damage() {
    let (store, dir) = store_or_skip!(Backend::Local);
    let dir = dir.expect("local dir");
    let stored = store.put(PHOTO, "image/jpeg").await.unwrap();
    let path = dir.0.join(stored.key.as_str());
    let siblings: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(siblings.len(), 1, "only the object itself: {siblings:?}");
    std::fs::write(&path, b"damaged").unwrap();
    store.put(PHOTO, "image/jpeg").await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), PHOTO);
}

#[tokio::test]
async fn s3_down_is_unavailable() {
    // A port that was just free: connection refused, as when the object store is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let s3 = S3Store::new(&endpoint, "caregrade-test", "down", "k", "s").unwrap();
    let store = EvidenceStore::S3(Box::new(s3.clone()));
    let err = store.put(PHOTO, "image/jpeg").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let key = ObjectKey::for_sha256(&sha256_hex(PHOTO)).unwrap();
    assert!(matches!(
        store.get(key.as_str()).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.health().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        s3.ensure_bucket().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[test]
fn config_reads_the_server_variables_and_hides_the_secret() {
    let env = |name: &str| match name {
        "CAREGRADE_STORE" => Some("S3".to_owned()),
        "CAREGRADE_S3_ENDPOINT" => Some("http://127.0.0.1:9100".to_owned()),
        "CAREGRADE_S3_BUCKET" => Some("evidence".to_owned()),
        "CAREGRADE_S3_SECRET_KEY" => Some("hunter2".to_owned()),
        _ => None,
    };
    let config = StoreConfig::from_lookup(env, "data/photos".into()).unwrap();
    assert_eq!(config.kind, StoreKind::S3);
    assert_eq!(config.s3_bucket.as_deref(), Some("evidence"));
    assert!(!format!("{config:?}").contains("hunter2"));
    let missing_key = S3Store::from_config(&config).unwrap_err();
    assert!(matches!(missing_key, StoreError::Invalid(_)));
    assert!(StoreConfig::from_lookup(|_| Some("ftp".into()), "x".into()).is_err());
    let s3 = S3Store::new("http://127.0.0.1:1", "r", "b", "AKIDEXAMPLE", "hunter2").unwrap();
    assert!(
        !format!("{s3:?}").contains("hunter2"),
        "secret in Debug output"
    );
}

/// Plain HTTP/1.1 GET over TCP: the presigned URL must work for a client that has no S3 library.
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    (status, response[split + 4..].to_vec())
}

/// Only servers that verify signatures can tell (s3s-fs does, moto does not): set
/// `CAREGRADE_TEST_S3_CHECKS_AUTH=1` with such a server.
#[tokio::test]
async fn s3_wrong_credentials_are_unavailable_not_a_client_error() {
    let (Ok(endpoint), Ok(_)) = (
        std::env::var("CAREGRADE_TEST_S3_ENDPOINT"),
        std::env::var("CAREGRADE_TEST_S3_CHECKS_AUTH"),
    ) else {
        eprintln!("skipped: needs CAREGRADE_TEST_S3_ENDPOINT and CAREGRADE_TEST_S3_CHECKS_AUTH");
        return;
    };
    let s3 = S3Store::new(
        &endpoint,
        "caregrade-test",
        "cg-wrong-key",
        "nobody",
        "wrong",
    )
    .unwrap();
    let err = s3.ensure_bucket().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let store = EvidenceStore::S3(Box::new(s3));
    assert!(matches!(
        store.health().await,
        Err(StoreError::Unavailable(_))
    ));
}
