//! `POST /api/v1/auth/token` (sign in), `DELETE /api/v1/auth/token` (sign out)
//! and password resets by email.

use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rapport_store::SessionKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
}

/// A bearer token for `Authorization: Bearer …`. It also ends after the
/// idle timeout without use.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    /// The absolute end of this token's life.
    pub expires_at: DateTime<Utc>,
}

/// Sign in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Email and password don't match", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let signed_in = state.app.sign_in(&body.email, &body.password, SessionKind::Api, &ctx).await?;
    Ok(Json(TokenResponse { token: signed_in.token.expose().to_owned(), expires_at: signed_in.session.expires_at }))
}

/// Sign out: the token stops working at once.
#[utoipa::path(delete, path = "/api/v1/auth/token", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_token(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
) -> Result<StatusCode, Problem> {
    state.app.sign_out(&who, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Asks for a password reset link.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// A new password, set through a reset link.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPasswordRequest {
    /// 12–256 characters, not a commonly used password.
    pub new_password: String,
}

/// Email a password reset link. The answer is the same whether or not an
/// account has this email; the link (`/reset-password/{token}`) works once, for an hour.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If an account has this email, a link is on its way"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an email address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this email or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<StatusCode, Problem> {
    state.app.request_password_reset(&body.email, &ctx).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with the token from a reset link. Every session and
/// API token of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/{token}", tag = "auth",
    params(("token" = String, Path, description = "The token from the emailed link")),
    request_body = NewPasswordRequest,
    responses(
        (status = 204, description = "Password changed; every session ended"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Unknown, used or expired link (urn:rapport:problem:gone)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password is too weak", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    Path(token): Path<String>,
    ApiJson(body): ApiJson<NewPasswordRequest>,
) -> Result<StatusCode, Problem> {
    state.app.reset_password(&token, &body.new_password, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
