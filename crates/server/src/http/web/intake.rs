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
use rapport_app::{AppError, IntakeAnswers, IntakeInput, SafetyAnswers};
use rapport_domain::availability::weekday_id;
use rapport_domain::matching::SeekerKind;
use rapport_domain::place::{language_choices, place_choices, LanguageChoice, PlaceChoice, COMMON_LANGUAGES};
use rapport_domain::taxonomy::{Approach, Concern, Modality};
use rapport_domain::time_zones::zone_label;
use rapport_domain::{FieldErrors, Jurisdiction, Language, TimeZone};
use serde::Deserialize;
use std::borrow::Cow;

/// Time-window rows the questions page shows.
const WINDOW_ROWS: usize = 4;
const MAX_WINDOW_ROWS: usize = 50;

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
    let done_before = match state.app.my_intake_answers(&user.auth).await {
        // Someone who accepted this notice before goes straight to their answers.
        Ok(Some(answers)) if answers.consented_to_current_notice => {
            return Redirect::to("/intake/questions").into_response()
        }
        Ok(answers) => answers.is_some(),
        Err(e) => return app_error_page(e),
    };
    render(
        StatusCode::OK,
        &ConsentPage { chrome: Chrome::signed_in("Before we begin", &user), done_before, error: None },
    )
}

/// The answers as typed (places and languages by name).
struct Answers {
    kind: String,
    concerns: Vec<String>,
    note: String,
    goals: String,
    /// A place's name, e.g. "California, United States".
    jurisdiction: String,
    /// Codes of the languages ticked.
    languages: Vec<String>,
    /// Other languages by name, separated by commas.
    other_languages: String,
    modalities: Vec<String>,
    approaches: Vec<String>,
    therapist_gender: String,
    windows: Vec<WindowRow>,
    immediate_risk: String,
    relationship_safety: String,
    /// The zone the time windows are in.
    time_zone: TimeZone,
}

fn yes_no(answer: bool) -> String {
    (if answer { "yes" } else { "no" }).to_owned()
}

impl Answers {
    fn blank(time_zone: TimeZone) -> Self {
        Self {
            kind: String::new(),
            concerns: Vec::new(),
            note: String::new(),
            goals: String::new(),
            jurisdiction: String::new(),
            languages: vec!["en".to_owned()],
            other_languages: String::new(),
            modalities: Vec::new(),
            approaches: Vec::new(),
            therapist_gender: String::new(),
            windows: vec![WindowRow::default(); WINDOW_ROWS],
            immediate_risk: String::new(),
            relationship_safety: String::new(),
            time_zone,
        }
    }

    /// The saved answers, to change them.
    fn saved(a: IntakeAnswers) -> Self {
        let (common, other): (Vec<Language>, Vec<Language>) =
            a.languages.into_iter().partition(|l| COMMON_LANGUAGES.contains(&l.code()));
        let mut windows: Vec<WindowRow> = a
            .time_windows
            .iter()
            .map(|w| WindowRow { weekday: weekday_id(w.weekday).to_owned(), start: w.start_text(), end: w.end_text() })
            .collect();
        // Room for one more, and never fewer rows than a blank form.
        windows.resize(WINDOW_ROWS.max(windows.len() + 1), WindowRow::default());
        Self {
            kind: match a.kind {
                SeekerKind::Individual => "individual",
                SeekerKind::Couple => "couple",
            }
            .to_owned(),
            concerns: a.concerns.iter().map(|c| c.id().to_owned()).collect(),
            note: a.note,
            goals: a.goals,
            jurisdiction: a.jurisdiction.full_name(),
            languages: common.iter().map(|l| l.code().to_owned()).collect(),
            other_languages: other.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "),
            modalities: a.modalities.iter().map(|m| m.id().to_owned()).collect(),
            approaches: a.approaches.iter().map(|m| m.id().to_owned()).collect(),
            therapist_gender: a.therapist_gender.map(|g| g.id().to_owned()).unwrap_or_default(),
            windows,
            immediate_risk: yes_no(a.safety.immediate_risk),
            relationship_safety: yes_no(a.safety.relationship_safety),
            time_zone: a.time_zone,
        }
    }

