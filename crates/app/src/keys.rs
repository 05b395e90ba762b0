//! Data keys at start-up, opening sealed records, and key rotation.

use crate::vault::UNKNOWN_KEY;
use crate::{App, AppError};
use rapport_store::{Sealed, StoreError};

/// What a key rotation did.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// The new current master key's id.
    pub master_key_id: String,
    /// Data keys now wrapped by it.
    pub rewrapped: usize,
    /// The new data key new records are sealed with.
    pub new_data_key: String,
    /// The key ring, newest first, base64 (to put in `RAPPORT_MASTER_KEY` when keys come from the environment).
    pub ring: Vec<String>,
}

impl App {
    /// Loads the data keys (creating the first one on a new database). Called at start-up,
    /// and again whenever a record names a key this instance has not loaded yet.
    pub async fn prepare_keys(&self) -> Result<(), AppError> {
        let vault = self.vault()?;
        let failed = vault.install_data_keys(&self.store.data_keys().await?);
        if !failed.is_empty() {
            tracing::error!(keys = ?failed, "some data keys could not be unwrapped: is the master key file complete?");
        }
        if vault.active_data_key().is_none() {
            let key = vault.new_data_key(self.now())?;
            match self.store.insert_data_key(&key).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            vault.install_data_keys(&self.store.data_keys().await?);
        }
        Ok(())
    }

    /// Opens a sealed record, loading its data key first if another instance made it.
    pub(crate) async fn unseal(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, AppError> {
        let vault = self.vault()?;
        match vault.open(sealed, context) {
            Err(AppError::Internal(m)) if m == UNKNOWN_KEY => {
                self.prepare_keys().await?;
                vault.open(sealed, context)
            }
            other => other,
        }
    }

    /// Rotates the master key: a new master key becomes current (earlier ones are kept
    /// in the ring for records sealed before data keys existed), every data key is
    /// re-wrapped under it, and a fresh data key takes over new records. Records are not
    /// re-encrypted, and running instances keep working: they hold their unwrapped keys and
    /// re-read the key file when they meet a key wrapped by the new master.
    pub async fn rotate_keys(&self) -> Result<KeyRotation, AppError> {
        let vault = self.vault()?;
        self.prepare_keys().await?;
        let ring = vault.add_master_key().map_err(|e| AppError::Internal(e.to_string()))?;
        let stored = self.store.data_keys().await?;
        let rewrapped = vault.rewrap(&stored)?;
        let fresh = vault.new_data_key(self.now())?;
        self.store.rewrap_data_keys(&rewrapped, Some(&fresh), self.now()).await?;
        vault.install_data_keys(&self.store.data_keys().await?);
        Ok(KeyRotation { master_key_id: vault.key_id(), rewrapped: rewrapped.len(), new_data_key: fresh.id, ring })
    }
}
