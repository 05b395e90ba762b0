//! Message rooms: created from care relationships, and everything people do in
//! them. A message is a clinical record: corrections keep earlier versions and
//! deletions leave a tombstone; both are audit-logged.

use crate::realtime::{LiveEvent, LiveKind, MessageView};
use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use chrono::{DateTime, Utc};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::room::{reply_due_by, safe_file_name, sniff_attachment, AttachmentKind, MessageBody, RoomKind};
use rapport_domain::{AccountId, Action, AuditAction, AuditEventId, CoupleId, FieldErrors, MessageId, Role, RoomId};
use rapport_store::{
    AttachmentMeta, AuditEvent, NewMessage, NewRoomEvent, Room, RoomWrite, Sealed, StoreError, StoredMessage,
};
use std::collections::{HashMap, HashSet};
use std::future::Future;

pub(crate) fn couple_room_key(couple: CoupleId) -> String {
    format!("couple:{couple}")
}
pub(crate) fn private_room_key(couple: CoupleId, partner: AccountId) -> String {
    format!("private:{couple}:{partner}")
}
pub(crate) fn individual_room_key(client: AccountId) -> String {
    format!("individual:{client}")
}

fn body_context(id: MessageId, version: i32) -> String {
    format!("message:{id}:{version}")
}
fn attachment_context(id: MessageId) -> String {
    format!("attachment:{id}")
}

/// One member of a room as others see them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberView {
    pub id: AccountId,
    pub display_name: String,
    pub role: Role,
}

/// A room in the caller's list.
#[derive(Debug, Clone)]
pub struct RoomSummary {
    pub id: RoomId,
    pub kind: RoomKind,
    pub members: Vec<MemberView>,
    pub unread: u32,
    /// A short title from the caller's point of view.
    pub title: String,
    /// The oldest client message still waiting for the therapist's reply, and when that reply is due.
    pub waiting_since: Option<DateTime<Utc>>,
    pub reply_due: Option<DateTime<Utc>>,
}

/// What the caller needs to show a room.
#[derive(Debug, Clone)]
pub struct RoomView {
    pub summary: RoomSummary,
    pub messages: Vec<MessageView>,
    /// The caller's starred messages among those shown.
    pub starred: HashSet<MessageId>,
    pub first_unread: Option<MessageId>,
    /// For a private channel: the couple's policy, shown while writing.
    pub policy: Option<ConfidentialityPolicy>,
    /// For a client: when the therapist is expected to reply to what they sent.
    pub expected_reply_by: Option<DateTime<Utc>>,
    /// Whether older messages exist before the first one shown.
    pub has_older: bool,
}

/// An attachment being posted.
#[derive(Debug)]
pub struct AttachmentUpload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Recorded as a video (a WebM or MP4 holding video), rather than a voice message.
    pub video: bool,
}