    fn from_post(f: &FormFields, account_zone: TimeZone) -> Self {
        Self {
            kind: f.one("kind").to_owned(),
            concerns: f.all("concerns"),
            note: f.one("note").to_owned(),
            goals: f.one("goals").to_owned(),
            jurisdiction: f.one("jurisdiction").to_owned(),
            languages: f.all("languages"),
            other_languages: f.one("other_languages").to_owned(),
            modalities: f.all("modalities"),
            approaches: f.all("approaches"),
            therapist_gender: f.one("therapist_gender").to_owned(),
            windows: window_rows(f, "time_windows", MAX_WINDOW_ROWS, WINDOW_ROWS),
            immediate_risk: f.one("immediate_risk").to_owned(),
            relationship_safety: f.one("relationship_safety").to_owned(),
            time_zone: TimeZone::parse(f.one("time_zone")).unwrap_or(account_zone),
        }
    }

    /// The place as a code when its name is known; otherwise as typed, for the use case to refuse.
    fn jurisdiction_code(&self) -> String {
        Jurisdiction::resolve(&self.jurisdiction)
            .map(|j| j.code().to_owned())
            .unwrap_or_else(|_| self.jurisdiction.trim().to_owned())
    }

    /// The languages as codes, and the names we could not find.
    fn language_codes(&self) -> (Vec<String>, Vec<String>) {
        let mut codes = self.languages.clone();
        let mut unknown = Vec::new();
        for name in self.other_languages.split([',', ';']).map(str::trim).filter(|n| !n.is_empty()) {
            match Language::resolve(name) {
                Ok(l) => codes.push(l.code().to_owned()),
                Err(_) => unknown.push(name.to_owned()),
            }
        }
        (codes, unknown)
    }
}

/// A tick box for a common language.
struct LanguageTick {
    code: &'static str,
    name: &'static str,
    checked: bool,
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
    places: &'static [PlaceChoice],
    common_languages: Vec<LanguageTick>,
    all_languages: &'static [LanguageChoice],
    genders: &'static [(&'static str, &'static str)],
    weekdays: &'static [(&'static str, &'static str)],
    windows: Vec<NumberedWindow>,
    /// The zone the time windows are in, in words.
    zone_words: String,
    /// Whether that is the account's own zone (which Settings changes).
    zone_is_account: bool,
    /// True when changing earlier answers.
    changing: bool,
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
        "other_languages" => (5, "Another language"),
        "preferences.modalities" => (6, "How you'd like to meet"),
        "preferences.approaches" => (7, "Approaches"),
        "preferences.therapist_gender" => (8, "Therapist's gender"),
        _ => (99, "Times you could meet"),
    };
    (rank, text.into())
}

