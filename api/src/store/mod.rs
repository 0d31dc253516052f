//! Evidence storage: the original photo bytes, kept untouched and content addressed.
//!
//! Two backends behind one enum (no trait objects, no boxed futures): a local directory, the
//! embedded default, and S3-compatible object storage for a bureau that runs several API servers.
//! Keys are derived from the SHA-256 of the bytes, so a phone that re-sends a photo after a dropped
//! connection can never create a second copy, and a key in the database proves which bytes it names.

mod config;
mod key;
mod local;
mod s3;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use config::{StoreConfig, StoreKind};
pub use key::ObjectKey;
pub use local::LocalStore;
pub use s3::S3Store;

/// What went wrong in the store, in the terms the API answers with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No object under that key (HTTP 404).
    #[error("no stored object with key {0}")]
    NotFound(String),
    /// The store cannot be reached or failed on its side; the client may retry (HTTP 503).
    #[error("evidence store unavailable: {0}")]
    Unavailable(String),
    /// The request itself is wrong: a malformed key, a key escaping the store, bad configuration.
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// The local file system failed.
    #[error("evidence store I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// The HTTP status the API answers with, so every handler maps store failures alike.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Invalid(_) => 400,
            Self::Unavailable(_) => 503,
            Self::Io(_) => 500,
        }
    }
}

/// The receipt of a `put`: everything the database records about the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Content-addressed key, `sha256/<first two hex digits>/<64 hex digits>`.
    pub key: ObjectKey,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The configured evidence store.
#[derive(Debug, Clone)]
pub enum EvidenceStore {
    /// Files in a local directory (single server, embedded default).
    Local(LocalStore),
    /// An S3-compatible bucket (boxed: the client is large and the local variant tiny).
    S3(Box<S3Store>),
}

impl EvidenceStore {
    /// Opens the store the configuration names; for S3 this creates the bucket when it is missing,
    /// so a fresh deployment needs no manual step.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        match config.kind {
            StoreKind::Local => Ok(Self::Local(LocalStore::open(&config.local_dir).await?)),
            StoreKind::S3 => {
                let store = S3Store::from_config(config)?;
                store.ensure_bucket().await?;
                Ok(Self::S3(Box::new(store)))
            }
        }
    }

    /// Stores `bytes` under their content address. Storing the same bytes again is a no-op that
    /// returns the same key, which is what makes photo uploads safely retryable.
    pub async fn put(&self, bytes: &[u8], content_type: &str) -> Result<StoredObject, StoreError> {
        match self {
            Self::Local(s) => s.put(bytes).await,
            Self::S3(s) => s.put(bytes, content_type).await,
        }
    }

    /// Reads the object under `key` (a key string as stored in the database or received in a URL).
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let key = ObjectKey::parse(key)?;
        match self {
            Self::Local(s) => s.get(&key).await,
            Self::S3(s) => s.get(&key).await,
        }
    }

    /// Whether an object exists under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let key = ObjectKey::parse(key)?;
        match self {
            Self::Local(s) => s.exists(&key).await,
            Self::S3(s) => s.exists(&key).await,
        }
    }

    /// Removes the object under `key`. Removing an absent object succeeds: deletion is retried by
    /// clean-up jobs and must be idempotent, as S3's own DELETE is.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = ObjectKey::parse(key)?;
        match self {
            Self::Local(s) => s.delete(&key).await,
            Self::S3(s) => s.delete(&key).await,
        }
    }

    /// A short-lived URL a phone can download the object from directly (S3 presigned GET).
    /// `None` for the local store: there the API serves the bytes itself, after authorising.
    pub async fn signed_url(&self, key: &str, ttl: Duration) -> Result<Option<String>, StoreError> {
        let key = ObjectKey::parse(key)?;
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(s) => s.signed_url(&key, ttl).await.map(Some),
        }
    }

    /// Readiness probe for `/readyz`: the directory is writable, or the bucket answers.
    pub async fn health(&self) -> Result<(), StoreError> {
        match self {
            Self::Local(s) => s.health().await,
            Self::S3(s) => s.health().await,
        }
    }

    /// Short name of the backend for logs and metrics.
    pub fn kind(&self) -> StoreKind {
        match self {
            Self::Local(_) => StoreKind::Local,
            Self::S3(_) => StoreKind::S3,
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    to_hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn to_hex_pub(bytes: &[u8]) -> String {
    to_hex(bytes)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}
