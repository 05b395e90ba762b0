//! Applying to practise on Rapport, and seeing where the application stands.

use super::form::{
    choices, dom_id, filled_windows, numbered, replace_message, window_errors, window_rows, Choice, ErrorLink,
    FormErrors, FormFields, NumberedWindow, RowMap, WindowRow, ZonePicker, WEEKDAYS,
};
use super::{app_error_page, render, Chrome};
use crate::http::auth::{ClientContext, WebUser};
use crate::http::csrf::CsrfForm;
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, LicenseInput, TherapistApplication};
use rapport_domain::availability::weekday_id;
use rapport_domain::taxonomy::{Approach, LicenseType, Modality, Specialty};
use rapport_domain::FieldErrors;
use rapport_store::{ApplicationStatus, TherapistProfile};
use serde::Deserialize;
use std::borrow::Cow;

/// Licence rows the form shows (more when a profile already has more).
const LICENSE_ROWS: usize = 3;
/// Availability rows the form shows.
const WINDOW_ROWS: usize = 7;
/// Most rows read from a post: the use case's own limits.
const MAX_LICENSE_ROWS: usize = 20;
const MAX_WINDOW_ROWS: usize = 50;

/// The genders a therapist may give: (value, label).
pub const GENDERS: &[(&str, &str)] = &[("woman", "Woman"), ("man", "Man"), ("non_binary", "Non-binary")];

/// A licence type's full name, for the select.
fn license_type_name(t: LicenseType) -> &'static str {
    match t {
        LicenseType::Lmft => "LMFT: Licensed Marriage and Family Therapist",
        LicenseType::Lcsw => "LCSW: Licensed Clinical Social Worker",
        LicenseType::Lpc => "LPC: Licensed Professional Counselor",
        LicenseType::Lmhc => "LMHC: Licensed Mental Health Counselor",
        LicenseType::Psyd => "PsyD: Doctor of Psychology",
        LicenseType::Phd => "PhD: Doctor of Philosophy in psychology",
        LicenseType::Lp => "LP: Licensed Psychologist",
    }
}

/// One licence row as typed.
#[derive(Clone, Default)]
pub struct LicenseRow {
    /// Position on the form, from 0.
    pub index: usize,
    pub license_type: String,
    pub number: String,
    pub jurisdiction: String,
    pub expires_on: String,
}

impl LicenseRow {
    /// The use case's key for one of this row's fields: `licenses[0].type`.
    pub fn key(&self, field: &str) -> String {
        format!("licenses[{}].{field}", self.index)
    }

    pub fn id(&self, field: &str) -> String {
        dom_id(&self.key(field))
    }

    pub fn hint_id(&self, field: &str) -> String {
        format!("{}-hint", self.id(field))
    }

    pub fn number_on_form(&self) -> usize {
        self.index + 1
    }

    fn is_blank(&self) -> bool {
        [&self.license_type, &self.number, &self.jurisdiction, &self.expires_on].iter().all(|v| v.trim().is_empty())
    }
}

/// The application form's values, as text.
#[derive(Default)]
struct ApplicationForm {
    professional_name: String,
    pronouns: String,
    gender: String,
    bio: String,
    licenses: Vec<LicenseRow>,
    specialties: Vec<String>,
    approaches: Vec<String>,
    modalities: Vec<String>,
    languages: String,
    works_with_couples: bool,
    time_zone: String,
    windows: Vec<WindowRow>,
    capacity: String,
    accepting_new_clients: bool,
}

fn pad_licenses(mut rows: Vec<LicenseRow>) -> Vec<LicenseRow> {
    while rows.len() < LICENSE_ROWS {
        rows.push(LicenseRow { index: rows.len(), ..LicenseRow::default() });
    }
    rows
}

impl ApplicationForm {
    fn blank(user: &WebUser) -> Self {
        Self {
            licenses: pad_licenses(Vec::new()),
            languages: "en".to_owned(),
            time_zone: user.account.time_zone.name().to_owned(),
            windows: vec![WindowRow::default(); WINDOW_ROWS],
            accepting_new_clients: true,
            ..Self::default()
        }
    }

