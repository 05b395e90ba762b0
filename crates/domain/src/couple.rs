//! Couples: partner invitations and the confidentiality policy both partners agree to.

use crate::AccountId;
use chrono::{DateTime, Duration, Utc};
use std::fmt;
use std::str::FromStr;

/// How long a partner invitation can be accepted.
pub const INVITATION_LIFETIME: Duration = Duration::hours(72);

/// What a couple therapist may do with what one partner says alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfidentialityPolicy {
    /// What one partner tells the therapist alone may be brought into joint work.
    NoSecrets,
    /// The therapist keeps individual confidences, within safety limits.
    LimitedSecrets,
}

impl ConfidentialityPolicy {
    /// Both policies, in the order they are offered.
    pub const ALL: [ConfidentialityPolicy; 2] =
        [ConfidentialityPolicy::NoSecrets, ConfidentialityPolicy::LimitedSecrets];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfidentialityPolicy::NoSecrets => "no_secrets",
            ConfidentialityPolicy::LimitedSecrets => "limited_secrets",
        }
    }

    /// A short title.
    pub fn title(self) -> &'static str {
        match self {
            ConfidentialityPolicy::NoSecrets => "No secrets",
            ConfidentialityPolicy::LimitedSecrets => "Limited secrets",
        }
    }

    /// What it means, in plain words, for the person about to write privately.
    pub fn explain(self) -> &'static str {
        match self {
            ConfidentialityPolicy::NoSecrets => {
                "Anything you tell your therapist on your own may be brought into your joint sessions, \
                 so nothing important stays hidden between the three of you."
            }
            ConfidentialityPolicy::LimitedSecrets => {
                "Your therapist keeps what you say on your own between the two of you, unless someone's \
                 safety is at risk. They may encourage you to share it together when you are ready."
            }
        }
    }
}

impl fmt::Display for ConfidentialityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a policy name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Choose one of the two policies: no_secrets or limited_secrets.")]
pub struct UnknownPolicy;

impl FromStr for ConfidentialityPolicy {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(UnknownPolicy)
    }
}

/// One partner's consent to a policy, at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyConsentEntry {
    /// Who consented.
    pub account_id: AccountId,
    /// To what.
    pub policy: ConfidentialityPolicy,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a couple's policy stands, from the history of consents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyStatus {
    /// The policy both partners agreed to most recently; `None` until they first agree.
    pub agreed: Option<ConfidentialityPolicy>,
    /// A change one partner has asked for that the other has not consented to yet.
    pub proposed: Option<(AccountId, ConfidentialityPolicy)>,
}

/// Works out the agreed policy: a policy is in force once both partners' latest
/// consents name it; a different consent by one partner is only a proposal until
/// the other consents to the same, and the earlier agreement stays in force meanwhile.
pub fn policy_status(partners: [AccountId; 2], history: &[PolicyConsentEntry]) -> PolicyStatus {
    let mut latest: [Option<ConfidentialityPolicy>; 2] = [None, None];
    let mut agreed = None;
    let mut ordered: Vec<&PolicyConsentEntry> = history.iter().collect();
    ordered.sort_by_key(|e| e.at);
    for entry in ordered {
        let Some(slot) = partners.iter().position(|p| *p == entry.account_id) else { continue };
        latest[slot] = Some(entry.policy);
        if latest[0].is_some() && latest[0] == latest[1] {
            agreed = latest[0];
        }
    }
    let proposed = (0..2).find_map(|i| match latest[i] {
        Some(p) if Some(p) != agreed && latest[1 - i] != Some(p) => Some((partners[i], p)),
        _ => None,
    });
    PolicyStatus { agreed, proposed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, minute, 0).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for p in ConfidentialityPolicy::ALL {
            assert_eq!(p.as_str().parse::<ConfidentialityPolicy>().unwrap(), p);
        }
        assert!("secrets".parse::<ConfidentialityPolicy>().is_err());
    }

    #[test]
    fn a_policy_is_in_force_only_once_both_partners_consent() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let one = [PolicyConsentEntry { account_id: a, policy: ConfidentialityPolicy::NoSecrets, at: at(0) }];
        let s = policy_status([a, b], &one);
        assert_eq!(s.agreed, None);
        assert_eq!(s.proposed, Some((a, ConfidentialityPolicy::NoSecrets)));
        let both = [one[0], PolicyConsentEntry { account_id: b, policy: ConfidentialityPolicy::NoSecrets, at: at(1) }];
        let s = policy_status([a, b], &both);
        assert_eq!(s.agreed, Some(ConfidentialityPolicy::NoSecrets));
        assert_eq!(s.proposed, None);
    }

    #[test]
    fn a_change_needs_both_again_and_the_old_policy_holds_meanwhile() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let mut h = vec![
            PolicyConsentEntry { account_id: a, policy: ConfidentialityPolicy::NoSecrets, at: at(0) },
            PolicyConsentEntry { account_id: b, policy: ConfidentialityPolicy::NoSecrets, at: at(1) },
            PolicyConsentEntry { account_id: b, policy: ConfidentialityPolicy::LimitedSecrets, at: at(2) },
        ];
        let s = policy_status([a, b], &h);
        assert_eq!(s.agreed, Some(ConfidentialityPolicy::NoSecrets));
        assert_eq!(s.proposed, Some((b, ConfidentialityPolicy::LimitedSecrets)));
        h.push(PolicyConsentEntry { account_id: a, policy: ConfidentialityPolicy::LimitedSecrets, at: at(3) });
        let s = policy_status([a, b], &h);
        assert_eq!(s.agreed, Some(ConfidentialityPolicy::LimitedSecrets));
        assert_eq!(s.proposed, None);
    }

    #[test]
    fn strangers_consents_do_not_count() {
        let (a, b, c) = (AccountId::new(), AccountId::new(), AccountId::new());
        let h = [
            PolicyConsentEntry { account_id: a, policy: ConfidentialityPolicy::NoSecrets, at: at(0) },
            PolicyConsentEntry { account_id: c, policy: ConfidentialityPolicy::NoSecrets, at: at(1) },
        ];
        assert_eq!(policy_status([a, b], &h).agreed, None);
    }
}
