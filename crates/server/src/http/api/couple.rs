//! Linking partners: invitations, the confidentiality policy, unlinking.

use super::care::PartnerAgreement;
use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rapport_app::{AppError, CoupleView, InvitationState};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::{FieldErrors, InvitationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A confidentiality policy for work with a couple therapist.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PolicyName {
    /// What one partner tells the therapist alone may be brought into joint work.
    NoSecrets,
    /// The therapist keeps individual confidences, within safety limits.
    LimitedSecrets,
}

impl From<PolicyName> for ConfidentialityPolicy {
    fn from(p: PolicyName) -> Self {
        match p {
            PolicyName::NoSecrets => ConfidentialityPolicy::NoSecrets,
            PolicyName::LimitedSecrets => ConfidentialityPolicy::LimitedSecrets,
        }
    }
}

impl From<ConfidentialityPolicy> for PolicyName {
    fn from(p: ConfidentialityPolicy) -> Self {
        match p {
            ConfidentialityPolicy::NoSecrets => PolicyName::NoSecrets,
            ConfidentialityPolicy::LimitedSecrets => PolicyName::LimitedSecrets,
        }
    }
}

/// Inviting a partner.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    /// Your partner's email.
    pub email: String,
    /// The policy you propose (counts as your consent if your partner accepts the same).
    #[serde(default)]
    pub policy: Option<PolicyName>,
}

/// A new invitation. The token is also in the emailed link; it is shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResponse {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Invite your partner to link accounts (a single-use link, valid 72 hours).
#[utoipa::path(post, path = "/api/v1/couple/invitations", tag = "couple", security(("bearer" = [])),
    request_body = InviteRequest,
    responses(
        (status = 201, body = InviteResponse),
        (status = 403, description = "Clients only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already linked, or they can't accept now", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email, or your own", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InviteResponse>), Problem> {
    let new = state.app.invite_partner(&who, &body.email, body.policy.map(Into::into), &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteResponse {
            id: new.invitation.id.as_uuid(),
            token: new.token.expose().to_owned(),
            expires_at: new.invitation.expires_at,
        }),
    ))
}

/// An invitation you sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentInvitation {
    pub id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `open`, `expired`, `used` or `revoked`.
    pub state: String,
}

/// Invitations you sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentInvitations {
    pub invitations: Vec<SentInvitation>,
}

fn state_name(s: InvitationState) -> &'static str {
    match s {
        InvitationState::Open => "open",
        InvitationState::Expired => "expired",
        InvitationState::Used => "used",
        InvitationState::Revoked => "revoked",
    }
}

/// Invitations you sent, newest first.
#[utoipa::path(get, path = "/api/v1/couple/invitations", tag = "couple", security(("bearer" = [])),
    responses((status = 200, body = SentInvitations),
        (status = 403, description = "Clients only", body = Problem, content_type = "application/problem+json")))]
pub async fn list_invitations(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<SentInvitations>, Problem> {
    let list = state.app.my_invitations(&who).await?;
    Ok(Json(SentInvitations {
        invitations: list
            .into_iter()
            .map(|(i, s)| SentInvitation {
                id: i.id.as_uuid(),
                email: i.email.to_string(),
                created_at: i.created_at,
                expires_at: i.expires_at,
                state: state_name(s).to_owned(),
            })
            .collect(),
    }))
}

fn invitation_id(s: &str) -> Result<InvitationId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// Withdraw an invitation you sent; its link stops working.
#[utoipa::path(delete, path = "/api/v1/couple/sent-invitations/{id}", tag = "couple", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invitation's id")),
    responses((status = 204, description = "Withdrawn"),
        (status = 404, description = "Not yours, or no longer open", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.revoke_invitation(&who, invitation_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a fresh link for an invitation (the old link stops working).
#[utoipa::path(post, path = "/api/v1/couple/sent-invitations/{id}/resend", tag = "couple", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invitation's id")),
    responses((status = 201, body = InviteResponse),
        (status = 404, description = "Not yours", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already used", body = Problem, content_type = "application/problem+json")))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<InviteResponse>), Problem> {
    let new = state.app.resend_invitation(&who, invitation_id(&id)?, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(InviteResponse {
            id: new.invitation.id.as_uuid(),
            token: new.token.expose().to_owned(),
            expires_at: new.invitation.expires_at,
        }),
    ))
}

/// Accepting an invitation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// The policy you consent to.
    pub policy_consent: PolicyName,
}

/// The new couple.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptResponse {
    pub couple_id: Uuid,
}

/// Accept an invitation (as the person invited), consenting to a policy.
#[utoipa::path(post, path = "/api/v1/couple/invitations/{token}/accept", tag = "couple", security(("bearer" = [])),
    params(("token" = String, Path, description = "The token from the invitation link")),
    request_body = AcceptRequest,
    responses(
        (status = 201, body = AcceptResponse),
        (status = 404, description = "No such invitation for you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One of you is already linked", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, used or withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No policy, or your own invitation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<AcceptRequest>,
) -> Result<(StatusCode, Json<AcceptResponse>), Problem> {
    let couple = state.app.accept_invitation(&who, &token, body.policy_consent.into(), &ctx).await?;
    Ok((StatusCode::CREATED, Json(AcceptResponse { couple_id: couple.as_uuid() })))
}

/// Consenting to a policy.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentRequest {
    /// Required: nothing is chosen for you.
    #[serde(default)]
    #[schema(required = true)]
    pub policy: Option<PolicyName>,
}

/// One consent in the policy's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentEntry {
    pub account_id: Uuid,
    pub policy: PolicyName,
    pub at: DateTime<Utc>,
}

/// Your couple.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoupleResponse {
    pub couple_id: Uuid,
    pub partner: PartnerDto,
    pub linked_at: DateTime<Utc>,
    /// The policy in force: both of you consented to it. `null` until you both have.
    pub policy: Option<PolicyName>,
    /// A change one of you asked for that the other has not consented to yet.
    pub proposed_policy: Option<PolicyName>,
    pub my_consent: Option<PolicyName>,
    pub history: Vec<ConsentEntry>,
    /// The latest proposal of a therapist for the two of you, while its care runs.
    pub care_proposal: Option<CareProposalDto>,
}

