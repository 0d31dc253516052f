//! One extractor per role. A handler that takes `AdminUser` cannot run for anyone else: no token
//! or a bad one → 401, a user that was deleted or disabled → 401, another role → 403.

use super::Role;
use crate::error::ApiError;
use crate::registry::users::{self, UserRow};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

async fn authenticate(req: HttpRequest) -> Result<UserRow, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let token = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let now = super::token::now_secs();
    if let Some(u) = state.user_cache.get(token, now) {
        return Ok(u);
    }
    let claims = state
        .keys
        .verify(token)
        .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
    let expires = claims.exp;
    let user = state
        .db(move |c| users::by_id(c, &claims.sub).map_err(ApiError::from))
        .await?;
    match user {
        Some(u) if !u.disabled && u.role().is_some() => {
            state.user_cache.put(token, expires, &u);
            Ok(u)
        }
        _ => Err(ApiError::unauthorized(
            "the user no longer exists or is disabled",
        )),
    }
}

/// Any authenticated user.
#[derive(Debug, Clone)]
pub struct AnyUser(pub UserRow);

impl FromRequest for AnyUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await.map(AnyUser) })
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub UserRow);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let req = req.clone();
                Box::pin(async move {
                    let user = authenticate(req).await?;
                    if user.role() == Some($role) {
                        Ok($name(user))
                    } else {
                        Err(ApiError::forbidden(concat!("this needs the ", $label, " role")))
                    }
                })
            }
        }
    };
}

role_extractor!(
    /// A bureau admin (scoped to a region).
    AdminUser,
    Role::Admin,
    "admin"
);
role_extractor!(
    /// An inspector.
    InspectorUser,
    Role::Inspector,
    "inspector"
);
role_extractor!(
    /// A user of one institution.
    InstitutionUser,
    Role::Institution,
    "institution"
);
