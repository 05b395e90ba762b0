//! Signing up, in and out in the browser.

use super::form::ZonePicker;
use super::{render, with_cookie, Chrome};
use crate::http::auth::{ClientContext, MaybeWebUser, WebUser};
use crate::http::csrf::{anonymous_token, CsrfForm};
use crate::http::{cookies, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, SignUp};
use rapport_domain::FieldErrors;
use rapport_store::SessionKind;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    chrome: Chrome,
    email: String,
    display_name: String,
    zones: ZonePicker,
    /// On a first visit the browser's own zone is chosen by app.js; after a refused form, what was posted stays.
    detect_zone: bool,
    errors: FieldErrors,
    /// A local page to go to afterwards (e.g. a partner's invitation), or "".
    next: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
    /// Too many attempts: the error offers a password reset.
    throttled: bool,
    /// A local page to go to afterwards (e.g. a partner's invitation), or "".
    next: String,
}

/// Where to go after signing in or up: only a path on this site (`/…`, never
/// `//host` or a backslash trick), so the parameter can't send anyone elsewhere.
fn local_path(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && n.len() <= 300
            && !n.chars().any(|c| c.is_control() || c.is_whitespace())
    })
}

/// Sign-in and sign-up pages may say where to go next.
#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
    signed_out: Option<String>,
    invited: Option<String>,
    password_reset: Option<String>,
    created: Option<String>,
}

impl Next {
    fn path(&self) -> String {
        local_path(self.next.as_deref()).unwrap_or_default().to_owned()
    }
}

impl SignInPage {
    /// The link to create an account instead, going to the same place afterwards.
    fn sign_up_link(&self) -> String {
        with_next("/sign-up", &self.next)
    }
}

impl SignUpPage {
    /// The link to sign in instead, going to the same place afterwards.
    fn sign_in_link(&self) -> String {
        with_next("/sign-in", &self.next)
    }
}

/// A sign-in or sign-up link with the same `next`.
fn with_next(path: &str, next: &str) -> String {
    if next.is_empty() {
        path.to_owned()
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!(
            "{path}{sep}next={}",
            next.replace('%', "%25").replace('&', "%26").replace('?', "%3F").replace('#', "%23")
        )
    }
}

pub async fn sign_up_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<Next>, axum::extract::rejection::QueryRejection>,
    MaybeWebUser(user): MaybeWebUser,
) -> Response {
    let next = query.map(|q| q.0.path()).unwrap_or_default();
    if user.is_some() {
        return Redirect::to(if next.is_empty() { "/home" } else { &next }).into_response();
    }
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let page = SignUpPage {
        chrome: Chrome::anonymous("Create your account", csrf),
        email: String::new(),
        display_name: String::new(),
        zones: ZonePicker::new("UTC"),
        detect_zone: true,
        errors: FieldErrors::new(),
        next,
    };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    next: String,
}

pub async fn sign_up(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Response {
    let result = state
        .app
        .sign_up(
            SignUp {
                email: form.email.clone(),
                password: form.password.clone(),
                display_name: form.display_name.clone(),
                time_zone: form.time_zone.clone(),
            },
            &ctx,
        )
        .await;
    let (errors, status) = match result {
        Ok(_) => {
            // Sign straight in with what they just chose.
            let to = local_path(Some(&form.next)).unwrap_or("/home?welcome=1");
            return match state.app.sign_in(&form.email, &form.password, SessionKind::Browser, &ctx).await {
                Ok(signed_in) => start_session(&state, signed_in.token.expose(), to),
                // The account exists; say so rather than leave them wondering.
                Err(_) => {
                    Redirect::to(&with_next("/sign-in?created=1", local_path(Some(&form.next)).unwrap_or_default()))
                        .into_response()
                }
            };
        }
        Err(AppError::Invalid(errors)) => (errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Conflict { field, message }) => (FieldErrors::single(field, message), StatusCode::CONFLICT),
        Err(e) => return super::app_error_page(e),
    };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let page = SignUpPage {
        chrome: Chrome::anonymous("Create your account", csrf),
        email: form.email,
        display_name: form.display_name,
        zones: ZonePicker::new(if form.time_zone.trim().is_empty() { "UTC" } else { &form.time_zone }),
        detect_zone: false,
        errors,
        next: local_path(Some(&form.next)).unwrap_or_default().to_owned(),
    };
    with_cookie(render(status, &page), cookie)
}

fn start_session(state: &AppState, token: &str, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, cookies::set(cookies::SESSION, token, state.http.tls_proxy));
    response
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<axum::extract::Query<Next>, axum::extract::rejection::QueryRejection>,
    MaybeWebUser(user): MaybeWebUser,
) -> Response {
    let query = query.map(|q| q.0).unwrap_or_default();
    let next = query.path();
    if user.is_some() {
        return Redirect::to(if next.is_empty() { "/home" } else { &next }).into_response();
    }
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let mut chrome = Chrome::anonymous("Sign in", csrf);
    if query.password_reset.is_some() {
        chrome.notice = Some("Your new password is saved, and you're signed out everywhere. Sign in with it now.");
    } else if query.created.is_some() {
        chrome.notice = Some("Your account is ready. Sign in to continue.");
    } else if query.signed_out.is_some() {
        chrome.notice = Some("You're signed out. Take care of yourself.");
    } else if query.invited.is_some() && !next.is_empty() {
        chrome.notice =
            Some("Sign in, or create an account, to see your partner's invitation. We'll bring you back to it.");
    }
    let page = SignInPage { chrome, email: String::new(), error: None, throttled: false, next };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Response {
    let (status, message, retry_after) =
        match state.app.sign_in(&form.email, &form.password, SessionKind::Browser, &ctx).await {
            Ok(signed_in) => {
                let to = local_path(Some(&form.next)).unwrap_or("/home");
                return start_session(&state, signed_in.token.expose(), to);
            }
            Err(AppError::InvalidCredentials) => (
                StatusCode::UNAUTHORIZED,
                "That email and password don't match an account. Please check them and try again.".to_owned(),
                None,
            ),
            Err(AppError::TooManyAttempts { retry_after }) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "There have been too many attempts to sign in to this account. For your safety, please try again \
                 in {}, or reset your password now.",
                    super::password_reset::wait_in_words(retry_after)
                ),
                Some(retry_after.as_secs().max(1)),
            ),
            Err(e) => return super::app_error_page(e),
        };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let next = local_path(Some(&form.next)).unwrap_or_default().to_owned();
    let page = SignInPage {
        chrome: Chrome::anonymous("Sign in", csrf),
        email: form.email,
        error: Some(message),
        throttled: retry_after.is_some(),
        next,
    };
    let mut response = with_cookie(render(status, &page), cookie);
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    response
}

#[derive(Deserialize)]
pub struct EmptyForm {}

pub async fn sign_out(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    if let Err(e) = state.app.sign_out(&user.auth, &ctx).await {
        return super::app_error_page(e);
    }
    let mut response = Redirect::to("/sign-in?signed_out=1").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookies::clear(cookies::SESSION, state.http.tls_proxy));
    response
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(local_path(Some("/couple/invitations/abc")), Some("/couple/invitations/abc"));
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "evil", "", "/a b", "/a\nb"] {
            assert_eq!(local_path(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(local_path(None), None);
    }
}
