//! A therapist's page about one client: what they shared at intake.

use super::{app_error_page, render, Chrome};
use crate::http::auth::{ClientContext, TherapistUser};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rapport_app::SharedIntake;
use rapport_domain::availability::weekday_id;
use rapport_domain::matching::SeekerKind;
use rapport_domain::AccountId;

#[derive(Template)]
#[template(path = "client.html")]
struct ClientPage {
    chrome: Chrome,
    name: String,
    couple: bool,
    intake: Option<IntakeSummary>,
}

/// The intake, in words.
struct IntakeSummary {
    kind: &'static str,
    place: String,
    languages: String,
    concerns: Vec<&'static str>,
    note: String,
    goals: String,
    modalities: String,
    approaches: String,
    gender: String,
    windows: Vec<String>,
    time_zone: String,
    immediate_risk: bool,
    relationship_safety: bool,
    updated: String,
}

fn words(items: Vec<&'static str>) -> String {
    if items.is_empty() {
        "No preference".to_owned()
    } else {
        items.join(", ")
    }
}

fn summary(i: SharedIntake, viewer_tz: rapport_domain::TimeZone) -> IntakeSummary {
    let a = i.answers;
    IntakeSummary {
        kind: match a.kind {
            SeekerKind::Individual => "On their own",
            SeekerKind::Couple => "As a couple",
        },
        place: a.jurisdiction.name(),
        languages: a.languages.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "),
        concerns: a.concerns.iter().map(|c| c.label()).collect(),
        note: a.note,
        goals: a.goals,
        modalities: words(a.modalities.iter().map(|m| m.label()).collect()),
        approaches: words(a.approaches.iter().map(|x| x.label()).collect()),
        gender: a.therapist_gender.map_or_else(|| "No preference".to_owned(), |g| g.label().to_owned()),
        windows: a
            .time_windows
            .iter()
            .map(|w| format!("{} {}–{}", weekday_name(weekday_id(w.weekday)), w.start_text(), w.end_text()))
            .collect(),
        time_zone: a.time_zone.name().to_owned(),
        immediate_risk: a.safety.immediate_risk,
        relationship_safety: a.safety.relationship_safety,
        updated: viewer_tz.format(i.updated_at),
    }
}

fn weekday_name(id: &str) -> &'static str {
    match id {
        "mon" => "Monday",
        "tue" => "Tuesday",
        "wed" => "Wednesday",
        "thu" => "Thursday",
        "fri" => "Friday",
        "sat" => "Saturday",
        _ => "Sunday",
    }
}

/// `/clients/{id}`: the client's shared intake, for their current therapist only.
pub async fn page(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    TherapistUser(user): TherapistUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(client) = id.parse::<AccountId>() else { return super::not_found_page_for(Some(&user)) };
    let access = match state.app.care_access(&user.auth, client).await {
        Ok(a) => a,
        Err(e) => return app_error_page(e),
    };
    let intake = match state.app.client_intake(&access, &ctx).await {
        Ok(i) => i,
        Err(e) => return app_error_page(e),
    };
    let name = match state.app.client_name(&access).await {
        Ok(n) => n,
        Err(e) => return app_error_page(e),
    };
    let tz = user.account.time_zone;
    let page = ClientPage {
        chrome: Chrome::signed_in(&name, &user),
        couple: access.team().couple_id.is_some(),
        name,
        intake: intake.map(|i| summary(i, tz)),
    };
    render(StatusCode::OK, &page)
}
