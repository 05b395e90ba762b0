//! Couples (invitations, confidentiality consents), message rooms, messages
//! and the durable event log that realtime delivery and resume read from.

use crate::{AuditEvent, Couple, Sealed, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::room::{AttachmentKind, RoomKind};
use rapport_domain::{AccountId, CoupleId, Email, InvitationId, MessageId, RoomId};
use std::collections::HashMap;

/// An invitation to link as partners. Only a hash of its token is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub inviter_id: AccountId,
    /// Who was invited (normalised).
    pub email: Email,
    /// SHA-256 of the token in the link.
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<AccountId>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The policy the inviter proposed, if they chose one when inviting.
    pub proposed_policy: Option<ConfidentialityPolicy>,
}

/// One partner's consent to a confidentiality policy; the history is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConsent {
    pub couple_id: CoupleId,
    pub account_id: AccountId,
    pub policy: ConfidentialityPolicy,
    pub at: DateTime<Utc>,
}

/// Partner invitations, couple links and policy consents.
#[async_trait]
pub trait PartnerStore: Send + Sync {
    async fn insert_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    async fn invitation_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Invitation>;
    async fn invitation(&self, id: InvitationId) -> StoreResult<Invitation>;
    /// Invitations an account sent, newest first.
    async fn invitations_from(&self, inviter: AccountId) -> StoreResult<Vec<Invitation>>;
    /// Revokes one of the inviter's open invitations; `NotFound` if not theirs or no longer open.
    async fn revoke_invitation(&self, inviter: AccountId, id: InvitationId, at: DateTime<Utc>) -> StoreResult<()>;
    /// In one transaction: marks the invitation accepted by `couple.partner_b` (only if still
    /// open: not accepted, not revoked), links the couple and records the acceptor's consent.
    /// `Conflict("invitation_closed")` if it was no longer open;
    /// `Conflict("couples_partner")` if either person is already in a couple. Nothing changes on error.
    async fn accept_invitation(&self, id: InvitationId, couple: &Couple, consent: &PolicyConsent) -> StoreResult<()>;
    async fn insert_policy_consent(&self, consent: &PolicyConsent) -> StoreResult<()>;
    /// Every consent for the couple, oldest first.
    async fn policy_consents(&self, couple: CoupleId) -> StoreResult<Vec<PolicyConsent>>;
    /// Ends a couple link: both memberships end at `at` (so both may link again later);
    /// the records stay. `NotFound` if `account` is not a current member of it.
    async fn unlink_couple(&self, couple: CoupleId, account: AccountId, at: DateTime<Utc>) -> StoreResult<()>;
    /// The couple by id, with its two partners, even after unlinking.
    async fn couple(&self, id: CoupleId) -> StoreResult<Couple>;
}

/// A message room.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    /// What the room is for, unique: `individual:<client>`, `couple:<couple>`,
    /// `private:<couple>:<partner>`. Lets room creation be idempotent.
    pub key: String,
    pub couple_id: Option<CoupleId>,
    pub created_at: DateTime<Utc>,
}

/// One person's place in a room.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomMember {
    pub room_id: RoomId,
    pub account_id: AccountId,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    /// The member sees messages from this moment on; `None` means the whole history.
    pub visible_from: Option<DateTime<Utc>>,
    /// The newest message they have read.
    pub last_read: Option<MessageId>,
}

/// An attachment's description (its bytes are fetched separately).
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentMeta {
    pub kind: AttachmentKind,
    /// As sniffed from the bytes, never as claimed.
    pub content_type: String,
    /// Made safe for `Content-Disposition`.
    pub file_name: String,
    pub size: u64,
}

/// A message as stored: the body and attachment are sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub room_id: RoomId,
    pub sender_id: AccountId,
    pub created_at: DateTime<Utc>,
    /// The current version of the text, sealed.
    pub body: Sealed,
    /// 1 for the original; each correction adds one (earlier versions are kept).
    pub version: i32,
    pub edited_at: Option<DateTime<Utc>>,
    /// A deleted message keeps its row as a tombstone; its body is then empty.
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachment: Option<AttachmentMeta>,
}

