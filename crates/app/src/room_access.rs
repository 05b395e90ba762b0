//! A person's access to one room, resolved once into a value the room use
//! cases take: whether they may read a message, and whether it is theirs.

use crate::sessions::Authenticated;
use crate::{App, AppError};
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, Action, MessageId, RoomId};
use rapport_store::{RoomMember, StoredMessage};

/// Proof that the caller is a current member of a room. Only
/// [`App::room_access`] makes one; anyone else gets `NotFound` and learns nothing.
#[derive(Debug, Clone)]
pub struct RoomAccess {
    account: AccountId,
    member: RoomMember,
}

impl RoomAccess {
    /// The room.
    pub fn room(&self) -> RoomId {
        self.member.room_id
    }

    /// Where the member's history starts: `None` for the whole history, else the
    /// moment they joined without the earlier messages.
    pub fn visible_from(&self) -> Option<DateTime<Utc>> {
        self.member.visible_from
    }

    /// Whether the member may see this message (it is in the room, and not from
    /// before their history starts).
    pub fn can_read(&self, message: &StoredMessage) -> bool {
        message.room_id == self.member.room_id
            && rapport_domain::room::in_history(self.visible_from(), message.created_at)
    }

    /// Whether the member sent this message (and may still see it).
    pub fn owns(&self, message: &StoredMessage) -> bool {
        self.can_read(message) && message.sender_id == self.account
    }
}

impl App {
    /// The caller's access to a room, if they are one of its current members.
    pub async fn room_access(&self, who: &Authenticated, room: RoomId) -> Result<RoomAccess, AppError> {
        let hub = self.hub();
        let membership = match hub.cached_membership(room, who.account_id()) {
            Some(m) => m,
            None => {
                let m = self.store.membership(room, who.account_id()).await?;
                hub.remember_membership(room, who.account_id(), m.clone());
                m
            }
        };
        who.authorize(Action::TakePartInRoom { member: membership.is_some() }).map_err(|_| AppError::NotFound)?;
        let member = membership.ok_or(AppError::NotFound)?;
        Ok(RoomAccess { account: who.account_id(), member })
    }

    /// A message the caller may read, with their access to its room. A message
    /// from before their history starts is, to them, not there at all.
    pub(crate) async fn readable_message(
        &self,
        who: &Authenticated,
        id: MessageId,
    ) -> Result<(RoomAccess, StoredMessage), AppError> {
        let stored = self.store.message(id).await?;
        let access = self.room_access(who, stored.room_id).await?;
        if !access.can_read(&stored) {
            return Err(AppError::NotFound);
        }
        Ok((access, stored))
    }
}
