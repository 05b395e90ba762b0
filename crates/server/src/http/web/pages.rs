//! Informational pages and the signed-in home.

use super::{render, Chrome};
use crate::http::auth::{MaybeWebUser, WebUser};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_domain::Role;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    chrome: Chrome,
}

pub async fn index(MaybeWebUser(user): MaybeWebUser) -> Response {
    if user.is_some() {
        return Redirect::to("/home").into_response();
    }
    render(StatusCode::OK, &IndexPage { chrome: Chrome::anonymous("Feel close again", String::new()) })
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
}

pub async fn privacy(MaybeWebUser(user): MaybeWebUser) -> Response {
    render(StatusCode::OK, &PrivacyPage { chrome: Chrome::for_maybe("Privacy", user.as_ref()) })
}

#[derive(Template)]
#[template(path = "crisis.html")]
struct CrisisPage {
    chrome: Chrome,
}

pub async fn crisis(MaybeWebUser(user): MaybeWebUser) -> Response {
    render(StatusCode::OK, &CrisisPage { chrome: Chrome::for_maybe("Get help now", user.as_ref()) })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    first_name: String,
    role: Role,
    partner: Option<String>,
    session_ends: String,
    time_zone: String,
}

#[derive(serde::Deserialize, Default)]
pub struct Welcome {
    welcome: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    user: WebUser,
    welcome: Result<axum::extract::Query<Welcome>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let partner = match state.app.my_partner_name(&user.auth).await {
        Ok(p) => p,
        Err(e) => return super::app_error_page(e),
    };
    let tz = user.account.time_zone;
    let page = HomePage {
        first_name: user.account.display_name.as_str().split_whitespace().next().unwrap_or("there").to_owned(),
        role: user.account.role,
        partner,
        session_ends: tz.format(user.auth.session_expires_at()),
        time_zone: tz.name().to_owned(),
        chrome: Chrome::signed_in("Home", &user),
    };
    let mut page = page;
    if welcome.is_ok_and(|w| w.0.welcome.is_some()) {
        page.chrome.notice = Some("Welcome to Rapport. Your account is ready.");
    }
    render(StatusCode::OK, &page)
}
