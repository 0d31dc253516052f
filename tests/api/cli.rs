//! The `caregrade` binary itself: zero-configuration `serve`, `migrate`, `user add`, and a typo in
//! the database URL refused without creating anything.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn caregrade(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caregrade"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("CAREGRADE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CAREGRADE_LOG", "warn");
    cmd
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_with_zero_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = caregrade(dir.path())
        .args(["serve"])
        .env("CAREGRADE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Killed(child);
    let mut password = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("password: ").nth(1) {
            password = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.contains("listening on") {
            break;
        }
    }
    let password = password.expect("the first admin's password is printed");
    for f in ["caregrade.db", "jwt-secret"] {
        assert!(dir.path().join("data").join(f).exists(), "data/{f}");
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..50 {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz");
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    assert!(pair["access_token"].is_string());
}

#[test]
fn migrate_user_add_and_typos() {
    let dir = tempfile::tempdir().unwrap();
    let out = caregrade(dir.path()).args(["migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/caregrade.db").exists());
    let out = caregrade(dir.path())
        .args([
            "user", "add", "chief", "--role", "admin", "--region", "4301",
        ])
        .env("CAREGRADE_NEW_PASSWORD", "chief-password-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = caregrade(dir.path())
        .args(["user", "disable", "chief"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = caregrade(dir.path())
        .args(["user", "disable", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let empty = tempfile::tempdir().unwrap();
    for url in [
        "postgress://u@127.0.0.1/db",
        "data/caregrade",
        "sqlit://x.db",
    ] {
        let out = caregrade(empty.path())
            .args(["migrate"])
            .env("CAREGRADE_DATABASE_URL", url)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"),
            "{url}"
        );
    }
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "a typo creates nothing"
    );
}
