//! Agreeing on a couple's therapist. When a partner whose intake is for the
//! couple chooses a therapist, that is a proposal to the other partner: until
//! they accept, the chooser works with the therapist one-to-one, and nothing of
//! the other partner's reaches the therapist. Accepting opens the couple room
//! and the accepter's private channel; declining leaves the chooser in
//! one-to-one care, free to propose again.

use crate::mail::OutgoingMail;
use crate::partners::CoupleView;
use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, Action, AuditAction};
use rapport_store::{CareProposal, CareProposalState, CareTeam, Couple, StoreError};
use uuid::Uuid;

/// A proposal as the partners see it: the therapist's card and where it stands.
#[derive(Debug, Clone)]
pub struct ProposalView {
    pub therapist_id: AccountId,
    pub professional_name: String,
    pub has_photo: bool,
    /// e.g. "LMFT, California".
    pub licences: Vec<String>,
    pub approaches: Vec<String>,
    /// Why the therapist was suggested (the proposer's concerns left out).
    pub reasons: Vec<String>,
    pub proposed_by: AccountId,
    /// Whether the caller made the proposal.
    pub by_me: bool,
    pub proposed_at: DateTime<Utc>,
    pub state: CareProposalState,
}

fn nothing_pending() -> AppError {
    AppError::Conflict {
        field: "care_proposal",
        message: "There is no proposal waiting for your answer. It may have been answered or withdrawn already.",
    }
}

fn other_partner(couple: &Couple, me: AccountId) -> AccountId {
    if couple.partner_a == me {
        couple.partner_b
    } else {
        couple.partner_a
    }
}

impl App {
    /// The couple's care team in force: the proposer's team, once the other partner accepted it.
    pub(crate) async fn couple_care(&self, couple: &Couple) -> Result<Option<CareTeam>, AppError> {
        let Some(p) = self.store.latest_care_proposal(couple.id).await? else { return Ok(None) };
        if p.state != CareProposalState::Accepted {
            return Ok(None);
        }
        let team = self.store.active_care_of_client(p.proposed_by).await?;
        Ok(team.filter(|t| t.id == p.care_team_id && t.couple_id == Some(couple.id)))
    }

