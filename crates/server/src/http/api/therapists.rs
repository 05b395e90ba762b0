//! Therapist applications and the admin verification queue.

use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rapport_app::{AppError, LicenseInput, TherapistApplication, WindowInput};
use rapport_domain::availability::weekday_id;
use rapport_domain::taxonomy::{Approach, Gender, LicenseType, Modality, Specialty};
use rapport_domain::AccountId;
use rapport_store::{ApplicationStatus, TherapistProfile};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A licence.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct LicenseDto {
    /// lmft, lcsw, lpc, lmhc, psyd, phd or lp (any letter case).
    #[serde(rename = "type")]
    pub license_type: String,
    pub number: String,
    /// ISO 3166-2 region (`US-CA`) or ISO 3166-1 country (`GB`).
    pub jurisdiction: String,
    /// `YYYY-MM-DD`.
    pub expires_on: String,
}

/// A weekly time window in the therapist's own time zone.
#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
pub struct WindowDto {
    /// mon, tue, wed, thu, fri, sat or sun.
    pub weekday: String,
    /// `HH:MM`, 24-hour.
    pub start: String,
    /// `HH:MM`, 24-hour; `24:00` is midnight at the end of the day.
    pub end: String,
}

impl From<&rapport_domain::availability::WeeklyWindow> for WindowDto {
    fn from(w: &rapport_domain::availability::WeeklyWindow) -> Self {
        WindowDto { weekday: weekday_id(w.weekday).to_owned(), start: w.start_text(), end: w.end_text() }
    }
}

impl From<WindowDto> for WindowInput {
    fn from(w: WindowDto) -> Self {
        WindowInput { weekday: w.weekday, start: w.start, end: w.end }
    }
}

fn default_true() -> bool {
    true
}

/// A therapist's application.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    pub professional_name: String,
    #[serde(default)]
    pub pronouns: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub bio: String,
    pub licenses: Vec<LicenseDto>,
    pub specialties: Vec<Specialty>,
    #[serde(default)]
    pub approaches: Vec<Approach>,
    /// ISO 639-1 codes, e.g. `en`, `es`.
    pub languages: Vec<String>,
    pub modalities: Vec<Modality>,
    #[serde(default)]
    pub works_with_couples: bool,
    /// IANA time zone of the weekly availability.
    pub time_zone: String,
    #[serde(default)]
    pub weekly_availability: Vec<WindowDto>,
    /// Most active clients at once.
    pub capacity: i64,
    #[serde(default = "default_true")]
    pub accepting_new_clients: bool,
}

/// A licence as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub license_type: LicenseType,
    pub number: String,
    pub jurisdiction: String,
    pub expires_on: NaiveDate,
    pub verified: bool,
}

/// A therapist's application or profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The therapist's account id.
    pub id: Uuid,
    /// pending, approved or rejected.
    pub status: String,
    pub professional_name: String,
    pub pronouns: Option<String>,
    pub gender: Option<Gender>,
    pub bio: String,
    pub licenses: Vec<LicenseView>,
    pub specialties: Vec<Specialty>,
    pub approaches: Vec<Approach>,
    pub languages: Vec<String>,
    pub modalities: Vec<Modality>,
    pub works_with_couples: bool,
    pub time_zone: String,
    pub weekly_availability: Vec<WindowDto>,
    pub capacity: u32,
    pub accepting_new_clients: bool,
    pub submitted_at: DateTime<Utc>,
}

impl From<TherapistProfile> for ApplicationView {
    fn from(p: TherapistProfile) -> Self {
        ApplicationView {
            id: p.account_id.as_uuid(),
            status: p.status.as_str().to_owned(),
            professional_name: p.professional_name,
            pronouns: p.pronouns,
            gender: p.gender,
            bio: p.bio,
            licenses: p
                .licenses
                .into_iter()
                .map(|l| LicenseView {
                    id: l.id,
                    license_type: l.license_type,
                    number: l.number,
                    jurisdiction: l.jurisdiction.code().to_owned(),
                    expires_on: l.expires_on,
                    verified: l.verified,
                })
                .collect(),
            specialties: p.specialties,
            approaches: p.approaches,
            languages: p.languages.iter().map(|l| l.code().to_owned()).collect(),
            modalities: p.modalities,
            works_with_couples: p.works_with_couples,
            time_zone: p.time_zone.name().to_owned(),
            weekly_availability: p.weekly_availability.iter().map(WindowDto::from).collect(),
            capacity: p.capacity,
            accepting_new_clients: p.accepting_new_clients,
            submitted_at: p.submitted_at,
        }
    }
}

/// Applications in the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationList {
    pub applications: Vec<ApplicationView>,
}

/// An approval, with what was checked.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ApproveRequest {
    #[serde(default)]
    pub notes: String,
    /// What was checked (e.g. the licensing board lookup). Defaults to a summary of the licences.
    #[serde(default)]
    pub checked: String,
}

/// A rejection, with its reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RejectRequest {
    pub reason: String,
    #[serde(default)]
    pub checked: String,
}

