//! Informational pages and the signed-in home.

use super::{render, Chrome};
use crate::http::auth::{MaybeWebUser, WebUser};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_domain::Role;
use rapport_store::ApplicationStatus;

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
    idle_minutes: u64,
    notices: Vec<NoticeRow>,
    time_zone: String,
    care: Care,
    /// The person's message rooms, with unread counts.
    rooms: Vec<super::rooms::RoomLink>,
}

/// The part of home about therapy: a client's therapist, a therapist's
/// clients, or an admin's verification queue.
#[derive(Default)]
struct Care {
    /// A client's current therapist.
    therapist: Option<String>,
    /// Whether a client has answered the intake questions.
    intake_done: bool,
    /// A therapist's current clients: everyone in their care teams, both partners of a couple.
    clients: Vec<ClientLink>,
    /// Where the person's own therapist application stands, if they applied.
    application: Option<ApplicationStatus>,
    /// Applications waiting for an admin.
    waiting: usize,
    /// A therapist's name as clients see it.
    professional_name: Option<String>,
    /// A couple's therapist one partner proposed, waiting for the other: what to say about it.
    proposal: Option<String>,
}

impl Care {
    async fn load(app: &rapport_app::App, user: &WebUser) -> Result<Self, rapport_app::AppError> {
        let who = &user.auth;
        let mut care = Care::default();
        match user.account.role {
            Role::Admin => {
                care.waiting = app.therapist_applications(who, ApplicationStatus::Pending).await?.len();
            }
            Role::Client => {
                care.therapist = app.my_therapist(who).await?.map(|(_, name)| name);
                care.intake_done = care.therapist.is_some() || app.has_intake(who).await?;
                if let Some(c) = app.my_couple(who).await? {
                    care.proposal =
                        c.care_proposal.filter(|p| p.state == rapport_store::CareProposalState::Pending).map(|p| {
                            if p.by_me {
                                format!("Waiting for {} to agree to {}.", c.partner_name, p.professional_name)
                            } else {
                                format!(
                                    "{} suggested {} as a therapist for you both.",
                                    c.partner_name, p.professional_name
                                )
                            }
                        });
                }
                care.application = app.my_therapist_profile(who).await?.map(|p| p.status);
            }
            Role::Therapist => {
                care.clients = app
                    .my_caseload(who)
                    .await?
                    .into_iter()
                    .map(|(team, id, name)| ClientLink { id: id.to_string(), name, couple: team.couple_id.is_some() })
                    .collect();
                let profile = app.my_therapist_profile(who).await?;
                care.application = profile.as_ref().map(|p| p.status);
                care.professional_name = profile.map(|p| p.professional_name);
            }
        }
        Ok(care)
    }

    /// Where a client's "Find a therapist" leads: straight to matches once intake is done.
    fn find_therapist_link(&self) -> &'static str {
        if self.intake_done {
            "/matches"
        } else {
            "/intake"
        }
    }

    /// A few words on the person's own therapist application.
    fn application_words(&self) -> Option<&'static str> {
        self.application.map(|s| match s {
            ApplicationStatus::Pending => "we're checking your licences",
            ApplicationStatus::Approved => "verified",
            ApplicationStatus::Rejected => "not approved yet; see why",
        })
    }
}

/// One person in a therapist's care, linking to what they shared.
struct ClientLink {
    id: String,
    name: String,
    couple: bool,
}

/// The name a person is greeted by: a therapist's professional name, else the
/// first word of the name they gave (never a bare title such as "Dr.").
fn greeting_name(display_name: &str, professional_name: Option<&str>) -> String {
    if let Some(name) = professional_name {
        return name.to_owned();
    }
    const TITLES: [&str; 8] = ["dr", "mr", "mrs", "ms", "mx", "miss", "prof", "rev"];
    let mut words = display_name.split_whitespace();
    match words.next() {
        Some(first) if TITLES.contains(&first.trim_end_matches('.').to_lowercase().as_str()) => {
            display_name.trim().to_owned()
        }
        Some(first) => first.to_owned(),
        None => "there".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::greeting_name;

    #[test]
    fn greets_by_the_name_given_never_a_bare_title() {
        assert_eq!(greeting_name("Amara Okafor", None), "Amara");
        assert_eq!(greeting_name("Dr. Amara Okafor", None), "Dr. Amara Okafor");
        assert_eq!(greeting_name("dr amara", None), "dr amara");
        assert_eq!(greeting_name("Dr. Amara Okafor", Some("Dr. Amara Okafor, LMFT")), "Dr. Amara Okafor, LMFT");
        assert_eq!(greeting_name("Drew Lee", None), "Drew");
    }
}

#[derive(serde::Deserialize, Default)]
pub struct Welcome {
    welcome: Option<String>,
    chosen: Option<String>,
}

/// A notice on the home page.
struct NoticeRow {
    id: String,
    message: String,
}

#[derive(serde::Deserialize)]
pub struct EmptyForm {}

/// Dismisses one of the person's notices.
pub async fn dismiss_notice(
    State(state): State<AppState>,
    user: WebUser,
    axum::extract::Path(id): axum::extract::Path<String>,
    crate::http::csrf::CsrfForm(_): crate::http::csrf::CsrfForm<EmptyForm>,
) -> Response {
    let Ok(id) = id.parse::<uuid::Uuid>() else { return super::not_found_page() };
    match state.app.dismiss_notice(&user.auth, id).await {
        Ok(()) => axum::response::Redirect::to("/home").into_response(),
        Err(e) => super::app_error_page(e),
    }
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
    let care = match Care::load(&state.app, &user).await {
        Ok(c) => c,
        Err(e) => return super::app_error_page(e),
    };
    let notices = match state.app.my_notices(&user.auth).await {
        Ok(list) => list.into_iter().map(|n| NoticeRow { id: n.id.to_string(), message: n.message }).collect(),
        Err(e) => return super::app_error_page(e),
    };
    let (rooms, unread) = match super::rooms::room_links(&state.app, &user).await {
        Ok(r) => r,
        Err(e) => return super::app_error_page(e),
    };
    let tz = user.account.time_zone;
    let page = HomePage {
        notices,
        first_name: greeting_name(user.account.display_name.as_str(), care.professional_name.as_deref()),
        role: user.account.role,
        partner,
        session_ends: tz.format(user.auth.session_expires_at()),
        idle_minutes: state.app.config().session_idle_timeout.as_secs().div_ceil(60),
        time_zone: tz.name().to_owned(),
        chrome: Chrome::signed_in("Home", &user),
        care,
        rooms,
    };
    let mut page = page;
    page.chrome.unread = Some(unread);
    let welcome = welcome.map(|w| w.0).unwrap_or_default();
    if welcome.welcome.is_some() {
        page.chrome.notice = Some("Welcome to Rapport. Your account is ready.");
    } else if welcome.chosen.is_some() {
        page.chrome.notice =
            Some("Thank you. Your choice is saved, and your therapist now has you on their list of clients.");
    }
    render(StatusCode::OK, &page)
}
