//! `/api/v1/clients/{id}…`: what a client shared with their current therapist.

use super::care::IntakeKind;
use super::therapists::WindowDto;
use crate::http::auth::{ApiUser, ClientContext};
use crate::http::{AppState, Problem};
use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rapport_app::{AppError, SharedIntake};
use rapport_domain::matching::SeekerKind;
use rapport_domain::taxonomy::{Approach, Concern, Gender, Modality};
use rapport_domain::AccountId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The client's private safety answers, shown only to their own therapist.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedSafety {
    /// Thinking about harming themselves, or in danger right now.
    pub immediate_risk: bool,
    /// For couples: fear of a partner, harm, or control.
    pub relationship_safety: bool,
}

/// What a client shared at intake when they chose you.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedIntakeView {
    pub client_id: Uuid,
    pub client_name: String,
    pub kind: IntakeKind,
    /// ISO 3166-2 region or ISO 3166-1 country where they live.
    pub jurisdiction: String,
    /// BCP 47 language codes.
    pub languages: Vec<String>,
    pub concerns: Vec<Concern>,
    /// In their own words.
    pub note: String,
    /// What they would like to be different.
    pub goals: String,
    pub modalities: Vec<Modality>,
    pub approaches: Vec<Approach>,
    pub therapist_gender: Option<Gender>,
    /// IANA zone of `time_windows`.
    pub time_zone: String,
    pub time_windows: Vec<WindowDto>,
    pub safety: SharedSafety,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SharedIntake> for SharedIntakeView {
    fn from(i: SharedIntake) -> Self {
        let a = i.answers;
        Self {
            client_id: i.client_id.as_uuid(),
            client_name: i.client_name,
            kind: match a.kind {
                SeekerKind::Individual => IntakeKind::Individual,
                SeekerKind::Couple => IntakeKind::Couple,
            },
            jurisdiction: a.jurisdiction.to_string(),
            languages: a.languages.iter().map(|l| l.code().to_owned()).collect(),
            concerns: a.concerns,
            note: a.note,
            goals: a.goals,
            modalities: a.modalities,
            approaches: a.approaches,
            therapist_gender: a.therapist_gender,
            time_zone: a.time_zone.name().to_owned(),
            time_windows: a.time_windows.iter().map(WindowDto::from).collect(),
            safety: SharedSafety {
                immediate_risk: a.safety.immediate_risk,
                relationship_safety: a.safety.relationship_safety,
            },
            submitted_at: i.submitted_at,
            updated_at: i.updated_at,
        }
    }
}

/// The intake summary a client shared with you, their current therapist. Each
/// read is recorded in the client's "who accessed my data".
#[utoipa::path(get, path = "/api/v1/clients/{id}/intake", tag = "care", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client's account id")),
    responses(
        (status = 200, body = SharedIntakeView),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a client of yours, or no intake yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn intake(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<SharedIntakeView>, Problem> {
    let client: AccountId = id.parse().map_err(|_| Problem::from(AppError::NotFound))?;
    let access = state.app.care_access(&who, client).await?;
    let intake = state.app.client_intake(&access, &ctx).await?.ok_or(AppError::NotFound)?;
    Ok(Json(intake.into()))
}
