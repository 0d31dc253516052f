//! A short-lived cache of the user rows behind access tokens, so that an authenticated request
//! need not read the user from the database every time.
//!
//! Deleting a user or an institution through this server clears it at once. A change made
//! elsewhere (another API server, `caregrade user disable`) takes effect within the TTL
//! (`auth_cache_ttl_ms`, default 1 s; 0 turns the cache off).

use crate::registry::users::UserRow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bound on cached users; beyond it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// User rows by id, each valid for `ttl` after it was read.
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    map: Mutex<HashMap<String, (Instant, UserRow)>>,
}

impl UserCache {
    /// A cache keeping rows for `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The cached row, if fresh.
    pub fn get(&self, id: &str) -> Option<UserRow> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.lock().ok()?;
        map.get(id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, row)| row.clone())
    }

    /// Remembers a row just read.
    pub fn put(&self, row: &UserRow) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(row.id.clone(), (Instant::now(), row.clone()));
        }
    }

    /// Forgets everything (after a user or an institution is deleted).
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}