    fn from_profile(p: &TherapistProfile) -> Self {
        let mut windows: Vec<WindowRow> = p
            .weekly_availability
            .iter()
            .map(|w| WindowRow {
                weekday: weekday_id(w.weekday).to_owned(),
                start: w.start_text(),
                // A time input cannot show 24:00; 00:00 as an end means midnight.
                end: if w.end >= 1440 { "00:00".to_owned() } else { w.end_text() },
            })
            .collect();
        if windows.len() < WINDOW_ROWS {
            windows.resize(WINDOW_ROWS, WindowRow::default());
        }
        Self {
            professional_name: p.professional_name.clone(),
            pronouns: p.pronouns.clone().unwrap_or_default(),
            gender: p.gender.map(|g| g.id().to_owned()).unwrap_or_default(),
            bio: p.bio.clone(),
            licenses: pad_licenses(
                p.licenses
                    .iter()
                    .enumerate()
                    .map(|(index, l)| LicenseRow {
                        index,
                        license_type: l.license_type.id().to_owned(),
                        number: l.number.clone(),
                        jurisdiction: l.jurisdiction.code().to_owned(),
                        expires_on: l.expires_on.to_string(),
                    })
                    .collect(),
            ),
            specialties: p.specialties.iter().map(|s| s.id().to_owned()).collect(),
            approaches: p.approaches.iter().map(|s| s.id().to_owned()).collect(),
            modalities: p.modalities.iter().map(|s| s.id().to_owned()).collect(),
            languages: p.languages.iter().map(|l| l.code()).collect::<Vec<_>>().join(", "),
            works_with_couples: p.works_with_couples,
            time_zone: p.time_zone.name().to_owned(),
            windows,
            capacity: p.capacity.to_string(),
            accepting_new_clients: p.accepting_new_clients,
        }
    }

    fn from_post(f: &FormFields) -> Self {
        let licenses = (0..f.rows("licenses", MAX_LICENSE_ROWS))
            .map(|index| LicenseRow {
                index,
                license_type: f.one(&format!("licenses[{index}].type")).to_owned(),
                number: f.one(&format!("licenses[{index}].number")).to_owned(),
                jurisdiction: f.one(&format!("licenses[{index}].jurisdiction")).to_owned(),
                expires_on: f.one(&format!("licenses[{index}].expires_on")).to_owned(),
            })
            .collect();
        Self {
            professional_name: f.one("professional_name").to_owned(),
            pronouns: f.one("pronouns").to_owned(),
            gender: f.one("gender").to_owned(),
            bio: f.one("bio").to_owned(),
            licenses: pad_licenses(licenses),
            specialties: f.all("specialties"),
            approaches: f.all("approaches"),
            modalities: f.all("modalities"),
            languages: f.one("languages").to_owned(),
            works_with_couples: f.checked("works_with_couples"),
            time_zone: f.one("time_zone").to_owned(),
            windows: window_rows(f, "weekly_availability", MAX_WINDOW_ROWS, WINDOW_ROWS),
            capacity: f.one("capacity").to_owned(),
            accepting_new_clients: f.checked("accepting_new_clients"),
        }
    }

    /// The application for the use case, and how to put its errors back on this form.
    fn to_application(&self) -> (TherapistApplication, Submitted) {
        let mut license_map = RowMap::new("licenses");
        let mut licenses = Vec::new();
        let mut blanks = Vec::new();
        for row in self.licenses.iter().filter(|r| !r.is_blank()) {
            license_map.form_rows.push(row.index);
            for (field, value) in [
                ("type", &row.license_type),
                ("number", &row.number),
                ("jurisdiction", &row.jurisdiction),
                ("expires_on", &row.expires_on),
            ] {
                if value.trim().is_empty() {
                    blanks.push((row.key(field), field));
                }
            }
            licenses.push(LicenseInput {
                license_type: row.license_type.clone(),
                number: row.number.clone(),
                jurisdiction: row.jurisdiction.clone(),
                expires_on: row.expires_on.clone(),
            });
        }
        let windows: Vec<WindowRow> = self
            .windows
            .iter()
            .map(|w| WindowRow {
                end: if w.end.trim() == "00:00" && !w.start.trim().is_empty() {
                    "24:00".to_owned()
                } else {
                    w.end.clone()
                },
                ..w.clone()
            })
            .collect();
        let (weekly_availability, window_map, partial_windows) = filled_windows(&windows, "weekly_availability");
        let application = TherapistApplication {
            professional_name: self.professional_name.clone(),
            pronouns: Some(self.pronouns.clone()).filter(|p| !p.trim().is_empty()),
            gender: Some(self.gender.clone()).filter(|g| !g.trim().is_empty()),
            bio: self.bio.clone(),
            licenses,
            specialties: self.specialties.clone(),
            approaches: self.approaches.clone(),
            languages: super::form::split_codes(&self.languages),
            modalities: self.modalities.clone(),
            works_with_couples: self.works_with_couples,
            time_zone: self.time_zone.clone(),
            weekly_availability,
            capacity: self.capacity.trim().parse().unwrap_or(0),
            accepting_new_clients: self.accepting_new_clients,
        };
        let name_blank = self.professional_name.trim().is_empty();
        (application, Submitted { license_map, blanks, window_map, partial_windows, name_blank })
    }
}

