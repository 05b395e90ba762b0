//! The SQL storage backends: embedded SQLite (the default) and PostgreSQL
//! (for scaling out). Both run the same queries, written once in
//! [`shared`], against their own schema in `migrations/{sqlite,postgres}`.

use rapport_store::Store;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

#[macro_use]
mod shared;
#[macro_use]
mod shared_care;
#[macro_use]
mod shared_feed;
#[macro_use]
mod shared_jobs;
#[macro_use]
mod shared_keys;
#[macro_use]
mod shared_partners;
#[macro_use]
mod shared_proposals;
#[macro_use]
mod shared_rooms;
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path/to/file.db` or `sqlite::memory:`.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme; anything else is an error.
    pub fn from_url(url: &str) -> Result<Self, OpenError> {
        let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(OpenError::UnknownScheme(scheme)),
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Create a missing SQLite file (only ever in a directory that exists).
    pub create_missing_sqlite: bool,
    /// Most pooled connections.
    pub max_connections: u32,
    /// Run pending migrations before returning.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { create_missing_sqlite: true, max_connections: 16, migrate: true }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    #[error("the database URL is not valid: {0}")]
    InvalidUrl(String),
    #[error(
        "no database at {0}: check the path, or create it by starting without --database to use the data directory"
    )]
    MissingSqliteFile(PathBuf),
    #[error("the directory for the database does not exist: {0}")]
    MissingDirectory(PathBuf),
    #[error("could not create the database file {0}")]
    CreateFile(PathBuf, #[source] std::io::Error),
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Opens the database named by `url`, migrating it unless told not to.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, OpenError> {
    match Backend::from_url(url)? {
        Backend::Sqlite => Ok(Arc::new(SqliteStore::open(url, options).await?)),
        Backend::Postgres => Ok(Arc::new(PostgresStore::open(url, options).await?)),
    }
}

pub(crate) fn parse_err(e: sqlx::Error) -> OpenError {
    OpenError::InvalidUrl(e.to_string())
}

/// Checks a SQLite URL names a file we may open, without creating anything.
pub(crate) fn sqlite_file(url: &str) -> Result<Option<PathBuf>, OpenError> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(parse_err)?;
    let path = opts.get_filename();
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") || url.contains(":memory:") {
        return Ok(None);
    }
    Ok(Some(path.to_path_buf()))
}
