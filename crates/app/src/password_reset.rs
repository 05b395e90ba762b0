//! "Forgot your password?": a single-use emailed link that sets a new password
//! and ends every session of the account.

use crate::mail::OutgoingMail;
use crate::{passwords, App, AppError, RequestContext, SessionToken};
use rapport_domain::{AuditAction, Email, FieldErrors, NewPassword};
use rapport_store::{PasswordReset, StoreError};
use std::time::Duration;

/// Reset requests allowed per email address, and per client address, in [`THROTTLE_WINDOW`].
const MAX_REQUESTS_PER_EMAIL: u32 = 5;
const MAX_REQUESTS_PER_ADDRESS: u32 = 20;
/// The window for reset-request throttling.
pub(crate) const THROTTLE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// What a person is told when a reset link cannot be used, whatever the reason:
/// unknown, used and expired links look alike.
pub const RESET_LINK_GONE: &str =
    "This reset link can't be used any more: it was used already, or it is over an hour old. Ask for a new one.";

impl App {
    /// Asks for a reset link. The answer (and its timing) is the same whether
    /// or not an account has this email; the email goes out in the background.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str, ctx: &RequestContext) -> Result<(), AppError> {
        let email = Email::parse(email).map_err(|e| FieldErrors::single("email", e.to_string()))?;
        let email_key = format!("reset-email:{email}");
        let ip_key = ctx.ip.map(|ip| format!("reset-ip:{ip}"));
        let limits =
            [Some((&email_key, MAX_REQUESTS_PER_EMAIL)), ip_key.as_ref().map(|k| (k, MAX_REQUESTS_PER_ADDRESS))];
        for (key, max) in limits.into_iter().flatten() {
            if let Some(retry_after) = self.throttled(key, max, THROTTLE_WINDOW).await? {
                return Err(AppError::TooManyAttempts { retry_after });
            }
        }
        let now = self.now();
        for key in std::iter::once(&email_key).chain(ip_key.as_ref()) {
            self.store.record_sign_in_failure(key, now).await?;
        }
        let account = match self.store.account_by_email(&email).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let token = SessionToken::generate();
        let lifetime = chrono::Duration::from_std(self.config.password_reset_lifetime).unwrap_or_default();
        let reset = PasswordReset {
            token_hash: token.hash(),
            account_id: account.id,
            created_at: now,
            expires_at: now + lifetime,
            used_at: None,
        };
        self.store.insert_password_reset(&reset).await?;
        self.audit(None, AuditAction::PasswordResetRequested, Some(account.id), "account", None, ctx).await?;
        let link = format!("{}/reset-password/{}", self.config.public_url.trim_end_matches('/'), token.expose());
        let mail = OutgoingMail {
            to: account.email,
            subject: "Reset your Rapport password".to_owned(),
            text: format!(
                "Hello {},\n\nSomeone (we hope you) asked to reset the password of your Rapport account.\n\n\
                 To choose a new password, open this link within an hour. It works once:\n\n{link}\n\n\
                 Choosing a new password signs you out everywhere you are signed in.\n\n\
                 If you didn't ask for this, you can ignore this email: your password stays as it is.\n\n— Rapport\n",
                account.display_name
            ),
        };
        self.send_mail_soon(mail);
        Ok(())
    }

    /// Whether a reset link can still be used, so its page can say so before
    /// the person types a new password.
    pub async fn password_reset_usable(&self, token: &str) -> Result<bool, AppError> {
        let hash = SessionToken::from_client(token).hash();
        match self.store.usable_password_reset(&hash, self.now()).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets a new password through a reset link: the link is used up, every
    /// session and API token of the account ends, and the person is emailed.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(&self, token: &str, new_password: &str, ctx: &RequestContext) -> Result<(), AppError> {
        let hash = SessionToken::from_client(token).hash();
        if !self.password_reset_usable(token).await? {
            return Err(AppError::Gone(RESET_LINK_GONE));
        }
        let password =
            NewPassword::parse(new_password).map_err(|e| FieldErrors::single("new_password", e.to_string()))?;
        let password_hash = passwords::hash(password.expose().to_owned()).await?;
        let account_id = match self.store.complete_password_reset(&hash, &password_hash, self.now()).await {
            Ok(id) => id,
            // Used by a concurrent request between the check and now.
            Err(StoreError::NotFound) => return Err(AppError::Gone(RESET_LINK_GONE)),
            Err(e) => return Err(e.into()),
        };
        self.announce_session_endings().await;
        self.audit(Some(account_id), AuditAction::PasswordReset, Some(account_id), "account", None, ctx).await?;
        let account = self.store.account_by_id(account_id).await?;
        let mail = OutgoingMail {
            to: account.email,
            subject: "Your Rapport password was changed".to_owned(),
            text: format!(
                "Hello {},\n\nThe password of your Rapport account was just changed through a reset link, and \
                 every place you were signed in has been signed out.\n\nIf this was you, there is nothing more to \
                 do. If it wasn't, ask for a new reset link from the sign-in page straight away, and tell us.\n\n\
                 — Rapport\n",
                account.display_name
            ),
        };
        self.send_mail_soon(mail);
        Ok(())
    }
}
