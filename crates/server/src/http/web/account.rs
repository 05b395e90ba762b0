//! Signing up, in and out in the browser.

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
    time_zone: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

pub async fn sign_up_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeWebUser(user): MaybeWebUser,
) -> Response {
    if user.is_some() {
        return Redirect::to("/home").into_response();
    }
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let page = SignUpPage {
        chrome: Chrome::anonymous("Create your account", csrf),
        email: String::new(),
        display_name: String::new(),
        time_zone: String::new(),
        errors: FieldErrors::new(),
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
            return match state.app.sign_in(&form.email, &form.password, SessionKind::Browser, &ctx).await {
                Ok(signed_in) => start_session(&state, signed_in.token.expose(), "/home?welcome=1"),
                Err(_) => Redirect::to("/sign-in").into_response(),
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
        time_zone: form.time_zone,
        errors,
    };
    with_cookie(render(status, &page), cookie)
}

fn start_session(state: &AppState, token: &str, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, cookies::set(cookies::SESSION, token, state.http.tls_proxy));
    response
}

#[derive(Deserialize, Default)]
pub struct SignInNotice {
    signed_out: Option<String>,
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    notice: Result<axum::extract::Query<SignInNotice>, axum::extract::rejection::QueryRejection>,
    MaybeWebUser(user): MaybeWebUser,
) -> Response {
    if user.is_some() {
        return Redirect::to("/home").into_response();
    }
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let mut chrome = Chrome::anonymous("Sign in", csrf);
    if notice.is_ok_and(|n| n.0.signed_out.is_some()) {
        chrome.notice = Some("You're signed out. Take care of yourself.");
    }
    let page = SignInPage { chrome, email: String::new(), error: None };
    with_cookie(render(StatusCode::OK, &page), cookie)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Response {
    let (status, message, retry_after) = match state
        .app
        .sign_in(&form.email, &form.password, SessionKind::Browser, &ctx)
        .await
    {
        Ok(signed_in) => return start_session(&state, signed_in.token.expose(), "/home"),
        Err(AppError::InvalidCredentials) => (
            StatusCode::UNAUTHORIZED,
            "That email and password don't match an account. Please check them and try again.".to_owned(),
            None,
        ),
        Err(AppError::TooManyAttempts { retry_after }) => {
            let minutes = retry_after.as_secs().div_ceil(60);
            (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("There have been too many attempts to sign in. For your safety, please wait about {minutes} minute(s) and try again."),
                    Some(retry_after.as_secs().max(1)),
                )
        }
        Err(e) => return super::app_error_page(e),
    };
    let (csrf, cookie) = anonymous_token(&headers, state.http.tls_proxy);
    let page = SignInPage { chrome: Chrome::anonymous("Sign in", csrf), email: form.email, error: Some(message) };
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
