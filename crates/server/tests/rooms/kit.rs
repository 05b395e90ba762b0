//! What the rooms tests share: couples and care set up through the API,
//! rooms and messages, a WebSocket client for the realtime endpoint, a tiny
//! SMTP server that keeps what it is sent, and a look at the stored bytes.
//!
//! Nothing here sleeps to synchronise: sockets are read with a timeout, and a
//! socket is "in sync" once the server answered a frame sent after everything
//! else (see [`Socket::sync`]); database conditions are polled with a deadline.

use crate::common::{api_client, Options, TestServer};
use crate::support::*;
use futures::{SinkExt, StreamExt};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long to wait for something that should happen (a frame, an email, a row).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub use crate::common::{spawn_on, Backend};

/// A SQLite server whose clock only moves when told to.
pub async fn spawn_manual() -> TestServer {
    TestServer::spawn_with(Options { manual_clock: true, ..Options::default() }).await.expect("test server")
}

/// Moves a manual clock on.
pub fn advance(server: &TestServer, by: Duration) {
    server.clock.as_ref().expect("a server with a manual clock").advance(by);
}

/// The keys of a JSON object.
pub fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

/// A set of strings, for comparing.
pub fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A string member as a `String`.
pub fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {value}")).to_owned()
}

// ---------------------------------------------------------------------------------------------
// HTTP requests
// ---------------------------------------------------------------------------------------------

