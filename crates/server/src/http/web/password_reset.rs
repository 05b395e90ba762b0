//! "Forgot your password?" and the page an emailed reset link opens.

use super::{render, with_cookie, Chrome};
use crate::http::auth::ClientContext;
use crate::http::csrf::{anonymous_token, CsrfForm};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, RESET_LINK_GONE};
use rapport_domain::FieldErrors;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPasswordPage {
    chrome: Chrome,
    email: String,
    errors: FieldErrors,
    error: Option<String>,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPasswordPage {
    chrome: Chrome,
    token: String,
    usable: bool,
    gone: &'static str,
    errors: FieldErrors,
}

/// "Try again in 12 minutes", never "minute(s)".
pub(super) fn wait_in_words(wait: std::time::Duration) -> String {
    match wait.as_secs().div_ceil(60) {
        0 | 1 => "a minute".to_owned(),
        minutes => format!("{minutes} minutes"),
    }
}

pub async fn forgot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let page = ForgotPasswordPage {
        chrome: Chrome::anonymous("Forgot your password?", csrf),
        email: String::new(),
        errors: FieldErrors::new(),
        error: None,
        sent: false,
    };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn request(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Response {
    let (status, errors, error, retry_after) = match state.app.request_password_reset(&form.email, &ctx).await {
        Ok(()) => (StatusCode::OK, FieldErrors::new(), None, None),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None, None),
        Err(AppError::TooManyAttempts { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            FieldErrors::new(),
            Some(format!(
                "We've sent several links for this email already. Please check your inbox, or try again in {}.",
                wait_in_words(retry_after)
            )),
            Some(retry_after.as_secs().max(1)),
        ),
        Err(e) => return super::app_error_page(e),
    };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let sent = status == StatusCode::OK;
    let page = ForgotPasswordPage {
        chrome: Chrome::anonymous("Forgot your password?", csrf),
        email: form.email,
        errors,
        error,
        sent,
    };
    let mut response = with_cookie(render(status, &page), cookie);
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    response
}

fn reset_page(token: String, usable: bool, errors: FieldErrors, csrf: String) -> ResetPasswordPage {
    ResetPasswordPage {
        chrome: Chrome::anonymous("Choose a new password", csrf),
        token,
        usable,
        gone: RESET_LINK_GONE,
        errors,
    }
}

pub async fn reset_form(State(state): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let usable = match state.app.password_reset_usable(&token).await {
        Ok(u) => u,
        Err(e) => return super::app_error_page(e),
    };
    let status = if usable { StatusCode::OK } else { StatusCode::GONE };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    with_cookie(render(status, &reset_page(token, usable, FieldErrors::new(), csrf)), cookie)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    headers: HeaderMap,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    let (status, usable, errors) = match state.app.reset_password(&token, &form.new_password, &ctx).await {
        Ok(()) => return Redirect::to("/sign-in?password_reset=1").into_response(),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, true, errors),
        Err(AppError::Gone(_)) => (StatusCode::GONE, false, FieldErrors::new()),
        Err(e) => return super::app_error_page(e),
    };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    with_cookie(render(status, &reset_page(token, usable, errors, csrf)), cookie)
}

#[cfg(test)]
mod tests {
    use super::wait_in_words;
    use std::time::Duration;

    #[test]
    fn waits_are_said_in_whole_minutes_without_brackets() {
        assert_eq!(wait_in_words(Duration::from_secs(1)), "a minute");
        assert_eq!(wait_in_words(Duration::from_secs(60)), "a minute");
        assert_eq!(wait_in_words(Duration::from_secs(61)), "2 minutes");
        assert_eq!(wait_in_words(Duration::from_secs(11 * 60 + 30)), "12 minutes");
    }
}
