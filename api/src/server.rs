//! Starting the server: open the database, migrate, make sure an admin exists, listen.

use crate::auth::throttle::Throttle;
use crate::auth::token::TokenKeys;
use crate::auth::user_cache::UserCache;
use crate::auth::{Role, password, random_token};
use crate::config::{Config, ConfigError};
use crate::db::{self, DbError};
use crate::http::metrics::Metrics;
use crate::registry::{now_text, users};
use crate::state::AppState;
use crate::store::{EvidenceStore, S3Store};
use actix_web::{HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A query at start-up.
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// Metrics registration.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// Other.
    #[error("{0}")]
    Other(String),
}

/// Opens the pool and applies pending migrations.
pub fn open_database(config: &Config) -> Result<db::DbPool, StartError> {
    let pool = db::open_pool(&config.database_url, config.db_pool_size)?;
    let mut conn = pool.get().map_err(DbError::from)?;
    let ran = db::run_migrations(&mut conn)?;
    if ran > 0 {
        tracing::info!(migrations = ran, "applied migrations");
    }
    Ok(pool)
}

/// Creates the first admin when there is no user at all. Returns the generated password, if one
/// was generated (the caller prints it once).
pub fn ensure_first_admin(
    conn: &mut db::DbConn,
    config: &Config,
) -> Result<Option<String>, StartError> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    let (pw, generated) = match &config.admin_password {
        Some(p) if !p.is_empty() => (p.clone(), false),
        _ => (random_token()[..20].to_owned(), true),
    };
    let row = users::UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: "admin".into(),
        password_hash: password::hash(&pw).map_err(StartError::Other)?,
        role: Role::Admin.as_str().into(),
        display_name: "管理员".into(),
        region_code: None,
        inspector_id: None,
        institution_id: None,
        disabled: false,
        created_at: now_text(),
    };
    users::insert(conn, &row)?;
    Ok(generated.then_some(pw))
}

/// Opens the evidence store: creates the local directory or the S3 bucket when missing.
///
/// Start-up is synchronous, so the one-time creation runs on a throwaway runtime; the S3 client is
/// then built afresh so that no pooled connection outlives the runtime that opened it.
pub fn open_store(config: &Config) -> Result<EvidenceStore, StartError> {
    let sc = config.store_config();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(format!("runtime: {e}")))?;
    let opened = rt
        .block_on(EvidenceStore::open(&sc))
        .map_err(|e| StartError::Other(format!("evidence store: {e}")))?;
    drop(rt);
    match opened {
        EvidenceStore::Local(l) => Ok(EvidenceStore::Local(l)),
        EvidenceStore::S3(_) => S3Store::from_config(&sc)
            .map(|s| EvidenceStore::S3(Box::new(s)))
            .map_err(|e| StartError::Other(format!("evidence store: {e}"))),
    }
}

/// Everything the server needs, ready to serve: database migrated, first admin present.
pub fn prepare(config: Config) -> Result<web::Data<AppState>, StartError> {
    let pool = open_database(&config)?;
    let mut conn = pool.get().map_err(DbError::from)?;
    if let Some(pw) = ensure_first_admin(&mut conn, &config)? {
        println!(
            "created the first admin — user: admin  password: {pw}  (shown once; set CAREGRADE_ADMIN_PASSWORD to choose it)"
        );
    }
    if config.bundled_rulesets {
        let n = crate::rulesets::bundled::load_if_empty(&mut conn, &now_text())?;
        if n > 0 {
            tracing::info!(rulesets = n, "loaded the bundled rulesets");
        }
    }
    drop(conn);
    let store = open_store(&config)?;
    let keys = TokenKeys::new(&config.signing_secret()?, config.access_token_ttl_secs);
    let throttle = Throttle::new(
        Duration::from_secs(config.login_window_secs),
        config.login_failures_per_account,
        config.login_failures_per_address,
    );
    let config_photo_limit = config.photo_limit;
    let user_cache = UserCache::new(Duration::from_millis(config.auth_cache_ttl_ms));
    let working_days = Arc::new(crate::publication::WorkingDays::new(
        &config.holidays,
        &config.extra_working_days,
    ));
    Ok(web::Data::new(AppState {
        working_days,
        pool,
        config: Arc::new(config),
        keys,
        throttle,
        user_cache,
        metrics: Metrics::new()?,
        store,
        compiled: Default::default(),
        photo_decoder: crate::photos::PhotoDecoder::new(
            std::thread::available_parallelism().map_or(2, usize::from),
            crate::photos::PhotoLimits {
                max_bytes: config_photo_limit,
                ..crate::photos::PhotoLimits::default()
            },
        ),
    }))
}

/// Serves on an already bound listener until the server is stopped.
pub fn server(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<actix_web::dev::Server> {
    let every = state.config.escalation_interval_secs;
    if every > 0 {
        actix_web::rt::spawn(escalate_periodically(state.clone(), every));
    }
    if state.config.webhook_interval_secs > 0 {
        actix_web::rt::spawn(deliver_periodically(state.clone()));
    }
    let mut server = HttpServer::new(move || crate::http::app(state.clone())).listen(listener)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.run())
}

/// Emits, every `secs` seconds, what overdue rectifications entail. Correctness never depends on
/// it (overdue is derived from the clock on every read); it only makes the consequences happen
/// without someone asking.
async fn escalate_periodically(state: web::Data<AppState>, secs: u64) {
    let mut tick = actix_web::rt::time::interval(Duration::from_secs(secs));
    loop {
        tick.tick().await;
        let today = crate::inspections::submit::today_cn()
            .format("%Y-%m-%d")
            .to_string();
        match state
            .db(move |c| Ok(crate::rectification::escalate_overdue(c, &today)?))
            .await
        {
            Ok(e) if !e.escalated.is_empty() => tracing::info!(
                escalated = e.escalated.len(),
                rechecks = e.rechecks.len(),
                "escalated overdue rectifications"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "escalation run failed"),
        }
    }
}

/// Posts due webhook deliveries every `webhook_interval_secs`.
async fn deliver_periodically(state: web::Data<AppState>) {
    let mut tick =
        actix_web::rt::time::interval(Duration::from_secs(state.config.webhook_interval_secs));
    let timeout = Duration::from_millis(state.config.webhook_timeout_ms);
    loop {
        tick.tick().await;
        if let Err(e) = crate::webhooks::deliver_due(&state, timeout).await {
            tracing::warn!(error = %e, "webhook delivery run failed");
        }
    }
}
