//! Shared application state and the one way handlers reach the database.

use crate::auth::throttle::Throttle;
use crate::auth::token::TokenKeys;
use crate::config::Config;
use crate::db::{DbConn, DbPool};
use crate::error::ApiError;
use crate::http::metrics::Metrics;
use crate::store::EvidenceStore;
use std::sync::Arc;

/// Everything a handler may need; cloned cheaply into each worker.
#[derive(Debug)]
pub struct AppState {
    /// Connection pool.
    pub pool: DbPool,
    /// Configuration.
    pub config: Arc<Config>,
    /// Token keys.
    pub keys: TokenKeys,
    /// Login throttle.
    pub throttle: Throttle,
    /// Recently read users behind access tokens.
    pub user_cache: crate::auth::user_cache::UserCache,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Where evidence photos and documents are kept.
    pub store: EvidenceStore,
    /// Compiled rulesets by hash.
    pub compiled: crate::rulesets::CompiledCache,
    /// Photo checks and thumbnails, a bounded number at a time.
    pub photo_decoder: crate::photos::PhotoDecoder,
    /// The official working-day calendar (configured holidays and make-up days).
    pub working_days: Arc<crate::publication::WorkingDays>,
}

impl AppState {
    /// Runs blocking diesel work on the blocking pool, inside the caller's tracing span (so the
    /// request id is on its log lines too).
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }
}
