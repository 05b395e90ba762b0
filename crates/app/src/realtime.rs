//! Realtime: the group-commit writer that makes room writes durable many at a
//! time, and the hub that fans committed events out to connected clients in
//! event-id order (filling any gap from the database, so a client that resumes
//! from the last id it saw misses nothing and gets nothing twice).

use crate::{App, AppError};
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, MessageId, RoomId};
use rapport_store::{AttachmentMeta, RoomEvent, RoomWrite, StoreError};
use serde::ser::SerializeStruct;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Events queued for one connection before it counts as too slow and is dropped.
pub const CONNECTION_QUEUE: usize = 256;

/// A message as members see it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub id: MessageId,
    pub room_id: RoomId,
    pub sender_id: AccountId,
    pub sender_name: String,
    /// Empty for a deleted message.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub version: i32,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub attachment: Option<AttachmentMeta>,
}

impl Serialize for MessageView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Attachment<'a> {
            kind: &'static str,
            content_type: &'a str,
            file_name: &'a str,
            size: u64,
            url: String,
        }
        let mut st = s.serialize_struct("Message", 10)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("room_id", &self.room_id)?;
        st.serialize_field("sender_id", &self.sender_id)?;
        st.serialize_field("sender_name", &self.sender_name)?;
        st.serialize_field("body", &self.body)?;
        st.serialize_field("created_at", &self.created_at)?;
        st.serialize_field("version", &self.version)?;
        st.serialize_field("edited_at", &self.edited_at)?;
        st.serialize_field("deleted", &self.deleted)?;
        st.serialize_field(
            "attachment",
            &self.attachment.as_ref().map(|a| Attachment {
                kind: a.kind.as_str(),
                content_type: &a.content_type,
                file_name: &a.file_name,
                size: a.size,
                url: format!("/api/v1/messages/{}/attachment", self.id),
            }),
        )?;
        st.end()
    }
}

/// What happened in a room.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveKind {
    Message(MessageView),
    MessageUpdated(MessageView),
    Read {
        account_id: AccountId,
        message_id: MessageId,
    },
    /// Someone joined or left. A member who joined without the earlier history sees
    /// messages created from `visible_from` on (not sent to clients).
    Membership {
        account_id: AccountId,
        change: &'static str,
        visible_from: Option<DateTime<Utc>>,
    },
    Typing {
        account_id: AccountId,
        display_name: String,
    },
}

/// One event for connected clients. `id` is the durable event id (for typing,
/// which is not stored, the id of the latest durable event, so resuming from it
/// skips nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub id: i64,
    pub room_id: RoomId,
    pub kind: LiveKind,
}

