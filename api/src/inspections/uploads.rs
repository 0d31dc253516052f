//! Resumable uploads of large photos: the phone announces size and SHA-256, sends chunks each
//! with its own SHA-256, resumes after a cut at the offset the server reports, and completes; the
//! assembled bytes are checked against the announced hash and then ingested like a single upload.
//! Chunks wait in the database so that any API server can take the next one.

use super::photos::Target;
use crate::db::DbConn;
use crate::db::schema::{upload_chunks, uploads};
use crate::error::ApiError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// A stored upload.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    /// Id.
    pub id: String,
    /// Inspection.
    pub inspection_id: String,
    /// Ruleset id.
    pub ruleset: String,
    /// Item.
    pub item: String,
    /// The photo's client UUID.
    pub client_uuid: String,
    /// Announced size.
    pub size: i64,
    /// Announced SHA-256 of the whole.
    pub sha256: String,
    /// Bytes received so far: where the next chunk starts.
    pub received: i64,
    /// The photo, once completed.
    pub photo_id: Option<String>,
    /// Uploader.
    pub created_by: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
}

/// An upload as the phone sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Upload {
    /// Id.
    pub id: String,
    /// Where the next chunk starts.
    pub received: i64,
    /// Announced size.
    pub size: i64,
    /// The photo, once completed.
    pub photo_id: Option<String>,
}

impl From<&UploadRow> for Upload {
    fn from(r: &UploadRow) -> Self {
        Self {
            id: r.id.clone(),
            received: r.received,
            size: r.size,
            photo_id: r.photo_id.clone(),
        }
    }
}

/// An upload announcement.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// Ruleset id.
    pub ruleset: String,
    /// Item path.
    pub item: String,
    /// The photo's UUID (resending the announcement returns the same upload).
    pub client_uuid: String,
    /// Total bytes.
    pub size: i64,
    /// SHA-256 of the whole photo, hex.
    pub sha256: String,
}

