//! Evidence photos: bound to an inspection and an item, idempotent by client UUID, checked and
//! thumbnailed by the photo module, stored content-addressed in the evidence store, flagged when
//! taken outside the inspection's time window or far from the institution.

use super::{InspectionRow, bump_version};
use crate::db::DbConn;
use crate::db::schema::{institutions, photos};
use crate::error::ApiError;
use crate::photos::{IngestedPhoto, PhotoError};
use crate::state::AppState;
use caregrade_dsl::ir::Compiled;
use diesel::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far before the start (or creation) of an inspection a photo may have been taken.
const BEFORE: chrono::Duration = chrono::Duration::hours(12);
/// How far a phone's clock may run ahead.
const AHEAD: chrono::Duration = chrono::Duration::minutes(10);
/// Farther than this from the institution's registered position, a photo is flagged.
const FAR_METRES: f64 = 1000.0;

/// A stored photo.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    /// Id.
    pub id: String,
    /// Inspection.
    pub inspection_id: String,
    /// Ruleset id (or `rectification` for evidence of a fix).
    pub ruleset: String,
    /// Item path (or rectification id).
    pub item: String,
    /// Phone's UUID for this photo.
    pub client_uuid: String,
    /// Store key of the original bytes.
    pub object_key: String,
    /// SHA-256 of the original.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Sniffed type.
    pub content_type: String,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
    /// Store key of the thumbnail.
    pub thumb_key: String,
    /// EXIF capture time.
    pub taken_at: Option<String>,
    /// EXIF latitude.
    pub lat: Option<f64>,
    /// EXIF longitude.
    pub lon: Option<f64>,
    /// JSON array of flags.
    pub flags: String,
    /// Uploader.
    pub uploaded_by: String,
    /// Stored.
    pub created_at: String,
}

/// A photo's metadata as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoMeta {
    /// Id.
    pub id: String,
    /// Inspection.
    pub inspection_id: String,
    /// Ruleset id.
    pub ruleset: String,
    /// Item.
    pub item: String,
    /// Phone's UUID.
    pub client_uuid: String,
    /// SHA-256 of the original.
    pub sha256: String,
    /// Bytes.
    pub size: i64,
    /// Type.
    pub content_type: String,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
    /// EXIF capture time.
    pub taken_at: Option<String>,
    /// EXIF latitude.
    pub lat: Option<f64>,
    /// EXIF longitude.
    pub lon: Option<f64>,
    /// `taken_outside_window`, `taken_far_away`, `no_exif_time`.
    pub flags: Vec<String>,
    /// Stored.
    pub created_at: String,
}

impl From<PhotoRow> for PhotoMeta {
    fn from(r: PhotoRow) -> Self {
        Self {
            flags: serde_json::from_str(&r.flags).unwrap_or_default(),
            id: r.id,
            inspection_id: r.inspection_id,
            ruleset: r.ruleset,
            item: r.item,
            client_uuid: r.client_uuid,
            sha256: r.sha256,
            size: r.size,
            content_type: r.content_type,
            width: r.width,
            height: r.height,
            taken_at: r.taken_at,
            lat: r.lat,
            lon: r.lon,
            created_at: r.created_at,
        }
    }
}

/// Where a photo belongs: an item of a pinned ruleset, or (`ruleset` = `rectification`) the
/// evidence of a rectification.
#[derive(Debug, Clone)]
pub struct Target {
    /// Ruleset id, or `rectification`.
    pub ruleset: String,
    /// Item path, or rectification id.
    pub item: String,
    /// The phone's UUID for the photo.
    pub client_uuid: String,
}

