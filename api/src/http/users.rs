//! `/users`: accounts, managed by admins inside their region.

use super::body::{ApiJson, ApiQuery};
use crate::auth::{AdminUser, password};
use crate::error::{ApiError, Problem};
use crate::registry::users::{self as model, User, UserInput};
use crate::registry::{Page, Paging};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};

/// Lists the users of the admin's region.
#[utoipa::path(tag = "users", params(Paging), responses((status = 200, body = Page<User>)), security(("bearer" = [])))]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminUser,
    q: ApiQuery<Paging>,
) -> Result<web::Json<Page<User>>, ApiError> {
    let (limit, offset) = q.0.resolve()?;
    let scope = admin.0.scope();
    let (rows, total) = state
        .db(move |c| model::list(c, &scope, limit, offset).map_err(ApiError::from))
        .await?;
    Ok(web::Json(Page {
        items: rows.into_iter().map(User::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// Creates a user. Admins and inspectors get a region inside the caller's; institution users an
/// institution inside it.
#[utoipa::path(tag = "users", request_body = UserInput, responses((status = 201, body = User), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminUser,
    body: ApiJson<UserInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    input.validate()?;
    let scope = admin.0.scope();
    let row = state
        .db(move |c| model::create_in_scope(c, &scope, input, password::hash))
        .await?;
    Ok(HttpResponse::Created().json(User::from(row)))
}

/// Deletes a user of the admin's region; their tokens stop working at once.
#[utoipa::path(tag = "users", responses((status = 204, description = "deleted"), (status = 404, body = Problem)), security(("bearer" = [])))]
#[delete("/users/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scope = admin.0.scope();
    let id = id.into_inner();
    let deleted = state
        .db(move |c| model::delete(c, &scope, &id).map_err(ApiError::from))
        .await?;
    // Users (and an institution's users, ON DELETE CASCADE) are gone: their tokens stop now.
    state.user_cache.clear();
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("user"))
    }
}