impl App {
    /// Makes sure the rooms the account's care relationships call for exist, with the right
    /// members: an individual room with their therapist; for a couple whose care is agreed
    /// by both partners, the couple room and, once both agreed a policy, each partner's
    /// private channel. A partner's one-to-one room with the couple's therapist becomes
    /// their private channel, so nobody has two private rooms with one therapist. While no
    /// couple care is agreed, no therapist stays in the couple's rooms. When the therapist
    /// changed, the new one joins and the old one is removed. Idempotent.
    pub(crate) async fn sync_rooms_for(&self, account: AccountId) -> Result<(), AppError> {
        let now = self.now();
        let couple = self.store.couple_of(account).await?;
        let couple_team = match &couple {
            Some(c) => self.couple_care(c).await?,
            None => None,
        };
        if let Some(c) = &couple {
            let partners = [c.partner_a, c.partner_b];
            match &couple_team {
                Some(team) => {
                    let visible = if team.sees_history { None } else { Some(team.started_at) };
                    let room = self.ensure_room(RoomKind::Couple, couple_room_key(c.id), Some(c.id)).await?;
                    let wanted = [(c.partner_a, None), (c.partner_b, None), (team.therapist_id, visible)];
                    self.set_room_members(room.id, &wanted, now).await?;
                    let agreed = self.agreed_policy(c).await?.is_some();
                    for p in partners {
                        let existing = self.private_channel(c.id, p, team.therapist_id).await?;
                        if agreed {
                            let room = match existing {
                                Some(room) => room,
                                None => {
                                    self.ensure_room(RoomKind::PrivateChannel, private_room_key(c.id, p), Some(c.id))
                                        .await?
                                }
                            };
                            self.set_room_members(room.id, &[(p, None), (team.therapist_id, visible)], now).await?;
                        } else if let Some(room) = existing {
                            // Closed until both partners agree what the therapist may do with it.
                            self.set_room_members(room.id, &[(p, None)], now).await?;
                        }
                    }
                }
                None => {
                    // No couple care agreed (none chosen, or a new proposal waiting): earlier
                    // therapists leave the shared rooms; the partners keep their history.
                    let mut keys = vec![couple_room_key(c.id)];
                    keys.extend(partners.iter().map(|p| private_room_key(c.id, *p)));
                    for key in keys {
                        let Some(room) = self.store.room_by_key(&key).await? else { continue };
                        for m in self.store.room_members(room.id).await? {
                            if !partners.contains(&m.account_id) {
                                self.leave_room(room.id, m.account_id).await?;
                            }
                        }
                    }
                }
            }
        }
        if let Some(team) = self.store.active_care_of_client(account).await? {
            let couple_work = couple_team.as_ref().is_some_and(|t| t.id == team.id);
            if !couple_work {
                let visible = if team.sees_history { None } else { Some(team.started_at) };
                let room = self.ensure_room(RoomKind::Individual, individual_room_key(account), None).await?;
                self.set_room_members(room.id, &[(account, None), (team.therapist_id, visible)], now).await?;
            }
        }
        Ok(())
    }

    /// A partner's private channel in the couple's care with `therapist`, if there is one.
    /// Their one-to-one room with that therapist becomes it (history and members kept);
    /// beside an existing private channel, the therapist leaves the one-to-one room instead.
    async fn private_channel(
        &self,
        couple: CoupleId,
        partner: AccountId,
        therapist: AccountId,
    ) -> Result<Option<Room>, AppError> {
        let key = private_room_key(couple, partner);
        let private = self.store.room_by_key(&key).await?;
        let Some(solo) = self.store.room_by_key(&individual_room_key(partner)).await? else { return Ok(private) };
        if self.store.membership(solo.id, therapist).await?.is_none() {
            return Ok(private);
        }
        if private.is_some() {
            self.leave_room(solo.id, therapist).await?;
            return Ok(private);
        }
        match self.store.repurpose_room(solo.id, RoomKind::PrivateChannel, &key, Some(couple)).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(self.store.room_by_key(&key).await?)
    }

    async fn ensure_room(&self, kind: RoomKind, key: String, couple_id: Option<CoupleId>) -> Result<Room, AppError> {
        let room = Room { id: RoomId::new(), kind, key, couple_id, created_at: self.now() };
        Ok(self.store.ensure_room(&room).await?)
    }