/// Checks that `target` names an item of one of the inspection's pinned rulesets.
pub fn check_item(
    pinned: &BTreeMap<String, Arc<Compiled>>,
    target: &Target,
) -> Result<(), ApiError> {
    let Some(c) = pinned.get(&target.ruleset) else {
        return Err(ApiError::validation(
            "ruleset",
            format!(
                "this inspection is not answered under ruleset `{}`",
                target.ruleset
            ),
        ));
    };
    if !c
        .nodes
        .iter()
        .any(|n| n.path == target.item && n.item.is_some())
    {
        return Err(ApiError::validation(
            "item",
            format!("`{}` is not an item of `{}`", target.item, target.ruleset),
        ));
    }
    if uuid::Uuid::parse_str(&target.client_uuid).is_err() {
        return Err(ApiError::validation(
            "client_uuid",
            "client_uuid must be a UUID",
        ));
    }
    Ok(())
}

/// The photo stored under a client UUID, if any.
pub fn by_client_uuid(conn: &mut DbConn, uuid: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .filter(photos::client_uuid.eq(uuid))
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()
}

/// One photo by id.
pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .find(id)
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()
}

/// Photos of an inspection, oldest first.
pub fn list_for_inspection(conn: &mut DbConn, inspection: &str) -> QueryResult<Vec<PhotoMeta>> {
    photos::table
        .filter(photos::inspection_id.eq(inspection))
        .order((photos::created_at, photos::id))
        .select(PhotoRow::as_select())
        .load(conn)
        .map(|rows| rows.into_iter().map(PhotoMeta::from).collect())
}

/// The API's answer to a refused photo.
pub fn photo_error(e: PhotoError) -> ApiError {
    use actix_web::http::StatusCode;
    match e {
        PhotoError::UnsupportedType(m) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_a_photo",
            "Not a photo",
            format!("{m}; send a JPEG or PNG"),
        ),
        PhotoError::TooLarge(m) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo_too_large",
            "Photo too large",
            m,
        ),
        PhotoError::Corrupt(m) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "photo_damaged",
            "Photo damaged",
            format!("{m}; the upload may have been cut: send it again"),
        ),
        PhotoError::Internal(m) => ApiError::internal(m),
    }
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    match e {
        // A bucket that does not answer and a directory that takes no writes are the same to the
        // phone: the evidence cannot be kept right now, nothing was recorded, retry later.
        crate::store::StoreError::Unavailable(_) | crate::store::StoreError::Io(_) => {
            ApiError::unavailable(format!("{e}; nothing was recorded, send it again later"))
        }
        other => ApiError::internal(other),
    }
}

/// Great-circle distance in metres.
fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = (b.0 - a.0).to_radians();
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// Flags for a photo of `inspection` at `institution_pos`.
fn flags(
    photo: &IngestedPhoto,
    inspection: &InspectionRow,
    institution_pos: Option<(f64, f64)>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    match &photo.exif.taken_at {
        None => out.push("no_exif_time".to_owned()),
        Some(t) => {
            let text = t.to_rfc3339();
            let taken = chrono::DateTime::parse_from_rfc3339(&text)
                .map(|d| d.with_timezone(&chrono::Utc))
                .ok()
                .or_else(|| {
                    // No offset in the EXIF: local time where the bureaus are (UTC+8).
                    chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")
                        .ok()
                        .map(|n| (n - chrono::Duration::hours(8)).and_utc())
                });
            let start = inspection
                .started_at
                .as_deref()
                .unwrap_or(&inspection.created_at);
            let start = chrono::DateTime::parse_from_rfc3339(start)
                .map(|d| d.with_timezone(&chrono::Utc))
                .unwrap_or(now);
            if taken.is_none_or(|t| t < start - BEFORE || t > now + AHEAD) {
                out.push("taken_outside_window".to_owned());
            }
        }
    }
    if let (Some(g), Some(home)) = (&photo.exif.gps, institution_pos)
        && distance_m((g.latitude, g.longitude), home) > FAR_METRES
    {
        out.push("taken_far_away".to_owned());
    }
    out
}

