//! Signing up, creating accounts, profile and password changes.

use crate::sessions::Authenticated;
use crate::{passwords, App, AppError, RequestContext};
use rapport_domain::{AccountId, AuditAction, DisplayName, Email, FieldErrors, NewPassword, Role, TimeZone};
use rapport_store::{Account, StoreError};

/// What a person fills in to sign up.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// IANA name; empty means UTC until they choose.
    pub time_zone: String,
}

/// A profile edit: display name and time zone.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: String,
    pub time_zone: String,
}

const EMAIL_TAKEN: &str = "An account with this email address already exists. Try signing in instead.";

fn parse_time_zone(errors: &mut FieldErrors, input: &str) -> Option<TimeZone> {
    if input.trim().is_empty() {
        Some(TimeZone::utc())
    } else {
        errors.check("time_zone", TimeZone::parse(input))
    }
}

impl App {
    /// Signs up a new client.
    pub async fn sign_up(&self, input: SignUp, ctx: &RequestContext) -> Result<Account, AppError> {
        self.create_account(input, Role::Client, ctx).await
    }

    /// Creates an account with any role: the operator's `user create`, and demo data.
    pub async fn create_account(&self, input: SignUp, role: Role, ctx: &RequestContext) -> Result<Account, AppError> {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", Email::parse(&input.email));
        let password = errors.check("password", NewPassword::parse(&input.password));
        let display_name = errors.check("display_name", DisplayName::parse(&input.display_name));
        let time_zone = parse_time_zone(&mut errors, &input.time_zone);
        let (Some(email), Some(password), Some(display_name), Some(time_zone)) =
            (email, password, display_name, time_zone)
        else {
            return Err(AppError::Invalid(errors));
        };
        let password_hash = passwords::hash(password.expose().to_owned()).await?;
        let now = self.now();
        let account = Account {
            id: AccountId::new(),
            email,
            display_name,
            role,
            time_zone,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_account(&account).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(AppError::Conflict { field: "email", message: EMAIL_TAKEN }),
            Err(e) => return Err(e.into()),
        }
        self.audit(Some(account.id), AuditAction::AccountCreated, Some(account.id), "account", None, ctx).await?;
        Ok(account)
    }

    /// The caller's own account.
    pub async fn my_account(&self, who: &Authenticated) -> Result<Account, AppError> {
        let me = who.account_id();
        Ok(self.store.account_by_id(me).await?)
    }

    /// Changes display name and time zone.
    pub async fn update_my_profile(
        &self,
        who: &Authenticated,
        change: ProfileChange,
        ctx: &RequestContext,
    ) -> Result<Account, AppError> {
        let me = who.account_id();
        let mut errors = FieldErrors::new();
        let name = errors.check("display_name", DisplayName::parse(&change.display_name));
        let tz = errors.check("time_zone", TimeZone::parse(&change.time_zone));
        let (Some(name), Some(tz)) = (name, tz) else {
            return Err(AppError::Invalid(errors));
        };
        self.store.update_profile(me, &name, tz, self.now()).await?;
        self.audit(Some(me), AuditAction::ProfileUpdated, Some(me), "account", None, ctx).await?;
        Ok(self.store.account_by_id(me).await?)
    }

    /// Changes the password after checking the current one, and signs out
    /// every other session. Wrong current passwords are throttled like sign-in,
    /// so a session left open cannot be used to guess the password.
    pub async fn change_my_password(
        &self,
        who: &Authenticated,
        current: &str,
        new: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        let me = who.account_id();
        let account = self.store.account_by_id(me).await?;
        let new = match NewPassword::parse(new) {
            Ok(p) => p,
            Err(e) => return Err(FieldErrors::single("new_password", e.to_string()).into()),
        };
        let throttle_key = format!("password-change:{me}");
        let (max, window) = (self.config.sign_in_max_failures, self.config.sign_in_window);
        if let Some(retry_after) = self.throttled(&throttle_key, max, window).await? {
            return Err(AppError::TooManyAttempts { retry_after });
        }
        if !passwords::verify(current.to_owned(), Some(account.password_hash)).await? {
            self.store.record_sign_in_failure(&throttle_key, self.now()).await?;
            return Err(
                FieldErrors::single("current_password", "That isn't your current password. Please try again.").into()
            );
        }
        self.store.clear_sign_in_failures(&throttle_key).await?;
        let hash = passwords::hash(new.expose().to_owned()).await?;
        let now = self.now();
        self.store.update_password_hash(me, &hash, now).await?;
        let ended = self.store.revoke_other_sessions(me, Some(who.session_id()), now).await?;
        self.announce_session_endings().await;
        tracing::info!(ended, "password changed; other sessions ended");
        self.audit(Some(me), AuditAction::PasswordChanged, Some(me), "account", None, ctx).await
    }

    /// Whether anyone has an account yet (an empty platform needs a first admin).
    pub async fn account_count(&self) -> Result<u64, AppError> {
        Ok(self.store.count_accounts().await?)
    }
}

impl App {
    /// The display name of the caller's linked partner, if they are in a couple.
    pub async fn my_partner_name(&self, who: &Authenticated) -> Result<Option<String>, AppError> {
        let me = who.account_id();
        let Some(couple) = self.store.couple_of(me).await? else { return Ok(None) };
        let partner = if couple.partner_a == me { couple.partner_b } else { couple.partner_a };
        Ok(Some(self.store.account_by_id(partner).await?.display_name.to_string()))
    }
}
