//! Rapport's domain: pure types and rules, no I/O.
//!
//! Everything here validates on construction, so code further out never
//! handles an unchecked email, password, role or time zone.

pub mod access;
pub mod account;
pub mod audit;
pub mod availability;
pub mod couple;
pub mod email;
pub mod ids;
pub mod matching;
pub mod password;
pub mod place;
pub mod room;
pub mod taxonomy;
pub mod text;
pub mod time_zones;
pub mod validation;

pub use access::{Action, Actor, Decision};
pub use account::{DisplayName, Role, TimeZone};
pub use audit::AuditAction;
pub use email::Email;
pub use ids::{AccountId, AuditEventId, CoupleId, InvitationId, MessageId, RoomId, SessionId};
pub use password::NewPassword;
pub use place::{Jurisdiction, Language};
pub use validation::FieldErrors;
