//! argon2id password hashing (PHC strings).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// Hashes `password` with argon2id and a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// `true` when `password` matches the stored PHC `hash`.
pub fn verify(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash of a random password, used to spend the same time when the account does not exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&super::random_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let h = super::hash("密码 secret").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("密码 secret", &h));
        assert!(!super::verify("wrong", &h));
    }
}
