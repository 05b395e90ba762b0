//! Realtime events over one WebSocket per tab or client.
//!
//! Frames from the server are JSON events (`message`, `message_updated`, `read`,
//! `membership`, `typing`), each with the `id` to resume from. Clients may send
//! `{"type":"typing","room_id"}` and `{"type":"message","room_id","body","ref"}`
//! (answered with `{"type":"ack","ref","message"}` once stored, or
//! `{"type":"error","ref","status","detail"}`).

use crate::http::auth::{bearer, ApiUser};
use crate::http::{cookies, AppState, Problem};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::FuturesOrdered;
use rapport_app::{App, Authenticated, RequestContext};
use rapport_domain::RoomId;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;
use utoipa::ToSchema;

/// A ticket for opening a realtime connection.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Use within 60 seconds as `GET /api/v1/events?ticket=…`.
    pub ticket: String,
}

/// Get a short-lived ticket to open a realtime connection without a header.
#[utoipa::path(post, path = "/api/v1/events/ticket", tag = "rooms", security(("bearer" = [])),
    responses((status = 201, body = TicketResponse),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json")))]
pub async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiUser(who): ApiUser,
) -> Result<(StatusCode, Json<TicketResponse>), Problem> {
    let token = bearer(&headers).ok_or_else(Problem::unauthenticated)?;
    let ticket = state.app.issue_events_ticket(&who, token)?;
    Ok((StatusCode::CREATED, Json(TicketResponse { ticket })))
}

/// How to open the connection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// From `POST /api/v1/events/ticket` (browsers use their session cookie instead).
    pub ticket: Option<String>,
    /// The last event id you saw: everything after it is sent first.
    pub after: Option<i64>,
}

/// Opens the realtime WebSocket (authenticated by session cookie, ticket or bearer token).
#[utoipa::path(get, path = "/api/v1/events", tag = "rooms",
    params(EventsQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket request, or a bad `after`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid cookie, ticket or token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A cross-site page tried to connect with your cookie", body = Problem, content_type = "application/problem+json")))]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query?;
    let who = if let Some(ticket) = q.ticket.as_deref() {
        state.app.redeem_events_ticket(ticket).await?
    } else if let Some(token) = bearer(&headers) {
        state.app.authenticate(token).await?
    } else if let Some(token) = cookies::get(&headers, cookies::SESSION) {
        // A cookie rides along with any page's WebSocket: only our own pages may use it.
        if !same_origin(&headers) {
            return Err(Problem::new(StatusCode::FORBIDDEN, "Connect from Rapport's own pages."));
        }
        state.app.authenticate(token).await?
    } else {
        return Err(Problem::unauthenticated());
    };
    let ws = ws.map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "Open this address as a WebSocket."))?;
    if q.after.is_some_and(|a| a < 0) {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "`after` must be an event id."));
    }
    let app = state.app.clone();
    let after = q.after;
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            if let Err(e) = connection(socket, app, who, after).await {
                tracing::debug!(error = %e, "realtime connection ended");
            }
        })
        .into_response())
}

fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/')) == Some(host)
        }
        // Non-browser clients send no Origin; browsers always do on WebSockets.
        (None, _) => true,
        _ => false,
    }
}

#[derive(Deserialize)]
struct ClientFrame {
    #[serde(rename = "type")]
    kind: String,
    room_id: Option<String>,
    body: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<serde_json::Value>,
}

