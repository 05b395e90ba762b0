//! Message rooms: created from care relationships, and everything people do in
//! them. A message is a clinical record: corrections keep earlier versions and
//! deletions leave a tombstone; both are audit-logged.

use crate::realtime::{LiveEvent, LiveKind, MessageView};
use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use chrono::{DateTime, Utc};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::room::{
    attachment_file_name, reply_due_by, sniff_attachment, AttachmentKind, MessageBody, RoomKind,
};
use rapport_domain::{AccountId, AuditAction, AuditEventId, CoupleId, FieldErrors, MessageId, Role, RoomId};
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
    /// A short title from the caller's point of view, never the same as another of their rooms'.
    pub title: String,
    /// The oldest client message still waiting for the therapist's reply, and when that reply is due.
    pub waiting_since: Option<DateTime<Utc>>,
    pub reply_due: Option<DateTime<Utc>>,
    /// The newest message the caller can see there (filled in for the list of rooms).
    pub last_message: Option<LastMessage>,
}

/// The newest message in a room, as the list of rooms shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub id: MessageId,
    /// A short plain-text excerpt: the text, what was attached, or that it was deleted.
    pub preview: String,
    pub at: DateTime<Utc>,
    pub sender_id: AccountId,
    pub sender_name: String,
}

/// Longest excerpt of a message in the list of rooms, in characters (before the ellipsis).
const PREVIEW_CHARS: usize = 80;

/// A short plain-text excerpt of a message: its text on one line, cut at a word near
/// [`PREVIEW_CHARS`]; what kind of file is attached; or that it was deleted.
fn preview_of(m: &MessageView) -> String {
    if m.deleted {
        return "Message deleted".to_owned();
    }
    let text = m.body.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = match text.char_indices().nth(PREVIEW_CHARS) {
        None => text,
        Some((cut, _)) => {
            let head = &text[..cut];
            // Cut at the last space when there is one in the second half, so words stay whole.
            let head = match head.rfind(' ') {
                Some(space) if space > cut / 2 => &head[..space],
                _ => head,
            };
            format!("{}…", head.trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation()))
        }
    };
    let label = m.attachment.as_ref().map(|a| match a.kind {
        AttachmentKind::Audio => "Voice message",
        AttachmentKind::Video => "Video message",
        AttachmentKind::Image => "Picture",
        AttachmentKind::Pdf => "File",
    });
    match label {
        Some(label) if text.is_empty() => label.to_owned(),
        Some(label) => format!("{label}: {text}"),
        None => text,
    }
}

/// What a room is called from one person's side, before any two titles that are the same are told apart.
fn room_title(
    room: &Room,
    viewer: Role,
    others: &[String],
    therapist: Option<&str>,
    couple: Option<&(String, String)>,
    me_in_couple: Option<bool>,
) -> String {
    let couple_names = couple.map(|(a, b)| match me_in_couple {
        // `Some(true)`: the viewer is the first partner.
        Some(true) => format!("You & {b}"),
        Some(false) => format!("You & {a}"),
        None => format!("{a} & {b}"),
    });
    let listed = if others.is_empty() { None } else { Some(others.join(" and ")) };
    match (room.kind, viewer) {
        // A client whose therapist has left the room keeps their history in it.
        (RoomKind::Individual, _) => listed.unwrap_or_else(|| "Your earlier one-to-one room".to_owned()),
        (RoomKind::Couple, Role::Therapist) => couple_names.or(listed).unwrap_or_else(|| "Couple room".to_owned()),
        (RoomKind::Couple, _) => match (couple_names, therapist) {
            (Some(names), Some(t)) => format!("{names}, with {t}"),
            (Some(names), None) => names,
            (None, _) => listed.unwrap_or_else(|| "Couple room".to_owned()),
        },
        (RoomKind::PrivateChannel, Role::Therapist) => {
            let partner = listed.unwrap_or_else(|| "a partner".to_owned());
            match couple_names {
                Some(names) => format!("Private: {partner} ({names})"),
                None => format!("Private: {partner}"),
            }
        }
        (RoomKind::PrivateChannel, _) => match therapist {
            Some(t) => format!("Private with {t}"),
            None => "Your private channel (closed for now)".to_owned(),
        },
    }
}

