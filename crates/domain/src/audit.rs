//! What the audit log records. Append-only: entries are never changed.

use std::fmt;
use std::str::FromStr;

/// The kinds of event the audit log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An account was created.
    AccountCreated,
    /// Someone signed in.
    SignedIn,
    /// A sign-in was refused (wrong password, or throttled).
    SignInFailed,
    /// Someone signed out.
    SignedOut,
    /// A session was ended from the sessions list.
    SessionRevoked,
    /// The password was changed; other sessions were ended.
    PasswordChanged,
    /// Display name or time zone changed.
    ProfileUpdated,
    /// A therapist applied or changed their application.
    TherapistApplicationSubmitted,
    /// An admin approved a therapist after checking their licences.
    TherapistApproved,
    /// An admin turned an application down.
    TherapistRejected,
    /// Intake answers were saved.
    IntakeSubmitted,
    /// Intake answers were read.
    IntakeRead,
    /// A care relationship began.
    CareTeamStarted,
    /// Invited a partner to link accounts.
    PartnerInvited,
    /// Linked accounts with a partner.
    PartnerLinked,
    /// Consented to a confidentiality policy.
    PolicyConsented,
    /// Unlinked from a partner.
    CoupleUnlinked,
    /// Sent a message.
    MessagePosted,
    /// Corrected a message.
    MessageEdited,
    /// Deleted a message.
    MessageDeleted,
    /// Read a room's messages.
    RoomHistoryRead,
    /// Opened an attachment.
    AttachmentRead,
    /// A password reset link was asked for.
    PasswordResetRequested,
    /// The password was set through a reset link; every session ended.
    PasswordReset,
    /// Every other session was signed out at once.
    OtherSessionsSignedOut,
    /// Proposed a couple's therapist to one's partner.
    CareProposed,
    /// Agreed to the therapist one's partner proposed.
    CareProposalAccepted,
    /// Declined the therapist one's partner proposed.
    CareProposalDeclined,
}

impl AuditAction {
    /// Every action.
    pub const ALL: [AuditAction; 28] = [
        AuditAction::AccountCreated,
        AuditAction::SignedIn,
        AuditAction::SignInFailed,
        AuditAction::SignedOut,
        AuditAction::SessionRevoked,
        AuditAction::PasswordChanged,
        AuditAction::ProfileUpdated,
        AuditAction::TherapistApplicationSubmitted,
        AuditAction::TherapistApproved,
        AuditAction::TherapistRejected,
        AuditAction::IntakeSubmitted,
        AuditAction::IntakeRead,
        AuditAction::CareTeamStarted,
        AuditAction::PartnerInvited,
        AuditAction::PartnerLinked,
        AuditAction::PolicyConsented,
        AuditAction::CoupleUnlinked,
        AuditAction::MessagePosted,
        AuditAction::MessageEdited,
        AuditAction::MessageDeleted,
        AuditAction::RoomHistoryRead,
        AuditAction::AttachmentRead,
        AuditAction::PasswordResetRequested,
        AuditAction::PasswordReset,
        AuditAction::OtherSessionsSignedOut,
        AuditAction::CareProposed,
        AuditAction::CareProposalAccepted,
        AuditAction::CareProposalDeclined,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::AccountCreated => "account.created",
            AuditAction::SignedIn => "auth.signed_in",
            AuditAction::SignInFailed => "auth.sign_in_failed",
            AuditAction::SignedOut => "auth.signed_out",
            AuditAction::SessionRevoked => "auth.session_revoked",
            AuditAction::PasswordChanged => "account.password_changed",
            AuditAction::ProfileUpdated => "account.profile_updated",
            AuditAction::TherapistApplicationSubmitted => "therapist.application_submitted",
            AuditAction::TherapistApproved => "therapist.approved",
            AuditAction::TherapistRejected => "therapist.rejected",
            AuditAction::IntakeSubmitted => "intake.submitted",
            AuditAction::IntakeRead => "intake.read",
            AuditAction::CareTeamStarted => "care_team.started",
            AuditAction::PartnerInvited => "couple.partner_invited",
            AuditAction::PartnerLinked => "couple.linked",
            AuditAction::PolicyConsented => "couple.policy_consented",
            AuditAction::CoupleUnlinked => "couple.unlinked",
            AuditAction::MessagePosted => "message.posted",
            AuditAction::MessageEdited => "message.edited",
            AuditAction::MessageDeleted => "message.deleted",
            AuditAction::RoomHistoryRead => "room.history_read",
            AuditAction::AttachmentRead => "attachment.read",
            AuditAction::PasswordResetRequested => "account.password_reset_requested",
            AuditAction::PasswordReset => "account.password_reset",
            AuditAction::OtherSessionsSignedOut => "auth.other_sessions_signed_out",
            AuditAction::CareProposed => "care_proposal.proposed",
            AuditAction::CareProposalAccepted => "care_proposal.accepted",
            AuditAction::CareProposalDeclined => "care_proposal.declined",
        }
    }

    /// A plain-words description for the person whose data it is.
    pub fn describe(self) -> &'static str {
        match self {
            AuditAction::AccountCreated => "Account created",
            AuditAction::SignedIn => "Signed in",
            AuditAction::SignInFailed => "Failed sign-in attempt",
            AuditAction::SignedOut => "Signed out",
            AuditAction::SessionRevoked => "A session was signed out",
            AuditAction::PasswordChanged => "Password changed",
            AuditAction::ProfileUpdated => "Profile updated",
            AuditAction::TherapistApplicationSubmitted => "Therapist application submitted",
            AuditAction::TherapistApproved => "Therapist application approved",
            AuditAction::TherapistRejected => "Therapist application declined",
            AuditAction::IntakeSubmitted => "Intake answers saved",
            AuditAction::IntakeRead => "Intake answers read",
            AuditAction::CareTeamStarted => "Started working with a therapist",
            AuditAction::PartnerInvited => "A partner was invited to link accounts",
            AuditAction::PartnerLinked => "Partner accounts linked",
            AuditAction::PolicyConsented => "Consented to the couple's confidentiality policy",
            AuditAction::CoupleUnlinked => "Partner accounts unlinked",
            AuditAction::MessagePosted => "A message was sent",
            AuditAction::MessageEdited => "A message was corrected (the earlier version is kept)",
            AuditAction::MessageDeleted => "A message was deleted (a marker stays in the room)",
            AuditAction::RoomHistoryRead => "Messages in a shared room were read",
            AuditAction::AttachmentRead => "An attachment was opened",
            AuditAction::PasswordResetRequested => "A password reset link was emailed",
            AuditAction::PasswordReset => "Password reset through an emailed link; every session was signed out",
            AuditAction::OtherSessionsSignedOut => "Every other session was signed out",
            AuditAction::CareProposed => "A couple's therapist was proposed to a partner",
            AuditAction::CareProposalAccepted => "A partner agreed to the proposed couple's therapist",
            AuditAction::CareProposalDeclined => "A partner declined the proposed couple's therapist",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored text is not a known action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action")]
pub struct UnknownAuditAction;

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s).ok_or(UnknownAuditAction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
            assert!(seen.insert(a.as_str()));
        }
    }
}