    /// Adds the wanted members and removes anyone else, announcing each change.
    async fn set_room_members(
        &self,
        room: RoomId,
        wanted: &[(AccountId, Option<DateTime<Utc>>)],
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        for member in self.store.room_members(room).await? {
            if !wanted.iter().any(|(a, _)| *a == member.account_id) {
                self.leave_room(room, member.account_id).await?;
            }
        }
        for (account, visible_from) in wanted {
            if self.store.add_room_member(room, *account, now, *visible_from).await? {
                self.hub().forget_membership(room, *account);
                self.announce_membership(room, *account, "joined").await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn leave_room(&self, room: RoomId, account: AccountId) -> Result<(), AppError> {
        // End the membership first, then announce it: every instance forgets what it cached
        // about the membership when the announcement arrives, so none can keep a stale "member".
        // The one leaving still hears it: their connections leave the room with the event.
        if self.store.remove_room_member(room, account, self.now()).await? {
            self.hub().forget_membership(room, account);
            self.announce_membership(room, account, "left").await?;
        }
        Ok(())
    }

    async fn announce_membership(
        &self,
        room: RoomId,
        account: AccountId,
        change: &'static str,
    ) -> Result<(), AppError> {
        let event = NewRoomEvent {
            room_id: room,
            kind: "membership".into(),
            actor_id: account,
            message_id: None,
            payload: serde_json::json!({ "account_id": account, "change": change }).to_string(),
            created_at: self.now(),
        };
        let live = LiveEvent { id: 0, room_id: room, kind: LiveKind::Membership { account_id: account, change } };
        self.writer()?.submit(RoomWrite { message: None, event, audit: None }, live).await?;
        Ok(())
    }

    /// The caller's current membership of a room, or 404 for anyone else (they learn nothing).
    async fn member_of(&self, who: &Authenticated, room: RoomId) -> Result<rapport_store::RoomMember, AppError> {
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
        membership.ok_or(AppError::NotFound)
    }

    async fn member_views(&self, room: RoomId) -> Result<Vec<MemberView>, AppError> {
        let mut out = Vec::new();
        for m in self.store.room_members(room).await? {
            let account = self.store.account_by_id(m.account_id).await?;
            let display_name = if account.role == Role::Therapist {
                self.store
                    .therapist(account.id)
                    .await
                    .map(|t| t.professional_name)
                    .unwrap_or_else(|_| account.display_name.to_string())
            } else {
                account.display_name.to_string()
            };
            out.push(MemberView { id: account.id, display_name, role: account.role });
        }
        Ok(out)
    }

    async fn summary(
        &self,
        who: &Authenticated,
        room: &Room,
        unread: u32,
        waiting: Option<DateTime<Utc>>,
    ) -> Result<RoomSummary, AppError> {
        let me = who.account_id();
        let members = self.member_views(room.id).await?;
        let others: Vec<&str> =
            members.iter().filter(|m| m.id != me).map(|m| m.display_name.as_str()).collect::<Vec<_>>();
        let title = match room.kind {
            RoomKind::Individual if others.is_empty() => "Your earlier one-to-one room".to_owned(),
            RoomKind::Individual => others.join(" and "),
            RoomKind::Couple => format!("Together: {}", others.join(", ")),
            RoomKind::PrivateChannel if others.is_empty() => "Your private channel (closed for now)".to_owned(),
            RoomKind::PrivateChannel => format!("Private: {}", others.join(", ")),
        };
        let (waiting, reply_due) = match who.actor().role {
            Role::Therapist => match waiting {
                Some(since) => (Some(since), Some(self.reply_due(me, since).await?)),
                None => (None, None),
            },
            // A client sees when the therapist is expected to answer what is waiting.
            _ => match members.iter().find(|m| m.role == Role::Therapist) {
                Some(t) => match self.store.awaiting_reply(t.id).await?.get(&room.id).copied() {
                    Some(since) => (Some(since), Some(self.reply_due(t.id, since).await?)),
                    None => (None, None),
                },
                None => (None, None),
            },
        };
        Ok(RoomSummary { id: room.id, kind: room.kind, members, unread, title, waiting_since: waiting, reply_due })
    }

    async fn reply_due(&self, therapist: AccountId, since: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
        let prefs = self.store.notification_prefs(therapist).await?;
        let zone = match self.store.therapist(therapist).await {
            Ok(p) => p.time_zone,
            Err(_) => self.store.account_by_id(therapist).await?.time_zone,
        };
        Ok(reply_due_by(since, zone, prefs.reply_working_days))
    }

    /// The caller's rooms. Therapists see them ordered by who has waited longest for a reply.
    pub async fn my_rooms(&self, who: &Authenticated) -> Result<Vec<RoomSummary>, AppError> {
        let me = who.account_id();
        who.authorize(Action::ViewAccount(me))?;
        let rooms = self.store.rooms_of(me).await?;
        let unread = self.store.unread_counts(me).await?;
        let waiting =
            if who.actor().role == Role::Therapist { self.store.awaiting_reply(me).await? } else { HashMap::new() };
        let mut out = Vec::with_capacity(rooms.len());
        for room in &rooms {
            out.push(
                self.summary(who, room, unread.get(&room.id).copied().unwrap_or(0), waiting.get(&room.id).copied())
                    .await?,
            );
        }
        if who.actor().role == Role::Therapist {
            out.sort_by_key(|r| (r.waiting_since.is_none(), r.waiting_since));
        }
        Ok(out)
    }

    /// A page of a room's history, oldest first: after `after`, or before `before`, or the newest.
    pub async fn room_messages(
        &self,
        who: &Authenticated,
        room: RoomId,
        after: Option<MessageId>,
        before: Option<MessageId>,
        limit: u32,
        ctx: &RequestContext,
    ) -> Result<Vec<MessageView>, AppError> {
        let member = self.member_of(who, room).await?;
        let limit = limit.clamp(1, 200);
        let stored = match before {
            Some(b) => self.store.messages_before(room, member.visible_from, b, limit).await?,
            None => self.store.messages_page(room, member.visible_from, after, limit).await?,
        };
        if !stored.is_empty() {
            for other in self.store.room_members(room).await?.into_iter().filter(|m| m.account_id != who.account_id()) {
                self.audit(
                    Some(who.account_id()),
                    AuditAction::RoomHistoryRead,
                    Some(other.account_id),
                    "room",
                    Some(room.to_string()),
                    ctx,
                )
                .await?;
            }
        }
        self.open_messages(&stored).await
    }

    /// Everything needed to show a room page.
    pub async fn room_view(
        &self,
        who: &Authenticated,
        room: RoomId,
        before: Option<MessageId>,
        ctx: &RequestContext,
    ) -> Result<RoomView, AppError> {
        const PAGE: u32 = 50;
        let member = self.member_of(who, room).await?;
        let me = who.account_id();
        let stored = self.store.room(room).await?;
        let first_unread = self.store.first_unread(room, me).await?;
        // Open at the first unread message when there is one, so nothing is skipped.
        let messages = match (before, first_unread) {
            (Some(b), _) => self.room_messages(who, room, None, Some(b), PAGE, ctx).await?,
            (None, Some(first)) => {
                let mut older = self.room_messages(who, room, None, Some(first), 5, ctx).await?;
                // Continue from just before the first unread one, also when nothing precedes it
                // (no cursor would mean "the newest page" and skip unread messages).
                let from = older.last().map(|m| m.id).unwrap_or_else(|| {
                    MessageId::from_uuid(uuid::Uuid::from_u128(first.as_uuid().as_u128().saturating_sub(1)))
                });
                let newer = self.store.messages_page(room, member.visible_from, Some(from), PAGE).await?;
                older.extend(self.open_messages(&newer).await?);
                older
            }
            (None, None) => self.room_messages(who, room, None, None, PAGE, ctx).await?,
        };
        let has_older = match messages.first() {
            Some(m) => !self.store.messages_before(room, member.visible_from, m.id, 1).await?.is_empty(),
            None => false,
        };
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let starred = self.store.starred_among(me, &ids).await?.into_iter().collect();
        let unread = self.store.unread_counts(me).await?.get(&room).copied().unwrap_or(0);
        let waiting = if who.actor().role == Role::Therapist {
            self.store.awaiting_reply(me).await?.get(&room).copied()
        } else {
            None
        };
        let summary = self.summary(who, &stored, unread, waiting).await?;
        let policy = match (stored.kind, stored.couple_id) {
            (RoomKind::PrivateChannel, Some(c)) => {
                let couple = self.store.couple(c).await?;
                self.agreed_policy(&couple).await?
            }
            _ => None,
        };
        let expected_reply_by =
            if who.actor().role == Role::Client { self.expected_reply(room, me, &summary).await? } else { None };
        if let Some(last) = messages.last() {
            self.mark_read_upto(who, room, last.id).await?;
        }
        Ok(RoomView { summary, messages, starred, first_unread, policy, expected_reply_by, has_older })
    }

    /// When the therapist is expected to reply to the client's latest unanswered message.
    async fn expected_reply(
        &self,
        room: RoomId,
        me: AccountId,
        summary: &RoomSummary,
    ) -> Result<Option<DateTime<Utc>>, AppError> {
        let Some(therapist) = summary.members.iter().find(|m| m.role == Role::Therapist) else { return Ok(None) };
        let waiting = self.store.awaiting_reply(therapist.id).await?;
        match waiting.get(&room) {
            Some(since) => {
                let _ = me;
                Ok(Some(self.reply_due(therapist.id, *since).await?))
            }
            None => Ok(None),
        }
    }

    async fn open_messages(&self, stored: &[StoredMessage]) -> Result<Vec<MessageView>, AppError> {
        let mut names: HashMap<AccountId, String> = HashMap::new();
        let mut out = Vec::with_capacity(stored.len());
        for m in stored {
            let name = match names.get(&m.sender_id) {
                Some(n) => n.clone(),
                None => {
                    let n = self.sender_name(m.sender_id).await?;
                    names.insert(m.sender_id, n.clone());
                    n
                }
            };
            out.push(self.open_message(m, name).await?);
        }
        Ok(out)
    }

    /// The name a sender is shown by (a therapist's professional name), cached for a minute.
    pub(crate) async fn sender_name(&self, id: AccountId) -> Result<String, AppError> {
        if let Some(name) = self.hub().cached_name(id) {
            return Ok(name);
        }
        let name = self.load_sender_name(id).await?;
        self.hub().remember_name(id, name.clone());
        Ok(name)
    }

    async fn load_sender_name(&self, id: AccountId) -> Result<String, AppError> {
        let account = self.store.account_by_id(id).await?;
        if account.role == Role::Therapist {
            if let Ok(p) = self.store.therapist(id).await {
                return Ok(p.professional_name);
            }
        }
        Ok(account.display_name.to_string())
    }

    pub(crate) async fn open_message(&self, m: &StoredMessage, sender_name: String) -> Result<MessageView, AppError> {
        let body = if m.deleted_at.is_some() {
            String::new()
        } else {
            String::from_utf8(self.unseal(&m.body, &body_context(m.id, m.version)).await?)
                .map_err(|_| AppError::Internal("message text is not UTF-8".into()))?
        };
        Ok(MessageView {
            id: m.id,
            room_id: m.room_id,
            sender_id: m.sender_id,
            sender_name,
            body,
            created_at: m.created_at,
            version: m.version,
            edited_at: m.edited_at,
            deleted: m.deleted_at.is_some(),
            attachment: if m.deleted_at.is_some() { None } else { m.attachment.clone() },
        })
    }

    /// Posts a message. It is acknowledged only once durably committed.
    pub async fn post_message(
        &self,
        who: &Authenticated,
        room: RoomId,
        body: &str,
        attachment: Option<AttachmentUpload>,
        ctx: &RequestContext,
    ) -> Result<MessageView, AppError> {
        self.queue_message(who, room, body, attachment, ctx).await?.await
    }

    /// Like [`Self::post_message`], but returns once the message is queued for the
    /// writer, with what waits for its commit: a realtime connection queues a sender's
    /// next messages meanwhile. Messages queued one after another are committed in
    /// that order.
    pub async fn queue_message(
        &self,
        who: &Authenticated,
        room: RoomId,
        body: &str,
        attachment: Option<AttachmentUpload>,
        ctx: &RequestContext,
    ) -> Result<impl Future<Output = Result<MessageView, AppError>> + Send + 'static, AppError> {
        let body = match &attachment {
            Some(_) => MessageBody::parse_caption(body),
            None => MessageBody::parse(body),
        }
        .map_err(|e| FieldErrors::single("body", e.to_string()))?;
        // Membership is checked after validation, so refusals never depend on the input.
        self.member_of(who, room).await?;
        let name = self.display_name_of(who).await;
        self.queue_as(who.account_id(), name, room, body, attachment, ctx).await
    }

    /// Posts a message from a room member (checked by the caller).
    pub(crate) async fn post_as(
        &self,
        me: AccountId,
        sender_name: String,
        room: RoomId,
        body: MessageBody,
        attachment: Option<AttachmentUpload>,
        ctx: &RequestContext,
    ) -> Result<MessageView, AppError> {
        self.queue_as(me, sender_name, room, body, attachment, ctx).await?.await
    }

    /// Queues a room member's message for the writer; the returned future waits for
    /// its commit, then schedules the other members' emails.
    async fn queue_as(
        &self,
        me: AccountId,
        sender_name: String,
        room: RoomId,
        body: MessageBody,
        attachment: Option<AttachmentUpload>,
        ctx: &RequestContext,
    ) -> Result<impl Future<Output = Result<MessageView, AppError>> + Send + 'static, AppError> {
        let (write, live, view) = self.message_write(me, sender_name, room, body, attachment, ctx)?;
        let committed = self.writer()?.enqueue(write, live).await?;
        let app = self.clone();
        Ok(async move {
            committed.await?;
            app.schedule_message_emails(room, me, view.id).await?;
            Ok(view)
        })
    }

    /// A new message, sealed, as the writer stores it and as members see it.
    fn message_write(
        &self,
        me: AccountId,
        sender_name: String,
        room: RoomId,
        body: MessageBody,
        attachment: Option<AttachmentUpload>,
        ctx: &RequestContext,
    ) -> Result<(RoomWrite, LiveEvent, MessageView), AppError> {
        let id = MessageId::new();
        let now = self.now();
        let vault = self.vault()?;
        let (meta, attachment_bytes) = match attachment {
            None => (None, None),
            Some(upload) => {
                let Some((kind, content_type)) = sniff_attachment(&upload.bytes, upload.video) else {
                    return Err(FieldErrors::single(
                        "attachment",
                        "That file type can't be attached. Voice and video messages, pictures (PNG, JPEG, WebP, GIF) and PDFs can.",
                    )
                    .into());
                };
                if upload.bytes.len() > kind.max_bytes() {
                    return Err(FieldErrors::single("attachment", too_big(kind)).into());
                }
                let fallback = match kind {
                    AttachmentKind::Audio => "voice-message",
                    AttachmentKind::Video => "video-message",
                    AttachmentKind::Image => "picture",
                    AttachmentKind::Pdf => "document.pdf",
                };
                let meta = AttachmentMeta {
                    kind,
                    content_type: content_type.to_owned(),
                    file_name: safe_file_name(&upload.file_name, fallback),
                    size: upload.bytes.len() as u64,
                };
                (Some(meta), Some(vault.seal(&upload.bytes, &attachment_context(id))?))
            }
        };
        let message = StoredMessage {
            id,
            room_id: room,
            sender_id: me,
            created_at: now,
            body: vault.seal(body.as_str().as_bytes(), &body_context(id, 1))?,
            version: 1,
            edited_at: None,
            deleted_at: None,
            attachment: meta.clone(),
        };
        let view = MessageView {
            id,
            room_id: room,
            sender_id: me,
            sender_name,
            body: body.as_str().to_owned(),
            created_at: now,
            version: 1,
            edited_at: None,
            deleted: false,
            attachment: meta,
        };
        let write = RoomWrite {
            message: Some(NewMessage { message, attachment_bytes }),
            event: NewRoomEvent {
                room_id: room,
                kind: "message".into(),
                actor_id: me,
                message_id: Some(id),
                payload: "{}".into(),
                created_at: now,
            },
            audit: Some(self.audit_event(me, AuditAction::MessagePosted, me, "message", id.to_string(), ctx)),
        };
        let live = LiveEvent { id: 0, room_id: room, kind: LiveKind::Message(view.clone()) };
        Ok((write, live, view))
    }

    async fn display_name_of(&self, who: &Authenticated) -> String {
        if who.actor().role == Role::Therapist {
            if let Ok(name) = self.sender_name(who.account_id()).await {
                return name;
            }
        }
        who.account().display_name.to_string()
    }

    fn audit_event(
        &self,
        actor: AccountId,
        action: AuditAction,
        subject: AccountId,
        kind: &str,
        record: String,
        ctx: &RequestContext,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::new(),
            at: self.now(),
            actor_id: Some(actor),
            action,
            subject_id: Some(subject),
            record_kind: kind.to_owned(),
            record_id: Some(record),
            ip: ctx.ip.map(|ip| ip.to_string()),
        }
    }

