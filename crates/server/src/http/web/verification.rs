//! The admin verification queue: reviewing therapists' licences and
//! approving or declining their applications. Admins only; anyone else
//! gets the page-not-found page (from the use cases' `Forbidden`).

use super::form::{replace_message, sentence_case, ErrorLink, FormErrors};
use super::{app_error_page, not_found_page, render, Chrome};
use crate::http::auth::{ClientContext, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::AppError;
use rapport_domain::{AccountId, FieldErrors, TimeZone};
use rapport_store::{ApplicationStatus, License, TherapistProfile, VerificationDecision};
use serde::Deserialize;

/// A licence as an admin reads it.
pub struct LicenceView {
    pub kind: &'static str,
    pub number: String,
    pub place: String,
    pub expires: String,
    pub verified: bool,
}

impl From<&License> for LicenceView {
    fn from(l: &License) -> Self {
        Self {
            kind: l.license_type.label(),
            number: l.number.clone(),
            place: format!("{} ({})", l.jurisdiction.name(), l.jurisdiction.code()),
            expires: l.expires_on.format("%-d %B %Y").to_string(),
            verified: l.verified,
        }
    }
}

/// One application in the queue.
pub struct QueueItem {
    pub id: String,
    pub name: String,
    pub submitted: String,
    pub licences: Vec<LicenceView>,
}

#[derive(Template)]
#[template(path = "admin_queue.html")]
struct QueuePage {
    chrome: Chrome,
    items: Vec<QueueItem>,
}

#[derive(Deserialize, Default)]
pub struct Decided {
    decided: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    user: WebUser,
    decided: Result<axum::extract::Query<Decided>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let pending = match state.app.therapist_applications(&user.auth, ApplicationStatus::Pending).await {
        Ok(p) => p,
        Err(e) => return app_error_page(e),
    };
    let tz = user.account.time_zone;
    let items = pending
        .iter()
        .map(|p| QueueItem {
            id: p.account_id.to_string(),
            name: p.professional_name.clone(),
            submitted: tz.format(p.submitted_at),
            licences: p.licenses.iter().map(LicenceView::from).collect(),
        })
        .collect();
    let mut chrome = Chrome::signed_in("Therapist applications", &user);
    chrome.notice = match decided.ok().and_then(|d| d.0.decided).as_deref() {
        Some("approved") => Some("Approved. The therapist can now be matched with people looking for help."),
        Some("rejected") => Some("Declined. The applicant can read your reason and update their application."),
        _ => None,
    };
    render(StatusCode::OK, &QueuePage { chrome, items })
}

/// A past decision on an application.
pub struct DecisionView {
    pub when: String,
    pub approved: bool,
    pub checked: String,
    pub notes: String,
}

#[derive(Template)]
#[template(path = "admin_review.html")]
struct ReviewPage {
    chrome: Chrome,
    id: String,
    status: &'static str,
    name: String,
    pronouns: Option<String>,
    gender: Option<String>,
    bio: String,
    submitted: String,
    licences: Vec<LicenceView>,
    specialties: Vec<String>,
    approaches: Vec<String>,
    languages: Vec<String>,
    modalities: Vec<String>,
    works_with_couples: bool,
    time_zone: String,
    availability: Vec<String>,
    capacity: u32,
    accepting: bool,
    history: Vec<DecisionView>,
    checked: String,
    notes: String,
    reason: String,
    errors: FormErrors,
    summary: Vec<ErrorLink>,
}

fn labels<T: Copy>(items: &[T], label: impl Fn(T) -> &'static str) -> Vec<String> {
    items.iter().map(|t| sentence_case(label(*t))).collect()
}

fn weekday_name(d: chrono::Weekday) -> &'static str {
    match d {
        chrono::Weekday::Mon => "Monday",
        chrono::Weekday::Tue => "Tuesday",
        chrono::Weekday::Wed => "Wednesday",
        chrono::Weekday::Thu => "Thursday",
        chrono::Weekday::Fri => "Friday",
        chrono::Weekday::Sat => "Saturday",
        chrono::Weekday::Sun => "Sunday",
    }
}