impl LiveEvent {
    /// The JSON text frame sent to clients.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        enum Out<'a> {
            Message { id: i64, room_id: RoomId, message: &'a MessageView },
            MessageUpdated { id: i64, room_id: RoomId, message: &'a MessageView },
            Read { id: i64, room_id: RoomId, account_id: AccountId, message_id: MessageId },
            Membership { id: i64, room_id: RoomId, account_id: AccountId, change: &'a str },
            Typing { id: i64, room_id: RoomId, account_id: AccountId, display_name: &'a str },
        }
        let (id, room_id) = (self.id, self.room_id);
        let out = match &self.kind {
            LiveKind::Message(message) => Out::Message { id, room_id, message },
            LiveKind::MessageUpdated(message) => Out::MessageUpdated { id, room_id, message },
            LiveKind::Read { account_id, message_id } => {
                Out::Read { id, room_id, account_id: *account_id, message_id: *message_id }
            }
            LiveKind::Membership { account_id, change, .. } => {
                Out::Membership { id, room_id, account_id: *account_id, change }
            }
            LiveKind::Typing { account_id, display_name } => {
                Out::Typing { id, room_id, account_id: *account_id, display_name }
            }
        };
        serde_json::to_string(&out).unwrap_or_default()
    }
}

/// A serialised event, shared by every connection it goes to.
#[derive(Debug)]
pub struct Frame {
    pub id: i64,
    /// False for typing indicators, which are not stored and carry no new id.
    pub durable: bool,
    pub json: Box<str>,
}

struct Subscriber {
    conn: u64,
    account: AccountId,
    tx: mpsc::Sender<Arc<Frame>>,
}

/// A connection's place in one room: messages created before `visible_from`
/// (a member who joined without the earlier history) never reach it, not
/// even as corrections or deletions.
struct Seat {
    sub: Arc<Subscriber>,
    visible_from: Option<DateTime<Utc>>,
}

impl Seat {
    fn sees(&self, kind: &LiveKind) -> bool {
        in_members_history(self.visible_from, kind)
    }
}

/// Whether a member whose history starts at `visible_from` is told about this event:
/// never about a message from before it, not even its correction or deletion.
fn in_members_history(visible_from: Option<DateTime<Utc>>, kind: &LiveKind) -> bool {
    match kind {
        LiveKind::Message(m) | LiveKind::MessageUpdated(m) => {
            rapport_domain::room::in_history(visible_from, m.created_at)
        }
        _ => true,
    }
}

#[derive(Default)]
struct HubState {
    rooms: HashMap<RoomId, Vec<Seat>>,
    accounts: HashMap<AccountId, Vec<Arc<Subscriber>>>,
}

impl HubState {
    fn drop_conn(&mut self, conn: u64, account: AccountId) {
        if let Some(list) = self.accounts.get_mut(&account) {
            list.retain(|s| s.conn != conn);
            if list.is_empty() {
                self.accounts.remove(&account);
            }
        }
        self.rooms.retain(|_, seats| {
            seats.retain(|s| s.sub.conn != conn);
            !seats.is_empty()
        });
    }
}

/// Room memberships recently read, so posting does not read the database each time.
/// Entries for a room member are dropped when their membership changes (the change
/// is an event every instance delivers), and expire after [`MEMBERSHIP_TTL`] anyway.
type MembershipCache = HashMap<(RoomId, AccountId), (std::time::Instant, Option<rapport_store::RoomMember>)>;
const MEMBERSHIP_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Connected clients by room and by account, on this instance.
#[derive(Default)]
pub struct Hub {
    memberships: Mutex<MembershipCache>,
    names: Mutex<HashMap<AccountId, (std::time::Instant, String)>>,
    state: Mutex<HubState>,
    next_conn: AtomicU64,
    /// The id the next delivered durable event must have; guards order and gaps.
    sequence: tokio::sync::Mutex<Option<i64>>,
    delivered: AtomicU64,
}

/// A connection's stream of events; leaving it unsubscribes.
pub struct Subscription {
    pub rx: mpsc::Receiver<Arc<Frame>>,
    conn: u64,
    account: AccountId,
    hub: Arc<Hub>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut st = self.hub.state.lock().expect("hub lock");
        st.drop_conn(self.conn, self.account);
    }
}

impl Hub {
    /// Connections currently subscribed.
    pub fn connections(&self) -> usize {
        self.state.lock().expect("hub lock").accounts.values().map(Vec::len).sum()
    }

    /// Events handed to connections since start.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub(crate) fn cached_membership(
        &self,
        room: RoomId,
        account: AccountId,
    ) -> Option<Option<rapport_store::RoomMember>> {
        let cache = self.memberships.lock().expect("hub lock");
        cache.get(&(room, account)).filter(|(at, _)| at.elapsed() < MEMBERSHIP_TTL).map(|(_, m)| m.clone())
    }

    pub(crate) fn remember_membership(
        &self,
        room: RoomId,
        account: AccountId,
        member: Option<rapport_store::RoomMember>,
    ) {
        let mut cache = self.memberships.lock().expect("hub lock");
        if cache.len() > 200_000 {
            cache.clear();
        }
        cache.insert((room, account), (std::time::Instant::now(), member));
    }

    pub(crate) fn cached_name(&self, id: AccountId) -> Option<String> {
        let names = self.names.lock().expect("hub lock");
        names.get(&id).filter(|(at, _)| at.elapsed() < std::time::Duration::from_secs(60)).map(|(_, n)| n.clone())
    }