impl QuestionsPage {
    fn new(user: &WebUser, answers: Answers, errors: FormErrors, changing: bool) -> Self {
        let windows = numbered("preferences.time_windows", &answers.windows);
        let common_languages = COMMON_LANGUAGES
            .iter()
            .filter_map(|code| language_choices().iter().find(|c| c.code == *code))
            .map(|c| LanguageTick {
                code: c.code,
                name: c.name,
                checked: answers.languages.iter().any(|l| l == c.code),
            })
            .collect();
        Self {
            chrome: Chrome::signed_in(if changing { "Your answers" } else { "A few questions" }, user),
            concerns: choices(Concern::ALL, Concern::id, Concern::label, &answers.concerns),
            modalities: choices(Modality::ALL, Modality::id, Modality::label, &answers.modalities),
            approaches: choices(Approach::ALL, Approach::id, Approach::label, &answers.approaches),
            places: place_choices(),
            common_languages,
            all_languages: language_choices(),
            genders: GENDER_PREFERENCES,
            weekdays: WEEKDAYS,
            windows,
            zone_words: zone_label(answers.time_zone, chrono::Utc::now()),
            zone_is_account: answers.time_zone == user.account.time_zone,
            changing,
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
    State(state): State<AppState>,
    ClientUser(user): ClientUser,
    consent: Result<axum::extract::Query<ConsentGiven>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let saved = match state.app.my_intake_answers(&user.auth).await {
        Ok(saved) => saved,
        Err(e) => return app_error_page(e),
    };
    // The questions come only after the privacy notice has been accepted: just now, or before.
    let accepted_now = consent.ok().and_then(|c| c.0.consent).as_deref() == Some("yes");
    if !accepted_now && !saved.as_ref().is_some_and(|a| a.consented_to_current_notice) {
        return Redirect::to("/intake").into_response();
    }
    let changing = saved.is_some();
    let answers = saved.map_or_else(|| Answers::blank(user.account.time_zone), Answers::saved);
    render(StatusCode::OK, &QuestionsPage::new(&user, answers, FormErrors::default(), changing))
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
    let answers = Answers::from_post(&form, user.account.time_zone);
    let (time_windows, window_map, partial) = filled_windows(&answers.windows, "preferences.time_windows");
    let (languages, unknown_languages) = answers.language_codes();
    let input = IntakeInput {
        kind: answers.kind.clone(),
        privacy_consent: Some(form.one("privacy_consent") == "yes"),
        jurisdiction: answers.jurisdiction_code(),
        // Names we could not find go through as typed, so the use case refuses the whole form.
        languages: languages.into_iter().chain(unknown_languages.iter().cloned()).collect(),
        concerns: answers.concerns.clone(),
        note: answers.note.clone(),
        goals: answers.goals.clone(),
        modalities: answers.modalities.clone(),
        approaches: answers.approaches.clone(),
        therapist_gender: Some(answers.therapist_gender.clone()).filter(|g| !g.is_empty()),
        time_zone: Some(answers.time_zone.name().to_owned()),
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
    let errors = explain(window_errors(errors, &window_map, &partial), &answers, &unknown_languages);
    let changing = form.one("changing") == "yes";
    render(StatusCode::UNPROCESSABLE_ENTITY, &QuestionsPage::new(&user, answers, FormErrors::new(errors), changing))
}

/// Plainer words than the parsers': places and languages are chosen by
/// name here, so a message never asks for a code.
fn explain(errors: FieldErrors, answers: &Answers, unknown_languages: &[String]) -> FieldErrors {
    let mut errors = super::form::fold_list(errors, "languages");
    if !errors.get("jurisdiction").is_empty() {
        let message = if answers.jurisdiction.trim().is_empty() {
            "Please tell us where you live: start typing your state, province or country and choose it from the list. Therapists can only work where they're licensed.".to_owned()
        } else {
            format!(
                "We couldn't find \u{201c}{}\u{201d} in our list of places. Please start typing your state, province or country and choose it from the list.",
                answers.jurisdiction.trim()
            )
        };
        errors = super::form::replace_message(errors, "jurisdiction", &message);
    }
    if !unknown_languages.is_empty() {
        // The ticked languages were fine; only the names typed need another look.
        errors = super::form::without(errors, "languages");
        let names = unknown_languages.iter().map(|n| format!("\u{201c}{n}\u{201d}")).collect::<Vec<_>>().join(", ");
        errors.add(
            "other_languages",
            format!("We couldn't find {names} in our list of languages. Please type a language's name in English, such as Greek or Swahili, and choose it from the list."),
        );
    } else if !errors.get("languages").is_empty() {
        errors = super::form::replace_message(
            errors,
            "languages",
            "Please choose at least one language you'd like to talk in.",
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
