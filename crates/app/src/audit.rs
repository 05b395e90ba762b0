//! Writing and reading the audit log.

use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use rapport_domain::{AccountId, Action, AuditAction, AuditEventId};
use rapport_store::{AuditEvent, StoreError};
use std::collections::HashMap;

/// An audit event with the name of who acted, for showing to the subject.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub event: AuditEvent,
    /// `None` when nobody was signed in (e.g. a failed sign-in attempt).
    pub actor_name: Option<String>,
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

    /// "Who accessed my data": the events about the caller's own records,
    /// newest first, paged by the id of the last event seen.
    pub async fn my_audit_trail(
        &self,
        who: &Authenticated,
        before: Option<AuditEventId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, AppError> {
        let me = who.account_id();
        who.authorize(Action::ViewAuditTrail(me))?;
        let events = self.store.audit_for_subject(me, before, limit.clamp(1, 200)).await?;
        let mut names: HashMap<AccountId, String> = HashMap::new();
        let mut entries = Vec::with_capacity(events.len());
        for event in events {
            let actor_name = match event.actor_id {
                None => None,
                Some(id) if id == me => Some("You".to_owned()),
                Some(id) => Some(match names.get(&id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = match self.store.account_by_id(id).await {
                            Ok(a) => a.display_name.to_string(),
                            Err(StoreError::NotFound) => "A former account".to_owned(),
                            Err(e) => return Err(e.into()),
                        };
                        names.insert(id, name.clone());
                        name
                    }
                }),
            };
            entries.push(AuditEntry { event, actor_name });
        }
        Ok(entries)
    }
}