fn to_input(body: ApplicationRequest) -> TherapistApplication {
    TherapistApplication {
        professional_name: body.professional_name,
        pronouns: body.pronouns,
        gender: body.gender.map(|g| g.id().to_owned()),
        bio: body.bio,
        licenses: body
            .licenses
            .into_iter()
            .map(|l| LicenseInput {
                license_type: l.license_type,
                number: l.number,
                jurisdiction: l.jurisdiction,
                expires_on: l.expires_on,
            })
            .collect(),
        specialties: body.specialties.iter().map(|s| s.id().to_owned()).collect(),
        approaches: body.approaches.iter().map(|s| s.id().to_owned()).collect(),
        languages: body.languages,
        modalities: body.modalities.iter().map(|s| s.id().to_owned()).collect(),
        works_with_couples: body.works_with_couples,
        time_zone: body.time_zone,
        weekly_availability: body.weekly_availability.into_iter().map(Into::into).collect(),
        capacity: body.capacity,
        accepting_new_clients: body.accepting_new_clients,
    }
}

/// Apply to practise on Rapport (or update your application).
#[utoipa::path(post, path = "/api/v1/therapists/application", tag = "therapists", security(("bearer" = [])),
    request_body = ApplicationRequest,
    responses(
        (status = 201, body = ApplicationView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<ApplicationRequest>,
) -> Result<(StatusCode, Json<ApplicationView>), Problem> {
    let profile = state.app.apply_as_therapist(&who, to_input(body), &ctx).await?;
    Ok((StatusCode::CREATED, Json(profile.into())))
}

/// Your application, and where it stands.
#[utoipa::path(get, path = "/api/v1/therapists/application", tag = "therapists", security(("bearer" = [])),
    responses(
        (status = 200, body = ApplicationView),
        (status = 404, description = "You haven't applied", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn my_application(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<ApplicationView>, Problem> {
    let profile = state.app.my_therapist_profile(&who).await?.ok_or(AppError::NotFound)?;
    Ok(Json(profile.into()))
}

/// The verification queue: pending applications, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/admin/therapist-applications", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = ApplicationList),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn queue(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<ApplicationList>, Problem> {
    let list = state.app.therapist_applications(&who, ApplicationStatus::Pending).await?;
    Ok(Json(ApplicationList { applications: list.into_iter().map(Into::into).collect() }))
}

fn therapist_id(id: &str) -> Result<AccountId, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// Approve an application after checking the licences (admins).
#[utoipa::path(post, path = "/api/v1/admin/therapist-applications/{id}/approve", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The therapist's account id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, body = ApplicationView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    crate::http::json::OptionalJson(body): crate::http::json::OptionalJson<ApproveRequest>,
) -> Result<Json<ApplicationView>, Problem> {
    let id = therapist_id(&id)?;
    let p = state.app.decide_therapist_application(&who, id, true, &body.checked, &body.notes, &ctx).await?;
    Ok(Json(p.into()))
}

/// Decline an application, with the reason (admins).
#[utoipa::path(post, path = "/api/v1/admin/therapist-applications/{id}/reject", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The therapist's account id")),
    request_body = RejectRequest,
    responses(
        (status = 200, body = ApplicationView),
        (status = 403, description = "Admins only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A reason is required", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reject(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RejectRequest>,
) -> Result<Json<ApplicationView>, Problem> {
    let id = therapist_id(&id)?;
    let p = state.app.decide_therapist_application(&who, id, false, &body.checked, &body.reason, &ctx).await?;
    Ok(Json(p.into()))
}

/// Upload your profile photo: the raw image as the body (PNG, JPEG or WebP, up to 2 MiB).
#[utoipa::path(put, path = "/api/v1/therapists/application/photo", tag = "therapists", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/*", description = "PNG, JPEG or WebP"),
    responses(
        (status = 204, description = "Saved"),
        (status = 415, description = "Not an image content type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a PNG/JPEG/WebP, too large, or no application yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_photo(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    request: axum::extract::Request,
) -> Result<StatusCode, Problem> {
    let declared = request.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !declared.trim().to_ascii_lowercase().starts_with("image/") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the photo as an image (PNG, JPEG or WebP).",
        ));
    }
    let bytes = axum::body::to_bytes(request.into_body(), rapport_app::MAX_PHOTO_BYTES + 1).await.map_err(|_| {
        Problem::validation(&rapport_domain::FieldErrors::single("photo", "Please use a photo smaller than 2 MB."))
    })?;
    state.app.set_my_photo(&who, &bytes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A therapist's profile photo.
#[utoipa::path(get, path = "/api/v1/therapists/{id}/photo", tag = "therapists", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The therapist's account id")),
    responses(
        (status = 200, description = "The image", content_type = "image/*"),
        (status = 404, description = "No photo, or not visible to you", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn photo(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<axum::response::Response, Problem> {
    let id = therapist_id(&id)?;
    let (content_type, bytes) = state.app.therapist_photo(&who, id).await?;
    Ok(photo_response(&content_type, bytes))
}

/// An image response with a safe, sniffed content type.
pub fn photo_response(content_type: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"photo\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