    pub(crate) fn remember_name(&self, id: AccountId, name: String) {
        let mut names = self.names.lock().expect("hub lock");
        if names.len() > 100_000 {
            names.clear();
        }
        names.insert(id, (std::time::Instant::now(), name));
    }

    pub(crate) fn forget_membership(&self, room: RoomId, account: AccountId) {
        self.memberships.lock().expect("hub lock").remove(&(room, account));
    }

    /// Subscribes a connection to its rooms, each with the moment its history starts.
    fn subscribe(self: &Arc<Self>, account: AccountId, rooms: &[(RoomId, Option<DateTime<Utc>>)]) -> Subscription {
        let (tx, rx) = mpsc::channel(CONNECTION_QUEUE);
        let conn = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let sub = Arc::new(Subscriber { conn, account, tx });
        let mut st = self.state.lock().expect("hub lock");
        st.accounts.entry(account).or_default().push(sub.clone());
        for (room, visible_from) in rooms {
            st.rooms.entry(*room).or_default().push(Seat { sub: sub.clone(), visible_from: *visible_from });
        }
        Subscription { rx, conn, account, hub: self.clone() }
    }

    /// Hands events to every subscribed member, in order. A connection whose queue is
    /// full is dropped (it reconnects and resumes) rather than allowed to grow memory.
    fn fan_out(&self, events: &[LiveEvent]) {
        for event in events {
            if let LiveKind::Membership { account_id, .. } = &event.kind {
                self.forget_membership(event.room_id, *account_id);
            }
        }
        let mut st = self.state.lock().expect("hub lock");
        let mut slow: Vec<(u64, AccountId)> = Vec::new();
        let mut count = 0u64;
        for event in events {
            if let LiveKind::Membership { account_id, change: "joined", visible_from } = &event.kind {
                let subs = st.accounts.get(account_id).cloned().unwrap_or_default();
                let room = st.rooms.entry(event.room_id).or_default();
                for s in subs {
                    if !room.iter().any(|r| r.sub.conn == s.conn) {
                        room.push(Seat { sub: s, visible_from: *visible_from });
                    }
                }
            }
            if let Some(seats) = st.rooms.get(&event.room_id) {
                let durable = !matches!(event.kind, LiveKind::Typing { .. });
                let frame = Arc::new(Frame { id: event.id, durable, json: event.to_json().into_boxed_str() });
                for seat in seats.iter().filter(|seat| seat.sees(&event.kind)) {
                    match seat.sub.tx.try_send(frame.clone()) {
                        Ok(()) => count += 1,
                        Err(_) => slow.push((seat.sub.conn, seat.sub.account)),
                    }
                }
            }
            if let LiveKind::Membership { account_id, change: "left", .. } = &event.kind {
                if let Some(room) = st.rooms.get_mut(&event.room_id) {
                    room.retain(|s| s.sub.account != *account_id);
                }
            }
        }
        for (conn, account) in slow {
            st.drop_conn(conn, account);
        }
        self.delivered.fetch_add(count, Ordering::Relaxed);
    }
}

struct Pending {
    write: RoomWrite,
    live: LiveEvent,
    done: Answer,
}

/// Commits room writes in groups: whatever arrived while the previous commit was
/// running goes into the next transaction, so one fsync covers many messages.
#[derive(Clone)]
pub struct RoomWriter {
    tx: mpsc::Sender<Pending>,
}

impl RoomWriter {
    /// Queues a write and waits until it is committed; returns its event id.
    pub(crate) async fn submit(&self, write: RoomWrite, live: LiveEvent) -> Result<i64, AppError> {
        self.enqueue(write, live).await?.await
    }

    /// Queues a write (writes are committed in the order they are queued) and returns
    /// what waits for its commit, so a caller can queue more before that.
    pub(crate) async fn enqueue(
        &self,
        write: RoomWrite,
        live: LiveEvent,
    ) -> Result<impl std::future::Future<Output = Result<i64, AppError>> + Send + 'static, AppError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { write, live, done })
            .await
            .map_err(|_| AppError::Internal("the message writer has stopped".into()))?;
        Ok(async move { wait.await.map_err(|_| AppError::Internal("the message writer has stopped".into()))? })
    }
}

