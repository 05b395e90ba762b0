//! Storage traits, one per aggregate, implemented once per database
//! (see `rapport-store-sql`) and checked by one conformance suite.

mod care;
mod jobs;
mod keys;
mod proposals;
mod rooms;

pub use care::{
    ApplicationStatus, CareTeam, CareTeamStore, Intake, IntakeStore, License, Notice, NoticeStore, Sealed,
    TherapistProfile, TherapistStore, VerificationDecision,
};
pub use jobs::{EmailMode, Job, JobStore, NotificationPrefs, PrefsStore};
pub use keys::{DataKey, DataKeyStore};
pub use proposals::{CareProposal, CareProposalState, CareProposalStore};
pub use rooms::{
    AttachmentMeta, EventFeed, Invitation, MessageVersion, NewMessage, NewRoomEvent, PartnerStore, PolicyConsent, Room,
    RoomEvent, RoomMember, RoomStore, RoomWrite, StoredMessage,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, AuditAction, AuditEventId, CoupleId, DisplayName, Email, Role, SessionId, TimeZone};

/// What can go wrong in storage, in terms the use cases act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; names the rule.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database could not be reached or failed.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Data in storage does not decode (a bug or corruption).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// Shorthand for storage results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub time_zone: TimeZone,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser, authenticated by cookie.
    Browser,
    /// An API client, authenticated by bearer token.
    Api,
}

impl SessionKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "browser" => Some(SessionKind::Browser),
            "api" => Some(SessionKind::Api),
            _ => None,
        }
    }
}

/// A signed-in session. Only a hash of its token is stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    /// SHA-256 of the bearer or cookie token.
    pub token_hash: Vec<u8>,
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end of the session, whatever its activity.
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: DateTime<Utc>,
    /// Who acted; `None` when nobody was signed in (e.g. a failed sign-in).
    pub actor_id: Option<AccountId>,
    pub action: AuditAction,
    /// Whose data the event concerns.
    pub subject_id: Option<AccountId>,
    /// The kind of record touched, e.g. `session`, `account`.
    pub record_kind: String,
    pub record_id: Option<String>,
    pub ip: Option<String>,
}

/// Two linked partner accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Couple {
    pub id: CoupleId,
    pub partner_a: AccountId,
    pub partner_b: AccountId,
    pub linked_at: DateTime<Utc>,
}

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Stores a new account; `Conflict("accounts_email")` if the email is taken.
    async fn insert_account(&self, account: &Account) -> StoreResult<()>;
    async fn account_by_id(&self, id: AccountId) -> StoreResult<Account>;
    async fn account_by_email(&self, email: &Email) -> StoreResult<Account>;
    async fn update_profile(
        &self,
        id: AccountId,
        display_name: &DisplayName,
        time_zone: TimeZone,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn update_password_hash(&self, id: AccountId, hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn count_accounts(&self) -> StoreResult<u64>;
}

/// Signed-in sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A session by its token hash, if not revoked; expiry is the caller's rule.
    async fn session_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Session>;
    /// Records activity, for the idle timeout.
    async fn touch_session(&self, id: SessionId, at: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes one session of an account; `NotFound` if it is not theirs or already ended.
    async fn revoke_session(&self, account: AccountId, id: SessionId, at: DateTime<Utc>) -> StoreResult<()>;
    /// Revokes every session of an account except `keep`; returns how many ended.
    async fn revoke_other_sessions(
        &self,
        account: AccountId,
        keep: Option<SessionId>,
        at: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Sessions not revoked and not past their absolute expiry, newest first.
    async fn open_sessions(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<Vec<Session>>;
    /// Sessions of any account revoked after `since`, so every instance can close
    /// the realtime connections they opened.
    async fn sessions_ended_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SessionId>>;
}

/// The append-only audit log. There is deliberately no update or delete.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Events about one person's data, newest first, before `before` if given.
    async fn audit_for_subject(
        &self,
        subject: AccountId,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
}

/// Failed sign-in attempts, for throttling across instances.
#[async_trait]
pub trait SignInThrottleStore: Send + Sync {
    async fn record_sign_in_failure(&self, key: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// How many failures for `key` since `since`, and when the oldest of them was.
    async fn sign_in_failures_since(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<(u64, Option<DateTime<Utc>>)>;
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;
    /// Drops failures older than `before`; returns how many.
    async fn prune_sign_in_failures(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// A password reset link. Only a hash of its token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordReset {
    /// SHA-256 of the token in the emailed link.
    pub token_hash: Vec<u8>,
    pub account_id: AccountId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Password reset links.
#[async_trait]
pub trait PasswordResetStore: Send + Sync {
    async fn insert_password_reset(&self, reset: &PasswordReset) -> StoreResult<()>;
    /// The account of a link that is unused and unexpired at `now`; `NotFound` otherwise.
    async fn usable_password_reset(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<AccountId>;
    /// In one transaction: uses the link (if still unused and unexpired, else `NotFound`),
    /// sets the new password hash, ends every session of the account and every other
    /// open link. Returns the account.
    async fn complete_password_reset(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<AccountId>;
}

/// Linked couples.
#[async_trait]
pub trait CoupleStore: Send + Sync {
    /// Links two partners; `Conflict("couples_partner")` if either is already linked.
    async fn insert_couple(&self, couple: &Couple) -> StoreResult<()>;
    async fn couple_of(&self, account: AccountId) -> StoreResult<Option<Couple>>;
}

/// Everything the application needs from a database.
#[async_trait]
pub trait Store:
    AccountStore
    + SessionStore
    + AuditStore
    + SignInThrottleStore
    + PasswordResetStore
    + CoupleStore
    + TherapistStore
    + IntakeStore
    + CareTeamStore
    + NoticeStore
    + PartnerStore
    + RoomStore
    + JobStore
    + PrefsStore
    + EventFeed
    + DataKeyStore
    + CareProposalStore
    + Send
    + Sync
{
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Closes connections cleanly.
    async fn close(&self);
}
