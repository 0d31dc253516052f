//! Login throttling: failed attempts per account and per client address in a fixed window, held
//! in memory. Good for one server; several servers behind a load balancer each count on their own
//! (the limit then multiplies by the number of servers).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failed logins.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    per_account: u32,
    per_address: u32,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Throttle {
    /// A throttle allowing `per_account` and `per_address` failures per `window`.
    pub fn new(window: Duration, per_account: u32, per_address: u32) -> Self {
        Self {
            window,
            per_account,
            per_address,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, key: &str) -> u32 {
        let Ok(map) = self.counts.lock() else {
            return 0;
        };
        match map.get(key) {
            Some((start, n)) if start.elapsed() < self.window => *n,
            _ => 0,
        }
    }

    /// `true` when either the account or the address has used up its failures.
    pub fn is_blocked(&self, username: &str, address: &str) -> bool {
        self.count(&format!("u:{username}")) >= self.per_account
            || self.count(&format!("a:{address}")) >= self.per_address
    }

    /// Records one failed attempt.
    pub fn fail(&self, username: &str, address: &str) {
        let Ok(mut map) = self.counts.lock() else {
            return;
        };
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| start.elapsed() < self.window);
        }
        for key in [format!("u:{username}"), format!("a:{address}")] {
            let e = map.entry(key).or_insert((now, 0));
            if e.0.elapsed() >= self.window {
                *e = (now, 0);
            }
            e.1 += 1;
        }
    }

    /// Forgets the account's failures after a successful login.
    pub fn succeed(&self, username: &str) {
        if let Ok(mut map) = self.counts.lock() {
            map.remove(&format!("u:{username}"));
        }
    }
}