async fn run_writer(app: App, mut rx: mpsc::Receiver<Pending>, syncer: Option<mpsc::Sender<Settled>>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Move the writes out (they hold sealed bytes: no copies on the hot path).
        let mut writes = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for p in batch.drain(..) {
            writes.push(p.write);
            waiting.push((p.live, p.done));
        }
        let mut settled = Settled { answers: Vec::with_capacity(writes.len()), committed: Vec::new() };
        match app.store.commit_room_writes(&writes).await {
            Ok(ids) => {
                for ((mut live, done), id) in waiting.into_iter().zip(ids) {
                    live.id = id;
                    settled.committed.push(live);
                    settled.answers.push((done, Ok(id)));
                }
            }
            Err(e) if writes.len() > 1 => {
                // One bad write must not sink the others: commit them one by one.
                tracing::warn!(error = %e, size = writes.len(), "a group commit failed; retrying its writes singly");
                for (write, (mut live, done)) in writes.iter().zip(waiting) {
                    match app.store.commit_room_writes(std::slice::from_ref(write)).await {
                        Ok(ids) => {
                            live.id = ids[0];
                            settled.committed.push(live);
                            settled.answers.push((done, Ok(ids[0])));
                        }
                        Err(e) => settled.answers.push((done, Err(e.into()))),
                    }
                }
            }
            Err(e) => {
                for (_, done) in waiting {
                    settled.answers.push((done, Err(AppError::from(clone_err(&e)))));
                }
            }
        }
        match &syncer {
            // Made durable beside the next batch; answered and delivered after that.
            Some(syncer) => {
                if let Err(unsent) = syncer.send(settled).await {
                    let synced = app.store.sync_room_writes().await;
                    unsent.0.finish(&app, synced.as_ref().map(|_| ())).await;
                }
            }
            None => settled.finish(&app, Ok(())).await,
        }
    }
}

/// Where a write's sender waits for its event id.
type Answer = oneshot::Sender<Result<i64, AppError>>;

/// A committed batch waiting for its answers and deliveries.
struct Settled {
    answers: Vec<(Answer, Result<i64, AppError>)>,
    committed: Vec<LiveEvent>,
}

impl Settled {
    /// Answers the senders and delivers the events. `durable` is the sync's outcome: if
    /// it failed, senders hear so (the writes are committed, but not known to be on disk).
    async fn finish(self, app: &App, durable: Result<(), &StoreError>) {
        for (done, answer) in self.answers {
            let answer = match (&durable, answer) {
                (Err(e), Ok(_)) => Err(AppError::from(clone_err(e))),
                (_, answer) => answer,
            };
            let _ = done.send(answer);
        }
        if let Some(last) = self.committed.last().map(|e| e.id) {
            app.deliver_committed(self.committed).await;
            if let Err(e) = app.store.announce_events(last).await {
                tracing::warn!(error = %e, "could not tell other instances about new events");
            }
        }
    }
}

/// Syncs committed batches to disk, several at a time, while the writer commits the
/// next ones: one sync covers every batch committed before it started. Batches are
/// answered and delivered in commit order.
async fn run_syncer(app: App, mut rx: mpsc::Receiver<Settled>) {
    let mut ready = Vec::new();
    while rx.recv_many(&mut ready, 64).await > 0 {
        let synced = app.store.sync_room_writes().await;
        if let Err(e) = &synced {
            tracing::error!(error = %e, "could not make committed messages durable");
        }
        for settled in ready.drain(..) {
            settled.finish(&app, synced.as_ref().map(|_| ())).await;
        }
    }
}

fn clone_err(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(c) => StoreError::Conflict(c),
        StoreError::Corrupt(c) => StoreError::Corrupt(c.clone()),
        StoreError::Unavailable(inner) => StoreError::Unavailable(inner.to_string().into()),
    }
}

