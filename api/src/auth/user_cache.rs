//! A short-lived cache from access tokens to the user rows behind them, so that an authenticated
//! request need neither verify the token's signature nor read the user from the database every
//! time.
//!
//! The key is the whole token: the same bytes verified once verify the same way again, and the
//! token's own expiry is still checked on every hit. Deleting a user or an institution through
//! this server clears the cache at once. A change made elsewhere (another API server,
//! `caregrade user disable`) takes effect within the TTL (`auth_cache_ttl_ms`, default 1 s; 0
//! turns the cache off).

use crate::registry::users::UserRow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bound on cached tokens; beyond it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Entry {
    read_at: Instant,
    /// The token's `exp` claim, seconds since the epoch.
    expires: u64,
    row: UserRow,
}

/// User rows by access token, each valid for `ttl` after it was read and never past the token's
/// expiry.
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    map: Mutex<HashMap<String, Entry>>,
}

impl UserCache {
    /// A cache keeping rows for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The row behind `token` if it was verified within the TTL and the token has not expired
    /// (`now_secs`: the clock, seconds since the epoch).
    pub fn get(&self, token: &str, now_secs: u64) -> Option<UserRow> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.lock().ok()?;
        map.get(token)
            .filter(|e| e.expires > now_secs && e.read_at.elapsed() < self.ttl)
            .map(|e| e.row.clone())
    }

    /// Remembers the row behind a token just verified, with the token's expiry.
    pub fn put(&self, token: &str, expires: u64, row: &UserRow) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(
                token.to_owned(),
                Entry {
                    read_at: Instant::now(),
                    expires,
                    row: row.clone(),
                },
            );
        }
    }

    /// Forgets everything (after a user or an institution is deleted).
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn row(id: &str) -> UserRow {
        UserRow {
            id: id.into(),
            username: format!("user-{id}"),
            password_hash: String::new(),
            role: "admin".into(),
            display_name: String::new(),
            region_code: None,
            inspector_id: None,
            institution_id: None,
            disabled: false,
            created_at: String::new(),
        }
    }

    #[rstest]
    #[case::fresh(1_000, 999, true)]
    #[case::token_expired(1_000, 1_000, false)]
    #[case::token_long_expired(1_000, 5_000, false)]
    fn a_hit_needs_an_unexpired_token(#[case] exp: u64, #[case] now: u64, #[case] hit: bool) {
        let cache = UserCache::new(Duration::from_secs(60));
        cache.put("tok", exp, &row("u1"));
        assert_eq!(
            cache.get("tok", now).map(|r| r.id),
            hit.then(|| "u1".into())
        );
    }

    #[test]
    fn entries_age_out_and_clear_empties() {
        let cache = UserCache::new(Duration::from_millis(30));
        cache.put("a", u64::MAX, &row("u1"));
        assert!(cache.get("a", 0).is_some());
        assert!(cache.get("b", 0).is_none(), "another token is another key");
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get("a", 0).is_none(), "older than the TTL");
        cache.put("a", u64::MAX, &row("u1"));
        cache.clear();
        assert!(cache.get("a", 0).is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = UserCache::new(Duration::ZERO);
        cache.put("a", u64::MAX, &row("u1"));
        assert!(cache.get("a", 0).is_none());
    }
}
