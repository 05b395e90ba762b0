//! Intake: the privacy notice and consent first, then the questions that
//! matching needs, then (when someone may be in danger) help before matches.

use super::form::{
    choices, filled_windows, numbered, window_errors, window_rows, Choice, ErrorLink, FormErrors, FormFields,
    NumberedWindow, WindowRow, WEEKDAYS,
};
use super::{app_error_page, render, Chrome};
use crate::http::auth::{ClientContext, ClientUser, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, IntakeInput, SafetyAnswers};
use rapport_domain::taxonomy::{Approach, Concern, Modality};
use rapport_domain::FieldErrors;
use serde::Deserialize;
use std::borrow::Cow;

/// Time-window rows the questions page shows.
const WINDOW_ROWS: usize = 4;
const MAX_WINDOW_ROWS: usize = 50;

/// Places many people answer from, for the suggestions under the text box.
const COMMON_PLACES: &[(&str, &str)] = &[
    ("US-CA", "California"),
    ("US-NY", "New York"),
    ("US-TX", "Texas"),
    ("US-FL", "Florida"),
    ("US-IL", "Illinois"),
    ("US-WA", "Washington"),
    ("US-MA", "Massachusetts"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("ES", "Spain"),
];

/// Therapist gender preferences: (value, label).
const GENDER_PREFERENCES: &[(&str, &str)] =
    &[("woman", "A woman"), ("man", "A man"), ("non_binary", "A non-binary therapist")];

#[derive(Template)]
#[template(path = "intake_consent.html")]
struct ConsentPage {
    chrome: Chrome,
    done_before: bool,
    error: Option<String>,
}

/// Intake is for people looking for help; therapists and admins never see it (`ClientUser`).
pub async fn consent(State(state): State<AppState>, ClientUser(user): ClientUser) -> Response {
    let done_before = match state.app.has_intake(&user.auth).await {
        Ok(d) => d,
        Err(e) => return app_error_page(e),
    };
    render(
        StatusCode::OK,
        &ConsentPage { chrome: Chrome::signed_in("Before we begin", &user), done_before, error: None },
    )
}

/// The answers as typed.
#[derive(Default)]
struct Answers {
    kind: String,
    concerns: Vec<String>,
    note: String,
    goals: String,
    jurisdiction: String,
    languages: String,
    modalities: Vec<String>,
    approaches: Vec<String>,
    therapist_gender: String,
    windows: Vec<WindowRow>,
    immediate_risk: String,
    relationship_safety: String,
}

impl Answers {
    fn blank() -> Self {
        Self { languages: "en".to_owned(), windows: vec![WindowRow::default(); WINDOW_ROWS], ..Self::default() }
    }

    fn from_post(f: &FormFields) -> Self {
        Self {
            kind: f.one("kind").to_owned(),
            concerns: f.all("concerns"),
            note: f.one("note").to_owned(),
            goals: f.one("goals").to_owned(),
            jurisdiction: f.one("jurisdiction").to_owned(),
            languages: f.one("languages").to_owned(),
            modalities: f.all("modalities"),
            approaches: f.all("approaches"),
            therapist_gender: f.one("therapist_gender").to_owned(),
            windows: window_rows(f, "time_windows", MAX_WINDOW_ROWS, WINDOW_ROWS),
            immediate_risk: f.one("immediate_risk").to_owned(),
            relationship_safety: f.one("relationship_safety").to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "intake_questions.html")]
struct QuestionsPage {
    chrome: Chrome,
    answers: Answers,
    errors: FormErrors,
    summary: Vec<ErrorLink>,
    concerns: Vec<Choice>,
    modalities: Vec<Choice>,
    approaches: Vec<Choice>,
    places: &'static [(&'static str, &'static str)],
    genders: &'static [(&'static str, &'static str)],
    weekdays: &'static [(&'static str, &'static str)],
    windows: Vec<NumberedWindow>,
    time_zone: &'static str,
}

/// A question's name in the error summary, and its place on the page.
fn label(key: &str) -> (u32, Cow<'static, str>) {
    if let Some(rest) = key.strip_prefix("preferences.time_windows[") {
        let i = rest.trim_end_matches(']').parse::<u32>().unwrap_or(0);
        return (100 + i, format!("Times you could meet, row {}", i + 1).into());
    }
    let (rank, text) = match key {
        "kind" => (1, "Who this is for"),
        "concerns" => (2, "What brings you here"),
        "note" => (3, "In your own words"),
        "goals" => (3, "What you'd like to be different"),
        "jurisdiction" => (4, "Where you live"),
        "languages" => (5, "Languages"),
        "preferences.modalities" => (6, "How you'd like to meet"),
        "preferences.approaches" => (7, "Approaches"),
        "preferences.therapist_gender" => (8, "Therapist's gender"),
        _ => (99, "Times you could meet"),
    };
    (rank, text.into())
}

impl QuestionsPage {
    fn new(user: &WebUser, answers: Answers, errors: FormErrors) -> Self {
        let windows = numbered("preferences.time_windows", &answers.windows);
        Self {
            chrome: Chrome::signed_in("A few questions", user),
            concerns: choices(Concern::ALL, Concern::id, Concern::label, &answers.concerns),
            modalities: choices(Modality::ALL, Modality::id, Modality::label, &answers.modalities),
            approaches: choices(Approach::ALL, Approach::id, Approach::label, &answers.approaches),
            places: COMMON_PLACES,
            genders: GENDER_PREFERENCES,
            weekdays: WEEKDAYS,
            windows,
            time_zone: user.account.time_zone.name(),
            summary: errors.summary(label),
            errors,
            answers,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ConsentGiven {
    consent: Option<String>,
}

pub async fn questions(
    ClientUser(user): ClientUser,
    consent: Result<axum::extract::Query<ConsentGiven>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // The questions come only after the privacy notice has been accepted.
    if consent.ok().and_then(|c| c.0.consent).as_deref() != Some("yes") {
        return Redirect::to("/intake").into_response();
    }
    render(StatusCode::OK, &QuestionsPage::new(&user, Answers::blank(), FormErrors::default()))
}

/// What the person told us about their safety, and what we show because of it.
#[derive(Template)]
#[template(path = "intake_support.html")]
struct SupportPage {
    chrome: Chrome,
    crisis: bool,
    individual_support: bool,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ClientUser(user): ClientUser,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let form = FormFields::new(pairs);
    let answers = Answers::from_post(&form);
    let (time_windows, window_map, partial) = filled_windows(&answers.windows, "preferences.time_windows");
    let input = IntakeInput {
        kind: answers.kind.clone(),
        privacy_consent: Some(form.one("privacy_consent") == "yes"),
        jurisdiction: answers.jurisdiction.clone(),
        languages: super::form::split_codes(&answers.languages),
        concerns: answers.concerns.clone(),
        note: answers.note.clone(),
        goals: answers.goals.clone(),
        modalities: answers.modalities.clone(),
        approaches: answers.approaches.clone(),
        therapist_gender: Some(answers.therapist_gender.clone()).filter(|g| !g.is_empty()),
        time_zone: None,
        time_windows,
        safety: SafetyAnswers {
            immediate_risk: answers.immediate_risk == "yes",
            relationship_safety: answers.relationship_safety == "yes",
        },
    };
    let errors = match state.app.submit_intake(&user.auth, input, &ctx).await {
        // Rendered in answer to the post, never at an address of its own: a
        // partner looking through the browser's history must not find it.
        Ok(outcome) if outcome.show_crisis_resources || outcome.offer_individual_support => {
            let page = SupportPage {
                chrome: Chrome::signed_in("Thank you for telling us", &user),
                crisis: outcome.show_crisis_resources,
                individual_support: outcome.offer_individual_support,
            };
            return render(StatusCode::OK, &page);
        }
        Ok(_) => return Redirect::to("/matches").into_response(),
        Err(AppError::Invalid(errors)) if !errors.get("privacy_consent").is_empty() => {
            let page = ConsentPage {
                chrome: Chrome::signed_in("Before we begin", &user),
                done_before: false,
                error: errors.get("privacy_consent").first().cloned(),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(AppError::Invalid(errors)) => errors,
        Err(e) => return app_error_page(e),
    };
    let errors = explain(window_errors(errors, &window_map, &partial), &answers);
    render(StatusCode::UNPROCESSABLE_ENTITY, &QuestionsPage::new(&user, answers, FormErrors::new(errors)))
}

/// Plainer words for answers left empty than the parsers' messages.
fn explain(errors: FieldErrors, answers: &Answers) -> FieldErrors {
    let mut errors = super::form::fold_list(errors, "languages");
    if answers.jurisdiction.trim().is_empty() && !errors.get("jurisdiction").is_empty() {
        errors = super::form::replace_message(
            errors,
            "jurisdiction",
            "Please tell us where you live, as a code such as US-CA or GB. Therapists can only work where they're licensed.",
        );
    }
    if answers.kind.is_empty() && !errors.get("kind").is_empty() {
        errors = super::form::replace_message(
            errors,
            "kind",
            "Please choose whether this is for you, or for you and your partner.",
        );
    }
    errors
}