async fn connection(socket: WebSocket, app: App, who: Authenticated, after: Option<i64>) -> Result<(), axum::Error> {
    use futures::{SinkExt, StreamExt};
    let (mut sink, mut stream) = socket.split();
    // Watch for the end of this connection's session from before it subscribes, so none is missed.
    let mut endings = app.session_endings();
    let (mut sub, missed) = match app.connect_events(&who, after).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "could not start a realtime connection");
            let _ = sink.send(Message::Close(None)).await;
            return Ok(());
        }
    };
    let mut cursor = after.unwrap_or(0);
    for event in missed {
        cursor = cursor.max(event.id);
        sink.send(Message::Text(event.to_json().into())).await?;
    }
    let name = who.account().display_name.to_string();
    let mut typing_rooms: HashSet<RoomId> = HashSet::new();
    // Answers to the client's frames, in the order the frames came: posts wait for their
    // commit here while the socket goes on reading (and queueing) the sender's next ones.
    let mut replies: FuturesOrdered<Reply> = FuturesOrdered::new();
    let mut ping = tokio::time::interval(Duration::from_secs(30));
    ping.tick().await;
    loop {
        tokio::select! {
            // First, so nothing more is sent once the session has ended.
            biased;
            ended = endings.recv() => {
                let over = match ended {
                    Ok(id) => id == who.session_id(),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => !app.session_still_open(&who).await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => false,
                };
                if over {
                    let close = CloseFrame { code: SESSION_ENDED, reason: "session ended".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    return Ok(());
                }
            }
            frame = sub.rx.recv() => {
                let Some(frame) = frame else {
                    // Dropped for falling behind: the client reconnects and resumes.
                    let _ = sink.send(Message::Close(None)).await;
                    return Ok(());
                };
                // Send what is waiting in one write: one flush (one syscall) for a burst of events.
                let mut next = Some(frame);
                let mut queued = 0;
                while let Some(frame) = next.take() {
                    if !frame.durable || frame.id > cursor {
                        if frame.durable {
                            cursor = frame.id;
                        }
                        sink.feed(Message::Text(frame.json.as_ref().into())).await?;
                        queued += 1;
                    }
                    if queued < 64 {
                        next = sub.rx.try_recv().ok();
                    }
                }
                sink.flush().await?;
            }
            Some(reply) = replies.next(), if !replies.is_empty() => {
                sink.send(Message::Text(reply.into())).await?;
            }
            // At most POSTS_IN_FLIGHT answers waiting: past that, the client's frames wait unread.
            incoming = stream.next(), if replies.len() < POSTS_IN_FLIGHT => {
                let Some(incoming) = incoming else { return Ok(()) };
                match incoming? {
                    Message::Text(text) => {
                        if let Some(reply) = handle_client_frame(&app, &who, &name, text.as_str(), &mut typing_rooms).await {
                            replies.push_back(reply);
                        }
                    }
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                sink.send(Message::Ping(Vec::new().into())).await?;
            }
        }
    }
}

/// The close code of a connection whose session ended (sign-out, revocation, password change).
const SESSION_ENDED: u16 = 4001;

/// Posts one socket may have waiting for their commit at once.
const POSTS_IN_FLIGHT: usize = 32;

/// The answer to one client frame, ready now or once its message is committed.
type Reply = futures::future::BoxFuture<'static, String>;

fn error_frame(reference: Option<serde_json::Value>, status: u16, detail: String) -> String {
    serde_json::json!({ "type": "error", "ref": reference, "status": status, "detail": detail }).to_string()
}

/// Handles one frame from the client. A message is queued for the writer before this
/// returns (so a sender's messages are committed in the order sent); its answer comes
/// once it is committed.
async fn handle_client_frame(
    app: &App,
    who: &Authenticated,
    name: &str,
    text: &str,
    _typing: &mut HashSet<RoomId>,
) -> Option<Reply> {
    let error = |reference: Option<serde_json::Value>, status: u16, detail: String| -> Option<Reply> {
        Some(Box::pin(std::future::ready(error_frame(reference, status, detail))))
    };
    let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
        return error(None, 400, "Frames must be JSON objects with a `type`.".into());
    };
    let room: Option<RoomId> = frame.room_id.as_deref().and_then(|r| r.parse().ok());
    match (frame.kind.as_str(), room) {
        ("typing", Some(room)) => {
            let _ = app.typing(who, room, name.to_owned()).await;
            None
        }
        ("message", Some(room)) => {
            let body = frame.body.unwrap_or_default();
            match app.queue_message(who, room, &body, None, &RequestContext::default()).await {
                Ok(committed) => {
                    let reference = frame.reference;
                    Some(Box::pin(async move {
                        match committed.await {
                            Ok(m) => serde_json::json!({ "type": "ack", "ref": reference, "message": m }).to_string(),
                            Err(e) => {
                                let p = Problem::from(e);
                                error_frame(reference, p.status, p.detail)
                            }
                        }
                    }))
                }
                Err(e) => {
                    let p = Problem::from(e);
                    error(frame.reference, p.status, p.detail)
                }
            }
        }
        _ => error(frame.reference, 400, "Unknown frame: send `typing` or `message` with a `room_id`.".into()),
    }
}