/// An earlier version of a corrected message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageVersion {
    pub message_id: MessageId,
    pub version: i32,
    pub body: Sealed,
    /// When this version was replaced.
    pub replaced_at: DateTime<Utc>,
}

/// A durable event in the log realtime clients read and resume from.
/// Ids are assigned by the database in commit order (see `commit_room_writes`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoomEvent {
    pub id: i64,
    pub room_id: RoomId,
    /// `message`, `message_updated`, `read`, `membership`.
    pub kind: String,
    pub actor_id: AccountId,
    pub message_id: Option<MessageId>,
    /// Small JSON with the rest of the event (never message text).
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// An event to append; the store assigns its id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRoomEvent {
    pub room_id: RoomId,
    pub kind: String,
    pub actor_id: AccountId,
    pub message_id: Option<MessageId>,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// A new message to store, with its sealed attachment bytes if any.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub message: StoredMessage,
    pub attachment_bytes: Option<Sealed>,
}

/// One write in a group commit: a message or a plain event, with the audit entry
/// that records it (if any). Every write produces exactly one event.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomWrite {
    pub message: Option<NewMessage>,
    pub event: NewRoomEvent,
    pub audit: Option<AuditEvent>,
}

/// Rooms, members, messages and events.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Creates the room unless one with the same key exists; returns the room with that key.
    async fn ensure_room(&self, room: &Room) -> StoreResult<Room>;
    async fn room(&self, id: RoomId) -> StoreResult<Room>;
    async fn room_by_key(&self, key: &str) -> StoreResult<Option<Room>>;
    /// Adds a member (no change if they are already a current member). Returns whether they were added.
    async fn add_room_member(
        &self,
        room: RoomId,
        account: AccountId,
        at: DateTime<Utc>,
        visible_from: Option<DateTime<Utc>>,
    ) -> StoreResult<bool>;
    /// Ends a current membership; returns whether there was one.
    async fn remove_room_member(&self, room: RoomId, account: AccountId, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Current members of a room.
    async fn room_members(&self, room: RoomId) -> StoreResult<Vec<RoomMember>>;
    /// The account's current membership of a room, if any.
    async fn membership(&self, room: RoomId, account: AccountId) -> StoreResult<Option<RoomMember>>;
    /// Gives a room a new purpose, keeping its members and history (a one-to-one room
    /// becoming a partner's private channel). `Conflict("rooms_key")` if the key is taken.
    async fn repurpose_room(
        &self,
        id: RoomId,
        kind: RoomKind,
        key: &str,
        couple_id: Option<CoupleId>,
    ) -> StoreResult<()>;
    /// Rooms the account is a current member of, oldest first.
    async fn rooms_of(&self, account: AccountId) -> StoreResult<Vec<Room>>;
    /// Current members (the account among them) of every room the account is a current
    /// member of, by room, each room's members ordered as [`Self::room_members`] orders them.
    async fn members_of_rooms_of(&self, account: AccountId) -> StoreResult<Vec<RoomMember>>;
    /// Per room the account is a current member of: the newest message visible to them
    /// (created at or after their `visible_from`), deleted or not. Rooms without one are absent.
    async fn latest_messages(&self, account: AccountId) -> StoreResult<HashMap<RoomId, StoredMessage>>;

    /// Appends writes in ONE transaction (one fsync for the lot), returning the new
    /// event ids in order. Event ids increase in commit order, across instances too.
    /// Committed writes survive a crash of the process at once; they are durable
    /// against power loss once this returns, unless [`Self::room_writes_need_sync`]
    /// says they wait for [`Self::sync_room_writes`].
    async fn commit_room_writes(&self, writes: &[RoomWrite]) -> StoreResult<Vec<i64>>;
    /// True when committed room writes are made durable by a separate
    /// [`Self::sync_room_writes`], so one sync can cover several commits and run
    /// while the next batch is being written.
    fn room_writes_need_sync(&self) -> bool {
        false
    }
    /// Makes every room write committed so far durable against power loss.
    async fn sync_room_writes(&self) -> StoreResult<()> {
        Ok(())
    }
    async fn message(&self, id: MessageId) -> StoreResult<StoredMessage>;
    /// Up to `limit` messages of a room created at or after `visible_from`, oldest first:
    /// those after `after` if given, otherwise the newest ones.
    async fn messages_page(
        &self,
        room: RoomId,
        visible_from: Option<DateTime<Utc>>,
        after: Option<MessageId>,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// Up to `limit` messages before `before`, oldest first (for scrolling back).
    async fn messages_before(
        &self,
        room: RoomId,
        visible_from: Option<DateTime<Utc>>,
        before: MessageId,
        limit: u32,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// The sealed bytes of a message's attachment.
    async fn attachment_bytes(&self, message: MessageId) -> StoreResult<Sealed>;
    /// Replaces a message's text, keeping the previous version, and appends `event`, in one
    /// transaction. `NotFound` unless the message has `expected_version` and is not deleted.
    async fn correct_message(
        &self,
        id: MessageId,
        expected_version: i32,
        body: &Sealed,
        at: DateTime<Utc>,
        event: &NewRoomEvent,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    /// Marks a message deleted (its text and attachment are removed, earlier versions kept
    /// for the record) and appends `event`. `NotFound` if already deleted.
    async fn delete_message(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
        empty_body: &Sealed,
        event: &NewRoomEvent,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    async fn message_versions(&self, id: MessageId) -> StoreResult<Vec<MessageVersion>>;
    /// Moves the member's read marker forward to `message` (never back). Returns whether it moved.
    async fn mark_read(&self, room: RoomId, account: AccountId, message: MessageId) -> StoreResult<bool>;
    /// Per room the account is in: messages from others, not deleted, visible to them, after their read marker.
    async fn unread_counts(&self, account: AccountId) -> StoreResult<HashMap<RoomId, u32>>;
    /// The oldest message in the room the member has not read (from others, visible to them).
    async fn first_unread(&self, room: RoomId, account: AccountId) -> StoreResult<Option<MessageId>>;
    async fn star_message(&self, account: AccountId, message: MessageId, at: DateTime<Utc>) -> StoreResult<()>;
    async fn unstar_message(&self, account: AccountId, message: MessageId) -> StoreResult<()>;
    /// Of `messages`, those the account starred.
    async fn starred_among(&self, account: AccountId, messages: &[MessageId]) -> StoreResult<Vec<MessageId>>;
    /// Events after `after` in rooms the account is currently a member of, oldest first.
    async fn events_after(&self, account: AccountId, after: i64, limit: u32) -> StoreResult<Vec<RoomEvent>>;
    /// The newest event id (0 when there are none).
    async fn latest_event_id(&self) -> StoreResult<i64>;
    /// Per room the therapist is in: the oldest message from a client that has no later
    /// message from the therapist (who has waited longest for a reply), if any.
    async fn awaiting_reply(&self, therapist: AccountId) -> StoreResult<HashMap<RoomId, DateTime<Utc>>>;
}

/// The durable event log as a feed between instances: each commit batch is
/// announced once, and instances fetch what they have not delivered yet.
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// Events with `after < id <= upto`, in id order, whatever room.
    async fn events_between(&self, after: i64, upto: i64) -> StoreResult<Vec<RoomEvent>>;
    /// Tells other instances that events up to `last` are committed (one call per batch).
    /// A no-op where one process owns the database (SQLite).
    async fn announce_events(&self, last: i64) -> StoreResult<()>;
    /// A stream of "events up to N are committed" from every instance, or `None` where
    /// there can be no other instance.
    async fn listen_events(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<i64>>>;
}