/// How the submitted rows relate to the form's rows.
struct Submitted {
    license_map: RowMap,
    /// Licence fields left empty in a row that was otherwise filled in.
    blanks: Vec<(String, &'static str)>,
    window_map: RowMap,
    partial_windows: Vec<usize>,
    name_blank: bool,
}

impl Submitted {
    fn errors(&self, errors: FieldErrors) -> FieldErrors {
        let mut errors = self.license_map.remap(errors);
        for (key, field) in &self.blanks {
            if !errors.get(key).is_empty() {
                let message = match *field {
                    "type" => "Please choose the type of licence.",
                    "number" => "Please give the licence number.",
                    "jurisdiction" => "Please give where this licence is valid, such as US-CA or GB.",
                    _ => "Please give the date this licence expires.",
                };
                errors = replace_message(errors, key, message);
            }
        }
        let mut errors = window_errors(errors, &self.window_map, &self.partial_windows);
        if self.name_blank && !errors.get("professional_name").is_empty() {
            errors = replace_message(errors, "professional_name", "Please give the name clients will see.");
        }
        super::form::fold_list(errors, "languages")
    }
}

/// A field's name in the error summary, and its place on the form.
fn label(key: &str) -> (u32, Cow<'static, str>) {
    if let Some(rest) = key.strip_prefix("licenses[") {
        if let Some((i, field)) = rest.split_once("].") {
            let i = i.parse::<u32>().unwrap_or(0);
            let (rank, what) = match field {
                "type" => (0, "type"),
                "number" => (1, "number"),
                "jurisdiction" => (2, "where it's valid"),
                _ => (3, "expiry date"),
            };
            return (100 + i * 10 + rank, format!("Licence {}, {what}", i + 1).into());
        }
    }
    if let Some(rest) = key.strip_prefix("weekly_availability[") {
        let i = rest.trim_end_matches(']').parse::<u32>().unwrap_or(0);
        return (1000 + i, format!("Availability, row {}", i + 1).into());
    }
    let (rank, text) = match key {
        "professional_name" => (1, "Professional name"),
        "pronouns" => (2, "Pronouns"),
        "gender" => (3, "Gender"),
        "bio" => (4, "About your practice"),
        "licenses" => (99, "Licences"),
        "specialties" => (500, "Specialties"),
        "approaches" => (501, "Approaches"),
        "modalities" => (502, "Ways you work"),
        "languages" => (503, "Languages"),
        "time_zone" => (998, "Time zone"),
        "weekly_availability" => (999, "Availability"),
        "capacity" => (2000, "Clients at once"),
        _ => (3000, "This form"),
    };
    (rank, text.into())
}

/// Where an application stands, as its owner sees it.
pub struct Standing {
    /// pending, approved or rejected: also the CSS modifier.
    pub kind: &'static str,
    pub submitted: String,
    /// The admin's words when an application was turned down.
    pub notes: Option<String>,
    pub decided: Option<String>,
    /// The photo's address, when there is one.
    pub photo: Option<String>,
    /// Why the last upload was refused, if it was.
    pub photo_error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "therapist_apply.html")]
struct ApplyPage {
    chrome: Chrome,
    standing: Option<Standing>,
    form: ApplicationForm,
    errors: FormErrors,
    summary: Vec<ErrorLink>,
    license_types: Vec<(&'static str, &'static str)>,
    genders: &'static [(&'static str, &'static str)],
    specialties: Vec<Choice>,
    approaches: Vec<Choice>,
    modalities: Vec<Choice>,
    zones: ZonePicker,
    weekdays: &'static [(&'static str, &'static str)],
    windows: Vec<NumberedWindow>,
}