    /// Corrects the caller's own message; the earlier version is kept and the change is visible.
    pub async fn correct_message(
        &self,
        who: &Authenticated,
        id: MessageId,
        body: &str,
        ctx: &RequestContext,
    ) -> Result<MessageView, AppError> {
        let body = MessageBody::parse(body).map_err(|e| FieldErrors::single("body", e.to_string()))?;
        let (stored, _) = self.own_message(who, id).await?;
        let now = self.now();
        let version = stored.version + 1;
        let sealed = self.vault()?.seal(body.as_str().as_bytes(), &body_context(id, version))?;
        let event = self.updated_event(&stored, who.account_id());
        let audit = self.audit_event(
            who.account_id(),
            AuditAction::MessageEdited,
            who.account_id(),
            "message",
            id.to_string(),
            ctx,
        );
        let event_id = match self.store.correct_message(id, stored.version, &sealed, now, &event, &audit).await {
            Err(StoreError::NotFound) => {
                return Err(AppError::Conflict {
                    field: "body",
                    message: "This message changed meanwhile. Please reload and try again.",
                })
            }
            other => other?,
        };
        let updated = self.store.message(id).await?;
        let view = self.open_message(&updated, self.display_name_of(who).await).await?;
        self.deliver_committed(vec![LiveEvent {
            id: event_id,
            room_id: stored.room_id,
            kind: LiveKind::MessageUpdated(view.clone()),
        }])
        .await;
        Ok(view)
    }