    /// Records the caller's proposal of the therapist of their new care team to their
    /// partner, tells the partner (a notice and an email without health details) and
    /// audits it. `reasons` must hold nothing from anyone's intake answers.
    pub(crate) async fn propose_to_partner(
        &self,
        who: &Authenticated,
        couple: &Couple,
        team: &CareTeam,
        reasons: Vec<String>,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = who.account();
        let partner = other_partner(couple, me.id);
        let proposal = CareProposal {
            id: Uuid::now_v7(),
            couple_id: couple.id,
            care_team_id: team.id,
            therapist_id: team.therapist_id,
            proposed_by: me.id,
            proposed_at: self.now(),
            reasons,
            state: CareProposalState::Pending,
            answered_by: None,
            answered_at: None,
        };
        match self.store.propose_care(&proposal).await {
            Ok(()) => {}
            // Both partners proposed at the same moment: one proposal waits, the other is refused.
            // The chooser's one-to-one care has begun; choosing again proposes it.
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict {
                    field: "therapist_id",
                    message: "Your partner just suggested a therapist too. Please look at their suggestion on your Partner page first.",
                })
            }
            Err(e) => return Err(e.into()),
        }
        for subject in [me.id, partner] {
            self.audit(
                Some(me.id),
                AuditAction::CareProposed,
                Some(subject),
                "care_proposal",
                Some(proposal.id.to_string()),
                ctx,
            )
            .await?;
        }
        let therapist = self.store.therapist(team.therapist_id).await?.professional_name;
        self.notify(
            partner,
            "care_proposed",
            format!(
                "{} suggested {therapist} as a therapist for the two of you. Nothing changes for you unless you agree: see who they are and answer on your Partner page.",
                me.display_name
            ),
        )
        .await?;
        let to = self.store.account_by_id(partner).await?.email;
        let link = format!("{}/couple", self.config.public_url.trim_end_matches('/'));
        self.send_mail(OutgoingMail {
            to,
            subject: format!("{} suggested a therapist for the two of you", me.display_name),
            text: format!(
                "Hello,\n\n{} would like the two of you to work with a couples therapist on Rapport, and suggested \
                 one. Nothing changes for you unless you agree.\n\nTo see who they suggested and answer, sign in and \
                 open:\n\n{link}\n\n— Rapport\n",
                me.display_name
            ),
        })
        .await;
        Ok(())
    }

    /// Accepts the therapist the caller's partner proposed: the couple room and the caller's
    /// private channel open. The proposer may not answer their own proposal (403); with
    /// nothing pending, 409 and nothing changes.
    pub async fn accept_care_proposal(
        &self,
        who: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<CoupleView, AppError> {
        self.answer_care_proposal(who, CareProposalState::Accepted, ctx).await
    }

    /// Declines the therapist the caller's partner proposed: the proposer is told, and keeps
    /// working with that therapist one-to-one.
    pub async fn decline_care_proposal(
        &self,
        who: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<CoupleView, AppError> {
        self.answer_care_proposal(who, CareProposalState::Declined, ctx).await
    }

    async fn answer_care_proposal(
        &self,
        who: &Authenticated,
        answer: CareProposalState,
        ctx: &RequestContext,
    ) -> Result<CoupleView, AppError> {
        who.authorize(Action::LinkPartner)?;
        let me = who.account();
        let couple = self.store.couple_of(me.id).await?.ok_or(AppError::NotFound)?;
        let proposal = self
            .store
            .latest_care_proposal(couple.id)
            .await?
            .filter(|p| p.state == CareProposalState::Pending)
            .ok_or_else(nothing_pending)?;
        if proposal.proposed_by == me.id {
            return Err(AppError::Forbidden);
        }
        let now = self.now();
        match self.store.answer_care_proposal(proposal.id, answer, me.id, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(nothing_pending()),
            Err(e) => return Err(e.into()),
        }
        let (action, words) = match answer {
            CareProposalState::Accepted => (AuditAction::CareProposalAccepted, "agreed to work with"),
            _ => (AuditAction::CareProposalDeclined, "would rather not work with"),
        };
        for subject in [me.id, proposal.proposed_by] {
            self.audit(Some(me.id), action, Some(subject), "care_proposal", Some(proposal.id.to_string()), ctx).await?;
        }
        let therapist = self.store.therapist(proposal.therapist_id).await?.professional_name;
        if answer == CareProposalState::Accepted {
            // One-to-one care of the accepter's own with the same therapist continues as their
            // private channel in the couple's care, never as a second room beside it; and a
            // couple's therapist the accepter had proposed themselves is replaced by this one.
            if let Some(mine) = self.store.active_care_of_client(me.id).await? {
                let same_therapist = mine.therapist_id == proposal.therapist_id;
                if mine.id != proposal.care_team_id && (same_therapist || mine.couple_id == Some(couple.id)) {
                    let why = if same_therapist {
                        "continues in the couple's care"
                    } else {
                        "the couple agreed on another therapist"
                    };
                    match self.store.end_care(mine.id, now, why).await {
                        Ok(()) | Err(StoreError::NotFound) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            self.forget_candidates();
            self.sync_rooms_for(proposal.proposed_by).await?;
            self.sync_rooms_for(me.id).await?;
            self.notify(
                proposal.proposed_by,
                "care_proposal_accepted",
                format!("{} {words} {therapist} together. Your shared room is on your Messages page.", me.display_name),
            )
            .await?;
        } else {
            self.notify(
                proposal.proposed_by,
                "care_proposal_declined",
                format!(
                    "{} {words} {therapist} as a couple for now. You keep working with {therapist} one-to-one, and you can suggest someone else from your matches whenever you like.",
                    me.display_name
                ),
            )
            .await?;
        }
        self.my_couple(who).await?.ok_or(AppError::NotFound)
    }

    /// The couple's latest proposal as the caller may see it, while its care team runs.
    pub(crate) async fn proposal_view(&self, couple: &Couple, me: AccountId) -> Result<Option<ProposalView>, AppError> {
        let Some(p) = self.store.latest_care_proposal(couple.id).await? else { return Ok(None) };
        if p.state == CareProposalState::Withdrawn {
            return Ok(None);
        }
        let running = self.store.active_care_of_client(p.proposed_by).await?.is_some_and(|t| t.id == p.care_team_id);
        if !running {
            return Ok(None);
        }
        let profile = self.store.therapist(p.therapist_id).await?;
        Ok(Some(ProposalView {
            therapist_id: p.therapist_id,
            professional_name: profile.professional_name,
            has_photo: profile.has_photo,
            licences: profile
                .licenses
                .iter()
                .filter(|l| l.verified)
                .map(|l| format!("{}, {}", l.license_type.label(), l.jurisdiction.name()))
                .collect(),
            approaches: profile.approaches.iter().map(|a| a.label().to_owned()).collect(),
            reasons: p.reasons,
            proposed_by: p.proposed_by,
            by_me: p.proposed_by == me,
            proposed_at: p.proposed_at,
            state: p.state,
        }))
    }
}
