//! Webhooks: a bureau subscribes a URL to events of its region; each event is written to an
//! outbox in the same transaction as the change (so nothing is announced that did not happen),
//! deduplicated by event id, and posted by a background loop with an HMAC-SHA256 signature,
//! retried with exponential backoff. A receiver that hangs or fails delays only its own deliveries.
//! Each delivery is claimed (leased) before it is posted, so several API servers sharing one
//! database post it once.

use crate::db::DbConn;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::error::ApiError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The events a webhook may subscribe to.
pub const EVENTS: &[&str] = &[
    "inspection.submitted",
    "rectification.overdue",
    "grade.decided",
    "publication.published",
];

/// Attempts before a delivery is given up.
const MAX_ATTEMPTS: i32 = 8;

/// A subscription.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    /// Id.
    pub id: String,
    /// Events of this region (district prefix) are sent.
    pub region_code: String,
    /// Where to post.
    pub url: String,
    /// Signing secret (shown once, at creation).
    #[serde(skip_serializing)]
    pub secret: String,
    /// JSON array of event types.
    pub events: String,
    /// Sending.
    pub active: bool,
    /// Creator.
    pub created_by: String,
    /// Created.
    pub created_at: String,
}

/// A delivery.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    /// Id.
    pub id: String,
    /// Subscription.
    pub webhook_id: String,
    /// The event's id (the receiver's deduplication key).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Body posted (JSON text).
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: String,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When delivered.
    pub delivered_at: Option<String>,
    /// Created.
    pub created_at: String,
}

/// A new subscription.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http://` or `https://` URL.
    pub url: String,
    /// Event types (see the API description).
    pub events: Vec<String>,
}

/// Stores a subscription with a generated secret.
pub fn create(
    conn: &mut DbConn,
    new: &NewWebhook,
    region: &str,
    by: &str,
) -> Result<Webhook, ApiError> {
    if !(new.url.starts_with("http://") || new.url.starts_with("https://")) || new.url.len() > 500 {
        return Err(ApiError::validation("url", "url must be an http(s) URL"));
    }
    if new.events.is_empty() {
        return Err(ApiError::validation(
            "events",
            "subscribe to at least one event",
        ));
    }
    for (i, e) in new.events.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            return Err(ApiError::validation(
                format!("events[{i}]"),
                format!("unknown event `{e}` (events: {})", EVENTS.join(", ")),
            ));
        }
    }
    let w = Webhook {
        id: uuid::Uuid::new_v4().to_string(),
        region_code: region.to_owned(),
        url: new.url.clone(),
        secret: crate::auth::random_token(),
        events: json!(new.events).to_string(),
        active: true,
        created_by: by.to_owned(),
        created_at: crate::registry::now_text(),
    };
    diesel::insert_into(webhooks::table)
        .values(&w)
        .execute(conn)?;
    Ok(w)
}

/// Subscriptions of a region.
pub fn list(conn: &mut DbConn, region: &str) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(
            webhooks::region_code
                .like(format!("{}%", crate::registry::like_escape(region)))
                .escape('\\'),
        )
        .order(webhooks::created_at)
        .select(Webhook::as_select())
        .load(conn)
}

/// Deliveries of one subscription, newest first.
pub fn deliveries(conn: &mut DbConn, webhook: &str) -> QueryResult<Vec<Delivery>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .order(webhook_deliveries::created_at.desc())
        .select(Delivery::as_select())
        .load(conn)
}

/// Writes `event` to the outbox of every active subscription covering `district`, once per event
/// id. Call it inside the transaction of the change it announces.
pub fn emit(
    conn: &mut DbConn,
    event_type: &str,
    event_id: &str,
    district: &str,
    data: &Value,
) -> QueryResult<usize> {
    let subs: Vec<Webhook> = webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .load(conn)?;
    let now = crate::registry::now_text();
    let mut n = 0;
    for w in subs {
        let events: Vec<String> = serde_json::from_str(&w.events).unwrap_or_default();
        if !district.starts_with(w.region_code.as_str()) || !events.iter().any(|e| e == event_type)
        {
            continue;
        }
        let exists: bool = diesel::select(diesel::dsl::exists(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(&w.id))
                .filter(webhook_deliveries::event_id.eq(event_id)),
        ))
        .get_result(conn)?;
        if exists {
            continue;
        }
        let body = json!({ "id": event_id, "type": event_type, "occurred_at": now, "data": data });
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(uuid::Uuid::new_v4().to_string()),
                webhook_deliveries::webhook_id.eq(&w.id),
                webhook_deliveries::event_id.eq(event_id),
                webhook_deliveries::event_type.eq(event_type),
                webhook_deliveries::payload.eq(body.to_string()),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(&now),
                webhook_deliveries::created_at.eq(&now),
            ))
            .execute(conn)?;
        n += 1;
    }
    Ok(n)
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body): what the receiver recomputes.
pub fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!(
        "sha256={}",
        crate::store::to_hex_pub(&mac.finalize().into_bytes())
    )
}