/// `method path` with a token and a JSON body.
pub async fn send_json(server: &TestServer, method: Method, path: &str, token: &str, body: &Value) -> Response {
    authed(server, method.clone(), path, token)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// `method path` with a token and no body.
pub async fn send_empty(server: &TestServer, method: Method, path: &str, token: &str) -> Response {
    authed(server, method.clone(), path, token).send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// A response's status, draining its body (for messages in failures).
pub async fn status_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// Asserts a 204 with an empty body.
pub async fn no_content(response: Response) {
    let url = response.url().path().to_owned();
    let (status, body) = status_of(response).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{url}: {body}");
    assert!(body.is_empty(), "{url}: a 204 has no body, got {body}");
}

// ---------------------------------------------------------------------------------------------
// Couples
// ---------------------------------------------------------------------------------------------

/// `POST /api/v1/couple/invitations`.
pub async fn invite(server: &TestServer, from: &Person, email: &str) -> Response {
    post(server, "/api/v1/couple/invitations", &from.token, &json!({ "email": email })).await
}

/// An invitation (201): its `id`, `token` and `expires_at`.
pub async fn invitation(server: &TestServer, from: &Person, to: &Person) -> Value {
    json_with_status(invite(server, from, &to.email).await, StatusCode::CREATED).await
}

/// `POST /api/v1/couple/invitations/{token}/accept`.
pub async fn accept(server: &TestServer, who: &Person, token: &str, policy: &str) -> Response {
    post(
        server,
        &format!("/api/v1/couple/invitations/{token}/accept"),
        &who.token,
        &json!({ "policy_consent": policy }),
    )
    .await
}

/// `POST /api/v1/couple/policy-consent`.
pub async fn consent(server: &TestServer, who: &Person, policy: &str) -> Response {
    post(server, "/api/v1/couple/policy-consent", &who.token, &json!({ "policy": policy })).await
}

/// `GET /api/v1/couple` (200).
pub async fn couple_of(server: &TestServer, who: &Person) -> Value {
    json_with_status(get(server, "/api/v1/couple", &who.token).await, StatusCode::OK).await
}

/// `a` invites `b`, who accepts with `policy`; `a` consents to it too when `agree`.
/// Returns the couple id.
pub async fn link(server: &TestServer, a: &Person, b: &Person, policy: &str, agree: bool) -> String {
    let inv = invitation(server, a, b).await;
    let accepted = json_with_status(accept(server, b, &s(&inv, "token"), policy).await, StatusCode::CREATED).await;
    if agree {
        json_with_status(consent(server, a, policy).await, StatusCode::OK).await;
    }
    s(&accepted, "couple_id")
}

/// An intake for couples work (otherwise the default one).
pub fn couple_intake() -> Value {
    with(&intake(), json!({ "kind": "couple" }))
}

/// A couple working with a therapist: `a` chose `therapist` with a couple intake.
pub struct CoupleInCare {
    pub admin: Person,
    pub a: Person,
    pub b: Person,
    pub therapist: Person,
    pub couple_id: String,
    pub couple_room: String,
}

/// `POST /api/v1/couple/care-proposal/{accept|decline}` by `who`.
pub async fn answer_care(server: &TestServer, who: &Person, answer: &str) -> Response {
    post_empty(server, &format!("/api/v1/couple/care-proposal/{answer}"), &who.token).await
}

/// Riley and Sam link (both consenting to `limited_secrets` when `agree`), then Riley
/// does a couple intake and proposes a therapist, and Sam agrees. The partners sign up
/// before the therapist, so their accounts are older.
pub async fn couple_in_care(server: &TestServer, agree: bool) -> CoupleInCare {
    let admin = admin(server).await;
    let a = sign_up(server, "Riley").await;
    let b = sign_up(server, "Sam").await;
    let therapist = therapist(server, &admin, "Dr Couples Therapist", json!({})).await;
    let couple_id = link(server, &a, &b, "limited_secrets", agree).await;
    json_with_status(submit_intake(server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    let chosen = json_with_status(choose(server, &a, &therapist.id).await, StatusCode::CREATED).await;
    assert_eq!(chosen["partner_agreement"], "pending", "{chosen}");
    json_with_status(answer_care(server, &b, "accept").await, StatusCode::OK).await;
    let couple_room = only_room(server, &a, "couple").await;
    CoupleInCare { admin, a, b, therapist, couple_id, couple_room }
}

/// A client working with a therapist in an individual room.
pub struct Individual {
    pub admin: Person,
    pub client: Person,
    pub therapist: Person,
    pub room: String,
}

/// A therapist, then a client who did intake and chose them.
pub async fn individual(server: &TestServer) -> Individual {
    let admin = admin(server).await;
    let therapist = therapist(server, &admin, "Dr Individual Therapist", json!({})).await;
    let client = client(server, "Jordan", json!({})).await;
    json_with_status(choose(server, &client, &therapist.id).await, StatusCode::CREATED).await;
    let room = only_room(server, &client, "individual").await;
    Individual { admin, client, therapist, room }
}

/// Another client of an existing therapist, in their own individual room.
pub async fn another_client(server: &TestServer, therapist: &Person, name: &str) -> (Person, String) {
    let c = client(server, name, json!({})).await;
    json_with_status(choose(server, &c, &therapist.id).await, StatusCode::CREATED).await;
    let room = only_room(server, &c, "individual").await;
    (c, room)
}

// ---------------------------------------------------------------------------------------------
// Rooms and messages
// ---------------------------------------------------------------------------------------------

/// `GET /api/v1/rooms` (200): the rooms array.
pub async fn rooms(server: &TestServer, who: &Person) -> Vec<Value> {
    let body = json_with_status(get(server, "/api/v1/rooms", &who.token).await, StatusCode::OK).await;
    assert_eq!(keys(&body), set(["rooms"]), "{body}");
    body["rooms"].as_array().unwrap_or_else(|| panic!("rooms is an array: {body}")).clone()
}

/// The caller's rooms of one kind.
pub async fn rooms_of_kind(server: &TestServer, who: &Person, kind: &str) -> Vec<Value> {
    rooms(server, who).await.into_iter().filter(|r| r["kind"] == kind).collect()
}

/// The id of the caller's one room of `kind` (asserting there is exactly one).
pub async fn only_room(server: &TestServer, who: &Person, kind: &str) -> String {
    let list = rooms_of_kind(server, who, kind).await;
    assert_eq!(list.len(), 1, "exactly one {kind} room for {}: {list:?}", who.email);
    s(&list[0], "id")
}

/// A room from the caller's list, by id.
pub async fn room(server: &TestServer, who: &Person, id: &str) -> Option<Value> {
    rooms(server, who).await.into_iter().find(|r| r["id"] == id)
}

/// The member ids of a room object.
pub fn member_ids(room: &Value) -> BTreeSet<String> {
    room["members"].as_array().expect("members").iter().map(|m| s(m, "id")).collect()
}

/// The unread count of a room for the caller.
pub async fn unread(server: &TestServer, who: &Person, room_id: &str) -> u64 {
    let r = room(server, who, room_id).await.unwrap_or_else(|| panic!("{} is not in room {room_id}", who.email));
    r["unread"].as_u64().unwrap_or_else(|| panic!("unread is a count: {r}"))
}

/// `POST /api/v1/rooms/{id}/messages`.
pub async fn post_message(server: &TestServer, who: &Person, room: &str, body: &str) -> Response {
    post(server, &format!("/api/v1/rooms/{room}/messages"), &who.token, &json!({ "body": body })).await
}

/// Posts a message (201) and returns it.
pub async fn say(server: &TestServer, who: &Person, room: &str, body: &str) -> Value {
    json_with_status(post_message(server, who, room, body).await, StatusCode::CREATED).await
}

/// `GET /api/v1/rooms/{id}/messages{query}`.
pub async fn get_history(server: &TestServer, who: &Person, room: &str, query: &str) -> Response {
    get(server, &format!("/api/v1/rooms/{room}/messages{query}"), &who.token).await
}

/// The messages of a page (200).
pub async fn history(server: &TestServer, who: &Person, room: &str, query: &str) -> Vec<Value> {
    let body = json_with_status(get_history(server, who, room, query).await, StatusCode::OK).await;
    assert_eq!(keys(&body), set(["messages"]), "{body}");
    body["messages"].as_array().expect("messages").clone()
}

/// The bodies of a page of messages, in order.
pub fn bodies(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| s(m, "body")).collect()
}

/// The ids of a page of messages, in order.
pub fn ids_of(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| s(m, "id")).collect()
}

/// The whole history of a room as one member sees it (up to 200).
pub async fn everything(server: &TestServer, who: &Person, room: &str) -> Vec<Value> {
    history(server, who, room, "?limit=200").await
}

/// Asserts that `who` cannot see the room at all: 404 on its history, and not in their list.
pub async fn locked_out(server: &TestServer, who: &Person, room: &str) {
    problem(get_history(server, who, room, "").await, StatusCode::NOT_FOUND).await;
    assert!(room_absent(server, who, room).await, "{} still lists room {room}", who.email);
}

async fn room_absent(server: &TestServer, who: &Person, room_id: &str) -> bool {
    room(server, who, room_id).await.is_none()
}

/// `POST /api/v1/rooms/{id}/read`.
pub async fn mark_read(server: &TestServer, who: &Person, room: &str, message: &str) -> Response {
    post(server, &format!("/api/v1/rooms/{room}/read"), &who.token, &json!({ "message_id": message })).await
}

/// The `action`s of someone's audit trail with the given record id.
pub async fn audit_actions_for(server: &TestServer, who: &Person, record_id: &str) -> Vec<String> {
    let body =
        json_with_status(get(server, "/api/v1/me/audit-events?limit=200", &who.token).await, StatusCode::OK).await;
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["record_id"] == record_id)
        .map(|e| s(e, "action"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Multipart forms
// ---------------------------------------------------------------------------------------------

/// One part of a multipart form.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub bytes: Vec<u8>,
}

impl<'a> Part<'a> {
    pub fn file(file_name: &'a str, content_type: &'a str, bytes: Vec<u8>) -> Self {
        Self { name: "file", file_name: Some(file_name), content_type: Some(content_type), bytes }
    }

    pub fn text(name: &'a str, value: &str) -> Self {
        Self { name, file_name: None, content_type: None, bytes: value.as_bytes().to_vec() }
    }
}

/// A `multipart/form-data` body and its content type, written by hand so that
/// file names reach the server exactly as given.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----rapport-test-boundary-7d1f3a";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST /api/v1/rooms/{id}/attachments` with a multipart form.
pub async fn attach(server: &TestServer, who: &Person, room: &str, parts: &[Part<'_>]) -> Response {
    let (content_type, body) = multipart(parts);
    authed(server, Method::POST, &format!("/api/v1/rooms/{room}/attachments"), &who.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST attachments")
}

// ---------------------------------------------------------------------------------------------
// Realtime
// ---------------------------------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `POST /api/v1/events/ticket` (201): a ticket.
pub async fn ticket(base: &str, token: &str) -> String {
    let response = api_client()
        .post(format!("{base}/api/v1/events/ticket"))
        .bearer_auth(token)
        .send()
        .await
        .expect("POST /api/v1/events/ticket");
    let body = json_with_status(response, StatusCode::CREATED).await;
    assert_eq!(keys(&body), set(["ticket"]), "{body}");
    s(&body, "ticket")
}

/// The realtime address of a server, with a query.
pub fn events_url(base: &str, query: &str) -> String {
    format!("{}/api/v1/events{query}", base.replacen("http://", "ws://", 1))
}

fn after_param(after: Option<i64>) -> String {
    after.map(|a| format!("after={a}")).unwrap_or_default()
}

/// Opens a WebSocket; `Err(status)` when the server refused the upgrade.
pub async fn open_socket(url: &str, headers: &[(&str, String)]) -> Result<Socket, StatusCode> {
    let mut request = url.into_client_request().expect("a WebSocket request");
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    match tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request)).await {
        Err(_) => panic!("opening {url} timed out"),
        Ok(Ok((ws, response))) => {
            assert_eq!(response.status().as_u16(), 101, "switching protocols");
            Ok(Socket { ws, pending: VecDeque::new(), syncs: 0 })
        }
        Ok(Err(tungstenite::Error::Http(response))) => {
            Err(StatusCode::from_u16(response.status().as_u16()).expect("status"))
        }
        Ok(Err(e)) => panic!("opening {url}: {e}"),
    }
}

/// A realtime connection, read with a timeout.
pub struct Socket {
    ws: Ws,
    /// Frames read while syncing, not yet handed out.
    pending: VecDeque<Value>,
    syncs: u64,
}

impl Socket {
    /// Connects with a fresh ticket (resuming after `after`) and syncs.
    pub async fn with_ticket(base: &str, token: &str, after: Option<i64>) -> Socket {
        let t = ticket(base, token).await;
        let mut query = format!("?ticket={t}");
        if after.is_some() {
            query = format!("{query}&{}", after_param(after));
        }
        let mut socket = open_socket(&events_url(base, &query), &[]).await.expect("the ticket is accepted");
        socket.sync_keep().await;
        socket
    }

    /// Connects with a bearer header (resuming after `after`) and syncs.
    pub async fn with_bearer(base: &str, token: &str, after: Option<i64>) -> Socket {
        let query = if after.is_some() { format!("?{}", after_param(after)) } else { String::new() };
        let mut socket = open_socket(&events_url(base, &query), &[("authorization", format!("Bearer {token}"))])
            .await
            .expect("the bearer token is accepted");
        socket.sync_keep().await;
        socket
    }

    /// Sends a frame.
    pub async fn send(&mut self, frame: Value) {
        self.ws.send(Message::text(frame.to_string())).await.expect("send a frame");
    }

    /// Reads the next JSON frame (or panics after [`PATIENCE`]).
    pub async fn next(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        self.read().await
    }

    async fn read(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("no frame arrived in time")
                .expect("the socket closed")
                .expect("a frame");
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("a frame is JSON ({e}): {}", text.as_str()))
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame: {other:?}"),
            }
        }
    }

    /// Waits (up to [`PATIENCE`]) for the server to close the socket and returns the
    /// close code and reason, with every event frame that came before the close.
    pub async fn closed(&mut self) -> (u16, String, Vec<Value>) {
        let mut before: Vec<Value> = self.pending.drain(..).collect();
        loop {
            let frame =
                tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("the socket was not closed in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    before.push(serde_json::from_str(text.as_str()).expect("a JSON frame"))
                }
                Some(Ok(Message::Close(Some(close)))) => return (close.code.into(), close.reason.to_string(), before),
                Some(Ok(Message::Close(None))) | None => return (1005, String::new(), before),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket failed instead of closing: {e}"),
            }
        }
    }

    /// The next frame of `kind`, skipping frames of other kinds.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next().await;
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// The next `message` event, skipping others (typing, read receipts, membership).
    pub async fn next_message(&mut self) -> Value {
        self.next_of("message").await
    }

    /// Sends a frame the server answers with an error, and returns every frame that came
    /// before that answer. The server handles frames only after it has subscribed the
    /// connection and sent what it missed, and hands frames to one connection in order,
    /// so afterwards the connection is live and nothing earlier is still on its way.
    pub async fn sync(&mut self) -> Vec<Value> {
        self.syncs += 1;
        let reference = format!("sync-{}", self.syncs);
        self.send(json!({ "type": "sync", "ref": reference })).await;
        let mut before: Vec<Value> = self.pending.drain(..).collect();
        loop {
            let v = self.read().await;
            if v["type"] == "error" && v["ref"] == reference.as_str() {
                return before;
            }
            before.push(v);
        }
    }

    /// Syncs, keeping earlier frames to be read with [`Socket::next`].
    pub async fn sync_keep(&mut self) {
        let before = self.sync().await;
        self.pending.extend(before);
    }

    /// The frames received so far and not yet read.
    pub fn take_pending(&mut self) -> Vec<Value> {
        self.pending.drain(..).collect()
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The message event a socket should see for a posted message.
pub fn assert_message_event(event: &Value, posted: &Value) {
    assert_eq!(event["type"], "message", "{event}");
    assert!(event["id"].as_i64().is_some_and(|id| id > 0), "an event id: {event}");
    assert_eq!(event["room_id"], posted["room_id"], "{event}");
    assert_eq!(event["message"], *posted, "the event carries the message as the POST answered it");
}

// ---------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------

/// An email the SMTP sink received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// As sent, headers and all.
    pub raw: String,
    /// The body, transfer-decoded.
    pub text: String,
}

