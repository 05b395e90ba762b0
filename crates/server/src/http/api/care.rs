//! Intake, matches, and choosing a therapist.

use super::therapists::WindowDto;
use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::{ApiJson, OptionalJson};
use crate::http::{AppState, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rapport_app::{AppError, IntakeInput, SafetyAnswers};
use rapport_domain::matching::SeekerKind;
use rapport_domain::taxonomy::{Approach, Concern, Gender, Modality};
use rapport_domain::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Individual or couple.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntakeKind {
    Individual,
    Couple,
}

/// Preferences for a therapist.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Preferences {
    #[serde(default)]
    pub modalities: Vec<Modality>,
    #[serde(default)]
    pub therapist_gender: Option<Gender>,
    #[serde(default)]
    pub approaches: Vec<Approach>,
    /// IANA zone of `time_windows`; defaults to your account's time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When you could meet, in your own time zone.
    #[serde(default)]
    pub time_windows: Vec<WindowDto>,
}

/// Private safety answers; never shown to a partner.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SafetyDto {
    #[serde(default)]
    pub immediate_risk: bool,
    #[serde(default)]
    pub relationship_safety: bool,
}

/// Intake answers. Submitting them accepts the privacy notice at /privacy
/// unless `privacy_consent` is false.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IntakeRequest {
    pub kind: IntakeKind,
    #[serde(default)]
    pub privacy_consent: Option<bool>,
    /// ISO 3166-2 region (`US-CA`) or country (`GB`) where you live.
    pub jurisdiction: String,
    /// ISO 639-1 codes.
    pub languages: Vec<String>,
    #[serde(default)]
    pub concerns: Vec<Concern>,
    /// In your own words (encrypted at rest).
    #[serde(default)]
    pub note: Option<String>,
    /// What you'd like to be different (encrypted at rest).
    #[serde(default)]
    pub goals: Option<String>,
    #[serde(default)]
    pub preferences: Preferences,
    #[serde(default)]
    pub safety: SafetyDto,
}

/// What happens next.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeResponse {
    pub kind: IntakeKind,
    /// True when you told us you may be in danger: please see `crisis_resources`.
    pub show_crisis_resources: bool,
    /// True when individual support is offered rather than joint couples work.
    pub offer_individual_support: bool,
    /// Where crisis lines are listed.
    pub crisis_resources: String,
}

/// Save intake answers.
#[utoipa::path(post, path = "/api/v1/intake", tag = "care", security(("bearer" = [])),
    request_body = IntakeRequest,
    responses(
        (status = 201, body = IntakeResponse),
        (status = 403, description = "Clients only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit_intake(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<IntakeRequest>,
) -> Result<(StatusCode, Json<IntakeResponse>), Problem> {
    let p = body.preferences;
    let input = IntakeInput {
        kind: match body.kind {
            IntakeKind::Individual => "individual".into(),
            IntakeKind::Couple => "couple".into(),
        },
        privacy_consent: body.privacy_consent,
        jurisdiction: body.jurisdiction,
        languages: body.languages,
        concerns: body.concerns.iter().map(|c| c.id().to_owned()).collect(),
        note: body.note.unwrap_or_default(),
        goals: body.goals.unwrap_or_default(),
        modalities: p.modalities.iter().map(|m| m.id().to_owned()).collect(),
        approaches: p.approaches.iter().map(|a| a.id().to_owned()).collect(),
        therapist_gender: p.therapist_gender.map(|g| g.id().to_owned()),
        time_zone: p.time_zone,
        time_windows: p.time_windows.into_iter().map(Into::into).collect(),
        safety: SafetyAnswers {
            immediate_risk: body.safety.immediate_risk,
            relationship_safety: body.safety.relationship_safety,
        },
    };
    let outcome = state.app.submit_intake(&who, input, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(IntakeResponse {
            kind: match outcome.kind {
                SeekerKind::Individual => IntakeKind::Individual,
                SeekerKind::Couple => IntakeKind::Couple,
            },
            show_crisis_resources: outcome.show_crisis_resources,
            offer_individual_support: outcome.offer_individual_support,
            crisis_resources: "/crisis".into(),
        }),
    ))
}

