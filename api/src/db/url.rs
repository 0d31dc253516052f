//! Choosing the backend from the database URL. A typo must be an error, never a silently created
//! empty SQLite file.

use std::path::PathBuf;

/// Where the records live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// An SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// A database URL that names no supported backend.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unsupported database URL {0:?}: use sqlite://PATH, a path ending in .db/.sqlite/.sqlite3, \
     or postgres://…"
)]
pub struct UrlError(pub String);

impl DbTarget {
    /// Parses `sqlite://path`, `sqlite:path`, a plain path ending in `.db`/`.sqlite`/`.sqlite3`,
    /// or `postgres://`/`postgresql://` URLs.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        let err = || UrlError(url.to_owned());
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(err());
            }
            return Ok(Self::Sqlite(PathBuf::from(rest)));
        }
        if url.contains("://") || url.contains(':') && !looks_like_windows_path(url) {
            return Err(err());
        }
        let lower = url.to_ascii_lowercase();
        if [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            return Ok(Self::Sqlite(PathBuf::from(url)));
        }
        Err(err())
    }

    /// `true` for SQLite.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

fn looks_like_windows_path(url: &str) -> bool {
    let b = url.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            DbTarget::parse("sqlite://data/x.db"),
            Ok(DbTarget::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            DbTarget::parse("sqlite:/tmp/a"),
            Ok(DbTarget::Sqlite("/tmp/a".into()))
        );
        assert_eq!(
            DbTarget::parse("data/caregrade.db"),
            Ok(DbTarget::Sqlite("data/caregrade.db".into()))
        );
        assert_eq!(
            DbTarget::parse("/x/y.SQLITE"),
            Ok(DbTarget::Sqlite("/x/y.SQLITE".into()))
        );
        assert!(matches!(
            DbTarget::parse("postgres://u@h/db"),
            Ok(DbTarget::Postgres(_))
        ));
        assert!(matches!(
            DbTarget::parse("postgresql://u@h:5/db"),
            Ok(DbTarget::Postgres(_))
        ));
    }

    #[test]
    fn typos_are_errors() {
        for bad in [
            "postgress://u@h/db",
            "postgre://h/db",
            "mysql://h/db",
            "sqlite://",
            "data/caregrade",
            "",
            "pg:h/db.db",
            "http://h/x.db",
        ] {
            assert!(DbTarget::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
