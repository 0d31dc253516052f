//! `/auth/login`, `/auth/refresh`, `/auth/logout`, `/me`.

use super::body::ApiJson;
use crate::auth::AnyUser;
use crate::auth::service::{self, AuthError, TokenPair};
use crate::error::{ApiError, Problem};
use crate::registry::inspectors::{self, Inspector};
use crate::registry::users::User;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

/// Login request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A refresh token, for refresh and logout.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The opaque refresh token.
    pub refresh_token: String,
}

/// The caller and, for inspectors, their roster entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The user.
    pub user: User,
    /// Roster entry (inspectors with one).
    pub inspector: Option<Inspector>,
}

fn to_api(e: AuthError) -> ApiError {
    match e {
        AuthError::Db(e) => e.into(),
        AuthError::Sign(e) => ApiError::internal(e),
        AuthError::Reused => {
            let mut err = ApiError::unauthorized(AuthError::Reused.to_string());
            err.code = "refresh_reused";
            err
        }
        other => ApiError::unauthorized(other.to_string()),
    }
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// Logs in with user name and password; returns an access token and a refresh token.
#[utoipa::path(tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenPair), (status = 401, body = Problem), (status = 429, body = Problem)))]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let LoginRequest { username, password } = body.0;
    let address = client_address(&req);
    if state.throttle.is_blocked(&username, &address) {
        return Err(ApiError::too_many_attempts());
    }
    let keys = state.keys.clone();
    let ttl = state.config.refresh_token_ttl_secs;
    let name = username.clone();
    let result = state
        .db(move |c| Ok(service::login(c, &keys, &name, &password, ttl)))
        .await?;
    match result {
        Ok(pair) => {
            state.throttle.succeed(&username);
            Ok(web::Json(pair))
        }
        Err(AuthError::BadCredentials) => {
            state.throttle.fail(&username, &address);
            Err(to_api(AuthError::BadCredentials))
        }
        Err(e) => Err(to_api(e)),
    }
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a used one
/// revokes every token of that login.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 200, body = TokenPair), (status = 401, body = Problem)))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<web::Json<TokenPair>, ApiError> {
    let keys = state.keys.clone();
    let ttl = state.config.refresh_token_ttl_secs;
    let token = body.0.refresh_token;
    state
        .db(move |c| Ok(service::refresh(c, &keys, &token, ttl)))
        .await?
        .map(web::Json)
        .map_err(to_api)
}

/// Revokes the refresh token and every token of the same login.
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "logged out")))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.0.refresh_token;
    state
        .db(move |c| service::logout(c, &token).map_err(to_api))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller.
#[utoipa::path(tag = "auth", responses((status = 200, body = Me), (status = 401, body = Problem)), security(("bearer" = [])))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, user: AnyUser) -> Result<web::Json<Me>, ApiError> {
    let user = user.0;
    let inspector = match user.inspector_id.clone() {
        Some(id) => state
            .db(move |c| inspectors::by_id(c, &id).map_err(ApiError::from))
            .await?
            .map(Inspector::from),
        None => None,
    };
    Ok(web::Json(Me {
        user: user.into(),
        inspector,
    }))
}
