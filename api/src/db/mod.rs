//! Database access: one diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool, and the
//! per-backend embedded migrations.

pub mod schema;
mod url;

pub use url::DbTarget;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Migrations for the SQLite backend.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// Migrations for the PostgreSQL backend (same version names as SQLite's).
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

mod conn {
    //! The derived multi-backend connection (its generated items carry no docs).
    #![allow(missing_docs)]
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to either backend; queries written once run on both.
    #[derive(diesel::MultiConnection)]
    pub enum DbConn {
        /// PostgreSQL, for a bureau with several API servers.
        Pg(PgConnection),
        /// SQLite, the embedded default.
        Sqlite(SqliteConnection),
    }
}
pub use conn::DbConn;

/// The connection pool.
pub type DbPool = Pool<Manager>;
/// A connection borrowed from the pool.
pub type PooledConn = PooledConnection<Manager>;

/// Opens connections for a parsed [`DbTarget`]; never guesses the backend from a failed attempt
/// (the derived `establish` would try SQLite after PostgreSQL fails and create a stray file).
#[derive(Debug, Clone)]
pub struct Manager {
    target: DbTarget,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.target {
            DbTarget::Sqlite(path) => SqliteConnection::establish(&path.to_string_lossy())
                .map(DbConn::Sqlite)
                .map_err(r2d2::Error::ConnectionError),
            DbTarget::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        ping(conn).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// Sets the SQLite pragmas on every new connection: WAL, foreign keys, busy timeout.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<DbConn, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
            )
            .map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no supported backend.
    #[error("{0}")]
    Url(#[from] url::UrlError),
    /// The pool could not open a connection.
    #[error("cannot connect to the database: {0}")]
    Pool(#[from] r2d2::PoolError),
    /// A direct connection failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// Migrations failed.
    #[error("migrations failed: {0}")]
    Migration(String),
    /// Creating the SQLite directory failed.
    #[error("cannot create the database directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens a pool of at most `max_size` connections for `url`.
pub fn open_pool(url: &str, max_size: u32) -> Result<DbPool, DbError> {
    let target = DbTarget::parse(url)?;
    if let DbTarget::Sqlite(path) = &target
        && let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let pool = Pool::builder()
        .max_size(max_size)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(Manager { target })?;
    Ok(pool)
}

/// Applies every pending migration of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    let ran = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    };
    ran.map_err(|e| DbError::Migration(e.to_string()))
}

/// A trivial query, for `/readyz` and the pool's validity check.
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Creates a PostgreSQL database (tests give each server its own). `admin_url` names an existing
/// database on the same server.
pub fn create_pg_database(admin_url: &str, name: &str) -> Result<(), DbError> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DbError::Migration(format!("bad database name {name}")));
    }
    let mut conn = PgConnection::establish(admin_url)?;
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .map_err(|e| DbError::Migration(e.to_string()))
}