impl App {
    /// Starts the group-commit writer and, on a database shared by several instances, the
    /// listener that delivers other instances' events here. Call once, inside the runtime.
    pub async fn start_realtime(&self) -> Result<(), AppError> {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        if self.realtime.writer.set(RoomWriter { tx }).is_err() {
            return Ok(());
        }
        *self.realtime.hub.sequence.lock().await = Some(self.store.latest_event_id().await? + 1);
        let syncer = if self.store.room_writes_need_sync() {
            let (sync_tx, sync_rx) = mpsc::channel(64);
            tokio::spawn(run_syncer(self.clone(), sync_rx));
            Some(sync_tx)
        } else {
            None
        };
        tokio::spawn(run_writer(self.clone(), rx, syncer));
        self.watch_session_endings();
        if let Some(mut feed) = self.store.listen_events().await? {
            let app = self.clone();
            tokio::spawn(async move {
                while let Some(last) = feed.recv().await {
                    let last = if last < 0 { app.store.latest_event_id().await.unwrap_or(0) } else { last };
                    app.deliver_up_to(last).await;
                }
            });
        }
        Ok(())
    }

    pub(crate) fn writer(&self) -> Result<&RoomWriter, AppError> {
        self.realtime.writer.get().ok_or_else(|| AppError::Internal("realtime is not started".into()))
    }

    /// This instance's hub (for metrics and connections).
    pub fn hub(&self) -> &Arc<Hub> {
        &self.realtime.hub
    }

    /// Delivers events committed here, after any earlier ones not yet delivered.
    pub(crate) async fn deliver_committed(&self, mut events: Vec<LiveEvent>) {
        events.sort_by_key(|e| e.id);
        let mut next = self.realtime.hub.sequence.lock().await;
        let Some(expected) = *next else { return };
        let Some(first) = events.first().map(|e| e.id) else { return };
        let last = events.last().map(|e| e.id).unwrap_or(first);
        if last < expected {
            return; // already delivered from the database
        }
        if first > expected {
            self.fill_from_store(expected - 1, first - 1).await;
        }
        events.retain(|e| e.id >= expected);
        self.realtime.hub.fan_out(&events);
        *next = Some(last + 1);
    }

    /// Delivers every event up to `last` that this instance has not delivered yet
    /// (events another instance committed).
    pub(crate) async fn deliver_up_to(&self, last: i64) {
        let mut next = self.realtime.hub.sequence.lock().await;
        let Some(expected) = *next else { return };
        if last >= expected {
            // Advance only past events actually read: an id announced by mistake (say, by
            // another deployment on the same channel) must not make us skip our own.
            if let Some(found) = self.fill_from_store(expected - 1, last).await {
                *next = Some(found + 1);
            }
        }
    }

    /// Delivers logged events in `(after, upto]`; returns the highest id read, if any.
    async fn fill_from_store(&self, after: i64, upto: i64) -> Option<i64> {
        match self.store.events_between(after, upto).await {
            Ok(stored) => {
                let highest = stored.last().map(|e| e.id);
                let mut live = Vec::with_capacity(stored.len());
                for e in &stored {
                    match self.live_from_stored(e).await {
                        Ok(Some(l)) => live.push(l),
                        Ok(None) => {}
                        Err(err) => tracing::error!(error = %err, event = e.id, "could not load an event for delivery"),
                    }
                }
                self.realtime.hub.fan_out(&live);
                highest
            }
            Err(err) => {
                tracing::error!(error = %err, "could not load events for delivery");
                None
            }
        }
    }

    /// Rebuilds a live event from the log (for resume and for other instances' events).
    pub(crate) async fn live_from_stored(&self, e: &RoomEvent) -> Result<Option<LiveEvent>, AppError> {
        let kind = match e.kind.as_str() {
            "message" | "message_updated" => {
                let Some(id) = e.message_id else { return Ok(None) };
                let m = self.store.message(id).await?;
                let view = self.open_message(&m, self.sender_name(m.sender_id).await?).await?;
                if e.kind == "message" {
                    LiveKind::Message(view)
                } else {
                    LiveKind::MessageUpdated(view)
                }
            }
            "read" => match e.message_id {
                Some(message_id) => LiveKind::Read { account_id: e.actor_id, message_id },
                None => return Ok(None),
            },
            "membership" => {
                let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
                let change = if payload["change"] == "left" { "left" } else { "joined" };
                let visible_from = payload["visible_from"].as_str().and_then(|t| t.parse().ok());
                LiveKind::Membership { account_id: e.actor_id, change, visible_from }
            }
            _ => return Ok(None),
        };
        Ok(Some(LiveEvent { id: e.id, room_id: e.room_id, kind }))
    }

