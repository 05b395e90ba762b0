//! Signing in and out, sessions, and the sign-in throttle.

use crate::{password_reset, passwords, App, AppError, RequestContext, SessionToken};
use chrono::{DateTime, Utc};
use rapport_domain::{access, AccountId, Action, Actor, AuditAction, Email, SessionId};
use rapport_store::{Account, Session, SessionKind, StoreError};
use std::time::Duration;

/// Proof that a request carries a valid session. Only [`App::authenticate`]
/// makes one, so a handler holding it has passed authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    actor: Actor,
    account: Account,
    session_id: SessionId,
    session_expires_at: DateTime<Utc>,
}

impl Authenticated {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn account_id(&self) -> AccountId {
        self.actor.account_id
    }
    /// The signed-in account as it was when the request was authenticated.
    pub fn account(&self) -> &Account {
        &self.account
    }
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }
    pub fn session_expires_at(&self) -> DateTime<Utc> {
        self.session_expires_at
    }

    /// Asks the access policy; every use case goes through here.
    pub(crate) fn authorize(&self, action: Action) -> Result<(), AppError> {
        if access::decide(&self.actor, action).is_allowed() {
            Ok(())
        } else {
            tracing::info!(?action, "access denied");
            Err(AppError::Forbidden)
        }
    }
}

/// The result of a successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub token: SessionToken,
    pub session: Session,
    pub account: Account,
}

/// Activity is written back at most this often, to keep reads cheap.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(30);

fn since(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero())
}

impl App {
    /// Signs in with email and password. Unknown emails and wrong passwords
    /// get the same answer in the same time.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        kind: SessionKind,
        ctx: &RequestContext,
    ) -> Result<SignedIn, AppError> {
        let email_key = format!("email:{}", email.trim().to_lowercase());
        let ip_key = ctx.ip.map(|ip| format!("ip:{ip}"));
        let account = match Email::parse(email) {
            Ok(e) => match self.store.account_by_email(&e).await {
                Ok(a) => Some(a),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };

        // One account's failures lock that account only; an address is throttled
        // only when it fails far more often, across accounts.
        let limits = [
            Some((&email_key, self.config.sign_in_max_failures, self.config.sign_in_window)),
            ip_key.as_ref().map(|k| (k, self.config.sign_in_ip_max_failures, self.config.sign_in_ip_window)),
        ];
        for (key, max, window) in limits.into_iter().flatten() {
            if let Some(retry_after) = self.throttled(key, max, window).await? {
                self.audit_sign_in_failure(account.as_ref(), ctx).await?;
                return Err(AppError::TooManyAttempts { retry_after });
            }
        }

        let stored = account.as_ref().map(|a| a.password_hash.clone());
        if !passwords::verify(password.to_owned(), stored).await? {
            let now = self.now();
            self.store.record_sign_in_failure(&email_key, now).await?;
            if let Some(ip_key) = &ip_key {
                self.store.record_sign_in_failure(ip_key, now).await?;
            }
            self.audit_sign_in_failure(account.as_ref(), ctx).await?;
            return Err(AppError::InvalidCredentials);
        }
        let account = account.ok_or(AppError::InvalidCredentials)?;
        self.store.clear_sign_in_failures(&email_key).await?;
        let (token, session) = self.open_session(&account, kind, ctx).await?;
        self.audit(
            Some(account.id),
            AuditAction::SignedIn,
            Some(account.id),
            "session",
            Some(session.id.to_string()),
            ctx,
        )
        .await?;
        Ok(SignedIn { token, session, account })
    }

    async fn audit_sign_in_failure(&self, account: Option<&Account>, ctx: &RequestContext) -> Result<(), AppError> {
        let subject = account.map(|a| a.id);
        self.audit(None, AuditAction::SignInFailed, subject, "account", subject.map(|s| s.to_string()), ctx).await
    }

    /// `Some(wait)` when `key` has used up its `max` attempts in `window`.
    pub(crate) async fn throttled(&self, key: &str, max: u32, window: Duration) -> Result<Option<Duration>, AppError> {
        let now = self.now();
        let (failures, oldest) = self.store.sign_in_failures_since(key, since(now, window)).await?;
        if failures < u64::from(max) {
            return Ok(None);
        }
        let reopens = oldest.unwrap_or(now) + chrono::Duration::from_std(window).unwrap_or_default();
        let wait = (reopens - now).to_std().unwrap_or_default().max(Duration::from_secs(1));
        Ok(Some(wait))
    }

    pub(crate) async fn open_session(
        &self,
        account: &Account,
        kind: SessionKind,
        ctx: &RequestContext,
    ) -> Result<(SessionToken, Session), AppError> {
        let now = self.now();
        let token = SessionToken::generate();
        let lifetime = chrono::Duration::from_std(self.config.session_lifetime).unwrap_or_default();
        let session = Session {
            id: SessionId::new(),
            account_id: account.id,
            token_hash: token.hash(),
            kind,
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetime,
            ip: ctx.ip.map(|ip| ip.to_string()),
            user_agent: ctx.user_agent.as_ref().map(|ua| ua.chars().take(300).collect()),
            revoked_at: None,
        };
        self.store.insert_session(&session).await?;
        Ok((token, session))
    }

    /// Checks a presented token: it must exist, not be revoked, and be
    /// within both the idle timeout and the absolute lifetime.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::Unauthenticated);
        }
        let hash = SessionToken::from_client(token).hash();
        let session = match self.store.session_by_token_hash(&hash).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Err(AppError::Unauthenticated),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let idle = chrono::Duration::from_std(self.config.session_idle_timeout).unwrap_or_default();
        if now >= session.expires_at || now - session.last_seen_at >= idle {
            return Err(AppError::Unauthenticated);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(session.id, now).await?;
        }
        let account = match self.store.account_by_id(session.account_id).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(AppError::Unauthenticated),
            Err(e) => return Err(e.into()),
        };
        Ok(Authenticated {
            actor: Actor { account_id: account.id, role: account.role },
            account,
            session_id: session.id,
            session_expires_at: session.expires_at,
        })
    }

    /// Ends the caller's own session.
    pub async fn sign_out(&self, who: &Authenticated, ctx: &RequestContext) -> Result<(), AppError> {
        let me = who.account_id();
        match self.store.revoke_session(me, who.session_id, self.now()).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        self.announce_session_endings().await;
        self.audit(Some(me), AuditAction::SignedOut, Some(me), "session", Some(who.session_id.to_string()), ctx).await
    }

    /// The caller's open sessions, newest first.
    pub async fn my_sessions(&self, who: &Authenticated) -> Result<Vec<Session>, AppError> {
        let me = who.account_id();
        let now = self.now();
        let idle = chrono::Duration::from_std(self.config.session_idle_timeout).unwrap_or_default();
        let sessions = self.store.open_sessions(me, now).await?;
        Ok(sessions.into_iter().filter(|s| now - s.last_seen_at < idle).collect())
    }

    /// Ends one of the caller's sessions; someone else's is "not found".
    pub async fn revoke_my_session(
        &self,
        who: &Authenticated,
        session: SessionId,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = who.account_id();
        self.store.revoke_session(me, session, self.now()).await?;
        self.announce_session_endings().await;
        self.audit(Some(me), AuditAction::SessionRevoked, Some(me), "session", Some(session.to_string()), ctx).await
    }

    /// Ends every session and API token of the caller except the one making the request.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out_other_sessions(&self, who: &Authenticated, ctx: &RequestContext) -> Result<u64, AppError> {
        let me = who.account_id();
        let ended = self.store.revoke_other_sessions(me, Some(who.session_id()), self.now()).await?;
        self.announce_session_endings().await;
        self.audit(Some(me), AuditAction::OtherSessionsSignedOut, Some(me), "session", None, ctx).await?;
        Ok(ended)
    }

    /// Drops throttle records older than the longest window; run periodically.
    pub async fn prune_sign_in_failures(&self) -> Result<u64, AppError> {
        let longest = [self.config.sign_in_window, self.config.sign_in_ip_window, password_reset::THROTTLE_WINDOW]
            .into_iter()
            .max()
            .unwrap_or_default();
        let before = since(self.now(), longest);
        Ok(self.store.prune_sign_in_failures(before).await?)
    }
}

