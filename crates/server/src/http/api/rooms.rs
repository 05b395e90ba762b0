//! Rooms and messages.

use super::RoleName;
use crate::http::auth::{ApiUser, ClientContext};
use crate::http::json::ApiJson;
use crate::http::{AppState, Problem};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rapport_app::{AppError, AttachmentUpload, MessageView, RoomSummary};
use rapport_domain::{FieldErrors, MessageId, RoomId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A room member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub id: Uuid,
    pub display_name: String,
    pub role: RoleName,
}

/// A room.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomDto {
    pub id: Uuid,
    /// `individual`, `couple` or `private_channel`.
    pub kind: String,
    pub members: Vec<MemberDto>,
    /// Messages from others you have not read.
    pub unread: u32,
    pub title: String,
    /// Since when a client's message has been waiting for the therapist's reply.
    pub waiting_since: Option<DateTime<Utc>>,
    /// When the therapist's reply is expected (end of the next working day in their time zone, by default).
    pub reply_due: Option<DateTime<Utc>>,
    /// The newest message you can see in the room; null when there is none yet.
    pub last_message: Option<LastMessageDto>,
}

/// The newest message in a room, in short.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessageDto {
    pub id: Uuid,
    /// A short plain-text excerpt (at most about 80 characters): the text; "Voice message",
    /// "Video message", "Picture" or "File" for an attachment (with the caption, if any);
    /// "Message deleted" for a deleted message.
    pub preview: String,
    pub at: DateTime<Utc>,
    pub sender_id: Uuid,
    pub sender_name: String,
}

/// Your rooms.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomDto>,
}

pub fn room_dto(r: RoomSummary) -> RoomDto {
    RoomDto {
        id: r.id.as_uuid(),
        kind: r.kind.as_str().to_owned(),
        members: r
            .members
            .into_iter()
            .map(|m| MemberDto { id: m.id.as_uuid(), display_name: m.display_name, role: m.role.into() })
            .collect(),
        unread: r.unread,
        title: r.title,
        waiting_since: r.waiting_since,
        reply_due: r.reply_due,
        last_message: r.last_message.map(|m| LastMessageDto {
            id: m.id.as_uuid(),
            preview: m.preview,
            at: m.at,
            sender_id: m.sender_id.as_uuid(),
            sender_name: m.sender_name,
        }),
    }
}

/// Your rooms; therapists get them ordered by who has waited longest for a reply.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "rooms", security(("bearer" = [])),
    responses((status = 200, body = RoomList)))]
pub async fn list_rooms(State(state): State<AppState>, ApiUser(who): ApiUser) -> Result<Json<RoomList>, Problem> {
    let rooms = state.app.my_rooms(&who).await?;
    Ok(Json(RoomList { rooms: rooms.into_iter().map(room_dto).collect() }))
}

/// An attachment's description.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentDto {
    /// `audio`, `video`, `image` or `pdf`.
    pub kind: String,
    pub content_type: String,
    pub file_name: String,
    pub size: u64,
    /// Where members fetch it.
    pub url: String,
}

/// A message. A deleted message keeps its place with `deleted: true` and an empty body.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: Uuid,
    pub room_id: Uuid,
    pub sender_id: Uuid,
    pub sender_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// 1 for the original; corrections add one, and earlier versions are kept.
    pub version: i32,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub attachment: Option<AttachmentDto>,
}

pub fn message_dto(m: MessageView) -> MessageDto {
    MessageDto {
        id: m.id.as_uuid(),
        room_id: m.room_id.as_uuid(),
        sender_id: m.sender_id.as_uuid(),
        sender_name: m.sender_name,
        body: m.body,
        created_at: m.created_at,
        version: m.version,
        edited_at: m.edited_at,
        deleted: m.deleted,
        attachment: m.attachment.map(|a| AttachmentDto {
            kind: a.kind.as_str().to_owned(),
            content_type: a.content_type,
            file_name: a.file_name,
            size: a.size,
            url: format!("/api/v1/messages/{}/attachment", m.id),
        }),
    }
}

/// A page of messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<MessageDto>,
}

