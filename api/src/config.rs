//! Configuration: embedded defaults, then a TOML file, then `CAREGRADE_*` environment variables.
//!
//! figment layers the three sources into one typed struct, so a field added here is at once a file
//! key and an environment variable (`database_url` ↔ `CAREGRADE_DATABASE_URL`).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which evidence store holds photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// A directory on the local disk (embedded default).
    #[default]
    Local,
    /// S3-compatible object storage.
    S3,
}

/// Everything the server and the CLI need to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://PATH`, a path ending in `.db`/`.sqlite`, or `postgres://…`.
    pub database_url: String,
    /// Maximum connections in the pool.
    pub db_pool_size: u32,
    /// Directory for the SQLite file, photos and the generated signing secret.
    pub data_dir: PathBuf,
    /// Address the server listens on.
    pub listen: String,
    /// HMAC secret for access tokens; when absent it is read from (or generated into) `jwt_secret_file`.
    pub jwt_secret: Option<String>,
    /// File holding the signing secret; default `<data_dir>/jwt-secret`.
    pub jwt_secret_file: Option<PathBuf>,
    /// Lifetime of an access token, seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, seconds.
    pub refresh_token_ttl_secs: u64,
    /// How long a verified access token and the user row behind it are reused, milliseconds (0:
    /// never); the token's expiry is still checked every time. Deletions through this server
    /// apply at once; other changes within this time.
    pub auth_cache_ttl_ms: u64,
    /// Largest JSON body accepted, bytes.
    pub json_limit: usize,
    /// Largest CSV import body accepted, bytes.
    pub csv_limit: usize,
    /// Largest photo (whole upload, or one assembled from chunks) accepted, bytes.
    pub photo_limit: usize,
    /// Largest chunk of a resumable upload, bytes.
    pub chunk_limit: usize,
    /// Failed logins allowed per account in one window.
    pub login_failures_per_account: u32,
    /// Failed logins allowed per client address in one window.
    pub login_failures_per_address: u32,
    /// Length of the login-throttling window, seconds.
    pub login_window_secs: u64,
    /// Password of the first admin, created when there is no user yet (else one is printed once).
    pub admin_password: Option<String>,
    /// How often the server emits what overdue rectifications entail, seconds (0: never; the
    /// overdue state itself is always derived from the clock).
    pub escalation_interval_secs: u64,
    /// How often due webhook deliveries are posted, seconds (0: never).
    pub webhook_interval_secs: u64,
    /// How long one webhook delivery may take, milliseconds.
    pub webhook_timeout_ms: u64,
    /// Load the rulesets bundled from `checklists/` when the database holds none (first start).
    pub bundled_rulesets: bool,
    /// `local` or `s3`.
    pub store: StoreKind,
    /// Photo directory for the local store; default `<data_dir>/photos`.
    pub photo_dir: Option<PathBuf>,
    /// S3 endpoint, e.g. `http://127.0.0.1:9000`.
    pub s3_endpoint: Option<String>,
    /// S3 region name.
    pub s3_region: String,
    /// S3 bucket.
    pub s3_bucket: String,
    /// S3 access key.
    pub s3_access_key: Option<String>,
    /// S3 secret key.
    pub s3_secret_key: Option<String>,
    /// tracing filter, e.g. `info` or `caregrade=debug`.
    pub log: String,
    /// Public holidays on weekdays (`"YYYY-MM-DD"`), from the State Council's annual notice on
    /// holiday arrangements: not working days for the 20-working-day publication window.
    pub holidays: Vec<chrono::NaiveDate>,
    /// Weekend days made working days (调休) by the same notice.
    pub extra_working_days: Vec<chrono::NaiveDate>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/caregrade.db".into(),
            db_pool_size: 8,
            data_dir: PathBuf::from("data"),
            listen: "127.0.0.1:8080".into(),
            jwt_secret: None,
            jwt_secret_file: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            auth_cache_ttl_ms: 1000,
            json_limit: 1 << 20,
            csv_limit: 8 << 20,
            photo_limit: 40 * 1024 * 1024,
            chunk_limit: 8 * 1024 * 1024,
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            login_window_secs: 15 * 60,
            admin_password: None,
            bundled_rulesets: true,
            escalation_interval_secs: 600,
            webhook_interval_secs: 5,
            webhook_timeout_ms: 10_000,
            store: StoreKind::Local,
            photo_dir: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_bucket: "caregrade".into(),
            s3_access_key: None,
            s3_secret_key: None,
            log: "info".into(),
            holidays: Vec::new(),
            extra_working_days: Vec::new(),
        }
    }
}

/// A configuration that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad file or environment value.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// The signing secret file could not be read or written.
    #[error("signing secret {0}: {1}")]
    Secret(PathBuf, std::io::Error),
}

impl Config {
    /// Loads defaults < `file` (or `caregrade.toml` if present) < `CAREGRADE_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None => fig = fig.merge(Toml::file("caregrade.toml")),
        }
        fig = fig.merge(Env::prefixed("CAREGRADE_").ignore(&["config"]));
        fig.extract().map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// The photo directory of the local store.
    pub fn photo_dir(&self) -> PathBuf {
        self.photo_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("photos"))
    }

    /// What the evidence store needs from this configuration.
    pub fn store_config(&self) -> crate::store::StoreConfig {
        crate::store::StoreConfig {
            kind: match self.store {
                StoreKind::Local => crate::store::StoreKind::Local,
                StoreKind::S3 => crate::store::StoreKind::S3,
            },
            local_dir: self.photo_dir(),
            s3_endpoint: self.s3_endpoint.clone(),
            s3_region: Some(self.s3_region.clone()),
            s3_bucket: Some(self.s3_bucket.clone()),
            s3_access_key: self.s3_access_key.clone(),
            s3_secret_key: self.s3_secret_key.clone(),
        }
    }

    /// The signing secret: configured, or read from its file, or generated and persisted there.
    pub fn signing_secret(&self) -> Result<String, ConfigError> {
        if let Some(s) = &self.jwt_secret {
            return Ok(s.clone());
        }
        let path = self
            .jwt_secret_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("jwt-secret"));
        match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ConfigError::Secret(path, e)),
        }
        let secret = crate::auth::random_token();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ConfigError::Secret(path.clone(), e))?;
        }
        write_private(&path, &secret).map_err(|e| ConfigError::Secret(path.clone(), e))?;
        Ok(secret)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_load_from_the_file_and_bad_ones_are_refused() {
        let dir = std::env::temp_dir().join(format!("caregrade-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            "holidays = [\"2026-10-01\", \"2026-10-02\"]\nextra_working_days = [\"2026-10-10\"]\n",
        )
        .expect("write");
        let c = Config::load(Some(&good)).expect("loads");
        assert_eq!(c.holidays.len(), 2);
        assert_eq!(c.extra_working_days[0].to_string(), "2026-10-10");
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "holidays = [\"2026-13-01\"]\n").expect("write");
        let e = Config::load(Some(&bad)).expect_err("a month 13 is refused");
        assert!(e.to_string().contains("holidays"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
