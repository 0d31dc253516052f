//! `/lists/{list}`: the 隐患清单, 整改清单 and 责任清单 per inspection, institution or region, as JSON
//! pages or as a CSV export (UTF-8 with BOM, so Excel shows the Chinese) streamed page by page.

use super::body::ApiQuery;
use crate::auth::AnyUser;
use crate::error::{ApiError, Problem};
use crate::inspections::lists::{self as model, ListEntry, ListFilter, ListKind};
use crate::registry::{Page, Paging};
use crate::state::AppState;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};

/// Rows fetched per database round trip of an export.
const EXPORT_PAGE: i64 = 500;

fn kind(s: &str) -> Result<ListKind, ApiError> {
    ListKind::parse(s)
        .ok_or_else(|| ApiError::not_found("list (hazards, rectifications or responsibilities)"))
}

/// One list, a page at a time: scoped to the caller (a bureau's region, an inspector's region, an
/// institution's own records), filtered by inspection, institution, district, level, status,
/// overdue and date found.
#[utoipa::path(tag = "lists", params(("list" = String, Path, description = "hazards, rectifications or responsibilities"), ListFilter), responses((status = 200, body = Page<ListEntry>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/lists/{list}")]
pub async fn list_page(
    state: web::Data<AppState>,
    user: AnyUser,
    which: web::Path<String>,
    q: ApiQuery<ListFilter>,
) -> Result<web::Json<Page<ListEntry>>, ApiError> {
    kind(&which)?;
    let f = q.0;
    let (limit, offset) = Paging {
        limit: f.limit,
        offset: f.offset,
    }
    .resolve()?;
    let scope = user.0.scope();
    let (items, total) = state
        .db(move |c| Ok(model::page(c, &scope, &f, limit, offset)?))
        .await?;
    Ok(web::Json(Page {
        items,
        total,
        limit,
        offset,
    }))
}

/// The list as CSV with the columns of the bureau's form, streamed: memory stays flat however
/// long the list is.
#[utoipa::path(tag = "lists", params(("list" = String, Path, description = "hazards, rectifications or responsibilities"), ListFilter), responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/lists/{list}/export")]
pub async fn export(
    state: web::Data<AppState>,
    user: AnyUser,
    which: web::Path<String>,
    q: ApiQuery<ListFilter>,
) -> Result<HttpResponse, ApiError> {
    let kind = kind(&which)?;
    let scope = user.0.scope();
    let filter = q.0;
    let header = {
        let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        w.write_record(kind.columns().iter().map(|(h, _)| *h))
            .map_err(ApiError::internal)?;
        w.into_inner().map_err(ApiError::internal)?
    };
    let first =
        futures_util::stream::once(async move { Ok::<_, actix_web::Error>(Bytes::from(header)) });
    let rows = futures_util::stream::unfold(Some(0i64), move |offset| {
        let (state, scope, filter) = (state.clone(), scope.clone(), filter.clone());
        async move {
            let offset = offset?;
            let page = state
                .db(move |c| Ok(model::page(c, &scope, &filter, EXPORT_PAGE, offset)?.0))
                .await;
            let entries = match page {
                Ok(e) => e,
                Err(e) => return Some((Err(e.into()), None)),
            };
            let next = (entries.len() as i64 == EXPORT_PAGE).then_some(offset + EXPORT_PAGE);
            if entries.is_empty() {
                return None;
            }
            let mut w = csv::Writer::from_writer(Vec::new());
            for e in &entries {
                if let Err(err) = w.write_record(kind.columns().iter().map(|(_, f)| f(e))) {
                    return Some((Err(ApiError::internal(err).into()), None));
                }
            }
            match w.into_inner() {
                Ok(bytes) => Some((Ok(Bytes::from(bytes)), next)),
                Err(err) => Some((Err(ApiError::internal(err).into()), None)),
            }
        }
    });
    let name = match kind {
        ListKind::Hazards => "hazards",
        ListKind::Rectifications => "rectifications",
        ListKind::Responsibilities => "responsibilities",
    };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .streaming(futures_util::StreamExt::chain(first, rows)))
}
