//! Data keys for encryption at rest. Records are sealed with a data key; data
//! keys are stored wrapped (encrypted) by a master key, so rotating the master
//! key re-wraps a handful of data keys instead of re-encrypting every record.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A data key as stored: wrapped by the master key named by `master_key_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKey {
    /// Recorded with every record the key seals.
    pub id: String,
    /// The key, sealed by the master key.
    pub wrapped: Vec<u8>,
    pub master_key_id: String,
    pub created_at: DateTime<Utc>,
    /// No longer used for new records (still opens old ones).
    pub retired_at: Option<DateTime<Utc>>,
}

/// Wrapped data keys.
#[async_trait]
pub trait DataKeyStore: Send + Sync {
    /// Every data key, oldest first.
    async fn data_keys(&self) -> StoreResult<Vec<DataKey>>;
    /// Adds a key; `Conflict("data_keys_id")` if the id exists.
    async fn insert_data_key(&self, key: &DataKey) -> StoreResult<()>;
    /// In one transaction: replaces the wrapping of the given keys (by id); if `new_active`
    /// is given, retires every key not retired yet and adds it as the one new records use.
    async fn rewrap_data_keys(
        &self,
        rewrapped: &[DataKey],
        new_active: Option<&DataKey>,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}
