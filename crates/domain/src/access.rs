//! The access policy: who may do what to whose data. Deny by default.
//!
//! Every use case asks [`decide`] before it touches data. Rules are written
//! as explicit grants; anything not granted here is refused.

use crate::{AccountId, Role};

/// Someone who has signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Their account.
    pub account_id: AccountId,
    /// Their role at the moment they signed in or were last checked.
    pub role: Role,
}

/// Something an actor wants to do that depends on who they are. A person's own
/// account, sessions and audit trail need no decision: those use cases only ever
/// act on the caller's own account (`Authenticated::account_id`), so there is no
/// one else's to ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Platform operations: accounts, verification, metrics. Never content.
    AdministerPlatform,
    /// Do intake, see matches and choose a therapist (clients only).
    SeekCare,
    /// Invite a partner, accept an invitation, consent to a couple policy (clients only).
    LinkPartner,
    /// Read and write in a message room; `member` says whether the actor is
    /// one of its current members. Nobody else, not even an admin, gets in.
    TakePartInRoom { member: bool },
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused; the caller learns nothing more.
    Deny,
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decides whether `actor` may perform `action`.
pub fn decide(actor: &Actor, action: Action) -> Decision {
    let allowed = match action {
        Action::AdministerPlatform => actor.role == Role::Admin,
        Action::SeekCare | Action::LinkPartner => actor.role == Role::Client,
        Action::TakePartInRoom { member } => member,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor { account_id: AccountId::new(), role }
    }

    #[test]
    fn only_clients_seek_care() {
        assert!(decide(&actor(Role::Client), Action::SeekCare).is_allowed());
        assert!(!decide(&actor(Role::Therapist), Action::SeekCare).is_allowed());
        assert!(!decide(&actor(Role::Admin), Action::SeekCare).is_allowed());
    }

    #[test]
    fn rooms_are_for_their_members_only() {
        for role in Role::ALL {
            assert!(decide(&actor(role), Action::TakePartInRoom { member: true }).is_allowed());
            assert!(!decide(&actor(role), Action::TakePartInRoom { member: false }).is_allowed(), "{role:?}");
        }
        assert!(decide(&actor(Role::Client), Action::LinkPartner).is_allowed());
        assert!(!decide(&actor(Role::Therapist), Action::LinkPartner).is_allowed());
    }

    #[test]
    fn only_admins_administer() {
        assert!(decide(&actor(Role::Admin), Action::AdministerPlatform).is_allowed());
        assert!(!decide(&actor(Role::Therapist), Action::AdministerPlatform).is_allowed());
        assert!(!decide(&actor(Role::Client), Action::AdministerPlatform).is_allowed());
    }
}
