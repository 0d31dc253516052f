//! Login, refresh-token rotation and logout, as blocking functions over one connection.

use super::refresh_store::{self, RefreshRow};
use super::token::TokenKeys;
use super::{password, random_token, sha256_hex};
use crate::db::DbConn;
use crate::registry::now_text;
use crate::registry::users::{self, User, UserRow};
use diesel::Connection;
use serde::Serialize;

/// Tokens handed to a client after login or refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// JWT access token for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque refresh token; single use.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// The user.
    pub user: User,
}

/// Why authentication failed (all become 401 at the edge, with different details).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled user (one message: no account enumeration).
    #[error("wrong user name or password")]
    BadCredentials,
    /// Unknown, expired or revoked refresh token.
    #[error("the refresh token is not valid")]
    BadRefresh,
    /// A rotated refresh token was presented again; its family is revoked.
    #[error("the refresh token was already used; every session of this login is revoked")]
    Reused,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    /// Token signing failure.
    #[error("token: {0}")]
    Sign(String),
}

fn rfc3339_in(secs: u64) -> String {
    let at = chrono::Utc::now()
        + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2_000));
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn issue(
    conn: &mut DbConn,
    keys: &TokenKeys,
    user: UserRow,
    family: String,
    refresh_ttl: u64,
) -> Result<TokenPair, AuthError> {
    let refresh = random_token();
    refresh_store::insert(
        conn,
        &RefreshRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            family_id: family,
            token_hash: sha256_hex(&refresh),
            expires_at: rfc3339_in(refresh_ttl),
            used_at: None,
            revoked: false,
            created_at: now_text(),
        },
    )?;
    let access = keys.issue(&user.id, &user.role).map_err(AuthError::Sign)?;
    Ok(TokenPair {
        access_token: access,
        token_type: "Bearer",
        expires_in: keys.ttl_secs(),
        refresh_token: refresh,
        refresh_expires_in: refresh_ttl,
        user: user.into(),
    })
}

/// Checks the password (argon2id: deliberately slow) and opens a new token family.
pub fn login(
    conn: &mut DbConn,
    keys: &TokenKeys,
    username: &str,
    pw: &str,
    refresh_ttl: u64,
) -> Result<TokenPair, AuthError> {
    let Some(user) = users::by_username(conn, username)? else {
        // Spend the same time as for a real account.
        let _ = password::verify(pw, password::dummy_hash());
        return Err(AuthError::BadCredentials);
    };
    if !password::verify(pw, &user.password_hash) || user.disabled {
        return Err(AuthError::BadCredentials);
    }
    issue(
        conn,
        keys,
        user,
        uuid::Uuid::new_v4().to_string(),
        refresh_ttl,
    )
}

/// Exchanges a refresh token for a new pair; a second use of the same token revokes the family.
pub fn refresh(
    conn: &mut DbConn,
    keys: &TokenKeys,
    token: &str,
    refresh_ttl: u64,
) -> Result<TokenPair, AuthError> {
    let result = conn.transaction(|conn| {
        let Some(row) = refresh_store::by_hash(conn, &sha256_hex(token))? else {
            return Err(AuthError::BadRefresh);
        };
        if row.used_at.is_some() {
            refresh_store::revoke_family(conn, &row.family_id)?;
            return Ok(Err(AuthError::Reused));
        }
        let now = now_text();
        if row.revoked || row.expires_at <= now {
            return Err(AuthError::BadRefresh);
        }
        if !refresh_store::mark_used(conn, &row.id, &now)? {
            refresh_store::revoke_family(conn, &row.family_id)?;
            return Ok(Err(AuthError::Reused));
        }
        let user = match users::by_id(conn, &row.user_id)? {
            Some(u) if !u.disabled => u,
            _ => return Err(AuthError::BadRefresh),
        };
        issue(conn, keys, user, row.family_id, refresh_ttl).map(Ok)
    });
    // Reuse is reported after the revocation has been committed.
    result.and_then(|inner| inner)
}

/// Revokes the refresh token's family (all tokens of that login). Unknown tokens are ignored.
pub fn logout(conn: &mut DbConn, token: &str) -> Result<(), AuthError> {
    if let Some(row) = refresh_store::by_hash(conn, &sha256_hex(token))? {
        refresh_store::revoke_family(conn, &row.family_id)?;
    }
    Ok(())
}