/// One partner's proposal of a therapist for the couple.
#[derive(Debug, Serialize, ToSchema)]
pub struct CareProposalDto {
    pub therapist_id: Uuid,
    pub professional_name: String,
    /// The partner who proposed the therapist.
    pub proposed_by: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub state: PartnerAgreement,
}

/// Your partner.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerDto {
    pub id: Uuid,
    pub display_name: String,
}

fn couple_response(c: CoupleView) -> CoupleResponse {
    CoupleResponse {
        couple_id: c.id.as_uuid(),
        partner: PartnerDto { id: c.partner_id.as_uuid(), display_name: c.partner_name },
        linked_at: c.linked_at,
        policy: c.policy.agreed.map(Into::into),
        proposed_policy: c.policy.proposed.map(|(_, p)| p.into()),
        my_consent: c.my_consent.map(Into::into),
        history: c
            .history
            .into_iter()
            .map(|h| ConsentEntry { account_id: h.account_id.as_uuid(), policy: h.policy.into(), at: h.at })
            .collect(),
        care_proposal: c.care_proposal.and_then(|p| {
            Some(CareProposalDto {
                therapist_id: p.therapist_id.as_uuid(),
                professional_name: p.professional_name,
                proposed_by: p.proposed_by.as_uuid(),
                proposed_at: p.proposed_at,
                state: PartnerAgreement::from_state(p.state)?,
            })
        }),
    }
}

/// Consent to a confidentiality policy (in force once both of you have; a change needs both again).
#[utoipa::path(post, path = "/api/v1/couple/policy-consent", tag = "couple", security(("bearer" = [])),
    request_body = ConsentRequest,
    responses((status = 200, body = CoupleResponse),
        (status = 404, description = "You are not linked", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No policy chosen, or not a policy: `errors.policy` says which", body = Problem, content_type = "application/problem+json")))]
pub async fn consent(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<ConsentRequest>,
) -> Result<Json<CoupleResponse>, Problem> {
    let Some(policy) = body.policy else {
        return Err(Problem::validation(&FieldErrors::single(
            "policy",
            "Please choose one of the two agreements: no_secrets or limited_secrets.",
        )));
    };
    Ok(Json(couple_response(state.app.consent_to_policy(&who, policy.into(), &ctx).await?)))
}

/// Agree to the therapist your partner proposed: your shared room and your private channel open.
#[utoipa::path(post, path = "/api/v1/couple/care-proposal/accept", tag = "couple", security(("bearer" = [])),
    responses((status = 200, body = CoupleResponse),
        (status = 403, description = "You made the proposal; your partner answers it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You are not linked", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing is waiting for your answer (answered or withdrawn already)", body = Problem, content_type = "application/problem+json")))]
pub async fn accept_care_proposal(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
) -> Result<Json<CoupleResponse>, Problem> {
    Ok(Json(couple_response(state.app.accept_care_proposal(&who, &ctx).await?)))
}

/// Decline the therapist your partner proposed. They keep working with them one-to-one.
#[utoipa::path(post, path = "/api/v1/couple/care-proposal/decline", tag = "couple", security(("bearer" = [])),
    responses((status = 200, body = CoupleResponse),
        (status = 403, description = "You made the proposal; your partner answers it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You are not linked", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing is waiting for your answer (answered or withdrawn already)", body = Problem, content_type = "application/problem+json")))]
pub async fn decline_care_proposal(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
) -> Result<Json<CoupleResponse>, Problem> {
    Ok(Json(couple_response(state.app.decline_care_proposal(&who, &ctx).await?)))
}

/// Your couple and its policy.
#[utoipa::path(get, path = "/api/v1/couple", tag = "couple", security(("bearer" = [])),
    responses((status = 200, body = CoupleResponse),
        (status = 404, description = "You are not linked", body = Problem, content_type = "application/problem+json")))]
pub async fn get_couple(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<CoupleResponse>, Problem> {
    let couple = state.app.my_couple(&who).await?.ok_or(AppError::NotFound)?;
    Ok(Json(couple_response(couple)))
}

/// Unlink from your partner (their agreement is not needed).
#[utoipa::path(delete, path = "/api/v1/couple", tag = "couple", security(("bearer" = [])),
    responses((status = 204, description = "Unlinked"),
        (status = 404, description = "You are not linked", body = Problem, content_type = "application/problem+json")))]
pub async fn unlink(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
) -> Result<StatusCode, Problem> {
    state.app.unlink_partner(&who, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
