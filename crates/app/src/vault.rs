//! Encryption at rest for health data: AES-256-GCM under a master key
//! from a key file or the environment. Every sealed record names the key
//! that sealed it and is bound to its record by associated data.

use crate::AppError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rapport_store::Sealed;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

/// Seals and opens health data.
#[derive(Clone)]
pub struct Vault {
    key_id: String,
    cipher: Aes256Gcm,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault(key {})", self.key_id)
    }
}

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("could not read or create the master key file {0}")]
    Io(String, #[source] std::io::Error),
}

impl Vault {
    /// A vault over a 32-byte master key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let key_id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Self { key_id, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)) }
    }

    /// Parses a base64 master key (as given in `RAPPORT_MASTER_KEY`).
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| VaultError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Self::from_key(&key))
    }

    /// Reads the key file, creating it (readable by its owner only) on first start.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let io = |e| VaultError::Io(path.display().to_string(), e);
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crate::tokens::random_bytes::<32>();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                std::io::Write::write_all(&mut file, STANDARD.encode(key).as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
                Ok(Self::from_key(&key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The id recorded with everything this vault seals.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the record's id).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Sealed, AppError> {
        let nonce = crate::tokens::random_bytes::<12>();
        let mut bytes = nonce.to_vec();
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| AppError::Internal("encryption failed".into()))?;
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id: self.key_id.clone(), bytes })
    }

    /// Decrypts what [`Vault::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, AppError> {
        if sealed.key_id != self.key_id {
            return Err(AppError::Internal(format!("sealed with unknown key {}", sealed.key_id)));
        }
        if sealed.bytes.len() < 12 {
            return Err(AppError::Internal("sealed data too short".into()));
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| AppError::Internal("sealed data failed authentication".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_context() {
        let v = Vault::from_key(&[7u8; 32]);
        let sealed = v.seal(b"I feel lonely together", "intake:1").unwrap();
        assert!(!sealed.bytes.windows(6).any(|w| w == b"lonely"));
        assert_eq!(v.open(&sealed, "intake:1").unwrap(), b"I feel lonely together");
        assert!(v.open(&sealed, "intake:2").is_err(), "moved to another record");
        let other = Vault::from_key(&[8u8; 32]);
        assert!(other.open(&sealed, "intake:1").is_err());
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let a = Vault::load_or_create(&path).unwrap();
        let b = Vault::load_or_create(&path).unwrap();
        assert_eq!(a.key_id(), b.key_id());
        let sealed = a.seal(b"x", "c").unwrap();
        assert_eq!(b.open(&sealed, "c").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
