//! Care proposals: one partner proposes a couple's therapist, the other agrees or declines.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, CoupleId};
use uuid::Uuid;

/// Where a care proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CareProposalState {
    /// Waiting for the other partner.
    Pending,
    /// The other partner agreed: the couple's care with this therapist is in force.
    Accepted,
    /// The other partner declined.
    Declined,
    /// Replaced by a newer proposal, or its care team ended, before an answer.
    Withdrawn,
}

impl CareProposalState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CareProposalState::Pending => "pending",
            CareProposalState::Accepted => "accepted",
            CareProposalState::Declined => "declined",
            CareProposalState::Withdrawn => "withdrawn",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "declined" => Some(Self::Declined),
            "withdrawn" => Some(Self::Withdrawn),
            _ => None,
        }
    }
}

/// One partner's proposal of a therapist for the couple's care.
#[derive(Debug, Clone, PartialEq)]
pub struct CareProposal {
    pub id: Uuid,
    pub couple_id: CoupleId,
    /// The proposer's care team with the therapist (their one-to-one care until accepted).
    pub care_team_id: Uuid,
    pub therapist_id: AccountId,
    pub proposed_by: AccountId,
    pub proposed_at: DateTime<Utc>,
    /// Why the therapist was suggested, in words safe to show the partner (no health details).
    pub reasons: Vec<String>,
    pub state: CareProposalState,
    pub answered_by: Option<AccountId>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// Care proposals between partners.
#[async_trait]
pub trait CareProposalStore: Send + Sync {
    /// Stores a new pending proposal; in the same transaction, any pending proposal of the
    /// couple is withdrawn (at most one is pending per couple).
    async fn propose_care(&self, proposal: &CareProposal) -> StoreResult<()>;
    /// The couple's latest proposal, whatever its state.
    async fn latest_care_proposal(&self, couple: CoupleId) -> StoreResult<Option<CareProposal>>;
    /// Answers a pending proposal (`accepted` or `declined`).
    /// `Conflict("care_proposal_closed")`, changing nothing, when it is no longer pending.
    async fn answer_care_proposal(
        &self,
        id: Uuid,
        state: CareProposalState,
        by: AccountId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Withdraws the couple's pending proposal, if any; returns whether there was one.
    async fn withdraw_care_proposal(&self, couple: CoupleId, at: DateTime<Utc>) -> StoreResult<bool>;
}
