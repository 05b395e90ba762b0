//! Server-rendered pages. Every form works without JavaScript and carries
//! a CSRF token; every page links to crisis resources.

mod account;
mod apply;
mod clients;
mod couple;
mod form;
mod intake;
mod matches;
mod pages;
mod password_reset;
mod photo;
mod rooms;
mod settings;
mod verification;

use super::auth::WebUser;
use super::AppState;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::index))
        .route("/privacy", get(pages::privacy))
        .route("/crisis", get(pages::crisis))
        .route("/home", get(pages::home))
        // Photos may be larger than other forms; the use case enforces 2 MiB.
        .route(
            "/therapist/photo",
            post(photo::upload).layer(axum::extract::DefaultBodyLimit::max(super::limits::PHOTO_BODY_LIMIT)),
        )
        .route("/therapists/{id}/photo", get(photo::show))
        .route("/notices/{id}/dismiss", post(pages::dismiss_notice))
        .route("/sign-up", get(account::sign_up_page).post(account::sign_up))
        .route("/sign-in", get(account::sign_in_page).post(account::sign_in))
        .route("/sign-out", post(account::sign_out))
        .route("/forgot-password", get(password_reset::forgot_page).post(password_reset::request))
        .route("/reset-password/{token}", get(password_reset::reset_form).post(password_reset::reset))
        .route("/settings", get(settings::page))
        .route("/settings/profile", post(settings::update_profile))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/sessions", get(settings::sessions))
        .route("/settings/sessions/revoke-others", post(settings::revoke_other_sessions))
        .route("/settings/sessions/{id}/revoke", post(settings::revoke_session))
        .route("/settings/access-log", get(settings::access_log))
        .route("/settings/notifications", post(settings::update_notifications))
        .route("/therapist/apply", get(apply::page).post(apply::submit))
        .route("/intake", get(intake::consent))
        .route("/intake/questions", get(intake::questions).post(intake::submit))
        .route("/clients/{id}", get(clients::page))
        .route("/matches", get(matches::page))
        .route("/matches/{id}/choose", post(matches::choose))
        .route("/admin/therapists", get(verification::queue))
        .route("/admin/therapists/{id}", get(verification::review))
        .route("/admin/therapists/{id}/approve", post(verification::approve))
        .route("/admin/therapists/{id}/reject", post(verification::reject))
        .route("/couple", get(couple::page))
        .route("/couple/invitations", post(couple::invite))
        .route("/couple/invitations/{token}", get(couple::invitation))
        .route("/couple/invitations/{token}/accept", post(couple::accept))
        .route("/couple/sent-invitations/{id}/withdraw", post(couple::withdraw))
        .route("/couple/sent-invitations/{id}/resend", post(couple::resend))
        .route("/couple/policy", post(couple::consent))
        .route("/couple/unlink", get(couple::unlink_page).post(couple::unlink))
        .route("/couple/care-proposal/accept", post(couple::accept_proposal))
        .route("/couple/care-proposal/decline", post(couple::decline_proposal))
        .route("/rooms", get(rooms::list))
        .route("/rooms/{room}", get(rooms::page))
        .route("/rooms/{room}/messages", post(rooms::post))
        .route("/rooms/{room}/updates", get(rooms::updates))
        .route("/rooms/{room}/read", post(rooms::mark_read))
        // Recordings and files may be larger than other forms; the use case enforces each kind's limit.
        .route(
            "/rooms/{room}/attachments",
            post(rooms::post_attachment)
                .layer(axum::extract::DefaultBodyLimit::max(super::limits::ATTACHMENT_BODY_LIMIT)),
        )
        .route("/rooms/{room}/attachments/{message}", get(rooms::attachment))
        .route("/rooms/{room}/messages/{message}/edit", get(rooms::edit_page).post(rooms::edit))
        .route("/rooms/{room}/messages/{message}/delete", get(rooms::delete_page).post(rooms::delete))
        .route("/rooms/{room}/messages/{message}/versions", get(rooms::versions))
        .route("/rooms/{room}/messages/{message}/star", post(rooms::star))
}

/// The signed-in person, as the page header shows them.
pub struct NavUser {
    pub display_name: String,
    /// Clients and therapists have message rooms.
    pub messages: bool,
    /// Clients may link with a partner.
    pub partner: bool,
}

/// What every page's layout needs.
pub struct Chrome {
    pub title: String,
    pub user: Option<NavUser>,
    /// The CSRF token for forms on this page (including sign-out).
    pub csrf: String,
    /// A one-line confirmation shown at the top, e.g. after saving.
    pub notice: Option<&'static str>,
    /// Unread messages, on pages that load the rooms anyway (shown next to "Messages").
    pub unread: Option<u32>,
}

impl Chrome {
    pub fn anonymous(title: &str, csrf: String) -> Self {
        Self { title: title.to_owned(), user: None, csrf, notice: None, unread: None }
    }

    pub fn signed_in(title: &str, user: &WebUser) -> Self {
        Self {
            title: title.to_owned(),
            user: Some(NavUser {
                display_name: user.account.display_name.to_string(),
                messages: matches!(user.account.role, rapport_domain::Role::Client | rapport_domain::Role::Therapist),
                partner: user.account.role == rapport_domain::Role::Client,
            }),
            csrf: user.csrf.clone(),
            notice: None,
            unread: None,
        }
    }

    /// The number shown next to "Messages", if there is any unread.
    pub fn unread_badge(&self) -> Option<u32> {
        self.unread.filter(|n| *n > 0)
    }

    pub fn for_maybe(title: &str, user: Option<&WebUser>) -> Self {
        match user {
            Some(u) => Self::signed_in(title, u),
            None => Self::anonymous(title, String::new()),
        }
    }
}

/// Renders a template; a render failure is logged and shown as a plain error.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").into_response()
        }
    }
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

/// A friendly error page.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let chrome = Chrome::anonymous(heading, String::new());
    render(status, &ErrorPage { chrome, heading, message })
}

/// A friendly error page with the header of whoever is looking.
pub fn error_page_for(user: Option<&WebUser>, status: StatusCode, heading: &str, message: &str) -> Response {
    render(status, &ErrorPage { chrome: Chrome::for_maybe(heading, user), heading, message })
}

/// The page for an unknown address, with the header of whoever is looking.
pub fn not_found_page_for(user: Option<&WebUser>) -> Response {
    let heading = "Page not found";
    let message = "We couldn't find that page. It may have moved, or the address may have a typo.";
    render(StatusCode::NOT_FOUND, &ErrorPage { chrome: Chrome::for_maybe(heading, user), heading, message })
}

/// The page for an unknown address.
pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "We couldn't find that page. It may have moved, or the address may have a typo.",
    )
}

/// Shows an application error as a page (for errors a form can't show inline).
pub fn app_error_page(e: rapport_app::AppError) -> Response {
    use rapport_app::AppError;
    match e {
        AppError::NotFound | AppError::Forbidden => not_found_page(),
        AppError::Unavailable(_) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "We'll be right back",
            "We can't reach our database right now. Please try again in a moment.",
        ),
        other => {
            // Let the API mapping log the cause once; the page says nothing more.
            let status = super::Problem::from(other).status;
            error_page(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "Something went wrong",
                "Something went wrong on our side. Please try again.",
            )
        }
    }
}