impl ReviewPage {
    fn new(user: &WebUser, p: TherapistProfile, history: Vec<VerificationDecision>) -> Self {
        let tz: TimeZone = user.account.time_zone;
        Self {
            chrome: Chrome::signed_in(&format!("Review: {}", p.professional_name), user),
            id: p.account_id.to_string(),
            status: p.status.as_str(),
            pronouns: p.pronouns.clone(),
            gender: p.gender.map(|g| sentence_case(g.label())),
            bio: p.bio.clone(),
            submitted: tz.format(p.submitted_at),
            licences: p.licenses.iter().map(LicenceView::from).collect(),
            specialties: labels(&p.specialties, |s| s.label()),
            approaches: labels(&p.approaches, |s| s.label()),
            languages: p.languages.iter().map(|l| format!("{} ({})", l.name(), l.code())).collect(),
            modalities: labels(&p.modalities, |s| s.label()),
            works_with_couples: p.works_with_couples,
            time_zone: p.time_zone.name().to_owned(),
            availability: p
                .weekly_availability
                .iter()
                .map(|w| format!("{} {}–{}", weekday_name(w.weekday), w.start_text(), w.end_text()))
                .collect(),
            capacity: p.capacity,
            accepting: p.accepting_new_clients,
            history: history
                .into_iter()
                .rev()
                .map(|d| DecisionView {
                    when: tz.format(d.decided_at),
                    approved: d.approved,
                    checked: d.checked,
                    notes: d.notes,
                })
                .collect(),
            name: p.professional_name,
            checked: String::new(),
            notes: String::new(),
            reason: String::new(),
            errors: FormErrors::default(),
            summary: Vec::new(),
        }
    }

    fn pending(&self) -> bool {
        self.status == "pending"
    }
}

async fn load(state: &AppState, user: &WebUser, id: &str) -> Result<ReviewPage, Response> {
    let id: AccountId = id.parse().map_err(|_| not_found_page())?;
    let profile = state.app.therapist_application(&user.auth, id).await.map_err(app_error_page)?;
    let history = state.app.verification_history(&user.auth, id).await.map_err(app_error_page)?;
    Ok(ReviewPage::new(user, profile, history))
}

pub async fn review(State(state): State<AppState>, user: WebUser, Path(id): Path<String>) -> Response {
    match load(&state, &user, &id).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    checked: String,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

/// Prefixes the use case's field names with the form they belong to, as the page's ids are.
fn scoped(errors: FieldErrors, form: &str) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (key, messages) in errors.iter() {
        for m in messages {
            out.add(&format!("{form}.{key}"), m.clone());
        }
    }
    out
}

async fn decide(
    state: AppState,
    ctx: rapport_app::RequestContext,
    user: WebUser,
    id: String,
    approve: bool,
    checked: String,
    notes: String,
) -> Response {
    let Ok(therapist) = id.parse::<AccountId>() else { return not_found_page() };
    let result = state.app.decide_therapist_application(&user.auth, therapist, approve, &checked, &notes, &ctx).await;
    let (errors, status) = match result {
        Ok(_) => {
            let to = if approve { "/admin/therapists?decided=approved" } else { "/admin/therapists?decided=rejected" };
            return Redirect::to(to).into_response();
        }
        Err(AppError::Invalid(errors)) => {
            let mut errors = scoped(errors, if approve { "approve" } else { "reject" });
            if !approve && notes.trim().is_empty() {
                errors = replace_message(
                    errors,
                    "reject.reason",
                    "Please give the reason, so the applicant knows what would need to change.",
                );
            }
            (FormErrors::new(errors), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AppError::Conflict { message, .. }) => (FormErrors::whole_form(message), StatusCode::CONFLICT),
        Err(e) => return app_error_page(e),
    };
    let mut page = match load(&state, &user, &id).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    if approve {
        page.checked = checked;
        page.notes = notes;
    } else {
        page.reason = notes;
    }
    page.summary = errors.summary(|key| match key {
        "approve.checked" => (1, "What did you check".into()),
        "approve.notes" => (2, "Notes".into()),
        _ => (3, "Reason for declining".into()),
    });
    page.errors = errors;
    render(status, &page)
}

pub async fn approve(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ApproveForm>,
) -> Response {
    decide(state, ctx, user, id, true, form.checked, form.notes).await
}

pub async fn reject(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RejectForm>,
) -> Response {
    decide(state, ctx, user, id, false, String::new(), form.reason).await
}
