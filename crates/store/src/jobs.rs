//! Background jobs that survive restarts (emails, digests, reminders),
//! and each person's notification preferences.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rapport_domain::AccountId;
use uuid::Uuid;

/// A unit of background work. Claimed with a lease, so a crashed instance's
/// job runs again elsewhere once the lease lapses.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    /// e.g. `message_email`, `message_digest`.
    pub kind: String,
    /// JSON with what the job needs (ids only, never health data).
    pub payload: String,
    pub run_at: DateTime<Utc>,
    /// How many times it has been claimed.
    pub attempts: i32,
    /// At most one unfinished job per key (e.g. one pending digest per person).
    pub dedupe_key: Option<String>,
    pub last_error: Option<String>,
}

/// The job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a job; returns `false` (and queues nothing) when an unfinished job has the same `dedupe_key`.
    async fn enqueue_job(&self, job: &Job) -> StoreResult<bool>;
    /// Claims up to `limit` due jobs (run_at ≤ now, not finished, no live lease), leasing them
    /// until `lease_until` and counting the attempt. A job is claimed by one caller at a time,
    /// across instances.
    async fn claim_due_jobs(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32)
        -> StoreResult<Vec<Job>>;
    async fn finish_job(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Releases a claimed job to run again at `run_at`, noting why it failed.
    async fn retry_job(&self, id: Uuid, run_at: DateTime<Utc>, error: &str) -> StoreResult<()>;
    /// Unfinished jobs of a kind (for tests and operators), oldest first.
    async fn pending_jobs(&self, kind: &str) -> StoreResult<Vec<Job>>;
}

/// How someone wants to hear about new messages by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailMode {
    /// One email soon after a message they have not read.
    Immediately,
    /// At most one email a day listing rooms with unread messages.
    Digest,
    /// No emails about messages.
    Off,
}

impl EmailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailMode::Immediately => "immediately",
            EmailMode::Digest => "digest",
            EmailMode::Off => "off",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [EmailMode::Immediately, EmailMode::Digest, EmailMode::Off].into_iter().find(|m| m.as_str() == s)
    }
}

/// Someone's notification preferences (defaults when never set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationPrefs {
    pub account_id: AccountId,
    pub email_mode: EmailMode,
    /// For therapists: reply expected within this many working days (1 by default).
    pub reply_working_days: u32,
}

impl NotificationPrefs {
    /// What applies until someone changes it.
    pub fn defaults(account_id: AccountId) -> Self {
        Self { account_id, email_mode: EmailMode::Immediately, reply_working_days: 1 }
    }
}

/// Notification preferences.
#[async_trait]
pub trait PrefsStore: Send + Sync {
    /// The account's preferences, or the defaults.
    async fn notification_prefs(&self, account: AccountId) -> StoreResult<NotificationPrefs>;
    async fn save_notification_prefs(&self, prefs: &NotificationPrefs) -> StoreResult<()>;
}
