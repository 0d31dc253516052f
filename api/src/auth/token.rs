//! Short-lived JWT access tokens (HS256, jsonwebtoken with the `rust_crypto` backend).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Role at issue time (the user row is re-read on every request anyway).
    pub role: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// Signing and verification keys derived from the configured secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenKeys {
    /// Keys for `secret`, issuing tokens valid for `ttl_secs`.
    pub fn new(secret: &str, ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            ttl_secs,
        }
    }

    /// Lifetime of the tokens issued, seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs an access token for `user_id`.
    pub fn issue(&self, user_id: &str, role: &str) -> Result<String, String> {
        let iat = now_secs();
        self.sign(&Claims {
            sub: user_id.into(),
            role: role.into(),
            iat,
            exp: iat + self.ttl_secs,
        })
    }

    /// Signs arbitrary claims (tests use it to make expired tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Verifies signature, algorithm and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let keys = TokenKeys::new("s3cret", 60);
        let t = keys.issue("u1", "admin").unwrap_or_default();
        let c = keys.verify(&t);
        assert_eq!(c.map(|c| c.sub), Ok("u1".to_owned()));
    }

    #[test]
    fn other_secret_and_expired_are_refused() {
        let keys = TokenKeys::new("s3cret", 60);
        let t = TokenKeys::new("other", 60)
            .issue("u1", "admin")
            .unwrap_or_default();
        assert!(keys.verify(&t).is_err());
        let old = keys
            .sign(&Claims {
                sub: "u".into(),
                role: "admin".into(),
                iat: 1,
                exp: now_secs() - 5,
            })
            .unwrap_or_default();
        assert!(keys.verify(&old).is_err());
    }
}
