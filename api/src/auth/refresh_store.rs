//! Stored refresh tokens: only their SHA-256, grouped in families (one per login) so that reuse of
//! a rotated token revokes every token of that login.

use crate::db::DbConn;
use crate::db::schema::refresh_tokens;
use diesel::prelude::*;

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// The login this token descends from.
    pub family_id: String,
    /// Lowercase hex SHA-256 of the token.
    pub token_hash: String,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
    /// When it was exchanged for a new one.
    pub used_at: Option<String>,
    /// Revoked by logout or by reuse detection.
    pub revoked: bool,
    /// Created.
    pub created_at: String,
}

/// Inserts a token.
pub fn insert(conn: &mut DbConn, row: &RefreshRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// By hash.
pub fn by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the token used if it was not; `true` when this call marked it.
pub fn mark_used(conn: &mut DbConn, id: &str, now: &str) -> QueryResult<bool> {
    diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Revokes every token of a family.
pub fn revoke_family(conn: &mut DbConn, family: &str) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family)))
        .set(refresh_tokens::revoked.eq(true))
        .execute(conn)
}