/// Tells apart rooms whose titles would be the same (two clients or couples with the same
/// names): first by the day the room began, in the viewer's time zone, then by number.
fn distinct_titles(titles: &mut [(RoomId, DateTime<Utc>, String)], zone: rapport_domain::TimeZone) {
    for pass in 0..2 {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (_, _, title) in titles.iter() {
            *seen.entry(title.clone()).or_default() += 1;
        }
        let mut numbered: HashMap<String, usize> = HashMap::new();
        for (_, began, title) in titles.iter_mut() {
            if seen[title.as_str()] < 2 {
                continue;
            }
            if pass == 0 {
                *title = format!("{title} (since {})", began.with_timezone(&zone.tz()).format("%-d %b %Y"));
            } else {
                let n = numbered.entry(title.clone()).or_default();
                *n += 1;
                *title = format!("{title} #{n}");
            }
        }
    }
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
                self.announce_membership(room, *account, "joined", *visible_from).await?;
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
            self.announce_membership(room, account, "left", None).await?;
        }
        Ok(())
    }

    async fn announce_membership(
        &self,
        room: RoomId,
        account: AccountId,
        change: &'static str,
        visible_from: Option<DateTime<Utc>>,
    ) -> Result<(), AppError> {
        let event = NewRoomEvent {
            room_id: room,
            kind: "membership".into(),
            actor_id: account,
            message_id: None,
            payload: serde_json::json!({ "account_id": account, "change": change, "visible_from": visible_from })
                .to_string(),
            created_at: self.now(),
        };
        let live = LiveEvent {
            id: 0,
            room_id: room,
            kind: LiveKind::Membership { account_id: account, change, visible_from },
        };
        self.writer()?.submit(RoomWrite { message: None, event, audit: None }, live).await?;
        Ok(())
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

    /// Every one of the caller's rooms' titles, from their side, no two alike.
    async fn room_titles(&self, who: &Authenticated, rooms: &[Room]) -> Result<HashMap<RoomId, String>, AppError> {
        let me = who.account_id();
        let viewer = who.actor().role;
        let mut members: HashMap<RoomId, Vec<AccountId>> = HashMap::new();
        for m in self.store.members_of_rooms_of(me).await? {
            members.entry(m.room_id).or_default().push(m.account_id);
        }
        let mut couples: HashMap<CoupleId, (AccountId, AccountId)> = HashMap::new();
        let mut titles = Vec::with_capacity(rooms.len());
        for room in rooms {
            let ids = members.get(&room.id).map(Vec::as_slice).unwrap_or_default();
            let couple = match room.couple_id {
                Some(c) if room.kind != RoomKind::Individual => match couples.get(&c) {
                    Some(pair) => Some(*pair),
                    None => {
                        let couple = self.store.couple(c).await?;
                        couples.insert(c, (couple.partner_a, couple.partner_b));
                        Some((couple.partner_a, couple.partner_b))
                    }
                },
                _ => None,
            };
            let mut others = Vec::new();
            let mut therapist = None;
            for id in ids.iter().copied().filter(|id| *id != me) {
                let name = self.sender_name(id).await?;
                // In couple rooms the partners are named as the couple, so "others" is the therapist;
                // in a private channel, from the therapist's side, it is the partner.
                if couple.is_some_and(|(a, b)| id != a && id != b) {
                    therapist = Some(name.clone());
                    if room.kind == RoomKind::Couple {
                        continue;
                    }
                }
                others.push(name);
            }
            let couple_names = match couple {
                Some((a, b)) => Some((self.sender_name(a).await?, self.sender_name(b).await?)),
                None => None,
            };
            let me_in_couple = couple.and_then(|(a, b)| {
                if a == me {
                    Some(true)
                } else if b == me {
                    Some(false)
                } else {
                    None
                }
            });
            let title = room_title(room, viewer, &others, therapist.as_deref(), couple_names.as_ref(), me_in_couple);
            titles.push((room.id, room.created_at, title));
        }
        distinct_titles(&mut titles, who.account().time_zone);
        Ok(titles.into_iter().map(|(id, _, title)| (id, title)).collect())
    }

    async fn summary(
        &self,
        who: &Authenticated,
        room: &Room,
        title: String,
        unread: u32,
        waiting: Option<DateTime<Utc>>,
    ) -> Result<RoomSummary, AppError> {
        let me = who.account_id();
        let members = self.member_views(room.id).await?;
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
        Ok(RoomSummary {
            id: room.id,
            kind: room.kind,
            members,
            unread,
            title,
            waiting_since: waiting,
            reply_due,
            last_message: None,
        })
    }

    /// The current time, for showing times relative to it ("today", "this week").
    pub fn current_time(&self) -> DateTime<Utc> {
        self.now()
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
        let rooms = self.store.rooms_of(me).await?;
        let unread = self.store.unread_counts(me).await?;
        let waiting =
            if who.actor().role == Role::Therapist { self.store.awaiting_reply(me).await? } else { HashMap::new() };
        let mut titles = self.room_titles(who, &rooms).await?;
        let mut latest = self.store.latest_messages(me).await?;
        let mut out = Vec::with_capacity(rooms.len());
        for room in &rooms {
            let title = titles.remove(&room.id).unwrap_or_default();
            let mut summary = self
                .summary(who, room, title, unread.get(&room.id).copied().unwrap_or(0), waiting.get(&room.id).copied())
                .await?;
            if let Some(m) = latest.remove(&room.id) {
                // A preview that cannot be opened (a key this instance lacks) leaves the list usable.
                match self.open_message(&m, self.sender_name(m.sender_id).await?).await {
                    Ok(view) => {
                        summary.last_message = Some(LastMessage {
                            id: view.id,
                            preview: preview_of(&view),
                            at: view.created_at,
                            sender_id: view.sender_id,
                            sender_name: view.sender_name,
                        })
                    }
                    Err(AppError::Internal(cause)) => {
                        tracing::error!(%cause, "a room's last message could not be opened")
                    }
                    Err(e) => return Err(e),
                }
            }
            out.push(summary);
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
        let access = self.room_access(who, room).await?;
        let limit = limit.clamp(1, 200);
        let stored = match before {
            Some(b) => self.store.messages_before(room, access.visible_from(), b, limit).await?,
            None => self.store.messages_page(room, access.visible_from(), after, limit).await?,
        };
        if !stored.is_empty() {
            for other in self.store.room_members(room).await?.into_iter().filter(|m| m.account_id != who.account_id()) {
                self.audit_read(
                    who.account_id(),
                    AuditAction::RoomHistoryRead,
                    other.account_id,
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
        let access = self.room_access(who, room).await?;
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
                let newer = self.store.messages_page(room, access.visible_from(), Some(from), PAGE).await?;
                older.extend(self.open_messages(&newer).await?);
                older
            }
            (None, None) => self.room_messages(who, room, None, None, PAGE, ctx).await?,
        };
        let has_older = match messages.first() {
            Some(m) => !self.store.messages_before(room, access.visible_from(), m.id, 1).await?.is_empty(),
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
        // The title as the list of rooms shows it, so it is told apart from the caller's other rooms.
        let title = self.room_titles(who, &self.store.rooms_of(me).await?).await?.remove(&room).unwrap_or_default();
        let summary = self.summary(who, &stored, title, unread, waiting).await?;
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
        self.room_access(who, room).await?;
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
                    file_name: attachment_file_name(&upload.file_name, fallback, content_type),
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
        let stored = self.own_message(who, id).await?;
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
        let stored = self.own_message(who, id).await?;
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

    /// A message the caller sent, in a room they are still in, not yet deleted.
    async fn own_message(&self, who: &Authenticated, id: MessageId) -> Result<StoredMessage, AppError> {
        let (access, stored) = self.readable_message(who, id).await?;
        if !access.owns(&stored) {
            return Err(AppError::Forbidden);
        }
        if stored.deleted_at.is_some() {
            return Err(AppError::Gone("This message was deleted."));
        }
        Ok(stored)
    }

    /// One message as the caller sees it now (for the pages that correct, delete or explain it).
    pub async fn message_view(&self, who: &Authenticated, id: MessageId) -> Result<MessageView, AppError> {
        let (_, stored) = self.readable_message(who, id).await?;
        let name = self.sender_name(stored.sender_id).await?;
        self.open_message(&stored, name).await
    }

    /// Earlier versions of a message the caller can see, oldest first, as (version, text, replaced at).
    /// A deleted message's earlier words are gone with it.
    pub async fn message_history(
        &self,
        who: &Authenticated,
        id: MessageId,
    ) -> Result<Vec<(i32, String, DateTime<Utc>)>, AppError> {
        let (_, stored) = self.readable_message(who, id).await?;
        if stored.deleted_at.is_some() {
            return Err(AppError::Gone("This message was deleted, with its earlier versions."));
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
        self.room_access(who, room).await?;
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
        self.readable_message(who, id).await?;
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
        let (_, stored) = self.readable_message(who, id).await?;
        if stored.deleted_at.is_some() {
            return Err(AppError::NotFound);
        }
        let meta = stored.attachment.clone().ok_or(AppError::NotFound)?;
        let sealed: Sealed = self.store.attachment_bytes(id).await?;
        let bytes = self.unseal(&sealed, &attachment_context(id)).await?;
        self.audit_read(
            who.account_id(),
            AuditAction::AttachmentRead,
            stored.sender_id,
            "attachment",
            Some(id.to_string()),
            ctx,
        )
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn view(body: &str) -> MessageView {
        MessageView {
            id: MessageId::new(),
            room_id: RoomId::new(),
            sender_id: AccountId::new(),
            sender_name: "Riley".into(),
            body: body.into(),
            created_at: Utc::now(),
            version: 1,
            edited_at: None,
            deleted: false,
            attachment: None,
        }
    }

    fn with_attachment(body: &str, kind: AttachmentKind) -> MessageView {
        let mut m = view(body);
        m.attachment = Some(AttachmentMeta {
            kind,
            content_type: "application/octet-stream".into(),
            file_name: "f".into(),
            size: 1,
        });
        m
    }

    #[test]
    fn previews_are_short_plain_and_say_what_was_sent() {
        assert_eq!(preview_of(&view("  See you\n\non   Monday ")), "See you on Monday");
        let long = "word ".repeat(40);
        let cut = preview_of(&view(&long));
        assert!(cut.ends_with("word…") && cut.chars().count() <= PREVIEW_CHARS + 1, "{cut}");
        let unbroken = "x".repeat(200);
        assert_eq!(preview_of(&view(&unbroken)).chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(preview_of(&with_attachment("", AttachmentKind::Audio)), "Voice message");
        assert_eq!(preview_of(&with_attachment("", AttachmentKind::Video)), "Video message");
        assert_eq!(preview_of(&with_attachment("", AttachmentKind::Pdf)), "File");
        assert_eq!(preview_of(&with_attachment("our plan", AttachmentKind::Image)), "Picture: our plan");
        let mut gone = with_attachment("secret", AttachmentKind::Pdf);
        gone.deleted = true;
        assert_eq!(preview_of(&gone), "Message deleted");
    }

    fn room(kind: RoomKind) -> Room {
        Room { id: RoomId::new(), kind, key: String::new(), couple_id: None, created_at: Utc::now() }
    }

    #[test]
    fn titles_name_the_people_from_the_viewers_side() {
        let couple = ("Riley".to_owned(), "Sam".to_owned());
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t = |kind, viewer, others: &[&str], therapist, me| {
            room_title(&room(kind), viewer, &names(others), therapist, Some(&couple), me)
        };
        assert_eq!(t(RoomKind::Couple, Role::Therapist, &["Riley", "Sam"], None, None), "Riley & Sam");
        assert_eq!(t(RoomKind::Couple, Role::Client, &["Sam"], Some("Dr. X"), Some(true)), "You & Sam, with Dr. X");
        assert_eq!(
            t(RoomKind::Couple, Role::Client, &["Riley"], Some("Dr. X"), Some(false)),
            "You & Riley, with Dr. X"
        );
        assert_eq!(
            t(RoomKind::PrivateChannel, Role::Therapist, &["Riley"], None, None),
            "Private: Riley (Riley & Sam)"
        );
        assert_eq!(
            t(RoomKind::PrivateChannel, Role::Client, &["Dr. X"], Some("Dr. X"), Some(true)),
            "Private with Dr. X"
        );
        let one = room_title(&room(RoomKind::Individual), Role::Client, &names(&["Dr. X"]), None, None, None);
        assert_eq!(one, "Dr. X");
    }

    #[test]
    fn titles_that_would_match_are_told_apart() {
        let day = |d| Utc.with_ymd_and_hms(2026, 3, d, 23, 30, 0).unwrap();
        let mut titles = vec![
            (RoomId::new(), day(2), "Riley & Sam".to_owned()),
            (RoomId::new(), day(9), "Riley & Sam".to_owned()),
            (RoomId::new(), day(9), "Riley & Sam".to_owned()),
            (RoomId::new(), day(2), "Alex".to_owned()),
        ];
        distinct_titles(&mut titles, rapport_domain::TimeZone::parse("Europe/Paris").unwrap());
        let shown: Vec<&str> = titles.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(
            shown,
            [
                "Riley & Sam (since 3 Mar 2026)",
                "Riley & Sam (since 10 Mar 2026) #1",
                "Riley & Sam (since 10 Mar 2026) #2",
                "Alex"
            ]
        );
    }
}
