//! Message rooms in the browser: the list of rooms, a room's history and the
//! forms to write, attach, correct, delete and star. Everything works as plain
//! forms; `room.js` adds live updates, typing, read marks and recording.

use super::couple::PolicyText;
use super::{app_error_page, error_page_for, not_found_page_for, render, Chrome};
use crate::http::auth::{ClientContext, WebUser};
use crate::http::csrf::{self, CsrfForm};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use chrono::{DateTime, Datelike, Utc};
use rapport_app::{App, AppError, AttachmentUpload, MessageView, RoomSummary};
use rapport_domain::room::{RoomKind, MAX_ATTACHMENT_BYTES, MAX_MESSAGE_CHARS};
use rapport_domain::{FieldErrors, MessageId, Role, RoomId, TimeZone};
use serde::Deserialize;
use serde_json::json;

// ---- the list of rooms -------------------------------------------------------

/// A room in a list (the rooms page and home).
pub struct RoomLink {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub members: String,
    pub unread: u32,
    /// Since when a client's message has waited for the therapist, and when the reply is due.
    pub waiting_since: Option<String>,
    pub reply_due: Option<String>,
    /// Whether the viewer is the one expected to reply.
    pub therapist: bool,
    /// The newest message, when there is one.
    pub last: Option<LastLine>,
}

/// The newest message of a room, as a line under its title.
pub struct LastLine {
    /// "You" or, in a couple room, who wrote it; nobody in a room of two.
    pub sender: Option<String>,
    pub preview: String,
    /// Short: "14:05" today, "Mon" this week, "3 Mar" this year, "3 Mar 2025" before.
    pub when: String,
    /// In full, for the `<time>` element and its tooltip.
    pub when_full: String,
    pub iso: String,
}

/// When a message was sent, as short as it can be while still clear, in the viewer's zone.
fn short_when(at: DateTime<Utc>, now: DateTime<Utc>, tz: TimeZone) -> String {
    let local = at.with_timezone(&tz.tz());
    let today = now.with_timezone(&tz.tz()).date_naive();
    let days = (today - local.date_naive()).num_days();
    if days == 0 {
        local.format("%H:%M").to_string()
    } else if (1..7).contains(&days) {
        local.format("%a").to_string()
    } else if local.year() == today.year() {
        local.format("%-d %b").to_string()
    } else {
        local.format("%-d %b %Y").to_string()
    }
}

fn kind_label(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Individual => "One-to-one",
        RoomKind::Couple => "Couple room",
        RoomKind::PrivateChannel => "Private channel",
    }
}

fn room_link(r: RoomSummary, user: &WebUser, now: DateTime<Utc>) -> RoomLink {
    let tz = user.account.time_zone;
    let last = r.last_message.map(|m| LastLine {
        sender: if m.sender_id == user.account.id {
            Some("You".to_owned())
        } else if r.kind == RoomKind::Couple {
            Some(m.sender_name)
        } else {
            None
        },
        preview: m.preview,
        when: short_when(m.at, now, tz),
        when_full: tz.format(m.at),
        iso: m.at.to_rfc3339(),
    });
    RoomLink {
        last,
        id: r.id.to_string(),
        title: r.title,
        kind: kind_label(r.kind),
        // Semicolons, as professional names may hold commas ("Dr. Iris Moreno, LMFT").
        members: r.members.iter().map(|m| m.display_name.as_str()).collect::<Vec<_>>().join("; "),
        unread: r.unread,
        waiting_since: r.waiting_since.map(|t| tz.format(t)),
        reply_due: r.reply_due.map(|t| tz.format(t)),
        therapist: user.account.role == Role::Therapist,
    }
}

/// The caller's rooms (therapists: who has waited longest first) and their unread total.
pub async fn room_links(app: &App, user: &WebUser) -> Result<(Vec<RoomLink>, u32), AppError> {
    if !matches!(user.account.role, Role::Client | Role::Therapist) {
        return Ok((Vec::new(), 0));
    }
    let rooms = app.my_rooms(&user.auth).await?;
    let unread = rooms.iter().map(|r| r.unread).sum();
    let now = app.current_time();
    Ok((rooms.into_iter().map(|r| room_link(r, user, now)).collect(), unread))
}

