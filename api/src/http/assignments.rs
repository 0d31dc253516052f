//! `/inspections`: the inspections a user may see (an inspector their team's, the bureau its
//! region's, an institution its own once started), one inspection, and its start on site.

use super::body::ApiQuery;
use crate::auth::{AnyUser, InspectorUser};
use crate::error::{ApiError, Problem};
use crate::inspections::assignments::{self as model, InspectionFilter, InspectionView};
use crate::inspections::{self, Need};
use crate::registry::{Page, Paging, now_text};
use crate::state::AppState;
use actix_web::{get, post, web};

/// Inspections visible to the caller, due first.
#[utoipa::path(tag = "inspections", params(InspectionFilter), responses((status = 200, body = Page<InspectionView>)), security(("bearer" = [])))]
#[get("/inspections")]
pub async fn list(
    state: web::Data<AppState>,
    user: AnyUser,
    q: ApiQuery<InspectionFilter>,
) -> Result<web::Json<Page<InspectionView>>, ApiError> {
    let f = q.0;
    let (limit, offset) = Paging {
        limit: f.limit,
        offset: f.offset,
    }
    .resolve()?;
    let (items, total) = state
        .db(move |c| Ok(model::list(c, &user.0, &f, limit, offset)?))
        .await?;
    Ok(web::Json(Page {
        items,
        total,
        limit,
        offset,
    }))
}

/// One inspection (404 for anyone who may not see it — an institution before the visit starts).
#[utoipa::path(tag = "inspections", responses((status = 200, body = InspectionView), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<InspectionView>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::Read)?;
            Ok(model::view(c, row)?)
        })
        .await
        .map(web::Json)
}

/// The team starts on site: from now on the institution sees the inspection. Idempotent.
#[utoipa::path(tag = "inspections", responses((status = 200, body = InspectionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/start")]
pub async fn start(
    state: web::Data<AppState>,
    user: InspectorUser,
    id: web::Path<String>,
) -> Result<web::Json<InspectionView>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::TeamWritable)?;
            model::start(c, &row, &user.0.id, &now_text())?;
            let (row, _) = inspections::require(c, &user.0, &id, Need::Read)?;
            Ok(model::view(c, row)?)
        })
        .await
        .map(web::Json)
}
