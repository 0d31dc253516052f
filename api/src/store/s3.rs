//! S3-compatible backend (rust-s3, path-style addressing against a custom endpoint).

use std::time::Duration;

use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, BucketConfiguration, Region};

use super::{ObjectKey, StoreConfig, StoreError, StoredObject, sha256_hex};

/// A bucket on an S3-compatible server.
#[derive(Debug, Clone)]
pub struct S3Store {
    bucket: Box<Bucket>,
    region: Region,
    credentials: Credentials,
}

/// Longest a single request may take before the store counts as unavailable; a photo upload on a
/// LAN finishes far sooner, and a hung server must not pin an API worker forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// S3 caps presigned URLs at one week.
const MAX_PRESIGN: Duration = Duration::from_secs(604_800);

impl S3Store {
    /// Builds the client from configuration; performs no network IO (see [`Self::ensure_bucket`]).
    pub fn from_config(config: &StoreConfig) -> Result<Self, StoreError> {
        let need = |v: &Option<String>, name: &str| {
            v.clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| StoreError::Invalid(format!("S3 store needs {name}")))
        };
        let endpoint = need(&config.s3_endpoint, "CAREGRADE_S3_ENDPOINT")?;
        let bucket = need(&config.s3_bucket, "CAREGRADE_S3_BUCKET")?;
        let access = need(&config.s3_access_key, "CAREGRADE_S3_ACCESS_KEY")?;
        let secret = need(&config.s3_secret_key, "CAREGRADE_S3_SECRET_KEY")?;
        let region = config
            .s3_region
            .clone()
            .unwrap_or_else(|| "caregrade".to_owned());
        Self::new(&endpoint, &region, &bucket, &access, &secret)
    }

    /// Builds the client for one bucket.
    pub fn new(
        endpoint: &str,
        region: &str,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<Self, StoreError> {
        let region = Region::Custom {
            region: region.to_owned(),
            endpoint: endpoint.to_owned(),
        };
        let credentials = Credentials::new(Some(access_key), Some(secret_key), None, None, None)
            .map_err(|e| StoreError::Invalid(format!("S3 credentials: {e}")))?;
        let bucket = Bucket::new(bucket, region.clone(), credentials.clone())
            .and_then(|b| b.with_path_style().with_request_timeout(REQUEST_TIMEOUT))
            .map_err(|e| StoreError::Invalid(format!("S3 bucket: {e}")))?;
        Ok(Self {
            bucket,
            region,
            credentials,
        })
    }

    /// Creates the bucket unless it exists, so a fresh deployment needs no manual step.
    ///
    /// Creation is attempted directly and "already exists" (409) accepted: listing all buckets
    /// first would need a permission that a bucket-scoped key usually lacks. rust-s3 sends the
    /// region as LocationConstraint; servers that refuse that for `us-east-1` (AWS, moto) need
    /// another region name or `RUST_S3_SKIP_LOCATION_CONSTRAINT=true` in the environment.
    pub async fn ensure_bucket(&self) -> Result<(), StoreError> {
        let created = Bucket::create_with_path_style(
            &self.bucket.name,
            self.region.clone(),
            self.credentials.clone(),
            BucketConfiguration::default(),
        )
        .await;
        match created {
            Ok(r) if r.success() || r.response_code == 409 => Ok(()),
            Ok(r) => Err(StoreError::Unavailable(format!(
                "creating bucket {}: HTTP {}: {}",
                self.bucket.name, r.response_code, r.response_text
            ))),
            Err(S3Error::HttpFailWithBody(409, _)) => Ok(()),
            Err(e) => Err(map_err(e, &self.bucket.name)),
        }
    }

    pub(super) async fn put(
        &self,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<StoredObject, StoreError> {
        let sha256 = sha256_hex(bytes);
        let key = ObjectKey::for_sha256(&sha256)?;
        let size = bytes.len() as u64;
        // A resend of a photo already stored costs one HEAD instead of a multi-megabyte upload.
        if !self.exists(&key).await? {
            self.bucket
                .put_object_with_content_type(key.as_str(), bytes, content_type)
                .await
                .map_err(|e| map_err(e, key.as_str()))?;
        }
        Ok(StoredObject { key, sha256, size })
    }

    pub(super) async fn get(&self, key: &ObjectKey) -> Result<Vec<u8>, StoreError> {
        let response = self
            .bucket
            .get_object(key.as_str())
            .await
            .map_err(|e| map_err(e, key.as_str()))?;
        Ok(response.to_vec())
    }

    pub(super) async fn exists(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        match self.bucket.head_object(key.as_str()).await {
            Ok((_, status)) if (200..300).contains(&status) => Ok(true),
            Ok((_, 404)) => Ok(false),
            Ok((_, status)) => Err(map_status(status, String::new(), key.as_str())),
            Err(e) => match map_err(e, key.as_str()) {
                StoreError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match self.bucket.delete_object(key.as_str()).await {
            Ok(_) => Ok(()),
            Err(e) => match map_err(e, key.as_str()) {
                StoreError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    pub(super) async fn signed_url(
        &self,
        key: &ObjectKey,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let secs = ttl.clamp(Duration::from_secs(1), MAX_PRESIGN).as_secs();
        let secs = u32::try_from(secs).unwrap_or(u32::MAX);
        self.bucket
            .presign_get(key.as_str(), secs, None)
            .await
            .map_err(|e| map_err(e, key.as_str()))
    }

    pub(super) async fn health(&self) -> Result<(), StoreError> {
        // One cheap authenticated call that proves endpoint, credentials and bucket together.
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map(|_| ())
            .map_err(|e| match map_err(e, &self.bucket.name) {
                StoreError::NotFound(what) => StoreError::Unavailable(format!("no bucket {what}")),
                other => other,
            })
    }
}

/// Maps rust-s3 errors onto what the API answers.
///
/// Only a missing object is the client's business (404). Everything else — connection refused,
/// timeouts, 5xx, and also 403 from wrong credentials, which the phone cannot fix either — means
/// the store cannot serve right now: 503, retry later.
fn map_err(e: S3Error, what: &str) -> StoreError {
    match e {
        S3Error::HttpFailWithBody(status, body) => map_status(status, body, what),
        S3Error::MaxExpiry(_) | S3Error::UrlParse(_) | S3Error::Region(_) => {
            StoreError::Invalid(e.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn map_status(status: u16, body: String, what: &str) -> StoreError {
    match status {
        404 => StoreError::NotFound(what.to_owned()),
        _ => {
            let body: String = body.chars().take(200).collect();
            StoreError::Unavailable(format!("S3 answered HTTP {status} for {what}: {body}"))
        }
    }
}
