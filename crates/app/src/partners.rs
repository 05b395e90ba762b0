//! Linking partners into a couple: invitations, the confidentiality policy
//! both consent to, and unlinking.

use crate::mail::OutgoingMail;
use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext, SessionToken};
use chrono::{DateTime, Utc};
use rapport_domain::couple::{
    policy_status, ConfidentialityPolicy, PolicyConsentEntry, PolicyStatus, INVITATION_LIFETIME,
};
use rapport_domain::{AccountId, Action, AuditAction, CoupleId, Email, FieldErrors, InvitationId};
use rapport_store::{Couple, Invitation, PolicyConsent, StoreError};

/// A new invitation and the token for its link (shown once).
#[derive(Debug)]
pub struct NewInvitation {
    pub invitation: Invitation,
    pub token: SessionToken,
}

/// Where an invitation stands, for the person holding its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    Expired,
    Used,
    Revoked,
}

/// What the invited person sees before accepting.
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub id: InvitationId,
    pub inviter_name: String,
    pub state: InvitationState,
    pub expires_at: DateTime<Utc>,
    /// Whether the signed-in person is the one invited.
    pub for_you: bool,
    pub proposed_policy: Option<ConfidentialityPolicy>,
}

/// The caller's couple, as they may see it.
#[derive(Debug, Clone)]
pub struct CoupleView {
    pub id: CoupleId,
    pub partner_id: AccountId,
    pub partner_name: String,
    pub linked_at: DateTime<Utc>,
    pub policy: PolicyStatus,
    /// What the caller last consented to.
    pub my_consent: Option<ConfidentialityPolicy>,
    pub history: Vec<PolicyConsent>,
    /// The couple's latest proposal of a therapist, while its care team runs.
    pub care_proposal: Option<crate::ProposalView>,
}

fn state_of(inv: &Invitation, now: DateTime<Utc>) -> InvitationState {
    if inv.accepted_at.is_some() {
        InvitationState::Used
    } else if inv.revoked_at.is_some() {
        InvitationState::Revoked
    } else if inv.expires_at <= now {
        InvitationState::Expired
    } else {
        InvitationState::Open
    }
}

fn closed(state: InvitationState) -> AppError {
    let message = match state {
        InvitationState::Expired => "This invitation has expired. Ask your partner to send a new one.",
        InvitationState::Used => "This invitation has already been used.",
        InvitationState::Revoked => "This invitation was withdrawn. Ask your partner to send a new one.",
        InvitationState::Open => "This invitation can't be used.",
    };
    AppError::Gone(message)
}

impl App {
    /// Invites a partner by email: a single-use link valid for 72 hours.
    pub async fn invite_partner(
        &self,
        who: &Authenticated,
        email: &str,
        proposed_policy: Option<ConfidentialityPolicy>,
        ctx: &RequestContext,
    ) -> Result<NewInvitation, AppError> {
        who.authorize(Action::LinkPartner)?;
        let me = who.account();
        let email = Email::parse(email).map_err(|e| FieldErrors::single("email", e.to_string()))?;
        if email == me.email {
            return Err(FieldErrors::single("email", "That's your own email. Enter your partner's email.").into());
        }
        if self.store.couple_of(me.id).await?.is_some() {
            return Err(AppError::Conflict {
                field: "email",
                message: "You are already linked with a partner. Unlink first to invite someone else.",
            });
        }
        if let Ok(partner) = self.store.account_by_email(&email).await {
            // Only say what the inviter could see anyway: they cannot link with this person now.
            if self.store.couple_of(partner.id).await?.is_some() {
                return Err(AppError::Conflict {
                    field: "email",
                    message: "That person can't accept an invitation right now.",
                });
            }
        }
        let now = self.now();
        let token = SessionToken::generate();
        let invitation = Invitation {
            id: InvitationId::new(),
            inviter_id: me.id,
            email: email.clone(),
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + INVITATION_LIFETIME,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
            proposed_policy,
        };
        self.store.insert_invitation(&invitation).await?;
        self.audit(
            Some(me.id),
            AuditAction::PartnerInvited,
            Some(me.id),
            "invitation",
            Some(invitation.id.to_string()),
            ctx,
        )
        .await?;
        let link = format!("{}/couple/invitations/{}", self.config.public_url.trim_end_matches('/'), token.expose());
        let mail = OutgoingMail {
            to: email,
            subject: format!("{} invited you to Rapport", me.display_name),
            text: format!(
                "Hello,\n\n{} would like to link your accounts on Rapport, so the two of you can work with a \
                 couples therapist together. Each of you keeps your own account and your own private notes.\n\n\
                 To accept, open this link within 72 hours:\n\n{link}\n\nIf you were not expecting this, you can \
                 ignore this email; nothing happens unless you accept.\n\n— Rapport\n",
                me.display_name
            ),
        };
        self.send_mail(mail).await;
        Ok(NewInvitation { invitation, token })
    }

