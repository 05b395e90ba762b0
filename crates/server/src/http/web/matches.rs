//! Suggested therapists, with the reasons, and choosing (or switching to) one.

use super::form::sentence_case;
use super::{app_error_page, not_found_page, render, Chrome};
use crate::http::auth::{ClientContext, ClientUser, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, RequestContext, TherapistCard};
use rapport_domain::matching::{Fit, Match};
use rapport_domain::AccountId;
use serde::Deserialize;
use std::borrow::Cow;

/// One suggested therapist, as their card shows them.
pub struct MatchCard {
    pub id: String,
    pub name: String,
    /// Up to two letters for the circle shown when there is no photo.
    pub initials: String,
    pub pronouns: Option<String>,
    pub has_photo: bool,
    /// "Licensed Marriage and Family Therapist (LMFT) in California".
    pub licenses: Vec<String>,
    pub approaches: Vec<String>,
    pub languages: Vec<String>,
    /// The start of their bio, cut at a word.
    pub bio: String,
    pub fit: Fit,
    pub reasons: Vec<String>,
}

/// How much of a bio a card shows.
const BIO_EXCERPT_CHARS: usize = 240;

/// "Dr. Lena Park, PhD" → "LP": the first letters of the first and last
/// words of the name, leaving out titles and letters after a comma.
fn initials(name: &str) -> String {
    let before_comma = name.split(',').next().unwrap_or(name);
    let words: Vec<&str> = before_comma
        .split_whitespace()
        .filter(|w| {
            !matches!(w.trim_end_matches('.').to_lowercase().as_str(), "dr" | "mr" | "mrs" | "ms" | "mx" | "prof")
        })
        .collect();
    let first = words.first().and_then(|w| w.chars().find(|c| c.is_alphabetic()));
    let last = words.iter().skip(1).last().and_then(|w| w.chars().find(|c| c.is_alphabetic()));
    first.into_iter().chain(last).flat_map(char::to_uppercase).collect()
}

/// The first `max` characters of a bio, cut at a word, with "…" when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.', ' ']))
}

impl MatchCard {
    fn new(m: Match, card: Option<&TherapistCard>) -> Self {
        let licenses = card
            .map(|c| {
                c.licenses
                    .iter()
                    .map(|(kind, place)| format!("{} ({}) in {}", kind.words(), kind.label(), place.full_name()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: m.therapist_id.to_string(),
            initials: initials(&m.professional_name),
            name: m.professional_name,
            pronouns: card.and_then(|c| c.pronouns.clone()),
            has_photo: m.has_photo,
            licenses,
            approaches: card
                .map(|c| c.approaches.iter().map(|a| sentence_case(a.label().trim_start_matches("the "))).collect())
                .unwrap_or_default(),
            languages: card.map(|c| c.languages.iter().map(|l| l.name().to_owned()).collect()).unwrap_or_default(),
            bio: card.map(|c| excerpt(&c.bio, BIO_EXCERPT_CHARS)).unwrap_or_default(),
            fit: Fit::of(m.score),
            reasons: m.reasons,
        }
    }

    /// The fit in words: a number alone can read like a grade.
    pub fn fit(&self) -> &'static str {
        self.fit.words()
    }

    /// The CSS modifier for the fit.
    pub fn fit_class(&self) -> String {
        format!("fit-{}", self.fit.id())
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
    hints: Vec<String>,
    error: Option<Cow<'static, str>>,
    /// Where to see different suggestions.
    others_link: Option<String>,
    /// True when these are suggestions after "show me others".
    showing_others: bool,
    /// For couples work: the partner a choice is proposed to.
    partner: Option<String>,
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
    let couple_work = outcome.as_ref().is_some_and(|o| o.kind == rapport_domain::matching::SeekerKind::Couple);
    let partner = if couple_work { state.app.my_partner_name(&user.auth).await? } else { None };
    let (intake_done, matches, hints) = match outcome {
        None => (false, Vec::new(), Vec::new()),
        Some(o) => {
            let ids: Vec<AccountId> = o.matches.iter().map(|m| m.therapist_id).collect();
            let cards = state.app.therapist_cards(&user.auth, &ids).await?;
            let matches = o
                .matches
                .into_iter()
                .map(|m| {
                    let card = cards.iter().find(|c| c.id == m.therapist_id);
                    MatchCard::new(m, card)
                })
                .collect();
            (true, matches, o.hints.iter().map(|h| h.advice()).collect())
        }
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
        partner,
    })
}

pub async fn page(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    others: Result<axum::extract::Query<Others>, axum::extract::rejection::QueryRejection>,
) -> Response {
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
    ClientUser(user): ClientUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ChooseForm>,
) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_leave_out_titles_and_letters_after_the_name() {
        assert_eq!(initials("Dr. Lena Park, PhD"), "LP");
        assert_eq!(initials("Amara Okafor, LMFT"), "AO");
        assert_eq!(initials("Sam"), "S");
        assert_eq!(initials("maría josé garcía lópez"), "ML");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn excerpts_end_at_a_word() {
        assert_eq!(excerpt("Short  and\nsweet.", 240), "Short and sweet.");
        assert_eq!(excerpt("I work with couples, families and individuals.", 25), "I work with couples…");
    }
}
