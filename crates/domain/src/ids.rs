//! Typed identifiers. Every id is a UUIDv7, so ids sort by creation time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an id read back from storage.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// One person's account.
    AccountId
);
id_type!(
    /// One signed-in session (a browser or an API client).
    SessionId
);
id_type!(
    /// One entry in the append-only audit log.
    AuditEventId
);
id_type!(
    /// Two partners whose accounts are linked.
    CoupleId
);
id_type!(
    /// A message room (individual, couple or private channel).
    RoomId
);
id_type!(
    /// One message in a room.
    MessageId
);
id_type!(
    /// One invitation to link as partners.
    InvitationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_sort_by_creation() {
        let a = AccountId::new();
        let b = AccountId::new();
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn ids_round_trip_through_text() {
        let a = SessionId::new();
        let parsed: SessionId = a.to_string().parse().unwrap();
        assert_eq!(a, parsed);
        assert!("not-a-uuid".parse::<SessionId>().is_err());
    }
}