impl NewUpload {
    /// Where the photo will belong.
    pub fn target(&self) -> Target {
        Target {
            ruleset: self.ruleset.clone(),
            item: self.item.clone(),
            client_uuid: self.client_uuid.clone(),
        }
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Announces an upload, or returns the one already announced under the same client UUID.
pub fn announce(
    conn: &mut DbConn,
    inspection: &str,
    new: &NewUpload,
    limit: usize,
    user: &str,
    now: &str,
) -> Result<(UploadRow, bool), ApiError> {
    if !is_sha256(&new.sha256) {
        return Err(ApiError::validation(
            "sha256",
            "sha256 must be 64 hex digits",
        ));
    }
    if new.size <= 0 {
        return Err(ApiError::validation("size", "size must be positive"));
    }
    if new.size as u64 > limit as u64 {
        return Err(ApiError::too_large(limit));
    }
    if let Some(r) = uploads::table
        .filter(uploads::client_uuid.eq(&new.client_uuid))
        .select(UploadRow::as_select())
        .first(conn)
        .optional()?
    {
        if r.inspection_id != inspection {
            return Err(ApiError::conflict(
                "client_uuid_taken",
                "this client_uuid was used for an upload to another inspection",
            ));
        }
        return Ok((r, false));
    }
    let row = UploadRow {
        id: uuid::Uuid::new_v4().to_string(),
        inspection_id: inspection.to_owned(),
        ruleset: new.ruleset.clone(),
        item: new.item.clone(),
        client_uuid: new.client_uuid.clone(),
        size: new.size,
        sha256: new.sha256.to_ascii_lowercase(),
        received: 0,
        photo_id: None,
        created_by: user.to_owned(),
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    };
    diesel::insert_into(uploads::table)
        .values(&row)
        .execute(conn)?;
    Ok((row, true))
}

/// One upload by id.
pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<UploadRow>> {
    uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

fn wrong_offset(received: i64, detail: String) -> ApiError {
    let mut e = ApiError::conflict("wrong_offset", detail);
    e.extra = Some(Box::new(crate::error::Extra {
        current: Some(serde_json::json!({ "received": received })),
        errors: None,
    }));
    e
}

/// Stores one chunk at `offset` after checking its hash. A chunk already received identically is
/// accepted again without effect; any other offset but the resume point is refused with it.
pub fn put_chunk(
    conn: &mut DbConn,
    up: &UploadRow,
    offset: i64,
    bytes: &[u8],
    claimed: &str,
) -> Result<Upload, ApiError> {
    let actual = crate::store::sha256_hex(bytes);
    if !claimed.eq_ignore_ascii_case(&actual) {
        return Err(ApiError::bad_request(
            "chunk_hash_mismatch",
            Some("X-Chunk-SHA256".into()),
            format!(
                "the chunk's SHA-256 is {actual}, not {claimed}: it was damaged on the way; send it again"
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(ApiError::validation(
            "body",
            "a chunk has at least one byte",
        ));
    }
    let len = bytes.len() as i64;
    if up.photo_id.is_some() {
        return Err(ApiError::conflict(
            "upload_completed",
            "this upload is complete",
        ));
    }
    conn.transaction(|c| {
        // The write comes first: it moves the resume point only if nobody else did.
        let n = diesel::update(
            uploads::table
                .find(&up.id)
                .filter(uploads::received.eq(offset))
                .filter(uploads::size.ge(offset + len)),
        )
        .set((
            uploads::received.eq(offset + len),
            uploads::updated_at.eq(crate::registry::now_text()),
        ))
        .execute(c)?;
        let cur: UploadRow = uploads::table
            .find(&up.id)
            .select(UploadRow::as_select())
            .first(c)?;
        if n == 0 {
            if offset + len > cur.size {
                return Ok(Err(ApiError::bad_request(
                    "chunk_too_large",
                    None,
                    format!(
                        "the chunk ends at {} but the photo has {} bytes",
                        offset + len,
                        cur.size
                    ),
                )));
            }
            // A resend of a chunk already stored: same start, same hash — nothing to do.
            let same: bool = diesel::select(diesel::dsl::exists(
                upload_chunks::table
                    .filter(upload_chunks::upload_id.eq(&up.id))
                    .filter(upload_chunks::start_at.eq(offset))
                    .filter(upload_chunks::sha256.eq(&actual)),
            ))
            .get_result(c)?;
            if same {
                return Ok(Ok(Upload::from(&cur)));
            }
            return Ok(Err(wrong_offset(
                cur.received,
                format!(
                    "expected the chunk starting at {}, got {offset}; resume from `received`",
                    cur.received
                ),
            )));
        }
        diesel::insert_into(upload_chunks::table)
            .values((
                upload_chunks::upload_id.eq(&up.id),
                upload_chunks::start_at.eq(offset),
                upload_chunks::size.eq(len),
                upload_chunks::sha256.eq(&actual),
                upload_chunks::data.eq(bytes),
            ))
            .execute(c)?;
        Ok::<_, diesel::result::Error>(Ok(Upload::from(&cur)))
    })?
}

/// The assembled bytes of a fully received upload, checked against the announced hash.
pub fn assemble(conn: &mut DbConn, up: &UploadRow) -> Result<Vec<u8>, ApiError> {
    if up.received != up.size {
        return Err(wrong_offset(
            up.received,
            format!(
                "{} of {} bytes received; send the rest first",
                up.received, up.size
            ),
        ));
    }
    let chunks: Vec<Vec<u8>> = upload_chunks::table
        .filter(upload_chunks::upload_id.eq(&up.id))
        .order(upload_chunks::start_at)
        .select(upload_chunks::data)
        .load(conn)?;
    let bytes: Vec<u8> = chunks.concat();
    let actual = crate::store::sha256_hex(&bytes);
    if actual != up.sha256 {
        // Start over: the chunks are what they are and cannot make the announced photo.
        conn.transaction(|c| {
            diesel::delete(upload_chunks::table.filter(upload_chunks::upload_id.eq(&up.id)))
                .execute(c)?;
            diesel::update(uploads::table.find(&up.id))
                .set(uploads::received.eq(0))
                .execute(c)?;
            Ok::<_, diesel::result::Error>(())
        })?;
        return Err(ApiError::bad_request(
            "upload_hash_mismatch",
            Some("sha256".into()),
            format!(
                "the assembled photo's SHA-256 is {actual}, not the announced {}; the upload restarts from 0",
                up.sha256
            ),
        ));
    }
    Ok(bytes)
}

/// Records the photo an upload became and drops its chunks.
pub fn finish(conn: &mut DbConn, up: &UploadRow, photo: &str) -> QueryResult<()> {
    conn.transaction(|c| {
        diesel::update(uploads::table.find(&up.id))
            .set(uploads::photo_id.eq(photo))
            .execute(c)?;
        diesel::delete(upload_chunks::table.filter(upload_chunks::upload_id.eq(&up.id)))
            .execute(c)?;
        Ok(())
    })
}

/// Uploads of `inspection` announced but not completed, as the problem's `errors` list them:
/// submit waits for them, because after submit no chunk is accepted and the photo would be lost.
pub fn pending(conn: &mut DbConn, inspection: &str) -> QueryResult<Vec<serde_json::Value>> {
    let rows: Vec<UploadRow> = uploads::table
        .filter(uploads::inspection_id.eq(inspection))
        .filter(uploads::photo_id.is_null())
        .order(uploads::created_at)
        .select(UploadRow::as_select())
        .load(conn)?;
    Ok(rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "upload": r.id,
                "ruleset": r.ruleset,
                "item": r.item,
                "client_uuid": r.client_uuid,
                "received": r.received,
                "size": r.size,
            })
        })
        .collect())
}

/// Abandons an upload that is not complete (the phone dropped the photo): its chunks and the
/// upload go. A completed upload is a photo and stays.
pub fn cancel(conn: &mut DbConn, up: &UploadRow) -> Result<(), ApiError> {
    conn.transaction(|c| {
        let n = diesel::delete(
            uploads::table
                .find(&up.id)
                .filter(uploads::photo_id.is_null()),
        )
        .execute(c)?;
        if n == 0 {
            return Ok(Err(ApiError::conflict(
                "upload_completed",
                "this upload is complete: it is a photo now",
            )));
        }
        diesel::delete(upload_chunks::table.filter(upload_chunks::upload_id.eq(&up.id)))
            .execute(c)?;
        Ok::<_, diesel::result::Error>(Ok(()))
    })?
}