#[derive(Template)]
#[template(path = "rooms.html")]
struct RoomsPage {
    chrome: Chrome,
    rooms: Vec<RoomLink>,
    therapist: bool,
}

/// `GET /rooms`.
pub async fn list(State(state): State<AppState>, user: WebUser) -> Response {
    if !matches!(user.account.role, Role::Client | Role::Therapist) {
        return not_found_page_for(Some(&user));
    }
    match room_links(&state.app, &user).await {
        Ok((rooms, unread)) => {
            let mut chrome = Chrome::signed_in("Messages", &user);
            chrome.unread = Some(unread);
            render(StatusCode::OK, &RoomsPage { chrome, rooms, therapist: user.account.role == Role::Therapist })
        }
        Err(e) => app_error_page(e),
    }
}

// ---- one room ----------------------------------------------------------------

/// A message's attachment as the page shows it.
pub struct AttachmentRow {
    /// `audio`, `video`, `image` or `pdf`.
    pub kind: &'static str,
    pub url: String,
    pub file_name: String,
    pub size: String,
}

/// One message as the page shows it.
pub struct MessageRow {
    pub id: String,
    pub sender: String,
    pub mine: bool,
    pub when: String,
    pub iso: String,
    pub edited: bool,
    pub deleted: bool,
    pub body: String,
    pub starred: bool,
    pub attachment: Option<AttachmentRow>,
    pub first_unread: bool,
}

fn size_words(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024).max(1))
    }
}

fn message_row(m: &MessageView, user: &WebUser, starred: bool, first_unread: bool) -> MessageRow {
    let tz = user.account.time_zone;
    MessageRow {
        id: m.id.to_string(),
        sender: m.sender_name.clone(),
        mine: m.sender_id == user.account.id,
        when: tz.format(m.created_at),
        iso: m.created_at.to_rfc3339(),
        edited: m.edited_at.is_some(),
        deleted: m.deleted,
        body: m.body.clone(),
        starred,
        attachment: m.attachment.as_ref().filter(|_| !m.deleted).map(|a| AttachmentRow {
            kind: a.kind.as_str(),
            url: format!("/rooms/{}/attachments/{}", m.room_id, m.id),
            file_name: a.file_name.clone(),
            size: size_words(a.size),
        }),
        first_unread,
    }
}

/// A message for `room.js`: as the realtime events carry it, with the browser's attachment address.
fn message_json(m: &MessageView) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(a) = v.get_mut("attachment").and_then(|a| a.as_object_mut()) {
        a.insert("url".into(), json!(format!("/rooms/{}/attachments/{}", m.room_id, m.id)));
    }
    v
}

#[derive(Template)]
#[template(path = "room.html")]
struct RoomPage {
    chrome: Chrome,
    room_id: String,
    title: String,
    about: &'static str,
    members: String,
    me: String,
    time_zone: String,
    /// The zone's names by UTC offset ("-480:PST,-420:PDT"), so live times read as rendered ones.
    zone_names: String,
    messages: Vec<MessageRow>,
    first_unread: Option<String>,
    /// `?before=` for the page of earlier messages, when there are any.
    earlier: Option<String>,
    /// Whether this page ends with the newest message (live updates append to it).
    latest: bool,
    /// Opened at the first unread message with a full page after it: newer ones may follow.
    newer: bool,
    /// For a client: when the therapist is expected to reply.
    expected_reply: Option<String>,
    /// For a therapist: since when someone has waited, and when the reply is due.
    waiting_since: Option<String>,
    reply_due: Option<String>,
    /// For a private channel: the couple's agreement, shown while writing.
    policy: Option<PolicyText>,
    therapist_name: String,
    viewer_is_therapist: bool,
    body: String,
    body_error: Option<String>,
    attachment_error: Option<String>,
    max_chars: usize,
}

