//! Store configuration, filled by the server's config loader from `CAREGRADE_*` variables.

use std::path::PathBuf;

/// Which backend holds the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    /// A local directory (`CAREGRADE_STORE=local`, the default).
    #[default]
    Local,
    /// S3-compatible object storage (`CAREGRADE_STORE=s3`).
    S3,
}

impl std::str::FromStr for StoreKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "s3" => Ok(Self::S3),
            other => Err(format!(
                "unknown store kind {other:?} (expected \"local\" or \"s3\")"
            )),
        }
    }
}

/// Everything needed to open an [`EvidenceStore`](super::EvidenceStore).
#[derive(Clone, Default)]
pub struct StoreConfig {
    /// Backend (`CAREGRADE_STORE`).
    pub kind: StoreKind,
    /// Root directory of the local backend (the server puts it under its data directory).
    pub local_dir: PathBuf,
    /// S3 endpoint URL, e.g. `http://127.0.0.1:9000` (`CAREGRADE_S3_ENDPOINT`).
    pub s3_endpoint: Option<String>,
    /// S3 region name (`CAREGRADE_S3_REGION`); S3-compatible servers accept any name.
    pub s3_region: Option<String>,
    /// Bucket, created at start if missing (`CAREGRADE_S3_BUCKET`).
    pub s3_bucket: Option<String>,
    /// Access key id (`CAREGRADE_S3_ACCESS_KEY`).
    pub s3_access_key: Option<String>,
    /// Secret access key (`CAREGRADE_S3_SECRET_KEY`); never logged.
    pub s3_secret_key: Option<String>,
}

impl StoreConfig {
    /// Reads the `CAREGRADE_STORE` and `CAREGRADE_S3_*` variables through `lookup` (so the
    /// server can layer a config file under the environment, and tests need no global state).
    /// `local_dir` is the default photo directory under the data directory.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        local_dir: PathBuf,
    ) -> Result<Self, String> {
        let kind = match lookup("CAREGRADE_STORE") {
            Some(s) => s.parse()?,
            None => StoreKind::Local,
        };
        Ok(Self {
            kind,
            local_dir,
            s3_endpoint: lookup("CAREGRADE_S3_ENDPOINT"),
            s3_region: lookup("CAREGRADE_S3_REGION"),
            s3_bucket: lookup("CAREGRADE_S3_BUCKET"),
            s3_access_key: lookup("CAREGRADE_S3_ACCESS_KEY"),
            s3_secret_key: lookup("CAREGRADE_S3_SECRET_KEY"),
        })
    }
}

// By hand so that the secret key never reaches a log line.
impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("kind", &self.kind)
            .field("local_dir", &self.local_dir)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_region", &self.s3_region)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_access_key", &self.s3_access_key)
            .field(
                "s3_secret_key",
                &self.s3_secret_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
