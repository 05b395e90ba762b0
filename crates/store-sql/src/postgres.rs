//! PostgreSQL, for many instances sharing one database.

use crate::{parse_err, OpenError, OpenOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL backend.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    const BACKEND: &'static str = "postgres";

    /// Connects to the server named by `url` and applies migrations.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<Self, OpenError> {
        let connect = PgConnectOptions::from_str(url).map_err(parse_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(connect)
            .await
            .map_err(OpenError::Connect)?;
        if options.migrate {
            // sqlx takes an advisory lock, so instances starting together migrate once.
            sqlx::migrate!("./migrations/postgres").run(&pool).await.map_err(OpenError::Migrate)?;
        }
        Ok(Self { pool })
    }
}

impl_store_traits!(PostgresStore, sqlx::Postgres);
impl_care_traits!(PostgresStore);