fn about(kind: RoomKind, role: Role) -> &'static str {
    match (kind, role) {
        (RoomKind::Individual, Role::Therapist) => "Only you and your client can read this room.",
        (RoomKind::Individual, _) => "Only you and your therapist can read this room.",
        (RoomKind::Couple, _) => "Everyone here reads everything: both partners and the therapist.",
        (RoomKind::PrivateChannel, Role::Therapist) => {
            "A private channel with one partner. Only the two of you can read it."
        }
        (RoomKind::PrivateChannel, _) => "Only you and your therapist can read this channel.",
    }
}

#[derive(Deserialize, Default)]
pub struct Before {
    before: Option<String>,
}

fn parse_room(id: &str) -> Option<RoomId> {
    id.parse().ok()
}

fn parse_message(id: &str) -> Option<MessageId> {
    id.parse().ok()
}

async fn room_page(
    state: &AppState,
    user: &WebUser,
    room: RoomId,
    before: Option<MessageId>,
    ctx: &rapport_app::RequestContext,
) -> Result<RoomPage, AppError> {
    let view = state.app.room_view(&user.auth, room, before, ctx).await?;
    let tz: TimeZone = user.account.time_zone;
    let me = user.account.id;
    let first_unread = view.first_unread.filter(|id| view.messages.iter().any(|m| m.id == *id));
    // The room opens at the first unread message with a page (50) after it; when that
    // page is full, more may follow, and opening the room again shows them.
    let newer =
        before.is_none() && first_unread.is_some_and(|f| view.messages.iter().filter(|m| m.id >= f).count() >= 50);
    let messages = view
        .messages
        .iter()
        .map(|m| message_row(m, user, view.starred.contains(&m.id), Some(m.id) == first_unread))
        .collect::<Vec<_>>();
    let therapist_name = view
        .summary
        .members
        .iter()
        .find(|m| m.role == Role::Therapist && m.id != me)
        .map(|m| m.display_name.clone())
        .unwrap_or_else(|| "your therapist".to_owned());
    let mut chrome = Chrome::signed_in(&view.summary.title, user);
    if before.is_some() {
        chrome.title = format!("Earlier messages: {}", view.summary.title);
    }
    Ok(RoomPage {
        chrome,
        room_id: room.to_string(),
        title: view.summary.title.clone(),
        about: about(view.summary.kind, user.account.role),
        members: view.summary.members.iter().map(|m| m.display_name.as_str()).collect::<Vec<_>>().join("; "),
        me: me.to_string(),
        time_zone: tz.name().to_owned(),
        zone_names: rapport_domain::time_zones::names_by_offset(tz, state.app.current_time())
            .into_iter()
            .map(|(offset, name)| format!("{offset}:{name}"))
            .collect::<Vec<_>>()
            .join(","),
        first_unread: first_unread.map(|id| id.to_string()),
        earlier: view.has_older.then(|| messages.first().map(|m| m.id.clone())).flatten(),
        latest: before.is_none() && !newer,
        newer,
        messages,
        expected_reply: view.expected_reply_by.map(|t| tz.format(t)),
        // Clients see `expected_reply` instead.
        waiting_since: view
            .summary
            .waiting_since
            .filter(|_| user.account.role == Role::Therapist)
            .map(|t| tz.format(t)),
        reply_due: view.summary.reply_due.filter(|_| user.account.role == Role::Therapist).map(|t| tz.format(t)),
        policy: view.policy.map(Into::into),
        therapist_name,
        viewer_is_therapist: user.account.role == Role::Therapist,
        body: String::new(),
        body_error: None,
        attachment_error: None,
        max_chars: MAX_MESSAGE_CHARS,
    })
}

/// `GET /rooms/{room}`.
pub async fn page(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(room): Path<String>,
    query: Result<axum::extract::Query<Before>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(room) = parse_room(&room) else { return not_found_page_for(Some(&user)) };
    let before = query.ok().and_then(|q| q.0.before).and_then(|b| parse_message(&b));
    match room_page(&state, &user, room, before, &ctx).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

/// Whether `room.js` sent the form and wants JSON back.
fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn first_error(errors: &FieldErrors, field: &str) -> String {
    errors
        .get(field)
        .first()
        .or_else(|| errors.iter().flat_map(|(_, m)| m.iter()).next())
        .cloned()
        .unwrap_or_else(|| "Please check what you wrote.".to_owned())
}

/// Where to land after writing: the room, at the message.
fn back_to(room: RoomId, message: MessageId) -> Response {
    Redirect::to(&format!("/rooms/{room}#m-{message}")).into_response()
}

#[derive(Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    body: String,
}

