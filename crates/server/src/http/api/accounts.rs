//! `POST /api/v1/accounts`: sign up.

use super::RoleName;
use crate::http::auth::ClientContext;
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rapport_app::SignUp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a new client sends to sign up.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAccount {
    /// Their email address; stored lower-cased.
    pub email: String,
    /// 12 to 256 characters, not a common password.
    pub password: String,
    /// What to call them.
    pub display_name: String,
    /// IANA time zone, e.g. `Europe/Paris`; defaults to UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A newly created account.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAccount {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: RoleName,
}

/// Sign up as a client.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "Created", body = CreatedAccount),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email already in use", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_account(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, Json<CreatedAccount>), Problem> {
    let account = state
        .app
        .sign_up(
            SignUp {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
                time_zone: body.time_zone.unwrap_or_default(),
            },
            &ctx,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAccount {
            id: account.id.as_uuid(),
            email: account.email.to_string(),
            display_name: account.display_name.to_string(),
            role: account.role.into(),
        }),
    ))
}
