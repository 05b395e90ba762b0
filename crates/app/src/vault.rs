//! Encryption at rest for health data: AES-256-GCM. Records are sealed with a
//! data key; data keys are kept in the database wrapped by a master key (from
//! a key file or the environment). Every sealed record names the key that
//! sealed it and is bound to its record by associated data, so a master key
//! can be rotated by re-wrapping the data keys, without touching records and
//! without downtime.

use crate::AppError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rapport_store::{DataKey, Sealed};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

struct Master {
    id: String,
    cipher: Aes256Gcm,
    /// Kept to write the key ring back after a rotation.
    raw: [u8; 32],
}

#[derive(Default)]
struct DataKeys {
    ciphers: HashMap<String, Aes256Gcm>,
    /// The key new records are sealed with.
    active: Option<String>,
}

/// Seals and opens health data.
pub struct Vault {
    /// The current master key first, then earlier ones (still able to unwrap).
    masters: RwLock<Vec<Master>>,
    data: RwLock<DataKeys>,
    /// The key ring file, when the keys came from one (re-read when a key is unknown).
    path: Option<PathBuf>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault(master {})", self.key_id())
    }
}

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a master key must be 32 bytes, base64-encoded (several may be given, newest first, one per line or comma-separated)")]
    BadKey,
    #[error("could not read or write the master key file {0}")]
    Io(String, #[source] std::io::Error),
}

fn master_id(key: &[u8; 32]) -> String {
    Sha256::digest(key)[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn master(raw: [u8; 32]) -> Master {
    Master { id: master_id(&raw), cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)), raw }
}

fn parse_ring(text: &str) -> Result<Vec<Master>, VaultError> {
    let keys: Vec<Master> = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            let bytes = STANDARD.decode(k).map_err(|_| VaultError::BadKey)?;
            let raw: [u8; 32] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
            Ok(master(raw))
        })
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(VaultError::BadKey);
    }
    Ok(keys)
}

fn seal_with(cipher: &Aes256Gcm, plaintext: &[u8], context: &str) -> Result<Vec<u8>, AppError> {
    let nonce = crate::tokens::random_bytes::<12>();
    let mut bytes = nonce.to_vec();
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
        .map_err(|_| AppError::Internal("encryption failed".into()))?;
    bytes.extend_from_slice(&ciphertext);
    Ok(bytes)
}