/// Which messages.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Messages after this one (the id of the last message you have).
    pub after: Option<String>,
    /// Messages before this one (to scroll back).
    pub before: Option<String>,
    /// How many (1–200, default 50).
    pub limit: Option<u32>,
}

// Helpers return `AppError` (small) rather than `Problem`; `?` turns it into a problem.
fn room_id(s: &str) -> Result<RoomId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

fn message_id(s: &str) -> Result<MessageId, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// A message id cursor, or the 400 detail saying why it is not one.
fn cursor(s: Option<&str>, name: &str) -> Result<Option<MessageId>, String> {
    s.filter(|s| !s.is_empty()).map(|s| s.parse().map_err(|_| format!("`{name}` must be a message id."))).transpose()
}

/// A room's messages: after `after`, or before `before`, or the latest `limit`; always oldest first.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/messages", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The room"), PageQuery),
    responses((status = 200, body = MessageList),
        (status = 400, description = "Bad cursor or limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a room you are in", body = Problem, content_type = "application/problem+json")))]
pub async fn list_messages(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MessageList>, Problem> {
    let room = room_id(&id)?;
    let Query(q) = query?;
    let bad_cursor = |detail: String| Problem::new(StatusCode::BAD_REQUEST, detail);
    let after = cursor(q.after.as_deref(), "after").map_err(bad_cursor)?;
    let before = cursor(q.before.as_deref(), "before").map_err(bad_cursor)?;
    if q.limit.is_some_and(|l| !(1..=200).contains(&l)) {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "`limit` must be between 1 and 200."));
    }
    let messages = state.app.room_messages(&who, room, after, before, q.limit.unwrap_or(50), &ctx).await?;
    Ok(Json(MessageList { messages: messages.into_iter().map(message_dto).collect() }))
}

/// A new message.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PostMessage {
    /// 1 to 10,000 characters.
    pub body: String,
}

/// Post a message; it is acknowledged once durably stored.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/messages", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The room")),
    request_body = PostMessage,
    responses((status = 201, body = MessageDto),
        (status = 404, description = "Not a room you are in (nothing is stored)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json")))]
pub async fn post_message(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<(StatusCode, Json<MessageDto>), Problem> {
    let room = room_id(&id)?;
    let message = state.app.post_message(&who, room, &body.body, None, &ctx).await?;
    Ok((StatusCode::CREATED, Json(message_dto(message))))
}

/// Post a voice or video message, picture or PDF (multipart/form-data: `file`, optional
/// `body` caption, optional `video=true` for a recorded video).
#[utoipa::path(post, path = "/api/v1/rooms/{id}/attachments", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The room")),
    request_body(content_type = "multipart/form-data", description = "`file`, and optionally `body` and `video`"),
    responses((status = 201, body = MessageDto),
        (status = 404, description = "Not a room you are in", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, or a type we don't accept", body = Problem, content_type = "application/problem+json")))]
pub async fn post_attachment(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<(StatusCode, Json<MessageDto>), Problem> {
    let room = room_id(&id)?;
    let (body, upload) = read_attachment_form(request, &state).await?;
    let message = state.app.post_message(&who, room, &body, Some(upload), &ctx).await?;
    Ok((StatusCode::CREATED, Json(message_dto(message))))
}

/// Reads a multipart attachment form: `file`, `body`, `video` (and `csrf` for the browser).
pub async fn read_attachment_form(
    request: axum::extract::Request,
    state: &AppState,
) -> Result<(String, AttachmentUpload), Problem> {
    let ct = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send the file as multipart/form-data."));
    }
    let mut multipart =
        <axum::extract::Multipart as axum::extract::FromRequest<AppState>>::from_request(request, state)
            .await
            .map_err(|e| {
                Problem::new(StatusCode::BAD_REQUEST, format!("The form could not be read: {}", e.body_text()))
            })?;
    let mut body = String::new();
    let mut video = false;
    let mut file: Option<(String, Vec<u8>)> = None;
    let too_big = || Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "That file is larger than we accept (25 MB at most).");
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {}", e.body_text()),
                ))
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
            Err(e) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    format!("The form could not be read: {}", e.body_text()),
                ))
            }
        };
        match name.as_str() {
            "file" if !bytes.is_empty() => file = Some((file_name, bytes.to_vec())),
            "body" => body = String::from_utf8_lossy(&bytes).into_owned(),
            "video" => video = matches!(&bytes[..], b"true" | b"1" | b"on"),
            _ => {}
        }
    }
    let (file_name, bytes) =
        file.ok_or_else(|| Problem::validation(&FieldErrors::single("attachment", "Choose a file to send.")))?;
    Ok((body, AttachmentUpload { file_name, bytes, video }))
}