    /// Deletes the caller's own message, leaving a visible tombstone.
    pub async fn delete_message(
        &self,
        who: &Authenticated,
        id: MessageId,
        ctx: &RequestContext,
    ) -> Result<MessageView, AppError> {
        let (stored, _) = self.own_message(who, id).await?;
        let empty = self.vault()?.seal(b"", &format!("message:{id}:deleted"))?;
        let event = self.updated_event(&stored, who.account_id());
        let audit = self.audit_event(
            who.account_id(),
            AuditAction::MessageDeleted,
            who.account_id(),
            "message",
            id.to_string(),
            ctx,
        );
        let event_id = match self.store.delete_message(id, self.now(), &empty, &event, &audit).await {
            Err(StoreError::NotFound) => return Err(AppError::NotFound),
            other => other?,
        };
        let updated = self.store.message(id).await?;
        let view = self.open_message(&updated, self.display_name_of(who).await).await?;
        self.deliver_committed(vec![LiveEvent {
            id: event_id,
            room_id: stored.room_id,
            kind: LiveKind::MessageUpdated(view.clone()),
        }])
        .await;
        Ok(view)
    }

    fn updated_event(&self, m: &StoredMessage, actor: AccountId) -> NewRoomEvent {
        NewRoomEvent {
            room_id: m.room_id,
            kind: "message_updated".into(),
            actor_id: actor,
            message_id: Some(m.id),
            payload: "{}".into(),
            created_at: self.now(),
        }
    }

