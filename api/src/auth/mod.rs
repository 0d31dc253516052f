//! Authentication and authorisation: passwords, tokens, login throttling, and one extractor per
//! role so that a handler cannot forget to authorise.

mod extract;
pub mod password;
pub mod refresh_store;
pub mod service;
pub mod throttle;
pub mod token;
pub mod user_cache;

pub use extract::{AdminUser, AnyUser, InspectorUser, InstitutionUser};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Bureau staff, scoped to a region code prefix.
    Admin,
    /// An inspector of the roster.
    Inspector,
    /// A user of one institution.
    Institution,
}

impl Role {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Inspector => "inspector",
            Role::Institution => "institution",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "inspector" => Some(Role::Inspector),
            "institution" => Some(Role::Institution),
            _ => None,
        }
    }
}

/// A random opaque token: 244 bits from the OS generator (two v4 UUIDs), as hex.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