    /// Subscribes a signed-in connection to its rooms' events, then returns the events
    /// it missed after `after` (oldest first). Live events that arrive meanwhile wait in
    /// the subscription; skip those with an id already sent.
    pub async fn connect_events(
        &self,
        who: &crate::Authenticated,
        after: Option<i64>,
    ) -> Result<(Subscription, Vec<LiveEvent>), AppError> {
        let mut visible_from = HashMap::new();
        for room in self.my_room_ids(who).await? {
            if let Some(m) = self.store.membership(room, who.account_id()).await? {
                visible_from.insert(room, m.visible_from);
            }
        }
        let seats: Vec<_> = visible_from.iter().map(|(room, from)| (*room, *from)).collect();
        let sub = self.realtime.hub.subscribe(who.account_id(), &seats);
        let mut missed = Vec::new();
        if let Some(mut cursor) = after {
            loop {
                let page = self.store.events_after(who.account_id(), cursor, 500).await?;
                let full = page.len() == 500;
                for e in &page {
                    cursor = e.id;
                    // A member who joined without the earlier history sees messages from their start.
                    if visible_from.get(&e.room_id).copied().flatten().is_some_and(|from| e.created_at < from) {
                        continue;
                    }
                    // Nor corrections or deletions of messages from before it.
                    if let Some(live) = self.live_from_stored(e).await? {
                        if in_members_history(visible_from.get(&e.room_id).copied().flatten(), &live.kind) {
                            missed.push(live);
                        }
                    }
                }
                if !full || missed.len() > 5000 {
                    break;
                }
            }
        }
        Ok((sub, missed))
    }

    /// Tells a room's other members on this instance that the caller is typing.
    pub async fn typing(&self, who: &crate::Authenticated, room: RoomId, name: String) -> Result<(), AppError> {
        if !self.is_member(who, room).await? {
            return Err(AppError::NotFound);
        }
        let id = self.realtime.hub.sequence.lock().await.map_or(0, |n| n - 1);
        let event = LiveEvent {
            id,
            room_id: room,
            kind: LiveKind::Typing { account_id: who.account_id(), display_name: name },
        };
        self.realtime.hub.fan_out(std::slice::from_ref(&event));
        Ok(())
    }
}

