//! Writing and reading the audit log.

use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use chrono::{DateTime, Timelike, Utc};
use rapport_domain::room::RoomKind;
use rapport_domain::{AccountId, AuditAction, AuditEventId, Role, RoomId};
use rapport_store::{AuditEvent, StoreError};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// An audit event as its subject sees it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The event; its `ip` is kept only for what the viewer did themselves, so a
    /// partner or a therapist never reveals where they were.
    pub event: AuditEvent,
    /// `None` when nobody was signed in (e.g. a failed sign-in attempt).
    pub actor_name: Option<String>,
    /// What happened, in plain words for the viewer.
    pub description: String,
}

/// Reads of someone's data by someone else are written at most once per
/// reader, record and this long (and shown coalesced to the hour).
pub(crate) const READ_COALESCING: Duration = Duration::from_secs(60 * 60);

/// Recently written reads: (reader, action, subject, record) → written.
pub(crate) type RecentReads = moka::sync::Cache<(AccountId, AuditAction, AccountId, Option<String>), ()>;

pub(crate) fn recent_reads() -> RecentReads {
    moka::sync::Cache::builder().max_capacity(100_000).time_to_live(READ_COALESCING).build()
}

/// A read of one's own data is not an access by someone else.
fn is_read(action: AuditAction) -> bool {
    matches!(action, AuditAction::IntakeRead | AuditAction::RoomHistoryRead | AuditAction::AttachmentRead)
}

impl App {
    /// Appends one event. Every write of someone's data and every read of
    /// someone's health data goes through here.
    pub(crate) async fn audit(
        &self,
        actor: Option<AccountId>,
        action: AuditAction,
        subject: Option<AccountId>,
        record_kind: &str,
        record_id: Option<String>,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let event = AuditEvent {
            id: AuditEventId::new(),
            at: self.now(),
            actor_id: actor,
            action,
            subject_id: subject,
            record_kind: record_kind.to_owned(),
            record_id,
            ip: ctx.ip.map(|ip| ip.to_string()),
        };
        self.store.append_audit(&event).await?;
        Ok(())
    }

    /// Records that `reader` read `subject`'s data, unless this instance wrote the
    /// same read within the last hour. Reading one's own data is not recorded.
    pub(crate) async fn audit_read(
        &self,
        reader: AccountId,
        action: AuditAction,
        subject: AccountId,
        record_kind: &str,
        record_id: Option<String>,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        if reader == subject {
            return Ok(());
        }
        let key = (reader, action, subject, record_id.clone());
        if self.recent_reads.contains_key(&key) {
            return Ok(());
        }
        self.audit(Some(reader), action, Some(subject), record_kind, record_id, ctx).await?;
        self.recent_reads.insert(key, ());
        Ok(())
    }

    /// "Who accessed my data": the events about the caller's own records,
    /// newest first, paged by the id of the last event seen. Reads by the same
    /// person of the same record within one hour show once.
    pub async fn my_audit_trail(
        &self,
        who: &Authenticated,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, AppError> {
        let me = who.account_id();
        let events = self.store.audit_for_subject(me, before, limit.clamp(1, 200)).await?;
        let mut names: HashMap<AccountId, String> = HashMap::new();
        let mut seen_reads: HashSet<(AccountId, AuditAction, Option<String>, DateTime<Utc>)> = HashSet::new();
        let mut room_kinds: HashMap<RoomId, Option<RoomKind>> = HashMap::new();
        let mut entries = Vec::with_capacity(events.len());
        for mut event in events {
            if is_read(event.action) {
                let Some(reader) = event.actor_id.filter(|a| *a != me) else { continue };
                let hour = event.at.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(event.at);
                if !seen_reads.insert((reader, event.action, event.record_id.clone(), hour)) {
                    continue;
                }
            }
            if event.actor_id != Some(me) {
                event.ip = None;
            }
            let actor_name = match event.actor_id {
                None => None,
                Some(id) if id == me => Some("You".to_owned()),
                Some(id) => Some(match names.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = self.public_name(id).await?;
                        names.insert(id, name.clone());
                        name
                    }
                }),
            };
            let description = self.describe_for_subject(&event, actor_name.as_deref(), &mut room_kinds).await?;
            entries.push(AuditEntry { event, actor_name, description });
        }
        Ok(entries)
    }

    /// The name someone goes by on Rapport: a therapist's professional name, else their display name.
    async fn public_name(&self, id: AccountId) -> Result<String, AppError> {
        let account = match self.store.account_by_id(id).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Ok("A former account".to_owned()),
            Err(e) => return Err(e.into()),
        };
        if account.role == Role::Therapist {
            match self.store.therapist(id).await {
                Ok(p) => return Ok(p.professional_name),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(account.display_name.to_string())
    }

    /// Plain words for what someone else did with the viewer's data; the action's own words otherwise.
    async fn describe_for_subject(
        &self,
        event: &AuditEvent,
        actor: Option<&str>,
        room_kinds: &mut HashMap<RoomId, Option<RoomKind>>,
    ) -> Result<String, AppError> {
        let (Some(actor), true) = (actor.filter(|a| *a != "You"), is_read(event.action)) else {
            return Ok(event.action.describe().to_owned());
        };
        let words = match event.action {
            AuditAction::IntakeRead => format!("{actor} read your intake answers"),
            AuditAction::AttachmentRead => format!("{actor} opened a file you sent"),
            _ => {
                let kind = match event.record_id.as_deref().and_then(|r| r.parse::<RoomId>().ok()) {
                    Some(room) => match room_kinds.get(&room) {
                        Some(kind) => *kind,
                        None => {
                            let kind = match self.store.room(room).await {
                                Ok(r) => Some(r.kind),
                                Err(StoreError::NotFound) => None,
                                Err(e) => return Err(e.into()),
                            };
                            room_kinds.insert(room, kind);
                            kind
                        }
                    },
                    None => None,
                };
                let place = match kind {
                    Some(RoomKind::Couple) => "in the couple room",
                    Some(RoomKind::PrivateChannel) => "in your private channel",
                    Some(RoomKind::Individual) => "in your one-to-one room",
                    None => "in a room",
                };
                format!("{actor} read your messages {place}")
            }
        };
        Ok(words)
    }
}