fn open_with(cipher: &Aes256Gcm, bytes: &[u8], context: &str) -> Result<Vec<u8>, AppError> {
    if bytes.len() < 12 {
        return Err(AppError::Internal("sealed data too short".into()));
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
        .map_err(|_| AppError::Internal("sealed data failed authentication".into()))
}

/// The record could not be opened because its key is not loaded here (yet).
pub(crate) const UNKNOWN_KEY: &str = "sealed with an unknown key";

impl Vault {
    fn with_masters(masters: Vec<Master>, path: Option<PathBuf>) -> Self {
        Self { masters: RwLock::new(masters), data: RwLock::default(), path }
    }

    /// A vault over one 32-byte master key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self::with_masters(vec![master(*key)], None)
    }

    /// Parses base64 master keys (as given in `RAPPORT_MASTER_KEY`): the current one first,
    /// then earlier ones, comma-separated.
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        Ok(Self::with_masters(parse_ring(text)?, None))
    }

    /// Reads the key ring file (newest key first, one per line), creating it with one
    /// new key (readable by its owner only) on first start.
    pub fn load_or_create(path: &Path) -> Result<Self, VaultError> {
        let io = |e| VaultError::Io(path.display().to_string(), e);
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::with_masters(parse_ring(&text)?, Some(path.to_path_buf()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crate::tokens::random_bytes::<32>();
                write_ring(path, &[key], true).map_err(io)?;
                tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
                Ok(Self::with_masters(vec![master(key)], Some(path.to_path_buf())))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The id of the current master key.
    pub fn key_id(&self) -> String {
        self.masters.read().expect("vault lock")[0].id.clone()
    }

    /// The id of the data key new records are sealed with, if one is installed.
    pub fn active_data_key(&self) -> Option<String> {
        self.data.read().expect("vault lock").active.clone()
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the record's id), with the active
    /// data key (or, before data keys are installed, the master key).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Sealed, AppError> {
        let data = self.data.read().expect("vault lock");
        if let Some(id) = &data.active {
            let cipher = &data.ciphers[id];
            return Ok(Sealed { key_id: id.clone(), bytes: seal_with(cipher, plaintext, context)? });
        }
        drop(data);
        let masters = self.masters.read().expect("vault lock");
        Ok(Sealed { key_id: masters[0].id.clone(), bytes: seal_with(&masters[0].cipher, plaintext, context)? })
    }

    /// Decrypts what [`Vault::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, AppError> {
        if let Some(cipher) = self.data.read().expect("vault lock").ciphers.get(&sealed.key_id) {
            return open_with(cipher, &sealed.bytes, context);
        }
        let masters = self.masters.read().expect("vault lock");
        match masters.iter().find(|m| m.id == sealed.key_id) {
            Some(m) => open_with(&m.cipher, &sealed.bytes, context),
            None => Err(AppError::Internal(UNKNOWN_KEY.into())),
        }
    }

    /// Seals something short-lived (a ticket) with the current master key.
    pub fn seal_transient(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, AppError> {
        seal_with(&self.masters.read().expect("vault lock")[0].cipher, plaintext, context)
    }

    /// Opens what [`Vault::seal_transient`] sealed, with any master key still known.
    pub fn open_transient(&self, bytes: &[u8], context: &str) -> Option<Vec<u8>> {
        self.masters.read().expect("vault lock").iter().find_map(|m| open_with(&m.cipher, bytes, context).ok())
    }

    /// Makes the stored data keys usable: unwraps each with its master key (re-reading the
    /// key file once if a master key is unknown) and marks the newest unretired one active.
    /// Returns the ids of keys that could not be unwrapped.
    pub fn install_data_keys(&self, keys: &[DataKey]) -> Vec<String> {
        let unknown_master =
            |k: &DataKey| !self.masters.read().expect("vault lock").iter().any(|m| m.id == k.master_key_id);
        if keys.iter().any(unknown_master) {
            self.reload();
        }
        let masters = self.masters.read().expect("vault lock");
        let mut data = self.data.write().expect("vault lock");
        let mut failed = Vec::new();
        for k in keys {
            let raw = masters
                .iter()
                .find(|m| m.id == k.master_key_id)
                .and_then(|m| open_with(&m.cipher, &k.wrapped, &format!("data-key:{}", k.id)).ok());
            match raw.and_then(|r| <[u8; 32]>::try_from(r).ok()) {
                Some(raw) => {
                    data.ciphers.insert(k.id.clone(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)));
                }
                None => failed.push(k.id.clone()),
            }
        }
        if let Some(active) = keys.iter().rev().find(|k| k.retired_at.is_none() && data.ciphers.contains_key(&k.id)) {
            data.active = Some(active.id.clone());
        }
        failed
    }

    /// A new data key wrapped by the current master key (not installed until stored and loaded).
    pub fn new_data_key(&self, now: chrono::DateTime<chrono::Utc>) -> Result<DataKey, AppError> {
        let id = format!("d{}", uuid::Uuid::now_v7().simple());
        let raw = crate::tokens::random_bytes::<32>();
        let masters = self.masters.read().expect("vault lock");
        Ok(DataKey {
            wrapped: seal_with(&masters[0].cipher, &raw, &format!("data-key:{id}"))?,
            master_key_id: masters[0].id.clone(),
            id,
            created_at: now,
            retired_at: None,
        })
    }

    /// Re-wraps stored data keys under the current master key.
    pub fn rewrap(&self, keys: &[DataKey]) -> Result<Vec<DataKey>, AppError> {
        let masters = self.masters.read().expect("vault lock");
        keys.iter()
            .map(|k| {
                let m = masters.iter().find(|m| m.id == k.master_key_id).ok_or_else(|| {
                    AppError::Internal(format!(
                        "data key {} is wrapped by unknown master key {}",
                        k.id, k.master_key_id
                    ))
                })?;
                let context = format!("data-key:{}", k.id);
                let raw = open_with(&m.cipher, &k.wrapped, &context)?;
                Ok(DataKey {
                    wrapped: seal_with(&masters[0].cipher, &raw, &context)?,
                    master_key_id: masters[0].id.clone(),
                    ..k.clone()
                })
            })
            .collect()
    }

    /// Makes a new current master key (the earlier ones stay, for reading), writing the key
    /// ring file when there is one. Returns the new ring as base64, newest first.
    pub fn add_master_key(&self) -> Result<Vec<String>, VaultError> {
        let key = crate::tokens::random_bytes::<32>();
        let mut masters = self.masters.write().expect("vault lock");
        masters.insert(0, master(key));
        let raws: Vec<[u8; 32]> = masters.iter().map(|m| m.raw).collect();
        if let Some(path) = &self.path {
            write_ring(path, &raws, false).map_err(|e| VaultError::Io(path.display().to_string(), e))?;
        }
        Ok(raws.iter().map(|r| STANDARD.encode(r)).collect())
    }

    /// Re-reads the key ring file (another process may have rotated it).
    fn reload(&self) {
        let Some(path) = &self.path else { return };
        match std::fs::read_to_string(path)
            .map_err(|e| VaultError::Io(path.display().to_string(), e))
            .and_then(|t| parse_ring(&t))
        {
            Ok(ring) => *self.masters.write().expect("vault lock") = ring,
            Err(e) => tracing::warn!(error = %e, "could not re-read the master key file"),
        }
    }
}

/// Writes the key ring atomically (owner-only), newest key first.
fn write_ring(path: &Path, keys: &[[u8; 32]], create_new: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let text: String = keys.iter().map(|k| STANDARD.encode(k) + "\n").collect();
    let tmp = path.with_extension("key.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if create_new && path.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the key file already exists"));
    }
    let mut file = options.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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

    #[test]
    fn rotating_the_master_key_rewraps_data_keys_and_old_records_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let vault = Vault::load_or_create(&path).unwrap();
        let now = chrono::Utc::now();
        let dk = vault.new_data_key(now).unwrap();
        assert!(vault.install_data_keys(std::slice::from_ref(&dk)).is_empty());
        let sealed = vault.seal(b"we argued again", "message:1").unwrap();
        assert_eq!(sealed.key_id, dk.id, "records name the data key");
        let old_master = vault.key_id();

        vault.add_master_key().unwrap();
        assert_ne!(vault.key_id(), old_master);
        let rewrapped = vault.rewrap(std::slice::from_ref(&dk)).unwrap();
        assert_eq!(rewrapped[0].master_key_id, vault.key_id());
        assert_ne!(rewrapped[0].wrapped, dk.wrapped);

        // Another instance that only knows the new ring opens the old record through the re-wrapped key.
        let text = std::fs::read_to_string(&path).unwrap();
        let newest_only = text.lines().next().unwrap().to_owned();
        let fresh = Vault::from_base64(&newest_only).unwrap();
        assert!(fresh.install_data_keys(&rewrapped).is_empty());
        assert_eq!(fresh.open(&sealed, "message:1").unwrap(), b"we argued again");
        // Without the re-wrapping it could not.
        let stale = Vault::from_base64(&newest_only).unwrap();
        assert_eq!(stale.install_data_keys(&[dk]), vec![rewrapped[0].id.clone()]);
    }

    #[test]
    fn key_rings_list_the_current_key_first() {
        let a = STANDARD.encode([1u8; 32]);
        let b = STANDARD.encode([2u8; 32]);
        let v = Vault::from_base64(&format!("{a},{b}")).unwrap();
        assert_eq!(v.key_id(), master_id(&[1u8; 32]));
        let old = Vault::from_base64(&b).unwrap().seal(b"x", "c").unwrap();
        assert_eq!(v.open(&old, "c").unwrap(), b"x", "earlier keys still open what they sealed");
        assert!(Vault::from_base64("").is_err());
        assert!(Vault::from_base64("bm90IGEga2V5").is_err());
    }
}