/// A tiny SMTP server on 127.0.0.1 that accepts everything and keeps it.
pub struct MailSink {
    pub port: u16,
    rx: mpsc::UnboundedReceiver<Mail>,
    task: tokio::task::JoinHandle<()>,
}

impl MailSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(socket, tx).await;
                });
            }
        });
        Self { port, rx, task }
    }

    /// The URL to configure Rapport with.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// The next email (or panics after [`PATIENCE`]).
    pub async fn next(&mut self) -> Mail {
        tokio::time::timeout(PATIENCE, self.rx.recv()).await.expect("no email arrived in time").expect("sink stopped")
    }

    /// Waits for and takes the next `n` emails: those that setting people up sends (a
    /// therapist's approval, being chosen, an invitation, a proposal), some of them in the
    /// background, so that later checks see only the emails they are about.
    pub async fn take(&mut self, n: usize) -> Vec<Mail> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }

    /// Every email received so far and not yet taken.
    pub fn received(&mut self) -> Vec<Mail> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            out.push(m);
        }
        out
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(socket: TcpStream, tx: mpsc::UnboundedSender<Mail>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut to = Vec::new();
    loop {
        let mut line = Vec::new();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr = line.split_once('<').and_then(|(_, r)| r.split_once('>')).map(|(a, _)| a).unwrap_or("");
            to.push(addr.to_ascii_lowercase());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut raw = String::new();
            loop {
                let mut l = Vec::new();
                if read.read_until(b'\n', &mut l).await? == 0 {
                    return Ok(());
                }
                let l = String::from_utf8_lossy(&l).into_owned();
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                raw.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            let text = decode_body(&raw);
            let _ = tx.send(Mail { to: std::mem::take(&mut to), raw, text });
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The body of an email, undoing its Content-Transfer-Encoding.
pub fn decode_body(raw: &str) -> String {
    let (head, body) = raw.split_once("\r\n\r\n").or_else(|| raw.split_once("\n\n")).unwrap_or((raw, ""));
    match header(head, "content-transfer-encoding").map(str::to_ascii_lowercase).as_deref() {
        Some("quoted-printable") => quoted_printable(body),
        Some("base64") => {
            use base64::Engine as _;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD.decode(compact).expect("a base64 body");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => body.to_owned(),
    }
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if let Some(b) = hex.filter(|_| bytes[i] == b'=').and_then(|h| u8::from_str_radix(h, 16).ok()) {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The database underneath
// ---------------------------------------------------------------------------------------------

/// A connection to a SQLite test server's database file.
pub async fn sqlite_of(server: &TestServer) -> sqlx::SqlitePool {
    let path = server.data_dir().join("rapport.db");
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open the test database")
}

/// Message-email jobs for an account: (all, finished).
pub async fn email_jobs(db: &sqlx::SqlitePool, account_id: &str) -> (i64, i64) {
    let pattern = format!("message_email:{account_id}:%");
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE dedupe_key LIKE ?")
        .bind(&pattern)
        .fetch_one(db)
        .await
        .expect("count jobs");
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE dedupe_key LIKE ? AND done_at IS NOT NULL")
        .bind(&pattern)
        .fetch_one(db)
        .await
        .expect("count finished jobs");
    (all, done)
}

/// Polls `check` until it holds, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