impl ApplyPage {
    fn new(chrome: Chrome, standing: Option<Standing>, form: ApplicationForm, errors: FormErrors) -> Self {
        let specialties = choices(Specialty::ALL, Specialty::id, Specialty::label, &form.specialties);
        let approaches = choices(Approach::ALL, Approach::id, Approach::label, &form.approaches);
        let modalities = choices(Modality::ALL, Modality::id, Modality::label, &form.modalities);
        let windows = numbered("weekly_availability", &form.windows);
        Self {
            chrome,
            standing,
            summary: errors.summary(label),
            errors,
            license_types: LicenseType::ALL.iter().map(|t| (t.id(), license_type_name(*t))).collect(),
            genders: GENDERS,
            specialties,
            approaches,
            modalities,
            zones: ZonePicker::new(&form.time_zone),
            weekdays: WEEKDAYS,
            windows,
            form,
        }
    }
}

async fn standing(state: &AppState, user: &WebUser, p: &TherapistProfile) -> Result<Standing, AppError> {
    let tz = user.account.time_zone;
    let (kind, last) = match p.status {
        ApplicationStatus::Pending => ("pending", None),
        ApplicationStatus::Approved => ("approved", None),
        ApplicationStatus::Rejected => {
            let history = state.app.verification_history(&user.auth, user.account.id).await?;
            ("rejected", history.into_iter().filter(|d| !d.approved).max_by_key(|d| d.decided_at))
        }
    };
    Ok(Standing {
        kind,
        submitted: tz.format(p.submitted_at),
        decided: last.as_ref().map(|d| tz.format(d.decided_at)),
        notes: last.map(|d| d.notes).filter(|n| !n.trim().is_empty()),
        photo: p.has_photo.then(|| format!("/therapists/{}/photo", p.account_id)),
        photo_error: None,
    })
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
    photo_error: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    saved: Result<axum::extract::Query<Saved>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let profile = match state.app.my_therapist_profile(&user.auth).await {
        Ok(p) => p,
        Err(e) => return app_error_page(e),
    };
    let (title, standing, form) = match &profile {
        Some(p) => match standing(&state, &user, p).await {
            Ok(s) => ("Your therapist profile", Some(s), ApplicationForm::from_profile(p)),
            Err(e) => return app_error_page(e),
        },
        None => ("Join Rapport as a therapist", None, ApplicationForm::blank(&user)),
    };
    let saved = saved.map(|s| s.0).unwrap_or_default();
    let mut chrome = Chrome::signed_in(title, &user);
    chrome.notice = match saved.saved.as_deref() {
        Some("pending") => Some("Thank you. Your application is saved, and our team will check your licences."),
        Some("approved") => Some("Your profile is saved."),
        Some("photo") => Some("Your photo is saved."),
        _ => None,
    };
    let mut standing = standing;
    if let Some(s) = standing.as_mut() {
        s.photo_error = match saved.photo_error.as_deref() {
            Some("size") => Some("Please use a photo smaller than 2 MB."),
            Some("type") => Some("Please upload a PNG, JPEG or WebP image."),
            Some("missing") => Some("Please choose a photo to upload."),
            _ => None,
        };
    }
    render(StatusCode::OK, &ApplyPage::new(chrome, standing, form, FormErrors::default()))
}

pub async fn submit(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Response {
    let form = ApplicationForm::from_post(&FormFields::new(pairs));
    let (application, submitted) = form.to_application();
    let errors = match state.app.apply_as_therapist(&user.auth, application, &ctx).await {
        Ok(p) => {
            let to = match p.status {
                ApplicationStatus::Approved => "/therapist/apply?saved=approved",
                _ => "/therapist/apply?saved=pending",
            };
            return Redirect::to(to).into_response();
        }
        Err(AppError::Invalid(errors)) => FormErrors::new(submitted.errors(errors)),
        Err(e) => return app_error_page(e),
    };
    let (title, standing) = match state.app.my_therapist_profile(&user.auth).await {
        Ok(Some(p)) => match standing(&state, &user, &p).await {
            Ok(s) => ("Your therapist profile", Some(s)),
            Err(e) => return app_error_page(e),
        },
        Ok(None) => ("Join Rapport as a therapist", None),
        Err(e) => return app_error_page(e),
    };
    let chrome = Chrome::signed_in(title, &user);
    render(StatusCode::UNPROCESSABLE_ENTITY, &ApplyPage::new(chrome, standing, form, errors))
}