    /// A message the caller sent, in a room they are still in.
    async fn own_message(
        &self,
        who: &Authenticated,
        id: MessageId,
    ) -> Result<(StoredMessage, rapport_store::RoomMember), AppError> {
        let stored = self.store.message(id).await?;
        let member = self.member_of(who, stored.room_id).await?;
        if stored.sender_id != who.account_id() {
            return Err(AppError::Forbidden);
        }
        if stored.deleted_at.is_some() {
            return Err(AppError::Gone("This message was deleted."));
        }
        Ok((stored, member))
    }

    /// One message as the caller sees it now (for the pages that correct, delete or explain it).
    pub async fn message_view(&self, who: &Authenticated, id: MessageId) -> Result<MessageView, AppError> {
        let stored = self.store.message(id).await?;
        let member = self.member_of(who, stored.room_id).await?;
        if member.visible_from.is_some_and(|from| stored.created_at < from) {
            return Err(AppError::NotFound);
        }
        let name = self.sender_name(stored.sender_id).await?;
        self.open_message(&stored, name).await
    }

    /// Earlier versions of a message the caller can see, oldest first, as (version, text, replaced at).
    pub async fn message_history(
        &self,
        who: &Authenticated,
        id: MessageId,
    ) -> Result<Vec<(i32, String, DateTime<Utc>)>, AppError> {
        let stored = self.store.message(id).await?;
        let member = self.member_of(who, stored.room_id).await?;
        if member.visible_from.is_some_and(|from| stored.created_at < from) {
            return Err(AppError::NotFound);
        }
        let mut out = Vec::new();
        for v in self.store.message_versions(id).await? {
            let text = String::from_utf8(self.unseal(&v.body, &body_context(id, v.version)).await?)
                .map_err(|_| AppError::Internal("message text is not UTF-8".into()))?;
            out.push((v.version, text, v.replaced_at));
        }
        Ok(out)
    }