/// Deliveries due now, with their subscriptions, each claimed for `lease`: its next attempt is
/// moved to the end of the lease by a conditional update, so that of several API servers (or
/// overlapping runs) exactly one posts it. A server that dies mid-post leaves the delivery due
/// again when the lease ends: at least once, never twice at the same time.
fn claim_due(
    conn: &mut DbConn,
    limit: i64,
    lease: std::time::Duration,
) -> QueryResult<Vec<(Delivery, Webhook)>> {
    let now = chrono::Utc::now();
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let lease_end = (now
        + chrono::Duration::milliseconds(lease.as_millis().min(i64::MAX as u128) as i64))
    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let candidates: Vec<(Delivery, Webhook)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(&now_text))
        .order(webhook_deliveries::next_attempt_at)
        .limit(limit)
        .select((Delivery::as_select(), Webhook::as_select()))
        .load(conn)?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for (d, w) in candidates {
        // One statement each, no transaction: the update is atomic by itself, and whoever
        // moved `next_attempt_at` first owns the delivery.
        let n = diesel::update(
            webhook_deliveries::table
                .find(&d.id)
                .filter(webhook_deliveries::status.eq("pending"))
                .filter(webhook_deliveries::next_attempt_at.eq(&d.next_attempt_at)),
        )
        .set(webhook_deliveries::next_attempt_at.eq(&lease_end))
        .execute(conn)?;
        if n == 1 {
            claimed.push((d, w));
        }
    }
    Ok(claimed)
}

fn record(conn: &mut DbConn, d: &Delivery, outcome: Result<(), String>) -> QueryResult<()> {
    let now = chrono::Utc::now();
    match outcome {
        Ok(()) => diesel::update(webhook_deliveries::table.find(&d.id))
            .set((
                webhook_deliveries::status.eq("delivered"),
                webhook_deliveries::attempts.eq(d.attempts + 1),
                webhook_deliveries::delivered_at
                    .eq(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                webhook_deliveries::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .map(|_| ()),
        Err(e) => {
            let attempts = d.attempts + 1;
            // 30 s, 1 min, 2 min … capped at 6 h.
            let wait = (30i64 << attempts.min(10)).min(6 * 3600);
            let next = now + chrono::Duration::seconds(wait);
            diesel::update(webhook_deliveries::table.find(&d.id))
                .set((
                    webhook_deliveries::status.eq(if attempts >= MAX_ATTEMPTS {
                        "failed"
                    } else {
                        "pending"
                    }),
                    webhook_deliveries::attempts.eq(attempts),
                    webhook_deliveries::next_attempt_at
                        .eq(next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                    webhook_deliveries::last_error.eq(e),
                ))
                .execute(conn)
                .map(|_| ())
        }
    }
}

/// Posts every due delivery (concurrently, each bounded by `timeout`) and records the outcomes.
/// Returns how many were delivered.
pub async fn deliver_due(
    state: &crate::state::AppState,
    timeout: std::time::Duration,
) -> Result<usize, ApiError> {
    // The lease outlasts the post's own timeout, so a slow receiver is not posted twice.
    let lease = timeout + std::time::Duration::from_secs(30);
    let batch = state.db(move |c| Ok(claim_due(c, 50, lease)?)).await?;
    if batch.is_empty() {
        return Ok(0);
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(ApiError::internal)?;
    let sends = batch.into_iter().map(|(d, w)| {
        let client = client.clone();
        async move {
            let body = d.payload.clone().into_bytes();
            let res = client
                .post(&w.url)
                .header("content-type", "application/json")
                .header("x-caregrade-event", &d.event_type)
                .header("x-caregrade-event-id", &d.event_id)
                .header("x-caregrade-signature", signature(&w.secret, &body))
                .body(body)
                .send()
                .await;
            let outcome = match res {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                Err(e) if e.is_timeout() => Err("timed out".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            (d, outcome)
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let delivered = results.iter().filter(|(_, o)| o.is_ok()).count();
    state
        .db(move |c| {
            for (d, o) in results {
                record(c, &d, o)?;
            }
            Ok(())
        })
        .await?;
    Ok(delivered)
}
