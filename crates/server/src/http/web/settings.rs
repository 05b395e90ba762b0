//! Account settings: profile, password, sessions, and who accessed my data.

use super::form::ZonePicker;
use super::{app_error_page, render, Chrome};
use crate::http::auth::{ClientContext, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, ProfileChange};
use rapport_domain::{AuditEventId, FieldErrors, Role, SessionId};
use rapport_store::EmailMode;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct Done {
    saved: Option<String>,
}

fn notice(done: &Done) -> Option<&'static str> {
    match done.saved.as_deref() {
        Some("profile") => Some("Your profile is saved."),
        Some("password") => Some("Your password is changed. Any other devices were signed out."),
        Some("session") => Some("That session is signed out."),
        Some("others") => Some("Every other session is signed out. This one stays signed in."),
        Some("notifications") => Some("Your notification choices are saved."),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    email: String,
    display_name: String,
    time_zone: String,
    zones: ZonePicker,
    profile_errors: FieldErrors,
    password_errors: FieldErrors,
    /// How the person hears about new messages: `immediately`, `digest` or `off`.
    email_mode: String,
    /// Therapists choose how many working days clients may expect a reply in.
    therapist: bool,
    reply_working_days: u32,
    notification_error: Option<String>,
}

/// The choices for hearing about messages.
const EMAIL_MODES: [(&str, &str, &str); 3] = [
    ("immediately", "Straight away", "An email a few minutes after a message you haven't read yet."),
    ("digest", "Once a day", "At most one email, at 6 in the evening, if anything is waiting."),
    ("off", "Don't email me", "You'll see new messages when you sign in."),
];

impl SettingsPage {
    async fn load(state: &AppState, user: &WebUser, done: &Done) -> Result<Self, AppError> {
        let prefs = state.app.my_notification_prefs(&user.auth).await?;
        let mut chrome = Chrome::signed_in("Settings", user);
        chrome.notice = notice(done);
        Ok(Self {
            chrome,
            email: user.account.email.to_string(),
            display_name: user.account.display_name.to_string(),
            time_zone: user.account.time_zone.name().to_owned(),
            zones: ZonePicker::new(user.account.time_zone.name()),
            profile_errors: FieldErrors::new(),
            password_errors: FieldErrors::new(),
            email_mode: prefs.email_mode.as_str().to_owned(),
            therapist: user.account.role == Role::Therapist,
            reply_working_days: prefs.reply_working_days,
            notification_error: None,
        })
    }

