//! Suggested therapists, with the reasons, and choosing (or switching to) one.

use super::{app_error_page, not_found_page, render, Chrome};
use crate::http::auth::{ClientContext, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, RequestContext};
use rapport_domain::{AccountId, Role};
use serde::Deserialize;
use std::borrow::Cow;

/// One suggested therapist.
pub struct MatchCard {
    pub id: String,
    pub name: String,
    pub score: u32,
    pub reasons: Vec<String>,
    pub has_photo: bool,
}

impl MatchCard {
    /// The score in words first: a number alone can read like a grade.
    pub fn fit(&self) -> &'static str {
        match self.score {
            70.. => "Strong fit",
            50..=69 => "Good fit",
            _ => "Possible fit",
        }
    }

    /// The CSS modifier for the fit.
    pub fn fit_class(&self) -> &'static str {
        match self.score {
            70.. => "fit-strong",
            50..=69 => "fit-good",
            _ => "fit-possible",
        }
    }
}

#[derive(Template)]
#[template(path = "matches.html")]
struct MatchesPage {
    chrome: Chrome,
    /// The current therapist's name, when switching.
    current: Option<String>,
    intake_done: bool,
    matches: Vec<MatchCard>,
    hints: Vec<&'static str>,
    error: Option<Cow<'static, str>>,
    /// Where to see different suggestions.
    others_link: Option<String>,
    /// True when these are suggestions after "show me others".
    showing_others: bool,
}

#[derive(Deserialize, Default)]
pub struct Others {
    exclude: Option<String>,
}

async fn matches_page(
    state: &AppState,
    user: &WebUser,
    ctx: &RequestContext,
    already_shown: &[AccountId],
) -> Result<MatchesPage, AppError> {
    let current = state.app.my_therapist(&user.auth).await?.map(|(_, name)| name);
    let outcome = state.app.my_other_matches(&user.auth, ctx, already_shown).await?;
    let (intake_done, matches, hints) = match outcome {
        None => (false, Vec::new(), Vec::new()),
        Some(o) => (
            true,
            o.matches
                .into_iter()
                .map(|m| MatchCard {
                    id: m.therapist_id.to_string(),
                    name: m.professional_name,
                    score: m.score,
                    reasons: m.reasons,
                    has_photo: m.has_photo,
                })
                .collect(),
            o.hints.iter().map(|h| h.advice()).collect(),
        ),
    };
    // "Show me others" leaves out everyone shown so far, this page included.
    let shown: Vec<String> =
        already_shown.iter().map(ToString::to_string).chain(matches.iter().map(|m| m.id.clone())).collect();
    Ok(MatchesPage {
        chrome: Chrome::signed_in("Your matches", user),
        current,
        intake_done,
        others_link: (!matches.is_empty()).then(|| format!("/matches?exclude={}", shown.join(","))),
        showing_others: !already_shown.is_empty(),
        matches,
        hints,
        error: None,
    })
}

pub async fn page(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    others: Result<axum::extract::Query<Others>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if user.account.role != Role::Client {
        return not_found_page();
    }
    let exclude = others.ok().and_then(|q| q.0.exclude).unwrap_or_default();
    // Unreadable ids are simply ignored: the worst case is seeing someone again.
    let shown: Vec<AccountId> = exclude.split(',').take(30).filter_map(|id| id.trim().parse().ok()).collect();
    match matches_page(&state, &user, &ctx, &shown).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize)]
pub struct ChooseForm {
    #[serde(default)]
    sees_history: Option<String>,
    #[serde(default)]
    reason: String,
}

pub async fn choose(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ChooseForm>,
) -> Response {
    if user.account.role != Role::Client {
        return not_found_page();
    }
    let Ok(therapist) = id.parse::<AccountId>() else { return not_found_page() };
    let sees_history = form.sees_history.is_some();
    let error: Cow<'static, str> =
        match state.app.choose_therapist(&user.auth, therapist, sees_history, Some(&form.reason), &ctx).await {
            // For couples work the choice waits for the partner's agreement, shown on the Partner page.
            Ok(chosen) if chosen.partner_agreement.is_some() => {
                return Redirect::to("/couple?done=proposed").into_response()
            }
            Ok(_) => return Redirect::to("/home?chosen=1").into_response(),
            Err(AppError::Conflict { message, .. }) => message.into(),
            Err(AppError::NotFound) => {
                "That therapist isn't among your matches any more. Here are the ones who fit you now.".into()
            }
            Err(e) => return app_error_page(e),
        };
    match matches_page(&state, &user, &ctx, &[]).await {
        Ok(mut page) => {
            page.error = Some(error);
            render(StatusCode::CONFLICT, &page)
        }
        Err(e) => app_error_page(e),
    }
}
