//! PostgreSQL, for many instances sharing one database.

use crate::{parse_err, OpenError, OpenOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The PostgreSQL backend.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Where this schema's instances announce committed events (see [`events_channel`]).
    events_channel: String,
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
        let schema: Option<String> =
            sqlx::query_scalar("SELECT current_schema()::text").fetch_one(&pool).await.map_err(OpenError::Connect)?;
        Ok(Self { pool, events_channel: events_channel(schema.as_deref().unwrap_or("public")) })
    }
}

impl PostgresStore {
    /// Group commits go through the shared pool (see the SQLite store for why it differs).
    fn group_commit_pool(&self) -> &PgPool {
        &self.pool
    }

    /// A PostgreSQL commit is durable when it returns.
    fn commits_need_sync(&self) -> bool {
        false
    }

    async fn sync_commits(&self) -> rapport_store::StoreResult<()> {
        Ok(())
    }
}

impl_store_traits!(PostgresStore, sqlx::Postgres);
impl_care_traits!(PostgresStore);
impl_partner_traits!(PostgresStore);
impl_room_traits!(PostgresStore);
impl_job_traits!(PostgresStore);
impl_event_range!(PostgresStore);
impl_key_traits!(PostgresStore);
impl_proposal_traits!(PostgresStore);

/// The channel instances announce committed events on. NOTIFY channels are per database,
/// not per schema: deployments (or test runs) sharing a database in separate schemas must
/// not hear each other's event ids, or they would skip their own events as "delivered".
/// Hashed, because a channel name is at most 63 bytes and a schema name may be as long.
fn events_channel(schema: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("rapport_events_{hash:016x}")
}

/// Instances announce each commit batch with one NOTIFY carrying the batch's last
/// event id; listeners fetch what they have not delivered from the log. A NOTIFY
/// per batch (not per message) keeps commits from serialising on the notify queue.
#[async_trait]
impl rapport_store::EventFeed for PostgresStore {
    async fn events_between(&self, after: i64, upto: i64) -> StoreResult<Vec<rapport_store::RoomEvent>> {
        self.events_in_range(after, upto).await
    }

    async fn announce_events(&self, last: i64) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.events_channel)
            .bind(last.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Sends each announced id; after the listening connection was lost (and
    /// re-established), sends `-1`, meaning "catch up from the log".
    async fn listen_events(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<i64>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await.map_err(db_err)?;
        listener.listen(&self.events_channel).await.map_err(db_err)?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                let next = match listener.try_recv().await {
                    Ok(Some(n)) => n.payload().parse::<i64>().ok(),
                    Ok(None) => Some(-1),
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for other instances' events failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        Some(-1)
                    }
                };
                if let Some(n) = next {
                    if tx.send(n).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}
