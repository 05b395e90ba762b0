//! `/api/v1/me…`: your own account, sessions and audit trail.

use super::RoleName;
use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rapport_app::{AppError, ProfileChange};
use rapport_domain::{AuditEventId, SessionId};
use rapport_store::Account;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Your account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: RoleName,
    /// IANA time zone.
    pub time_zone: String,
}

impl From<Account> for Me {
    fn from(a: Account) -> Self {
        Me {
            id: a.id.as_uuid(),
            email: a.email.to_string(),
            display_name: a.display_name.to_string(),
            role: a.role.into(),
            time_zone: a.time_zone.name().to_owned(),
        }
    }
}

/// Fields to change; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMe {
    pub display_name: Option<String>,
    pub time_zone: Option<String>,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// One signed-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    /// `browser` or `api`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

/// Your open sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

/// One access event on your data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Machine name, e.g. `auth.signed_in`.
    pub action: String,
    /// Plain words.
    pub description: String,
    /// Who acted: "You", a name (a therapist's professional name), or null when nobody was signed in.
    pub actor: Option<String>,
    pub record_kind: String,
    pub record_id: Option<String>,
    /// The address, for what you did yourself only; never someone else's.
    pub ip: Option<String>,
}

/// Access events on your data, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub events: Vec<AuditEventView>,
    /// Pass as `before` to get the next page; null on the last page.
    pub next_before: Option<Uuid>,
}

/// Paging for the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only events older than this event id.
    pub before: Option<Uuid>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

/// Your account.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_me(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<Me>, Problem> {
    Ok(Json(state.app.my_account(&who).await?.into()))
}

/// Change your display name or time zone.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    request_body = UpdateMe,
    responses(
        (status = 200, body = Me),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<UpdateMe>,
) -> Result<Json<Me>, Problem> {
    let current = state.app.my_account(&who).await?;
    let change = ProfileChange {
        display_name: body.display_name.unwrap_or_else(|| current.display_name.to_string()),
        time_zone: body.time_zone.unwrap_or_else(|| current.time_zone.name().to_owned()),
    };
    Ok(Json(state.app.update_my_profile(&who, change, &ctx).await?.into()))
}

/// Change your password; your other sessions are signed out.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or weak new one", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Ten wrong current passwords in 15 minutes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, Problem> {
    state.app.change_my_password(&who, &body.current_password, &body.new_password, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your signed-in sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, body = SessionList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_sessions(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<SessionList>, Problem> {
    let sessions = state.app.my_sessions(&who).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionView {
                id: s.id.as_uuid(),
                kind: s.kind.as_str().to_owned(),
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                ip: s.ip,
                user_agent: s.user_agent,
                current: s.id == who.session_id(),
            })
            .collect(),
    }))
}

/// Sign out every other session and API token of yours; this one stays signed in.
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every other session ended"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
) -> Result<StatusCode, Problem> {
    state.app.sign_out_other_sessions(&who, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out one of your sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id: SessionId = id.parse().map_err(|_| Problem::from(AppError::NotFound))?;
    state.app.revoke_my_session(&who, id, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who accessed your data: the audit events about your records.
#[utoipa::path(get, path = "/api/v1/me/audit-events", tag = "me", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, body = AuditEventList),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit_events(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditEventList>, Problem> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let entries = state.app.my_audit_trail(&who, query.before.map(AuditEventId::from_uuid), limit).await?;
    let next_before = (entries.len() == limit as usize).then(|| entries.last().map(|e| e.event.id.as_uuid())).flatten();
    Ok(Json(AuditEventList {
        events: entries
            .into_iter()
            .map(|e| AuditEventView {
                id: e.event.id.as_uuid(),
                at: e.event.at,
                action: e.event.action.as_str().to_owned(),
                description: e.description,
                actor: e.actor_name,
                record_kind: e.event.record_kind,
                record_id: e.event.record_id,
                ip: e.event.ip,
            })
            .collect(),
        next_before,
    }))
}

/// A notice for you.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: Uuid,
    /// e.g. `license_expiring`, `needs_new_match`.
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// Your unread notices, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    pub notices: Vec<NoticeView>,
}

/// Your unread notices.
#[utoipa::path(get, path = "/api/v1/me/notices", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = NoticeList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json")))]
pub async fn notices(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<NoticeList>, Problem> {
    let list = state.app.my_notices(&who).await?;
    Ok(Json(NoticeList {
        notices: list
            .into_iter()
            .map(|n| NoticeView { id: n.id, kind: n.kind, message: n.message, created_at: n.created_at })
            .collect(),
    }))
}

/// Dismiss a notice.
#[utoipa::path(post, path = "/api/v1/me/notices/{id}/dismiss", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Notice id")),
    responses((status = 204, description = "Dismissed"),
        (status = 404, description = "No such unread notice of yours", body = Problem, content_type = "application/problem+json")))]
pub async fn dismiss_notice(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id: Uuid = id.parse().map_err(|_| Problem::from(AppError::NotFound))?;
    state.app.dismiss_notice(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How you hear about new messages by email (never with their content).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationPrefsDto {
    /// `immediately`, `digest` (one email a day) or `off`.
    pub email: String,
    /// Therapists: the working days within which clients can expect your reply (1–5).
    pub reply_working_days: u32,
}

/// Your notification preferences.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = NotificationPrefsDto)))]
pub async fn notification_prefs(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> Result<Json<NotificationPrefsDto>, Problem> {
    let p = state.app.my_notification_prefs(&who).await?;
    Ok(Json(NotificationPrefsDto { email: p.email_mode.as_str().to_owned(), reply_working_days: p.reply_working_days }))
}

/// Change your notification preferences.
#[utoipa::path(put, path = "/api/v1/me/notifications", tag = "me", security(("bearer" = [])),
    request_body = NotificationPrefsDto,
    responses((status = 200, body = NotificationPrefsDto),
        (status = 422, description = "Unknown choice", body = Problem, content_type = "application/problem+json")))]
pub async fn set_notification_prefs(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    ApiJson(body): ApiJson<NotificationPrefsDto>,
) -> Result<Json<NotificationPrefsDto>, Problem> {
    let mode = rapport_store::EmailMode::parse(&body.email).ok_or_else(|| {
        Problem::validation(&rapport_domain::FieldErrors::single("email", "Choose immediately, digest or off."))
    })?;
    let p = state.app.set_my_notification_prefs(&who, mode, Some(body.reply_working_days)).await?;
    Ok(Json(NotificationPrefsDto { email: p.email_mode.as_str().to_owned(), reply_working_days: p.reply_working_days }))
}
