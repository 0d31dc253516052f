//! Evidence photos: single uploads, resumable chunked uploads, metadata and downloads (after
//! authorising through the inspection; S3 stores also give a short-lived signed URL).

use super::body::{ApiJson, ApiQuery, BinaryBody};
use crate::auth::AnyUser;
use crate::error::{ApiError, Problem};
use crate::inspections::photos::{self as model, PhotoMeta, Target};
use crate::inspections::uploads::{self, NewUpload, Upload};
use crate::inspections::{self, Need, facts};
use crate::registry::now_text;
use crate::registry::users::UserRow;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a photo belongs.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    /// Ruleset id.
    pub ruleset: String,
    /// Item path.
    pub item: String,
    /// The phone's UUID for this photo (a resend returns the same photo).
    pub client_uuid: String,
}

/// Where a chunk starts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChunkQuery {
    /// Byte offset of the chunk: the upload's `received`.
    pub offset: i64,
}

/// A photo with where to download it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoLinks {
    /// Metadata.
    #[serde(flatten)]
    pub photo: PhotoMeta,
    /// Download URL of the original: short-lived signed (S3) or this API's authorised path.
    pub url: String,
    /// The thumbnail's authorised path.
    pub thumbnail: String,
}

/// The inspection of `id` writable by `user`'s team, with its target checked.
async fn writable(
    state: &web::Data<AppState>,
    user: &UserRow,
    id: &str,
    target: &Target,
) -> Result<inspections::InspectionRow, ApiError> {
    let (st, user, id, target) = (state.clone(), user.clone(), id.to_owned(), target.clone());
    state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user, &id, Need::TeamWritable)?;
            let pinned = facts::pinned(&st.compiled, c, &row)?.map_err(ApiError::internal)?;
            model::check_item(&pinned, &target)?;
            Ok(row)
        })
        .await
}

fn created(meta: PhotoMeta, new: bool) -> HttpResponse {
    if new {
        HttpResponse::Created().json(meta)
    } else {
        HttpResponse::Ok().json(meta)
    }
}

/// Uploads one photo (raw JPEG or PNG body; the type is sniffed, not trusted): 201 stored, 200
/// the same client UUID again (nothing written), 415 not a photo, 413 too large or a
/// decompression bomb, 422 damaged or cut short, 503 store down (nothing recorded).
#[utoipa::path(tag = "photos", params(PhotoQuery), request_body(content = Vec<u8>, content_type = "image/jpeg"), responses((status = 201, body = PhotoMeta), (status = 200, body = PhotoMeta), (status = 413, body = Problem), (status = 415, body = Problem), (status = 503, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/photos")]
pub async fn upload(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
    q: ApiQuery<PhotoQuery>,
    body: BinaryBody<false>,
) -> Result<HttpResponse, ApiError> {
    let target = Target {
        ruleset: q.0.ruleset,
        item: q.0.item,
        client_uuid: q.0.client_uuid,
    };
    let row = writable(&state, &user.0, &id, &target).await?;
    let (meta, new) = model::ingest(&state, &row, target, body.0, &user.0.id).await?;
    Ok(created(meta, new))
}

/// The photos of an inspection.
#[utoipa::path(tag = "photos", responses((status = 200, body = Vec<PhotoMeta>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/photos")]
pub async fn list(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<PhotoMeta>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            inspections::require(c, &user.0, &id, Need::Read)?;
            Ok(model::list_for_inspection(c, &id)?)
        })
        .await
        .map(web::Json)
}

/// Announces a resumable upload (size and SHA-256 of the whole); the same client UUID again
/// returns the existing upload with its resume point.
#[utoipa::path(tag = "photos", request_body = NewUpload, responses((status = 201, body = Upload), (status = 200, body = Upload), (status = 413, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/uploads")]
pub async fn announce(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
    body: ApiJson<NewUpload>,
) -> Result<HttpResponse, ApiError> {
    let new = body.0;
    let row = writable(&state, &user.0, &id, &new.target()).await?;
    let limit = state.config.photo_limit;
    let (up, created) = state
        .db(move |c| uploads::announce(c, &row.id, &new, limit, &user.0.id, &now_text()))
        .await?;
    let body = Upload::from(&up);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// The upload `id`, if `user` may write to its inspection.
async fn own_upload(
    state: &web::Data<AppState>,
    user: &UserRow,
    id: &str,
    need: Need,
) -> Result<(uploads::UploadRow, inspections::InspectionRow), ApiError> {
    let (user, id) = (user.clone(), id.to_owned());
    state
        .db(move |c| {
            let up = uploads::get(c, &id)?.ok_or_else(|| ApiError::not_found("upload"))?;
            let (row, _) =
                inspections::require(c, &user, &up.inspection_id, need).map_err(|e| {
                    if e.status == 404 {
                        ApiError::not_found("upload")
                    } else {
                        e
                    }
                })?;
            Ok((up, row))
        })
        .await
}

/// Sends one chunk (`X-Chunk-SHA256` = its SHA-256). 409 `wrong_offset` with `current.received`
/// when it does not start at the resume point; a chunk already received is accepted again.
#[utoipa::path(tag = "photos", params(ChunkQuery, ("X-Chunk-SHA256" = String, Header, description = "SHA-256 of this chunk, hex")), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 200, body = Upload), (status = 400, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[put("/uploads/{id}")]
pub async fn chunk(
    state: web::Data<AppState>,
    user: AnyUser,
    req: HttpRequest,
    id: web::Path<String>,
    q: ApiQuery<ChunkQuery>,
    body: BinaryBody<true>,
) -> Result<web::Json<Upload>, ApiError> {
    let claimed = req
        .headers()
        .get("x-chunk-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_header",
                Some("X-Chunk-SHA256".into()),
                "X-Chunk-SHA256: the chunk's SHA-256 is required",
            )
        })?;
    let (up, _) = own_upload(&state, &user.0, &id, Need::TeamWritable).await?;
    let offset = q.0.offset;
    state
        .db(move |c| uploads::put_chunk(c, &up, offset, &body.0, &claimed))
        .await
        .map(web::Json)
}