/// What went wrong in one of the room's forms.
enum Mistake {
    /// In the message box: the explanation, and the text to keep.
    Message { error: String, text: String },
    /// In the attachment form.
    Attachment(String),
}

/// Shows the room again with a mistake next to the form that made it, keeping what was written.
async fn room_with_error(
    state: &AppState,
    user: &WebUser,
    room: RoomId,
    ctx: &rapport_app::RequestContext,
    mistake: Mistake,
    status: StatusCode,
) -> Response {
    match room_page(state, user, room, None, ctx).await {
        Ok(mut page) => {
            match mistake {
                Mistake::Message { error, text } => {
                    page.body = text;
                    page.body_error = Some(error);
                }
                Mistake::Attachment(error) => page.attachment_error = Some(error),
            }
            render(status, &page)
        }
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(user)),
        Err(e) => app_error_page(e),
    }
}

/// `POST /rooms/{room}/messages`.
pub async fn post(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    headers: HeaderMap,
    Path(room): Path<String>,
    CsrfForm(form): CsrfForm<ComposeForm>,
) -> Response {
    let json = wants_json(&headers);
    let Some(room) = parse_room(&room) else { return not_found_page_for(Some(&user)) };
    match state.app.post_message(&user.auth, room, &form.body, None, &ctx).await {
        Ok(m) if json => (StatusCode::CREATED, Json(json!({ "message": message_json(&m) }))).into_response(),
        Ok(m) => back_to(room, m.id),
        Err(AppError::Invalid(errors)) => {
            let message = first_error(&errors, "body");
            if json {
                return json_error(StatusCode::UNPROCESSABLE_ENTITY, &message);
            }
            let mistake = Mistake::Message { error: message, text: form.body };
            room_with_error(&state, &user, room, &ctx, mistake, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::NotFound | AppError::Forbidden) if json => {
            json_error(StatusCode::NOT_FOUND, "You're no longer in this room.")
        }
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(_) if json => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "We couldn't send that just now. Your message is still here; please try again.",
        ),
        Err(e) => app_error_page(e),
    }
}

#[derive(Deserialize, Default)]
pub struct After {
    after: Option<String>,
}

/// `GET /rooms/{room}/updates?after=<message id>`: messages after one, for `room.js` to catch up.
pub async fn updates(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path(room): Path<String>,
    query: Result<axum::extract::Query<After>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(room) = parse_room(&room) else { return json_error(StatusCode::NOT_FOUND, "No such room.") };
    let after = query.ok().and_then(|q| q.0.after).and_then(|a| parse_message(&a));
    match state.app.room_messages(&user.auth, room, after, None, 200, &ctx).await {
        Ok(list) => Json(json!({ "messages": list.iter().map(message_json).collect::<Vec<_>>() })).into_response(),
        Err(AppError::NotFound | AppError::Forbidden) => json_error(StatusCode::NOT_FOUND, "No such room."),
        Err(_) => json_error(StatusCode::SERVICE_UNAVAILABLE, "Please try again in a moment."),
    }
}

#[derive(Deserialize)]
pub struct ReadForm {
    #[serde(default)]
    message: String,
}