    /// Marks messages up to `message` as read by the caller and tells the room.
    pub async fn mark_read_upto(&self, who: &Authenticated, room: RoomId, message: MessageId) -> Result<(), AppError> {
        self.member_of(who, room).await?;
        let me = who.account_id();
        if self.store.mark_read(room, me, message).await? {
            let event = NewRoomEvent {
                room_id: room,
                kind: "read".into(),
                actor_id: me,
                message_id: Some(message),
                payload: "{}".into(),
                created_at: self.now(),
            };
            let live = LiveEvent { id: 0, room_id: room, kind: LiveKind::Read { account_id: me, message_id: message } };
            self.writer()?.submit(RoomWrite { message: None, event, audit: None }, live).await?;
        }
        Ok(())
    }

    /// Stars or unstars a message for the caller.
    pub async fn set_star(&self, who: &Authenticated, id: MessageId, starred: bool) -> Result<(), AppError> {
        let stored = self.store.message(id).await?;
        self.member_of(who, stored.room_id).await?;
        if starred {
            self.store.star_message(who.account_id(), id, self.now()).await?;
        } else {
            self.store.unstar_message(who.account_id(), id).await?;
        }
        Ok(())
    }

    /// An attachment's bytes for a room member, with what to serve it as.
    pub async fn attachment(
        &self,
        who: &Authenticated,
        id: MessageId,
        ctx: &RequestContext,
    ) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
        let stored = self.store.message(id).await?;
        let member = self.member_of(who, stored.room_id).await?;
        if member.visible_from.is_some_and(|from| stored.created_at < from) || stored.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        let meta = stored.attachment.clone().ok_or(AppError::NotFound)?;
        let sealed: Sealed = self.store.attachment_bytes(id).await?;
        let bytes = self.unseal(&sealed, &attachment_context(id)).await?;
        if stored.sender_id != who.account_id() {
            self.audit(
                Some(who.account_id()),
                AuditAction::AttachmentRead,
                Some(stored.sender_id),
                "attachment",
                Some(id.to_string()),
                ctx,
            )
            .await?;
        }
        Ok((meta, bytes))
    }

    /// The rooms the caller may receive live events for (used by realtime connections).
    pub async fn my_room_ids(&self, who: &Authenticated) -> Result<Vec<RoomId>, AppError> {
        Ok(self.store.rooms_of(who.account_id()).await?.into_iter().map(|r| r.id).collect())
    }

    /// Whether the caller is in the room (for typing indicators).
    pub async fn is_member(&self, who: &Authenticated, room: RoomId) -> Result<bool, AppError> {
        Ok(self.store.membership(room, who.account_id()).await?.is_some())
    }
}

fn too_big(kind: AttachmentKind) -> String {
    let mb = kind.max_bytes() / (1024 * 1024);
    let what = match kind {
        AttachmentKind::Audio => "Voice messages",
        AttachmentKind::Video => "Video messages",
        AttachmentKind::Image => "Pictures",
        AttachmentKind::Pdf => "PDFs",
    };
    format!("{what} can be up to {mb} MB.")
}