/// Where an upload stands: `received` is where to resume.
#[utoipa::path(tag = "photos", responses((status = 200, body = Upload), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/uploads/{id}")]
pub async fn status(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Upload>, ApiError> {
    let (up, _) = own_upload(&state, &user.0, &id, Need::Team).await?;
    Ok(web::Json(Upload::from(&up)))
}

/// Abandons an upload that is not complete (the phone dropped the photo), so that the inspection
/// can be submitted without it. 409 `upload_completed` for an upload that became a photo.
#[utoipa::path(tag = "photos", responses((status = 204, description = "cancelled"), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[delete("/uploads/{id}")]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (up, _) = own_upload(&state, &user.0, &id, Need::TeamWritable).await?;
    state.db(move |c| uploads::cancel(c, &up)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Completes an upload: the assembled bytes are checked against the announced SHA-256 and
/// ingested like a single upload. Completing again returns the same photo.
#[utoipa::path(tag = "photos", responses((status = 201, body = PhotoMeta), (status = 200, body = PhotoMeta), (status = 400, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/uploads/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (up, row) = own_upload(&state, &user.0, &id, Need::Team).await?;
    if let Some(p) = up.photo_id.clone() {
        let meta = state
            .db(move |c| model::get(c, &p)?.ok_or_else(|| ApiError::not_found("photo")))
            .await?;
        return Ok(HttpResponse::Ok().json(PhotoMeta::from(meta)));
    }
    if row.is_read_only() {
        return Err(inspections::submitted());
    }
    let up2 = up.clone();
    let bytes = state.db(move |c| uploads::assemble(c, &up2)).await?;
    let target = Target {
        ruleset: up.ruleset.clone(),
        item: up.item.clone(),
        client_uuid: up.client_uuid.clone(),
    };
    let (meta, new) = model::ingest(&state, &row, target, bytes, &user.0.id).await?;
    let photo = meta.id.clone();
    state
        .db(move |c| Ok(uploads::finish(c, &up, &photo)?))
        .await?;
    Ok(created(meta, new))
}

/// The photo `id` if `user` may see its inspection.
async fn visible(
    state: &web::Data<AppState>,
    user: &UserRow,
    id: &str,
) -> Result<model::PhotoRow, ApiError> {
    let (user, id) = (user.clone(), id.to_owned());
    state
        .db(move |c| {
            let p = model::get(c, &id)?.ok_or_else(|| ApiError::not_found("photo"))?;
            inspections::require(c, &user, &p.inspection_id, Need::Read)
                .map_err(|_| ApiError::not_found("photo"))?;
            Ok(p)
        })
        .await
}

/// A photo's metadata and download links.
#[utoipa::path(tag = "photos", responses((status = 200, body = PhotoLinks), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/photos/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<PhotoLinks>, ApiError> {
    let p = visible(&state, &user.0, &id).await?;
    let signed = state
        .store
        .signed_url(&p.object_key, Duration::from_secs(300))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let own = format!("/api/v1/photos/{}/original", p.id);
    let thumb = format!("/api/v1/photos/{}/thumbnail", p.id);
    Ok(web::Json(PhotoLinks {
        url: signed.unwrap_or(own),
        thumbnail: thumb,
        photo: p.into(),
    }))
}

async fn bytes_of(
    state: &web::Data<AppState>,
    key: &str,
    content_type: &str,
) -> Result<HttpResponse, ApiError> {
    let bytes = state
        .store
        .get(key)
        .await
        .map_err(|e| match e.http_status() {
            404 => ApiError::not_found("stored photo"),
            _ => ApiError::unavailable(e.to_string()),
        })?;
    Ok(HttpResponse::Ok()
        .content_type(content_type.to_owned())
        .insert_header(("Cache-Control", "private, max-age=31536000, immutable"))
        .body(bytes))
}

/// The original bytes, untouched (evidence), for those who may see the inspection.
#[utoipa::path(tag = "photos", responses((status = 200, description = "the original photo"), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/photos/{id}/original")]
pub async fn original(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = visible(&state, &user.0, &id).await?;
    bytes_of(&state, &p.object_key, &p.content_type).await
}

/// The thumbnail (re-encoded JPEG without metadata).
#[utoipa::path(tag = "photos", responses((status = 200, description = "the thumbnail (JPEG)"), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/photos/{id}/thumbnail")]
pub async fn thumbnail(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = visible(&state, &user.0, &id).await?;
    bytes_of(&state, &p.thumb_key, "image/jpeg").await
}
