//! Rapport's use cases. Every entry point (web pages, JSON API, CLI) calls
//! these, and every one of them asks the access policy before touching data.

mod accounts;
mod audit;
mod care_access;
mod clock;
mod demo;
mod error;
mod fixtures;
mod intake;
mod intake_answers;
mod keys;
pub mod mail;
mod notices;
mod notifications;
mod partners;
mod password_reset;
mod passwords;
mod proposals;
mod realtime;
mod room_access;
mod rooms;
mod session_endings;
mod sessions;
mod therapist_cards;
mod therapists;
mod tokens;
mod vault;

pub use accounts::{ProfileChange, SignUp};
pub use audit::AuditEntry;
pub use care_access::{CareAccess, SharedIntake};
pub use clock::{Clock, ManualClock, SystemClock};
pub use demo::{DemoLogin, DEMO_PASSWORD};
pub use error::AppError;
pub use fixtures::BenchRoom;
pub use intake::{ChosenCare, IntakeInput, IntakeOutcome, MatchesOutcome, SafetyAnswers};
pub use intake_answers::IntakeAnswers;
pub use keys::KeyRotation;
pub use notices::{LicenseCheckReport, EXPIRY_WARNING_DAYS};
pub use notifications::{JobReport, EMAIL_AFTER};
pub use partners::{CoupleView, InvitationPreview, InvitationState, NewInvitation};
pub use password_reset::RESET_LINK_GONE;
pub use proposals::ProposalView;
pub use realtime::{Frame, Hub, LiveEvent, LiveKind, MessageView, Subscription, CONNECTION_QUEUE};
pub use room_access::RoomAccess;
pub use rooms::{AttachmentUpload, LastMessage, MemberView, RoomSummary, RoomView};
pub use sessions::{Authenticated, SignedIn};
pub use therapist_cards::TherapistCard;
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
    /// Failed sign-ins allowed per account within `sign_in_window`.
    pub sign_in_max_failures: u32,
    /// The per-account throttling window.
    pub sign_in_window: Duration,
    /// Failed sign-ins allowed from one client address within `sign_in_ip_window`,
    /// over all accounts: high, so people sharing a network are not locked out.
    pub sign_in_ip_max_failures: u32,
    /// The per-address throttling window.
    pub sign_in_ip_window: Duration,
    /// How long a password reset link can be used.
    pub password_reset_lifetime: Duration,
    /// The address people use to reach Rapport, for links in emails.
    pub public_url: String,
    /// The sender of Rapport's emails.
    pub mail_from: String,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            sign_in_max_failures: 10,
            sign_in_window: Duration::from_secs(15 * 60),
            sign_in_ip_max_failures: 100,
            sign_in_ip_window: Duration::from_secs(60 * 60),
            password_reset_lifetime: Duration::from_secs(60 * 60),
            public_url: "http://127.0.0.1:8080".into(),
            mail_from: "Rapport <no-reply@rapport.invalid>".into(),
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
    realtime: Arc<realtime::Realtime>,
    mailer: Option<Arc<dyn mail::MailTransport>>,
    /// Message emails queued lately by this instance, per person and room, and per room.
    recently_queued: Arc<
        std::sync::Mutex<
            std::collections::HashMap<(rapport_domain::AccountId, rapport_domain::RoomId), std::time::Instant>,
        >,
    >,
    rooms_recently_queued: Arc<std::sync::Mutex<std::collections::HashMap<rapport_domain::RoomId, std::time::Instant>>>,
    /// Reads of others' data audit-logged lately, so each shows once an hour.
    recent_reads: audit::RecentReads,
}

impl App {
    /// Builds the application over an opened store.
    pub fn new(store: Arc<dyn Store>, config: AppConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            config: Arc::new(config),
            clock,
            vault: None,
            candidates: Arc::default(),
            realtime: Arc::default(),
            mailer: None,
            recently_queued: Arc::default(),
            rooms_recently_queued: Arc::default(),
            recent_reads: audit::recent_reads(),
        }
    }

    /// The same application, sending email through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn mail::MailTransport>) -> Self {
        self.mailer = Some(mailer);
        self
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

    /// Now, to the microsecond (what the database keeps), so what we answer and what we read back agree.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6)
    }
}