/// How long a realtime ticket can be used to open a connection.
pub const EVENTS_TICKET_LIFETIME: chrono::Duration = chrono::Duration::seconds(60);

impl App {
    /// A short-lived ticket that opens one realtime connection as the caller's
    /// session (for clients that cannot send a header when opening a WebSocket).
    /// It is the session token sealed under the master key with an expiry, so any
    /// instance can redeem it and revoking the session revokes the ticket too.
    /// `_signed_in` is the proof that `token` is a live session of the caller's.
    pub fn issue_events_ticket(&self, _signed_in: &Authenticated, token: &str) -> Result<String, AppError> {
        let expires = (self.now() + EVENTS_TICKET_LIFETIME).timestamp();
        let sealed = self.vault()?.seal_transient(format!("{expires}:{token}").as_bytes(), "events-ticket")?;
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The session a ticket stands for, if it is unexpired and the session is still valid.
    pub async fn redeem_events_ticket(&self, ticket: &str) -> Result<Authenticated, AppError> {
        use base64::Engine as _;
        let vault = self.vault()?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(ticket.trim())
            .map_err(|_| AppError::Unauthenticated)?;
        let plain = vault.open_transient(&bytes, "events-ticket").ok_or(AppError::Unauthenticated)?;
        let text = String::from_utf8(plain).map_err(|_| AppError::Unauthenticated)?;
        let (expires, token) = text.split_once(':').ok_or(AppError::Unauthenticated)?;
        let expires: i64 = expires.parse().map_err(|_| AppError::Unauthenticated)?;
        if self.now().timestamp() > expires {
            return Err(AppError::Unauthenticated);
        }
        self.authenticate(token).await
    }
}
