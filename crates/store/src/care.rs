//! Therapists (applications, licences, verification), intakes and care teams.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rapport_domain::availability::WeeklyWindow;
use rapport_domain::matching::SeekerKind;
use rapport_domain::taxonomy::{Approach, Gender, LicenseType, Modality, Specialty};
use rapport_domain::{AccountId, CoupleId, Jurisdiction, Language, TimeZone};
use std::collections::HashMap;
use uuid::Uuid;

/// Where a therapist's application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    /// Waiting for an admin to check it.
    Pending,
    /// Verified: may be matched.
    Approved,
    /// Turned down, with a reason.
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Pending => "pending",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// One professional licence.
#[derive(Debug, Clone, PartialEq)]
pub struct License {
    pub id: Uuid,
    pub license_type: LicenseType,
    pub number: String,
    pub jurisdiction: Jurisdiction,
    pub expires_on: NaiveDate,
    /// Checked by an admin as part of an approval.
    pub verified: bool,
    /// When the therapist was told it expires within 30 days.
    pub expiry_warned_at: Option<DateTime<Utc>>,
    /// When its clients there were told they need a new match.
    pub expiry_handled_at: Option<DateTime<Utc>>,
}

/// A therapist's profile and application.
#[derive(Debug, Clone, PartialEq)]
pub struct TherapistProfile {
    pub account_id: AccountId,
    pub status: ApplicationStatus,
    pub professional_name: String,
    pub pronouns: Option<String>,
    pub gender: Option<Gender>,
    pub bio: String,
    pub licenses: Vec<License>,
    pub specialties: Vec<Specialty>,
    pub approaches: Vec<Approach>,
    pub languages: Vec<Language>,
    pub modalities: Vec<Modality>,
    pub works_with_couples: bool,
    pub time_zone: TimeZone,
    pub weekly_availability: Vec<WeeklyWindow>,
    pub capacity: u32,
    pub accepting_new_clients: bool,
    pub has_photo: bool,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An admin's decision on an application, with the licence check behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationDecision {
    pub id: Uuid,
    pub therapist_id: AccountId,
    pub admin_id: AccountId,
    pub decided_at: DateTime<Utc>,
    pub approved: bool,
    /// What was checked (e.g. "CA BBS licence lookup, number and expiry match").
    pub checked: String,
    /// Notes, or the reason for a rejection.
    pub notes: String,
}

/// Encrypted bytes and the key that sealed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// What a client (or one partner) told us at intake.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub account_id: AccountId,
    pub kind: SeekerKind,
    pub couple_id: Option<CoupleId>,
    /// When they accepted the privacy notice, and which version.
    pub consented_at: DateTime<Utc>,
    pub consent_version: String,
    pub jurisdiction: Jurisdiction,
    pub languages: Vec<Language>,
    pub modalities: Vec<Modality>,
    pub approaches: Vec<Approach>,
    pub therapist_gender: Option<Gender>,
    pub time_zone: TimeZone,
    pub time_windows: Vec<WeeklyWindow>,
    /// Concerns, free text and safety answers: health data, encrypted.
    pub sensitive: Sealed,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A client (or couple) and their therapist.
#[derive(Debug, Clone, PartialEq)]
pub struct CareTeam {
    pub id: Uuid,
    pub client_id: AccountId,
    pub couple_id: Option<CoupleId>,
    pub therapist_id: AccountId,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// Whether this therapist may see what was shared with earlier therapists.
    pub sees_history: bool,
}

/// Therapist profiles, licences and verification.
#[async_trait]
pub trait TherapistStore: Send + Sync {
    /// Stores a new or changed application with its licences, replacing the previous one.
    async fn save_application(&self, profile: &TherapistProfile) -> StoreResult<()>;
    async fn therapist(&self, id: AccountId) -> StoreResult<TherapistProfile>;
    /// Applications in a status, oldest first.
    async fn applications(&self, status: ApplicationStatus) -> StoreResult<Vec<TherapistProfile>>;
    /// Every approved therapist, for matching.
    async fn approved_therapists(&self) -> StoreResult<Vec<TherapistProfile>>;
    /// Records a decision on a pending application; approval marks the licences verified and makes
    /// the account a therapist. `Conflict("therapist_application_decided")` when it is not pending.
    async fn decide_application(&self, decision: &VerificationDecision) -> StoreResult<()>;
    async fn decisions_for(&self, therapist: AccountId) -> StoreResult<Vec<VerificationDecision>>;
    async fn set_photo(&self, therapist: AccountId, content_type: &str, bytes: &[u8]) -> StoreResult<()>;
    async fn photo(&self, therapist: AccountId) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// Claims a licence's expiry warning; `NotFound` if already claimed (so one instance sends it).
    async fn mark_license_warned(&self, license: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Claims a licence's expiry handling; `NotFound` if already claimed.
    async fn mark_license_expiry_handled(&self, license: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Intakes.
#[async_trait]
pub trait IntakeStore: Send + Sync {
    async fn save_intake(&self, intake: &Intake) -> StoreResult<()>;
    async fn intake_of(&self, account: AccountId) -> StoreResult<Option<Intake>>;
}

/// Care relationships.
#[async_trait]
pub trait CareTeamStore: Send + Sync {
    /// Starts a care team, ending the client's current one (if any) in the same transaction.
    /// `Conflict("care_teams_capacity")`, changing nothing, when the therapist's profile
    /// capacity is already reached (checked atomically with the start).
    async fn start_care(&self, team: &CareTeam, previous_end_reason: Option<&str>) -> StoreResult<()>;
    async fn active_care_of_client(&self, client: AccountId) -> StoreResult<Option<CareTeam>>;
    async fn active_clients_of(&self, therapist: AccountId) -> StoreResult<Vec<CareTeam>>;
    /// Active client counts per therapist.
    async fn active_client_counts(&self) -> StoreResult<HashMap<AccountId, u32>>;
    async fn end_care(&self, team: Uuid, at: DateTime<Utc>, reason: &str) -> StoreResult<()>;
}

/// A short message to one person, shown until they dismiss it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: Uuid,
    pub account_id: AccountId,
    /// e.g. `license_expiring`, `needs_new_match`.
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// In-app notices.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    async fn insert_notice(&self, notice: &Notice) -> StoreResult<()>;
    /// Unread notices, newest first.
    async fn unread_notices(&self, account: AccountId) -> StoreResult<Vec<Notice>>;
    /// Dismisses one of the account's notices; `NotFound` if not theirs or already read.
    async fn mark_notice_read(&self, account: AccountId, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
}