/// `POST /rooms/{room}/read`: the caller has read up to a message.
pub async fn mark_read(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(room): Path<String>,
    CsrfForm(form): CsrfForm<ReadForm>,
) -> Response {
    let (Some(room), Some(message)) = (parse_room(&room), parse_message(&form.message)) else {
        return not_found_page_for(Some(&user));
    };
    match state.app.mark_read_upto(&user.auth, room, message).await {
        Ok(()) if wants_json(&headers) => StatusCode::NO_CONTENT.into_response(),
        Ok(()) => back_to(room, message),
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

/// What was posted in an attachment form.
struct AttachmentForm {
    csrf: String,
    body: String,
    video: bool,
    file: Option<(String, Vec<u8>)>,
}

enum FormProblem {
    TooBig,
    Unreadable,
}

async fn read_attachment_form(mut form: Multipart) -> Result<AttachmentForm, FormProblem> {
    let mut out = AttachmentForm { csrf: String::new(), body: String::new(), video: false, file: None };
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(FormProblem::TooBig),
            Err(_) => return Err(FormProblem::Unreadable),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => out.csrf = field.text().await.unwrap_or_default(),
            "body" => out.body = field.text().await.map_err(|_| FormProblem::Unreadable)?,
            "video" => out.video = matches!(field.text().await.unwrap_or_default().as_str(), "true" | "1" | "on"),
            "file" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                // A video file chosen with the plain form is sent as a video message.
                out.video |= field.content_type().is_some_and(|t| t.starts_with("video/"));
                let mut field = field;
                let mut bytes = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_ATTACHMENT_BYTES => {
                            bytes.extend_from_slice(&chunk)
                        }
                        Ok(Some(_)) => return Err(FormProblem::TooBig),
                        Ok(None) => break,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(FormProblem::TooBig),
                        Err(_) => return Err(FormProblem::Unreadable),
                    }
                }
                if !bytes.is_empty() {
                    out.file = Some((file_name, bytes));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

const TOO_BIG: &str = "That file is too large to send. Voice messages and PDFs can be up to 10 MB, pictures 5 MB and video messages 25 MB.";

/// `POST /rooms/{room}/attachments` (multipart: `csrf`, `file`, optional `body` caption and `video`).
pub async fn post_attachment(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    headers: HeaderMap,
    Path(room): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let json = wants_json(&headers);
    let Some(room) = parse_room(&room) else { return not_found_page_for(Some(&user)) };
    let problem = |message: &str, status: StatusCode| (message.to_owned(), status);
    let result = match form {
        Err(_) => Err(problem("Please choose a file to send.", StatusCode::BAD_REQUEST)),
        Ok(form) => match read_attachment_form(form).await {
            Err(FormProblem::TooBig) => Err(problem(TOO_BIG, StatusCode::PAYLOAD_TOO_LARGE)),
            Err(FormProblem::Unreadable) => {
                Err(problem("We couldn't read that file. Please try again.", StatusCode::BAD_REQUEST))
            }
            Ok(form) => Ok(form),
        },
    };
    let form = match result {
        Ok(form) => form,
        Err((message, status)) => {
            // Without a readable form there is no token to check; nothing was stored.
            if json {
                return json_error(status, &message);
            }
            return room_with_error(&state, &user, room, &ctx, Mistake::Attachment(message), status).await;
        }
    };
    if !csrf::verify(&headers, &form.csrf) {
        if json {
            return json_error(StatusCode::FORBIDDEN, "This page has expired. Please reload it and try again.");
        }
        return super::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety we couldn't accept that form. Please go back, reload the page and try again.",
        );
    }
    let Some((file_name, bytes)) = form.file else {
        let message = "Please choose a file to send.";
        if json {
            return json_error(StatusCode::UNPROCESSABLE_ENTITY, message);
        }
        let mistake = Mistake::Attachment(message.to_owned());
        return room_with_error(&state, &user, room, &ctx, mistake, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let upload = AttachmentUpload { file_name, bytes, video: form.video };
    match state.app.post_message(&user.auth, room, &form.body, Some(upload), &ctx).await {
        Ok(m) if json => (StatusCode::CREATED, Json(json!({ "message": message_json(&m) }))).into_response(),
        Ok(m) => back_to(room, m.id),
        Err(AppError::Invalid(errors)) => {
            let message = first_error(&errors, "attachment");
            if json {
                return json_error(StatusCode::UNPROCESSABLE_ENTITY, &message);
            }
            let mistake = Mistake::Attachment(message);
            room_with_error(&state, &user, room, &ctx, mistake, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::NotFound | AppError::Forbidden) if json => {
            json_error(StatusCode::NOT_FOUND, "You're no longer in this room.")
        }
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(_) if json => {
            json_error(StatusCode::SERVICE_UNAVAILABLE, "We couldn't send that just now. Please try again.")
        }
        Err(e) => app_error_page(e),
    }
}

/// `GET /rooms/{room}/attachments/{message}`: an attachment for a member, by session cookie.
pub async fn attachment(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
) -> Response {
    let (Some(_), Some(message)) = (parse_room(&room), parse_message(&message)) else {
        return not_found_page_for(Some(&user));
    };
    match state.app.attachment(&user.auth, message, &ctx).await {
        Ok((meta, bytes)) => crate::http::api::attachment_response(&meta, bytes),
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

// ---- one message: correct, delete, earlier versions, star --------------------

/// A message of the caller's in the room named by the address, still there to change.
async fn own_message(
    state: &AppState,
    user: &WebUser,
    room: &str,
    message: &str,
) -> Result<(RoomId, MessageView), Response> {
    let (Some(room), Some(message)) = (parse_room(room), parse_message(message)) else {
        return Err(not_found_page_for(Some(user)));
    };
    match state.app.message_view(&user.auth, message).await {
        Ok(m) if m.room_id != room || m.sender_id != user.account.id => Err(not_found_page_for(Some(user))),
        Ok(m) if m.deleted => Err(error_page_for(
            Some(user),
            StatusCode::GONE,
            "This message was deleted",
            "It can't be changed any more. A record of it is kept.",
        )),
        Ok(m) => Ok((room, m)),
        Err(AppError::NotFound | AppError::Forbidden) => Err(not_found_page_for(Some(user))),
        Err(e) => Err(app_error_page(e)),
    }
}

#[derive(Template)]
#[template(path = "room_message_edit.html")]
struct EditPage {
    chrome: Chrome,
    room_id: String,
    message: MessageRow,
    body: String,
    error: Option<String>,
    max_chars: usize,
}

/// `GET /rooms/{room}/messages/{message}/edit`.
pub async fn edit_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
) -> Response {
    match own_message(&state, &user, &room, &message).await {
        Ok((room, m)) => {
            let page = EditPage {
                chrome: Chrome::signed_in("Correct your message", &user),
                room_id: room.to_string(),
                body: m.body.clone(),
                message: message_row(&m, &user, false, false),
                error: None,
                max_chars: MAX_MESSAGE_CHARS,
            };
            render(StatusCode::OK, &page)
        }
        Err(page) => page,
    }
}

/// `POST /rooms/{room}/messages/{message}/edit`.
pub async fn edit(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ComposeForm>,
) -> Response {
    let (room, m) = match own_message(&state, &user, &room, &message).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let error = match state.app.correct_message(&user.auth, m.id, &form.body, &ctx).await {
        Ok(updated) => return back_to(room, updated.id),
        Err(AppError::Invalid(errors)) => first_error(&errors, "body"),
        Err(AppError::Conflict { message, .. }) => message.to_owned(),
        Err(AppError::NotFound | AppError::Forbidden) => return not_found_page_for(Some(&user)),
        Err(e) => return app_error_page(e),
    };
    let page = EditPage {
        chrome: Chrome::signed_in("Correct your message", &user),
        room_id: room.to_string(),
        message: message_row(&m, &user, false, false),
        body: form.body,
        error: Some(error),
        max_chars: MAX_MESSAGE_CHARS,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

#[derive(Template)]
#[template(path = "room_message_delete.html")]
struct DeletePage {
    chrome: Chrome,
    room_id: String,
    message: MessageRow,
}

/// `GET /rooms/{room}/messages/{message}/delete`: what deleting does, and the button.
pub async fn delete_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
) -> Response {
    match own_message(&state, &user, &room, &message).await {
        Ok((room, m)) => render(
            StatusCode::OK,
            &DeletePage {
                chrome: Chrome::signed_in("Delete your message?", &user),
                room_id: room.to_string(),
                message: message_row(&m, &user, false, false),
            },
        ),
        Err(page) => page,
    }
}

#[derive(Deserialize)]
pub struct EmptyForm {}

/// `POST /rooms/{room}/messages/{message}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    ClientContext(ctx): ClientContext,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    let (room, m) = match own_message(&state, &user, &room, &message).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match state.app.delete_message(&user.auth, m.id, &ctx).await {
        Ok(deleted) => back_to(room, deleted.id),
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

/// An earlier version of a message.
pub struct VersionRow {
    pub version: i32,
    pub body: String,
    pub replaced: String,
}

#[derive(Template)]
#[template(path = "room_message_versions.html")]
struct VersionsPage {
    chrome: Chrome,
    room_id: String,
    message: MessageRow,
    edited: Option<String>,
    versions: Vec<VersionRow>,
}

/// `GET /rooms/{room}/messages/{message}/versions`: how a corrected message read before.
pub async fn versions(
    State(state): State<AppState>,
    user: WebUser,
    Path((room, message)): Path<(String, String)>,
) -> Response {
    let (Some(room), Some(message)) = (parse_room(&room), parse_message(&message)) else {
        return not_found_page_for(Some(&user));
    };
    let m = match state.app.message_view(&user.auth, message).await {
        Ok(m) if m.room_id == room && !m.deleted => m,
        Ok(_) | Err(AppError::NotFound | AppError::Forbidden) => return not_found_page_for(Some(&user)),
        Err(e) => return app_error_page(e),
    };
    let list = match state.app.message_history(&user.auth, message).await {
        Ok(list) => list,
        Err(AppError::NotFound | AppError::Forbidden) => return not_found_page_for(Some(&user)),
        Err(e) => return app_error_page(e),
    };
    let tz = user.account.time_zone;
    let page = VersionsPage {
        chrome: Chrome::signed_in("Earlier versions", &user),
        room_id: room.to_string(),
        edited: m.edited_at.map(|t| tz.format(t)),
        message: message_row(&m, &user, false, false),
        versions: list
            .into_iter()
            .rev()
            .map(|(version, body, replaced)| VersionRow { version, body, replaced: tz.format(replaced) })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct StarForm {
    #[serde(default)]
    star: String,
}

/// `POST /rooms/{room}/messages/{message}/star` with `star=on` or `star=off`.
pub async fn star(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path((room, message)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<StarForm>,
) -> Response {
    let (Some(room), Some(message)) = (parse_room(&room), parse_message(&message)) else {
        return not_found_page_for(Some(&user));
    };
    match state.app.set_star(&user.auth, message, form.star == "on").await {
        Ok(()) if wants_json(&headers) => StatusCode::NO_CONTENT.into_response(),
        Ok(()) => back_to(room, message),
        Err(AppError::NotFound | AppError::Forbidden) => not_found_page_for(Some(&user)),
        Err(e) => app_error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{short_when, size_words};
    use chrono::{TimeZone as _, Utc};
    use rapport_domain::TimeZone;

    #[test]
    fn list_times_are_short_in_the_viewers_zone() {
        let zone = TimeZone::parse("America/New_York").unwrap();
        // Wednesday 11 March 2026, 09:00 in New York.
        let now = Utc.with_ymd_and_hms(2026, 3, 11, 13, 0, 0).unwrap();
        let at = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
        assert_eq!(short_when(at(3, 11, 4, 5), now, zone), "00:05");
        // 02:30 UTC on the 11th is still the 10th in New York: yesterday, a Tuesday.
        assert_eq!(short_when(at(3, 11, 2, 30), now, zone), "Tue");
        assert_eq!(short_when(at(3, 5, 15, 0), now, zone), "Thu");
        assert_eq!(short_when(at(3, 4, 15, 0), now, zone), "4 Mar");
        assert_eq!(short_when(Utc.with_ymd_and_hms(2025, 12, 24, 15, 0, 0).unwrap(), now, zone), "24 Dec 2025");
    }

    #[test]
    fn sizes_read_plainly() {
        assert_eq!(size_words(10), "1 KB");
        assert_eq!(size_words(2048), "2 KB");
        assert_eq!(size_words(3 * 1024 * 1024 + 300_000), "3.3 MB");
    }
}