/// One suggested therapist.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    pub therapist_id: Uuid,
    pub professional_name: String,
    /// 0–100, higher fits better.
    pub score: u32,
    /// Why, in plain words.
    pub reasons: Vec<String>,
}

/// Up to three suggestions, best first; `hints` say what to change when there are none.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchList {
    pub matches: Vec<MatchView>,
    pub hints: Vec<String>,
}

/// Asking for new suggestions.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MatchQuery {
    /// Therapist ids already shown, comma-separated, to see others instead.
    pub exclude: Option<String>,
}

/// Your matches.
#[utoipa::path(get, path = "/api/v1/matches", tag = "care", security(("bearer" = [])),
    params(MatchQuery),
    responses(
        (status = 400, description = "Bad exclude list", body = Problem, content_type = "application/problem+json"),
        (status = 200, body = MatchList),
        (status = 403, description = "Clients only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Do intake first", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn matches(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    query: Result<axum::extract::Query<MatchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MatchList>, Problem> {
    let axum::extract::Query(query) = query?;
    let mut leave_out = Vec::new();
    for id in query.exclude.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).take(30) {
        leave_out.push(id.parse::<AccountId>().map_err(|_| {
            Problem::new(StatusCode::BAD_REQUEST, "`exclude` must be therapist ids separated by commas.")
        })?);
    }
    let outcome = state.app.my_other_matches(&who, &ctx, &leave_out).await?.ok_or(AppError::Conflict {
        field: "intake",
        message: "Please complete the intake questions first, so we can suggest therapists who fit.",
    })?;
    Ok(Json(MatchList {
        matches: outcome
            .matches
            .into_iter()
            .map(|m| MatchView {
                therapist_id: m.therapist_id.as_uuid(),
                professional_name: m.professional_name,
                score: m.score,
                reasons: m.reasons,
            })
            .collect(),
        hints: outcome.hints.iter().map(|h| h.advice()).collect(),
    }))
}

/// Choosing a therapist.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChooseRequest {
    /// Let this therapist see what you shared with earlier therapists.
    #[serde(default)]
    pub sees_history: bool,
    /// When switching: why (optional).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Your new care team.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChooseResponse {
    pub care_team_id: Uuid,
    pub therapist_id: Uuid,
    /// For couples work: `pending` until your partner agrees to this therapist (until then you
    /// work with them one-to-one). `null` for individual care.
    pub partner_agreement: Option<PartnerAgreement>,
}

/// Where your partner's agreement to a couple's therapist stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerAgreement {
    Pending,
    Accepted,
    Declined,
}

impl PartnerAgreement {
    /// The state as the API names it; a withdrawn proposal is not shown.
    pub fn from_state(state: rapport_store::CareProposalState) -> Option<Self> {
        match state {
            rapport_store::CareProposalState::Pending => Some(Self::Pending),
            rapport_store::CareProposalState::Accepted => Some(Self::Accepted),
            rapport_store::CareProposalState::Declined => Some(Self::Declined),
            rapport_store::CareProposalState::Withdrawn => None,
        }
    }
}

/// Start working with one of your matches (or switch to them). For couples work this proposes
/// the therapist to your partner, who accepts or declines; until then you work with them one-to-one.
#[utoipa::path(post, path = "/api/v1/matches/{therapist_id}/choose", tag = "care", security(("bearer" = [])),
    params(("therapist_id" = Uuid, Path, description = "One of your current matches")),
    request_body(content = ChooseRequest, description = "Optional"),
    responses(
        (status = 201, body = ChooseResponse),
        (status = 403, description = "Clients only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of your matches", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn choose(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(therapist_id): Path<String>,
    OptionalJson(body): OptionalJson<ChooseRequest>,
) -> Result<(StatusCode, Json<ChooseResponse>), Problem> {
    let id: AccountId = therapist_id.parse().map_err(|_| Problem::from(AppError::NotFound))?;
    let chosen = state.app.choose_therapist(&who, id, body.sees_history, body.reason.as_deref(), &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(ChooseResponse {
            care_team_id: chosen.team.id,
            therapist_id: chosen.team.therapist_id.as_uuid(),
            partner_agreement: chosen.partner_agreement.and_then(PartnerAgreement::from_state),
        }),
    ))
}
