//! Rapport's use cases. Every entry point (web pages, JSON API, CLI) calls
//! these, and every one of them asks the access policy before touching data.

mod accounts;
mod audit;
mod clock;
mod demo;
mod error;
mod intake;
mod notices;
mod passwords;
mod sessions;
mod therapists;
mod tokens;
mod vault;

pub use accounts::{ProfileChange, SignUp};
pub use audit::AuditEntry;
pub use clock::{Clock, ManualClock, SystemClock};
pub use demo::{DemoLogin, DEMO_PASSWORD};
pub use error::AppError;
pub use intake::{IntakeInput, IntakeOutcome, MatchesOutcome, SafetyAnswers};
pub use notices::{LicenseCheckReport, EXPIRY_WARNING_DAYS};
pub use sessions::{Authenticated, SignedIn};
pub use therapists::{sniff_image, LicenseInput, TherapistApplication, WindowInput, MAX_PHOTO_BYTES};
pub use tokens::SessionToken;
pub use vault::{Vault, VaultError};

use rapport_store::Store;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Rules that operators may tune.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// A session ends after this long without activity.
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_lifetime: Duration,
    /// Failed sign-ins allowed per account and per client IP within the window.
    pub sign_in_max_failures: u32,
    /// The throttling window.
    pub sign_in_window: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            sign_in_max_failures: 10,
            sign_in_window: Duration::from_secs(15 * 60),
        }
    }
}

/// Where a request came from, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The application: storage plus the rules. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    config: Arc<AppConfig>,
    clock: Arc<dyn Clock>,
    vault: Option<Arc<Vault>>,
    candidates: Arc<std::sync::Mutex<Option<intake::CandidateCache>>>,
}

impl App {
    /// Builds the application over an opened store.
    pub fn new(store: Arc<dyn Store>, config: AppConfig, clock: Arc<dyn Clock>) -> Self {
        Self { store, config: Arc::new(config), clock, vault: None, candidates: Arc::default() }
    }

    /// The same application, able to seal and open health data.
    pub fn with_vault(mut self, vault: Vault) -> Self {
        self.vault = Some(Arc::new(vault));
        self
    }

    fn vault(&self) -> Result<&Vault, AppError> {
        self.vault.as_deref().ok_or_else(|| AppError::Internal("no master key is configured".into()))
    }

    /// The rules in force.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// True when the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Closes database connections; call once on shutdown.
    pub async fn close(&self) {
        self.store.close().await;
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
