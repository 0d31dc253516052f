//! Content-addressed object keys.

use super::StoreError;

/// A validated object key: `sha256/<2 hex>/<64 hex>`.
///
/// Keys arrive from URLs and the database, so they are parsed against this exact shape before any
/// backend sees them: nothing else can be a key, which rules out path traversal (`..`, absolute
/// paths, separators) by construction rather than by sanitising.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

const PREFIX: &str = "sha256/";

impl ObjectKey {
    /// The key of the object whose SHA-256 is `sha256_hex` (64 lowercase hex digits).
    pub fn for_sha256(sha256_hex: &str) -> Result<Self, StoreError> {
        if !is_sha256_hex(sha256_hex) {
            return Err(StoreError::Invalid(format!(
                "not a SHA-256 hex digest: {sha256_hex:?}"
            )));
        }
        Ok(Self(format!("{PREFIX}{}/{sha256_hex}", &sha256_hex[..2])))
    }

    /// Parses a key string, refusing anything that is not exactly a content address.
    pub fn parse(key: &str) -> Result<Self, StoreError> {
        let invalid = || StoreError::Invalid(format!("not a content-addressed key: {key:?}"));
        let rest = key.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let (fan, digest) = rest.split_once('/').ok_or_else(invalid)?;
        if !is_sha256_hex(digest) || digest.get(..2) != Some(fan) {
            return Err(invalid());
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as a string (also the relative path under the local root and the S3 object name).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 hex digest the key names.
    pub fn sha256(&self) -> &str {
        &self.0[self.0.len() - 64..]
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