/// Checks, stores and records one photo. The same client UUID again returns the stored photo and
/// writes nothing (`false`); a store that is down answers 503 and nothing is recorded.
pub async fn ingest(
    state: &AppState,
    inspection: &InspectionRow,
    target: Target,
    bytes: Vec<u8>,
    user: &str,
) -> Result<(PhotoMeta, bool), ApiError> {
    let uuid = target.client_uuid.clone();
    let (insp_id, inst_id) = (inspection.id.clone(), inspection.institution_id.clone());
    let (existing, facts) = state
        .db(move |c| {
            let facts: String = institutions::table
                .find(&inst_id)
                .select(institutions::facts)
                .first(c)?;
            Ok((by_client_uuid(c, &uuid)?, facts))
        })
        .await?;
    if let Some(p) = existing {
        if p.inspection_id != insp_id {
            return Err(ApiError::conflict(
                "client_uuid_taken",
                "this client_uuid was used for a photo of another inspection",
            ));
        }
        return Ok((p.into(), false));
    }
    let original = actix_web::web::Bytes::from(bytes);
    let photo = state
        .photo_decoder
        .ingest(original.clone())
        .await
        .map_err(photo_error)?;
    let stored = state
        .store
        .put(&original, photo.mime())
        .await
        .map_err(store_error)?;
    let thumb = state
        .store
        .put(&photo.thumbnail.bytes, "image/jpeg")
        .await
        .map_err(store_error)?;
    let pos = serde_json::from_str::<serde_json::Value>(&facts)
        .ok()
        .and_then(|f| Some((f.get("lat")?.as_f64()?, f.get("lon")?.as_f64()?)));
    let now = chrono::Utc::now();
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let row = PhotoRow {
        id: uuid::Uuid::new_v4().to_string(),
        inspection_id: inspection.id.clone(),
        ruleset: target.ruleset,
        item: target.item,
        client_uuid: target.client_uuid,
        object_key: stored.key.as_str().to_owned(),
        sha256: stored.sha256.clone(),
        size: i64::try_from(stored.size).unwrap_or(i64::MAX),
        content_type: photo.mime().to_owned(),
        width: i32::try_from(photo.width).unwrap_or(i32::MAX),
        height: i32::try_from(photo.height).unwrap_or(i32::MAX),
        thumb_key: thumb.key.as_str().to_owned(),
        taken_at: photo.exif.taken_at.as_ref().map(|t| t.to_rfc3339()),
        lat: photo.exif.gps.as_ref().map(|g| g.latitude),
        lon: photo.exif.gps.as_ref().map(|g| g.longitude),
        flags: serde_json::to_string(&flags(&photo, inspection, pos, now))
            .unwrap_or_else(|_| "[]".into()),
        uploaded_by: user.to_owned(),
        created_at: now_text.clone(),
    };
    let by = user.to_owned();
    state
        .db(move |c| {
            let r = c.transaction(|c| {
                // Write first (see answers::sync): the inspection row, then the photo.
                let state: String = {
                    bump_version(c, &row.inspection_id, &now_text)?;
                    crate::db::schema::inspections::table
                        .find(&row.inspection_id)
                        .select(crate::db::schema::inspections::status)
                        .first(c)?
                };
                if state == super::status::SUBMITTED && row.ruleset != "rectification" {
                    return Ok(Err(super::submitted()));
                }
                diesel::insert_into(photos::table).values(&row).execute(c)?;
                crate::audit::append(
                    c,
                    &by,
                    "photo.added",
                    "inspection",
                    &row.inspection_id,
                    &serde_json::json!({ "photo": row.id, "ruleset": row.ruleset, "item": row.item, "sha256": row.sha256, "flags": row.flags }),
                )?;
                Ok::<_, diesel::result::Error>(Ok(()))
            });
            match r {
                Ok(Ok(())) => Ok((PhotoMeta::from(row), true)),
                Ok(Err(e)) => Err(e),
                // Two sends of the same UUID raced: the other one stored it; answer with it.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => by_client_uuid(c, &row.client_uuid)?
                    .map(|p| (PhotoMeta::from(p), false))
                    .ok_or_else(|| ApiError::internal("photo vanished")),
                Err(e) => Err(e.into()),
            }
        })
        .await
}