    fn email_modes(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        &EMAIL_MODES
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = done.map(|q| q.0).unwrap_or_default();
    match SettingsPage::load(&state, &user, &done).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct NotificationsForm {
    #[serde(default)]
    email_mode: String,
    #[serde(default)]
    reply_working_days: Option<String>,
}

/// `POST /settings/notifications`.
pub async fn update_notifications(
    State(state): State<AppState>,
    user: WebUser,
    CsrfForm(form): CsrfForm<NotificationsForm>,
) -> Response {
    let days = match (user.account.role, form.reply_working_days.as_deref().map(str::trim)) {
        (Role::Therapist, Some(d)) => d.parse::<u32>().map(Some).map_err(|_| "Choose between 1 and 5 working days."),
        _ => Ok(None),
    };
    let error = match (EmailMode::parse(&form.email_mode), days) {
        (None, _) => "Please choose how you'd like to hear about messages.".to_owned(),
        (_, Err(message)) => message.to_owned(),
        (Some(mode), Ok(days)) => match state.app.set_my_notification_prefs(&user.auth, mode, days).await {
            Ok(_) => return Redirect::to("/settings?saved=notifications").into_response(),
            Err(AppError::Invalid(errors)) => errors
                .iter()
                .flat_map(|(_, m)| m.iter())
                .next()
                .cloned()
                .unwrap_or_else(|| "Please check your choices.".to_owned()),
            Err(e) => return app_error_page(e),
        },
    };
    match SettingsPage::load(&state, &user, &Done::default()).await {
        Ok(mut page) => {
            if EmailMode::parse(&form.email_mode).is_some() {
                page.email_mode = form.email_mode;
            }
            page.notification_error = Some(error);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn update_profile(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Response {
    let change = ProfileChange { display_name: form.display_name.clone(), time_zone: form.time_zone.clone() };
    match state.app.update_my_profile(&user.auth, change, &ctx).await {
        Ok(_) => Redirect::to("/settings?saved=profile").into_response(),
        Err(AppError::Invalid(errors)) => {
            let mut page = match SettingsPage::load(&state, &user, &Done::default()).await {
                Ok(page) => page,
                Err(e) => return app_error_page(e),
            };
            page.display_name = form.display_name;
            page.zones = ZonePicker::new(&form.time_zone);
            page.time_zone = form.time_zone;
            page.profile_errors = errors;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Response {
    match state.app.change_my_password(&user.auth, &form.current_password, &form.new_password, &ctx).await {
        Ok(()) => Redirect::to("/settings?saved=password").into_response(),
        Err(AppError::Invalid(errors)) => {
            let mut page = match SettingsPage::load(&state, &user, &Done::default()).await {
                Ok(page) => page,
                Err(e) => return app_error_page(e),
            };
            page.password_errors = errors;
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(AppError::TooManyAttempts { retry_after }) => {
            let mut page = match SettingsPage::load(&state, &user, &Done::default()).await {
                Ok(page) => page,
                Err(e) => return app_error_page(e),
            };
            page.password_errors = FieldErrors::single(
                "current_password",
                format!(
                    "That was the wrong password too many times. For your safety, please try again in {}.",
                    super::password_reset::wait_in_words(retry_after)
                ),
            );
            let mut response = render(StatusCode::TOO_MANY_REQUESTS, &page);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after.as_secs().max(1).into());
            response
        }
        Err(e) => app_error_page(e),
    }
}

/// One session, as the sessions page lists it.
struct SessionRow {
    id: String,
    device: String,
    kind: &'static str,
    started: String,
    last_active: String,
    ip: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<SessionRow>,
}

/// A short, readable name for a browser's user agent.
fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Unknown device".to_owned() };
    let browser =
        ["Edg/", "Firefox/", "Chrome/", "Safari/", "curl/"].iter().find(|b| ua.contains(*b)).map(|b| match *b {
            "Edg/" => "Edge",
            "Firefox/" => "Firefox",
            "Chrome/" => "Chrome",
            "Safari/" => "Safari",
            _ => "curl",
        });
    let os = ["Windows", "Android", "iPhone", "iPad", "Mac OS X", "Linux"].iter().find(|o| ua.contains(*o)).map(|o| {
        if *o == "Mac OS X" {
            "macOS"
        } else {
            o
        }
    });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => o.to_string(),
        (None, None) => ua.chars().take(60).collect(),
    }
}

pub async fn sessions(
    State(state): State<AppState>,
    user: WebUser,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let list = match state.app.my_sessions(&user.auth).await {
        Ok(l) => l,
        Err(e) => return app_error_page(e),
    };
    let tz = user.account.time_zone;
    let sessions = list
        .into_iter()
        .map(|s| SessionRow {
            id: s.id.to_string(),
            device: device_name(s.user_agent.as_deref()),
            kind: match s.kind {
                rapport_store::SessionKind::Browser => "Browser",
                rapport_store::SessionKind::Api => "App or API",
            },
            started: tz.format(s.created_at),
            last_active: tz.format(s.last_seen_at),
            ip: s.ip.unwrap_or_else(|| "unknown".to_owned()),
            current: s.id == user.auth.session_id(),
        })
        .collect();
    let mut chrome = Chrome::signed_in("Your sessions", &user);
    chrome.notice = notice(&done.map(|q| q.0).unwrap_or_default());
    render(StatusCode::OK, &SessionsPage { chrome, sessions })
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn revoke_session(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let Ok(id) = id.parse::<SessionId>() else { return super::not_found_page() };
    match state.app.revoke_my_session(&user.auth, id, &ctx).await {
        Ok(()) if id == user.auth.session_id() => Redirect::to("/sign-in?signed_out=1").into_response(),
        Ok(()) => Redirect::to("/settings/sessions?saved=session").into_response(),
        Err(e) => app_error_page(e),
    }
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    match state.app.sign_out_other_sessions(&user.auth, &ctx).await {
        Ok(_) => Redirect::to("/settings/sessions?saved=others").into_response(),
        Err(e) => app_error_page(e),
    }
}

struct AccessRow {
    when: String,
    what: String,
    who: String,
    from: String,
}

#[derive(Template)]
#[template(path = "access_log.html")]
struct AccessLogPage {
    chrome: Chrome,
    rows: Vec<AccessRow>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Page {
    before: Option<String>,
}

const PAGE_SIZE: u32 = 50;

pub async fn access_log(
    State(state): State<AppState>,
    user: WebUser,
    page: Result<axum::extract::Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let before = page.ok().and_then(|q| q.0.before).and_then(|b| b.parse::<AuditEventId>().ok());
    let entries = match state.app.my_audit_trail(&user.auth, before, PAGE_SIZE).await {
        Ok(e) => e,
        Err(e) => return app_error_page(e),
    };
    let next = (entries.len() == PAGE_SIZE as usize).then(|| entries.last().map(|e| e.event.id.to_string())).flatten();
    let tz = user.account.time_zone;
    let rows = entries
        .into_iter()
        .map(|e| AccessRow {
            when: tz.format(e.event.at),
            what: e.description,
            who: e.actor_name.unwrap_or_else(|| "Someone not signed in".to_owned()),
            from: e.event.ip.unwrap_or_default(),
        })
        .collect();
    render(StatusCode::OK, &AccessLogPage { chrome: Chrome::signed_in("Who accessed my data", &user), rows, next })
}

#[cfg(test)]
mod tests {
    use super::device_name;

    #[test]
    fn names_common_browsers() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(device_name(Some(chrome)), "Chrome on Linux");
        assert_eq!(device_name(None), "Unknown device");
    }
}