    /// Invitations the caller sent, newest first, with where each stands.
    pub async fn my_invitations(&self, who: &Authenticated) -> Result<Vec<(Invitation, InvitationState)>, AppError> {
        who.authorize(Action::LinkPartner)?;
        let now = self.now();
        let list = self.store.invitations_from(who.account_id()).await?;
        Ok(list
            .into_iter()
            .map(|i| {
                let s = state_of(&i, now);
                (i, s)
            })
            .collect())
    }

    /// Withdraws one of the caller's open invitations.
    pub async fn revoke_invitation(&self, who: &Authenticated, id: InvitationId) -> Result<(), AppError> {
        who.authorize(Action::LinkPartner)?;
        Ok(self.store.revoke_invitation(who.account_id(), id, self.now()).await?)
    }

    /// Sends a fresh link for an invitation: the old link stops working.
    pub async fn resend_invitation(
        &self,
        who: &Authenticated,
        id: InvitationId,
        ctx: &RequestContext,
    ) -> Result<NewInvitation, AppError> {
        who.authorize(Action::LinkPartner)?;
        let old = self.store.invitation(id).await?;
        if old.inviter_id != who.account_id() {
            return Err(AppError::NotFound);
        }
        match state_of(&old, self.now()) {
            InvitationState::Used => return Err(closed(InvitationState::Used)),
            InvitationState::Open => self.store.revoke_invitation(who.account_id(), id, self.now()).await?,
            InvitationState::Expired | InvitationState::Revoked => {}
        }
        self.invite_partner(who, old.email.as_str(), old.proposed_policy, ctx).await
    }

    /// What the holder of an invitation link may see before accepting.
    pub async fn invitation_preview(&self, who: &Authenticated, token: &str) -> Result<InvitationPreview, AppError> {
        who.authorize(Action::LinkPartner)?;
        let inv = self.invitation_for_token(token).await?;
        let inviter = self.store.account_by_id(inv.inviter_id).await?;
        Ok(InvitationPreview {
            id: inv.id,
            inviter_name: inviter.display_name.to_string(),
            state: state_of(&inv, self.now()),
            expires_at: inv.expires_at,
            for_you: inv.email == who.account().email,
            proposed_policy: inv.proposed_policy,
        })
    }