/// The realtime parts of the app, shared by its clones.
#[derive(Default)]
pub(crate) struct Realtime {
    pub(crate) writer: std::sync::OnceLock<RoomWriter>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) endings: crate::session_endings::SessionEndings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_event(room: RoomId, id: i64) -> LiveEvent {
        LiveEvent {
            id,
            room_id: room,
            kind: LiveKind::Read { account_id: AccountId::new(), message_id: MessageId::new() },
        }
    }

    #[tokio::test]
    async fn members_get_their_rooms_events_and_nobody_elses() {
        let hub = Arc::new(Hub::default());
        let (mine, other) = (RoomId::new(), RoomId::new());
        let mut sub = hub.subscribe(AccountId::new(), &[(mine, None)]);
        hub.fan_out(&[read_event(other, 1), read_event(mine, 2)]);
        assert_eq!(sub.rx.recv().await.unwrap().id, 2);
        assert!(sub.rx.try_recv().is_err(), "nothing from a room they are not in");
    }

    #[tokio::test]
    async fn a_consumer_that_falls_behind_is_dropped_not_buffered() {
        let hub = Arc::new(Hub::default());
        let room = RoomId::new();
        let mut slow = hub.subscribe(AccountId::new(), &[(room, None)]);
        let mut fast = hub.subscribe(AccountId::new(), &[(room, None)]);
        for id in 1..=CONNECTION_QUEUE as i64 {
            hub.fan_out(&[read_event(room, id)]);
            assert_eq!(fast.rx.recv().await.unwrap().id, id);
        }
        assert_eq!(hub.connections(), 2);
        hub.fan_out(&[read_event(room, CONNECTION_QUEUE as i64 + 1)]);
        assert_eq!(hub.connections(), 1, "the slow connection was let go");
        let mut drained = 0;
        while slow.rx.recv().await.is_some() {
            drained += 1;
        }
        assert_eq!(drained, CONNECTION_QUEUE, "it holds at most its queue, then its stream ends");
        assert_eq!(fast.rx.recv().await.unwrap().id, CONNECTION_QUEUE as i64 + 1);
    }

    fn updated_message(room: RoomId, id: i64, created_at: DateTime<Utc>) -> LiveEvent {
        let view = MessageView {
            id: MessageId::new(),
            room_id: room,
            sender_id: AccountId::new(),
            sender_name: "Sam".into(),
            body: "corrected".into(),
            created_at,
            version: 2,
            edited_at: Some(created_at),
            deleted: false,
            attachment: None,
        };
        LiveEvent { id, room_id: room, kind: LiveKind::MessageUpdated(view) }
    }

    #[tokio::test]
    async fn a_member_without_the_history_hears_nothing_about_older_messages() {
        let hub = Arc::new(Hub::default());
        let (room, newcomer, old_hand) = (RoomId::new(), AccountId::new(), AccountId::new());
        let start = Utc::now();
        let mut joined_late = hub.subscribe(newcomer, &[]);
        let mut there_before = hub.subscribe(old_hand, &[(room, None)]);
        let join = LiveEvent {
            id: 1,
            room_id: room,
            kind: LiveKind::Membership { account_id: newcomer, change: "joined", visible_from: Some(start) },
        };
        let old = updated_message(room, 2, start - chrono::Duration::days(3));
        let new = updated_message(room, 3, start + chrono::Duration::seconds(1));
        hub.fan_out(&[join, old, new]);
        assert_eq!(joined_late.rx.recv().await.unwrap().id, 1);
        assert_eq!(joined_late.rx.recv().await.unwrap().id, 3, "the correction of an older message is not sent");
        assert!(joined_late.rx.try_recv().is_err());
        for id in 1..=3 {
            assert_eq!(there_before.rx.recv().await.unwrap().id, id, "a member with the history hears everything");
        }
        // Subscribed with a start: the same.
        let mut resubscribed = hub.subscribe(newcomer, &[(room, Some(start))]);
        hub.fan_out(&[updated_message(room, 4, start - chrono::Duration::days(1)), read_event(room, 5)]);
        assert_eq!(resubscribed.rx.recv().await.unwrap().id, 5);
    }

    #[tokio::test]
    async fn joining_and_leaving_a_room_moves_a_members_connections() {
        let hub = Arc::new(Hub::default());
        let (room, who) = (RoomId::new(), AccountId::new());
        let mut sub = hub.subscribe(who, &[]);
        let join = LiveEvent {
            id: 1,
            room_id: room,
            kind: LiveKind::Membership { account_id: who, change: "joined", visible_from: None },
        };
        hub.fan_out(&[join, read_event(room, 2)]);
        assert_eq!(sub.rx.recv().await.unwrap().id, 1, "hears that they joined");
        assert_eq!(sub.rx.recv().await.unwrap().id, 2);
        let leave = LiveEvent {
            id: 3,
            room_id: room,
            kind: LiveKind::Membership { account_id: who, change: "left", visible_from: None },
        };
        hub.fan_out(&[leave, read_event(room, 4)]);
        assert_eq!(sub.rx.recv().await.unwrap().id, 3, "hears that they left");
        assert!(sub.rx.try_recv().is_err(), "and nothing after");
    }

    #[test]
    fn events_serialise_to_the_documented_shape() {
        let room = RoomId::new();
        let v: serde_json::Value = serde_json::from_str(&read_event(room, 7).to_json()).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["type"], "read");
        assert_eq!(v["room_id"], room.to_string());
        assert!(v["message_id"].is_string());
    }
}