/// A message's attachment, for room members. Served with its sniffed type and as a download
/// (pictures, audio and video inline), never as HTML.
#[utoipa::path(get, path = "/api/v1/messages/{id}/attachment", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No attachment you can see", body = Problem, content_type = "application/problem+json")))]
pub async fn attachment(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (meta, bytes) = state.app.attachment(&who, message_id(&id)?, &ctx).await?;
    Ok(attachment_response(&meta, bytes))
}

/// An attachment response with safe headers.
pub fn attachment_response(meta: &rapport_store::AttachmentMeta, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let disposition = match meta.kind {
        rapport_domain::room::AttachmentKind::Pdf => "attachment",
        _ => "inline",
    };
    // The name was made safe (ASCII letters, digits, dot, dash, underscore) when stored.
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{}\"", meta.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// A correction.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectMessage {
    pub body: String,
}

/// Correct your own message; the earlier version is kept and the message shows it was edited.
#[utoipa::path(patch, path = "/api/v1/messages/{id}", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    request_body = CorrectMessage,
    responses((status = 200, body = MessageDto),
        (status = 403, description = "Not your message", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message you can see", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long", body = Problem, content_type = "application/problem+json")))]
pub async fn correct_message(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CorrectMessage>,
) -> Result<Json<MessageDto>, Problem> {
    Ok(Json(message_dto(state.app.correct_message(&who, message_id(&id)?, &body.body, &ctx).await?)))
}

/// Delete your own message; a visible marker stays in its place.
#[utoipa::path(delete, path = "/api/v1/messages/{id}", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 200, body = MessageDto),
        (status = 403, description = "Not your message", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message you can see", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Already deleted", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_message(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<MessageDto>, Problem> {
    Ok(Json(message_dto(state.app.delete_message(&who, message_id(&id)?, &ctx).await?)))
}

/// An earlier version of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: i32,
    pub body: String,
    pub replaced_at: DateTime<Utc>,
}

/// Earlier versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<VersionDto>,
}

/// Earlier versions of a corrected message, oldest first.
#[utoipa::path(get, path = "/api/v1/messages/{id}/versions", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 200, body = VersionList),
        (status = 404, description = "No such message you can see", body = Problem, content_type = "application/problem+json")))]
pub async fn versions(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<Json<VersionList>, Problem> {
    let list = state.app.message_history(&who, message_id(&id)?).await?;
    Ok(Json(VersionList {
        versions: list
            .into_iter()
            .map(|(version, body, replaced_at)| VersionDto { version, body, replaced_at })
            .collect(),
    }))
}

/// Star a message (only you see your stars).
#[utoipa::path(put, path = "/api/v1/messages/{id}/star", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 204, description = "Starred"),
        (status = 404, description = "No such message you can see", body = Problem, content_type = "application/problem+json")))]
pub async fn star(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.set_star(&who, message_id(&id)?, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove your star.
#[utoipa::path(delete, path = "/api/v1/messages/{id}/star", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The message")),
    responses((status = 204, description = "Unstarred"),
        (status = 404, description = "No such message you can see", body = Problem, content_type = "application/problem+json")))]
pub async fn unstar(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state.app.set_star(&who, message_id(&id)?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marking messages read.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// The newest message you have read.
    pub message_id: Uuid,
}

/// Mark messages up to one as read (the room sees a read receipt).
#[utoipa::path(post, path = "/api/v1/rooms/{id}/read", tag = "rooms", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The room")),
    request_body = ReadRequest,
    responses((status = 204, description = "Marked"),
        (status = 404, description = "Not a room you are in", body = Problem, content_type = "application/problem+json")))]
pub async fn mark_read(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<StatusCode, Problem> {
    state.app.mark_read_upto(&who, room_id(&id)?, MessageId::from_uuid(body.message_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
