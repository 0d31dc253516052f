//! Users: bureau admins, inspectors and institution users.

use super::{Scope, is_region_code, like_escape, now_text};
use crate::auth::Role;
use crate::db::DbConn;
use crate::db::schema::{institutions, users};
use crate::error::ApiError;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// A stored user row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Text UUID.
    pub id: String,
    /// Login name.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role, stored form.
    pub role: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Region code prefix (admins and inspectors).
    pub region_code: Option<String>,
    /// Roster entry (inspectors).
    pub inspector_id: Option<String>,
    /// Institution (institution users).
    pub institution_id: Option<String>,
    /// Disabled users cannot log in or use tokens.
    pub disabled: bool,
    /// Created.
    pub created_at: String,
}

impl UserRow {
    /// The role, if the stored text is known.
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }

    /// What this user may see.
    pub fn scope(&self) -> Scope {
        match (self.role(), &self.institution_id) {
            (Some(Role::Institution), Some(id)) => Scope::Institution(id.clone()),
            (Some(Role::Admin | Role::Inspector), _) => {
                Scope::Region(self.region_code.clone().unwrap_or_default())
            }
            // A malformed row sees nothing.
            _ => Scope::Institution(String::new()),
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Display name.
    pub display_name: String,
    /// Region code prefix (admins, inspectors).
    pub region_code: Option<String>,
    /// Roster entry (inspectors).
    pub inspector_id: Option<String>,
    /// Institution (institution users).
    pub institution_id: Option<String>,
    /// Disabled.
    pub disabled: bool,
    /// Created.
    pub created_at: String,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            role: r.role().unwrap_or(Role::Institution),
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            region_code: r.region_code,
            inspector_id: r.inspector_id,
            institution_id: r.institution_id,
            disabled: r.disabled,
            created_at: r.created_at,
        }
    }
}

/// What an admin sends to create a user.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Login name (3–64 characters: letters, digits, `.`, `_`, `-`).
    pub username: String,
    /// Password (at least 8 characters).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Display name (default: the username).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Region code prefix: required for admins and inspectors.
    #[serde(default)]
    pub region_code: Option<String>,
    /// Roster entry, for inspectors.
    #[serde(default)]
    pub inspector_id: Option<String>,
    /// Institution, required for institution users.
    #[serde(default)]
    pub institution_id: Option<String>,
}

/// Checks a user name.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "username",
            "username must be 3–64 letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Checks a password's length.
pub fn check_password(pw: &str) -> Result<(), ApiError> {
    if pw.chars().count() < 8 || pw.len() > 1024 {
        return Err(ApiError::validation(
            "password",
            "password must have at least 8 characters",
        ));
    }
    Ok(())
}

impl UserInput {
    /// Checks the fields that need no database; the scope checks are in [`create`].
    pub fn validate(&self) -> Result<(), ApiError> {
        check_username(&self.username)?;
        check_password(&self.password)?;
        match self.role {
            Role::Admin | Role::Inspector => {
                let r = self.region_code.as_deref().unwrap_or_default();
                if !is_region_code(r) {
                    return Err(ApiError::validation(
                        "region_code",
                        "region_code must be 2, 4 or 6 digits",
                    ));
                }
                if self.institution_id.is_some() {
                    return Err(ApiError::validation(
                        "institution_id",
                        "only institution users have an institution",
                    ));
                }
            }
            Role::Institution => {
                if self
                    .institution_id
                    .as_deref()
                    .unwrap_or_default()
                    .is_empty()
                {
                    return Err(ApiError::validation(
                        "institution_id",
                        "institution users need institution_id",
                    ));
                }
                if self.region_code.is_some() {
                    return Err(ApiError::validation(
                        "region_code",
                        "institution users have no region",
                    ));
                }
            }
        }
        if self.role != Role::Inspector && self.inspector_id.is_some() {
            return Err(ApiError::validation(
                "inspector_id",
                "only inspectors have a roster entry",
            ));
        }
        Ok(())
    }

    /// The row to store, with `password_hash` already computed.
    pub fn into_row(self, password_hash: String) -> UserRow {
        UserRow {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: self
                .display_name
                .filter(|d| !d.trim().is_empty())
                .unwrap_or_else(|| self.username.clone()),
            username: self.username,
            password_hash,
            role: self.role.as_str().to_owned(),
            region_code: self.region_code,
            inspector_id: self.inspector_id,
            institution_id: self.institution_id,
            disabled: false,
            created_at: now_text(),
        }
    }
}

/// By login name.
pub fn by_username(conn: &mut DbConn, name: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// By id.
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Number of users.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Inserts a user.
pub fn insert(conn: &mut DbConn, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

fn scoped<'a>(scope: &Scope) -> users::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend> {
    let q = users::table.into_boxed();
    match scope {
        Scope::Region(prefix) => {
            let pattern = format!("{}%", like_escape(prefix));
            q.filter(
                users::region_code
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::institution_id.eq_any(
                        institutions::table
                            .filter(institutions::district_code.like(pattern).escape('\\'))
                            .select(institutions::id.nullable()),
                    )),
            )
        }
        Scope::Institution(id) => q.filter(users::institution_id.eq(id.clone())),
    }
}

/// Users in `scope` (by region, or by their institution's district), newest first.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let total = scoped(scope).count().get_result(conn)?;
    let rows = scoped(scope)
        .select(UserRow::as_select())
        .order((users::created_at.desc(), users::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok((rows, total))
}

/// Deletes a user in scope (their refresh tokens go with them); `true` when deleted.
pub fn delete(conn: &mut DbConn, scope: &Scope, id: &str) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let found: Option<String> = scoped(scope)
            .filter(users::id.eq(id.to_owned()))
            .select(users::id)
            .first(conn)
            .optional()?;
        if found.is_none() {
            return Ok(false);
        }
        diesel::delete(users::table.find(id))
            .execute(conn)
            .map(|n| n > 0)
    })
}

/// Enables or disables a user by login name (CLI).
pub fn set_disabled(conn: &mut DbConn, username: &str, disabled: bool) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::disabled.eq(disabled))
        .execute(conn)
}

/// Creates a user after checking the new account lies inside the creator's `scope`.
pub fn create_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    input: UserInput,
    hash: fn(&str) -> Result<String, String>,
) -> Result<UserRow, ApiError> {
    let Scope::Region(prefix) = scope else {
        return Err(ApiError::forbidden("only admins create users"));
    };
    if let Some(region) = input.region_code.as_deref()
        && !region.starts_with(prefix.as_str())
    {
        return Err(ApiError::forbidden(format!(
            "region {region} is outside your region {prefix}"
        )));
    }
    if let Some(inst) = input.institution_id.as_deref()
        && super::institutions::get(conn, scope, inst)?.is_none()
    {
        return Err(ApiError::validation(
            "institution_id",
            "no such institution in your region",
        ));
    }
    if let Some(insp) = input.inspector_id.as_deref()
        && super::inspectors::get(conn, scope, insp)?.is_none()
    {
        return Err(ApiError::validation(
            "inspector_id",
            "no such inspector in your region",
        ));
    }
    if by_username(conn, &input.username)?.is_some() {
        return Err(ApiError::duplicate("this username is taken"));
    }
    let pw_hash = hash(&input.password).map_err(ApiError::internal)?;
    let row = input.into_row(pw_hash);
    insert(conn, &row)?;
    Ok(row)
}

/// Sets a user's region (CLI: a country-wide admin has none).
pub fn set_region(conn: &mut DbConn, id: &str, region: Option<String>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::region_code.eq(region))
        .execute(conn)
}