    async fn invitation_for_token(&self, token: &str) -> Result<Invitation, AppError> {
        if token.is_empty() || token.len() > 100 {
            return Err(AppError::NotFound);
        }
        match self.store.invitation_by_token_hash(&SessionToken::from_client(token).hash()).await {
            Ok(inv) => Ok(inv),
            Err(StoreError::NotFound) => Err(AppError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Accepts an invitation as the person invited, consenting to a policy.
    pub async fn accept_invitation(
        &self,
        who: &Authenticated,
        token: &str,
        policy: ConfidentialityPolicy,
        ctx: &RequestContext,
    ) -> Result<CoupleId, AppError> {
        who.authorize(Action::LinkPartner)?;
        let me = who.account();
        let inv = self.invitation_for_token(token).await?;
        // Only the person invited may use the link; anyone else learns nothing about it.
        if inv.email != me.email {
            return Err(AppError::NotFound);
        }
        let state = state_of(&inv, self.now());
        if state != InvitationState::Open {
            return Err(closed(state));
        }
        if inv.inviter_id == me.id {
            return Err(FieldErrors::single("token", "You can't accept your own invitation.").into());
        }
        let now = self.now();
        let couple = Couple { id: CoupleId::new(), partner_a: inv.inviter_id, partner_b: me.id, linked_at: now };
        let consent = PolicyConsent { couple_id: couple.id, account_id: me.id, policy, at: now };
        match self.store.accept_invitation(inv.id, &couple, &consent).await {
            Ok(()) => {}
            Err(StoreError::Conflict("invitation_closed")) => return Err(closed(InvitationState::Used)),
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict {
                    field: "token",
                    message: "One of you is already linked with a partner, so this invitation can't be accepted.",
                })
            }
            Err(e) => return Err(e.into()),
        }
        // The inviter's proposal counts as their consent when it matches what was accepted.
        if inv.proposed_policy == Some(policy) {
            let theirs = PolicyConsent { couple_id: couple.id, account_id: inv.inviter_id, policy, at: now };
            self.store.insert_policy_consent(&theirs).await?;
        }
        for (actor, subject) in [(me.id, me.id), (me.id, inv.inviter_id)] {
            self.audit(
                Some(actor),
                AuditAction::PartnerLinked,
                Some(subject),
                "couple",
                Some(couple.id.to_string()),
                ctx,
            )
            .await?;
        }
        self.audit(Some(me.id), AuditAction::PolicyConsented, Some(me.id), "couple", Some(couple.id.to_string()), ctx)
            .await?;
        self.sync_rooms_for(me.id).await?;
        self.sync_rooms_for(inv.inviter_id).await?;
        Ok(couple.id)
    }

    /// Records the caller's consent to a policy for their couple. A policy is in
    /// force once both partners consented to it; a change needs both again.
    pub async fn consent_to_policy(
        &self,
        who: &Authenticated,
        policy: ConfidentialityPolicy,
        ctx: &RequestContext,
    ) -> Result<CoupleView, AppError> {
        who.authorize(Action::LinkPartner)?;
        let me = who.account_id();
        let couple = self.store.couple_of(me).await?.ok_or(AppError::NotFound)?;
        let consent = PolicyConsent { couple_id: couple.id, account_id: me, policy, at: self.now() };
        self.store.insert_policy_consent(&consent).await?;
        self.audit(Some(me), AuditAction::PolicyConsented, Some(me), "couple", Some(couple.id.to_string()), ctx)
            .await?;
        self.sync_rooms_for(couple.partner_a).await?;
        self.sync_rooms_for(couple.partner_b).await?;
        self.my_couple(who).await?.ok_or(AppError::NotFound)
    }

    /// The caller's couple, if linked.
    pub async fn my_couple(&self, who: &Authenticated) -> Result<Option<CoupleView>, AppError> {
        let me = who.account_id();
        let Some(couple) = self.store.couple_of(me).await? else { return Ok(None) };
        let partner_id = if couple.partner_a == me { couple.partner_b } else { couple.partner_a };
        let partner_name = self.store.account_by_id(partner_id).await?.display_name.to_string();
        let history = self.store.policy_consents(couple.id).await?;
        let entries: Vec<PolicyConsentEntry> = history
            .iter()
            .map(|c| PolicyConsentEntry { account_id: c.account_id, policy: c.policy, at: c.at })
            .collect();
        let policy = policy_status([couple.partner_a, couple.partner_b], &entries);
        let my_consent = history.iter().rev().find(|c| c.account_id == me).map(|c| c.policy);
        let care_proposal = self.proposal_view(&couple, me).await?;
        Ok(Some(CoupleView {
            id: couple.id,
            partner_id,
            partner_name,
            linked_at: couple.linked_at,
            policy,
            my_consent,
            history,
            care_proposal,
        }))
    }

    /// The agreed policy of a couple, if both have consented.
    pub(crate) async fn agreed_policy(&self, couple: &Couple) -> Result<Option<ConfidentialityPolicy>, AppError> {
        let entries: Vec<PolicyConsentEntry> = self
            .store
            .policy_consents(couple.id)
            .await?
            .iter()
            .map(|c| PolicyConsentEntry { account_id: c.account_id, policy: c.policy, at: c.at })
            .collect();
        Ok(policy_status([couple.partner_a, couple.partner_b], &entries).agreed)
    }

    /// Unlinks the caller from their partner. The other partner's agreement is not needed,
    /// and the caller learns nothing private about them. The one who left loses access to
    /// the couple room and their private channel; the records are kept.
    pub async fn unlink_partner(&self, who: &Authenticated, ctx: &RequestContext) -> Result<(), AppError> {
        who.authorize(Action::LinkPartner)?;
        let me = who.account_id();
        let couple = self.store.couple_of(me).await?.ok_or(AppError::NotFound)?;
        let now = self.now();
        self.store.unlink_couple(couple.id, me, now).await?;
        // A proposal waiting on a partner who is no longer linked cannot be answered.
        self.store.withdraw_care_proposal(couple.id, now).await?;
        for key in [crate::rooms::couple_room_key(couple.id), crate::rooms::private_room_key(couple.id, me)] {
            if let Some(room) = self.store.room_by_key(&key).await? {
                self.leave_room(room.id, me).await?;
            }
        }
        let partner = if couple.partner_a == me { couple.partner_b } else { couple.partner_a };
        for subject in [me, partner] {
            self.audit(
                Some(me),
                AuditAction::CoupleUnlinked,
                Some(subject),
                "couple",
                Some(couple.id.to_string()),
                ctx,
            )
            .await?;
        }
        self.sync_rooms_for(me).await?;
        Ok(())
    }
}
