//! The authorization matrix: every route of the API, taken from the OpenAPI
//! document the router generates, called by every kind of caller on one
//! couple's resources, with the status each must get. A route without a row
//! here fails the test, so a new route cannot ship without its decisions.
//!
//! Callers (columns): anonymous; Riley, who owns the resources; Sam, Riley's
//! partner; an unrelated client; the couple's therapist; another therapist;
//! an admin. The same table is in `docs/security.md`.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The callers, in column order.
const CALLERS: [&str; 7] = ["anonymous", "owner", "partner", "stranger", "therapist", "other therapist", "admin"];

/// Everyone the matrix calls as, and the resources it calls on.
struct World {
    tokens: [Option<String>; 7],
    owner: Person,
    therapist: Person,
    stranger: Person,
    couple_room: String,
    private_channel: String,
    strangers_room: String,
    message: String,
    message_to_delete: String,
    owners_other_session: String,
    pending_applicant: String,
}

async fn world(server: &TestServer) -> World {
    let care = couple_in_care(server, true).await;
    let other = therapist(server, &care.admin, "Dr Elsewhere", json!({"capacity": 20})).await;
    let stranger = client(server, "Unrelated Person", json!({})).await;
    json_with_status(choose(server, &stranger, &other.id).await, StatusCode::CREATED).await;
    let strangers_room = only_room(server, &stranger, "individual").await;
    let private_channel = only_room(server, &care.a, "private_channel").await;
    let message = s(&say(server, &care.a, &care.couple_room, "A message of Riley's").await, "id");
    let message_to_delete = s(&say(server, &care.a, &care.couple_room, "One Riley will delete").await, "id");
    // A second session of the owner's, for signing one out.
    let second = sign_in(server, &care.a.email).await;
    let sessions = json_with_status(get(server, "/api/v1/me/sessions", &second).await, StatusCode::OK).await;
    let owners_other_session = sessions["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == true)
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .expect("the current session");
    let pending_applicant = applicant(server, "Dr Pending", json!({})).await.id;
    let tokens = [
        None,
        Some(care.a.token.clone()),
        Some(care.b.token.clone()),
        Some(stranger.token.clone()),
        Some(care.therapist.token.clone()),
        Some(other.token.clone()),
        Some(care.admin.token.clone()),
    ];
    World {
        tokens,
        owner: care.a,
        therapist: care.therapist,
        stranger,
        couple_room: care.couple_room,
        private_channel,
        strangers_room,
        message,
        message_to_delete,
        owners_other_session,
        pending_applicant,
    }
}

/// How a row's request carries its body.
enum Body {
    None,
    Json(Value),
    /// A JSON body of its own for each caller (e.g. so a per-email limit is not what is measured).
    PerCaller(Vec<Value>),
    Raw(&'static str, Vec<u8>),
    Multipart(Vec<u8>),
}

/// One route: what the document calls it, the concrete request, and the status for each caller.
struct Row {
    method: &'static str,
    documented: &'static str,
    path: String,
    body: Body,
    expect: [u16; 7],
}

fn row(method: &'static str, documented: &'static str, path: String, body: Body, expect: [u16; 7]) -> Row {
    Row { method, documented, path, body, expect }
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// The matrix. Rows run in order and each row's callers in column order, so the
/// rows that change the world (deleting, unlinking, signing out) come last.
fn rows(w: &World) -> Vec<Row> {
    let random = uuid::Uuid::now_v7().to_string();
    let room = &w.couple_room;
    let message = &w.message;
    let client_intake = w.owner.id.clone();
    let (_, multipart_body) = multipart(&[Part::file("note.png", "image/png", png_bytes())]);
    let account = json!({"email": format!("new.{random}@example.org"), "password": PASSWORD, "display_name": "New"});
    //                                                       anon owner partner stranger therapist other admin
    vec![
        // Public: the same for everyone.
        row(
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json".into(),
            Body::None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/v1/accounts",
            "/api/v1/accounts".into(),
            Body::Json(account),
            [201, 409, 409, 409, 409, 409, 409],
        ),
        row(
            "POST",
            "/api/v1/auth/token",
            "/api/v1/auth/token".into(),
            Body::Json(json!({"email": w.stranger.email, "password": PASSWORD})),
            [200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/v1/auth/password-reset",
            "/api/v1/auth/password-reset".into(),
            Body::PerCaller((0..7).map(|i| json!({"email": format!("nobody.{i}@example.org")})).collect()),
            [202, 202, 202, 202, 202, 202, 202],
        ),
        row(
            "POST",
            "/api/v1/auth/password-reset/{token}",
            format!("/api/v1/auth/password-reset/{random}"),
            Body::Json(json!({"new_password": "a long new password for nobody"})),
            [410, 410, 410, 410, 410, 410, 410],
        ),
        // Your own account: everyone signed in, each their own.
        row("GET", "/api/v1/me", "/api/v1/me".into(), Body::None, [401, 200, 200, 200, 200, 200, 200]),
        row("PATCH", "/api/v1/me", "/api/v1/me".into(), Body::Json(json!({})), [401, 200, 200, 200, 200, 200, 200]),
        row(
            "PUT",
            "/api/v1/me/password",
            "/api/v1/me/password".into(),
            Body::Json(json!({"current_password": "not the current one", "new_password": "another long password"})),
            [401, 422, 422, 422, 422, 422, 422],
        ),
        row(
            "GET",
            "/api/v1/me/sessions",
            "/api/v1/me/sessions".into(),
            Body::None,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/me/audit-events",
            "/api/v1/me/audit-events".into(),
            Body::None,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row("GET", "/api/v1/me/notices", "/api/v1/me/notices".into(), Body::None, [401, 200, 200, 200, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/me/notices/{id}/dismiss",
            format!("/api/v1/me/notices/{random}/dismiss"),
            Body::None,
            [401, 404, 404, 404, 404, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/me/notifications",
            "/api/v1/me/notifications".into(),
            Body::None,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "PUT",
            "/api/v1/me/notifications",
            "/api/v1/me/notifications".into(),
            Body::Json(json!({"email": "digest", "reply_working_days": 2})),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        // Someone else's session is not found; the owner's other session ends.
        row(
            "DELETE",
            "/api/v1/me/sessions/{id}",
            format!("/api/v1/me/sessions/{}", w.owners_other_session),
            Body::None,
            [401, 204, 404, 404, 404, 404, 404],
        ),
        // Therapists' applications and photos; the verification queue is for admins.
        row(
            "GET",
            "/api/v1/therapists/application",
            "/api/v1/therapists/application".into(),
            Body::None,
            [401, 404, 404, 404, 200, 200, 404],
        ),
        row(
            "PUT",
            "/api/v1/therapists/application/photo",
            "/api/v1/therapists/application/photo".into(),
            Body::Raw("image/png", PNG.to_vec()),
            [401, 422, 422, 422, 204, 204, 422],
        ),
        row(
            "GET",
            "/api/v1/therapists/{id}/photo",
            format!("/api/v1/therapists/{}/photo", w.therapist.id),
            Body::None,
            [401, 200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/admin/therapist-applications",
            "/api/v1/admin/therapist-applications".into(),
            Body::None,
            [401, 403, 403, 403, 403, 403, 200],
        ),
        row(
            "POST",
            "/api/v1/admin/therapist-applications/{id}/reject",
            format!("/api/v1/admin/therapist-applications/{}/reject", w.pending_applicant),
            Body::Json(json!({"reason": "Not on the register."})),
            [401, 403, 403, 403, 403, 403, 200],
        ),
        row(
            "POST",
            "/api/v1/admin/therapist-applications/{id}/approve",
            format!("/api/v1/admin/therapist-applications/{}/approve", w.pending_applicant),
            Body::Json(json!({"notes": "Checked."})),
            [401, 403, 403, 403, 403, 403, 409],
        ),
        // Care: clients seek it; a client's intake is for their current therapist only.
        row("GET", "/api/v1/matches", "/api/v1/matches".into(), Body::None, [401, 200, 409, 200, 403, 403, 403]),
        row(
            "POST",
            "/api/v1/matches/{therapist_id}/choose",
            format!("/api/v1/matches/{random}/choose"),
            Body::None,
            [401, 404, 409, 404, 403, 403, 403],
        ),
        row(
            "GET",
            "/api/v1/clients/{id}/intake",
            format!("/api/v1/clients/{client_intake}/intake"),
            Body::None,
            [401, 404, 404, 404, 200, 404, 404],
        ),
        row(
            "POST",
            "/api/v1/intake",
            "/api/v1/intake".into(),
            Body::Json(couple_intake()),
            [401, 201, 201, 201, 403, 403, 403],
        ),
        // The couple: its partners only.
        row("GET", "/api/v1/couple", "/api/v1/couple".into(), Body::None, [401, 200, 200, 404, 404, 404, 404]),
        row(
            "GET",
            "/api/v1/couple/invitations",
            "/api/v1/couple/invitations".into(),
            Body::None,
            [401, 200, 200, 200, 403, 403, 403],
        ),
        row(
            "POST",
            "/api/v1/couple/invitations",
            "/api/v1/couple/invitations".into(),
            Body::Json(json!({"email": format!("partner.{random}@example.org")})),
            [401, 409, 409, 201, 403, 403, 403],
        ),
        row(
            "DELETE",
            "/api/v1/couple/sent-invitations/{id}",
            format!("/api/v1/couple/sent-invitations/{random}"),
            Body::None,
            [401, 404, 404, 404, 403, 403, 403],
        ),
        row(
            "POST",
            "/api/v1/couple/sent-invitations/{id}/resend",
            format!("/api/v1/couple/sent-invitations/{random}/resend"),
            Body::None,
            [401, 404, 404, 404, 403, 403, 403],
        ),
        row(
            "POST",
            "/api/v1/couple/invitations/{token}/accept",
            format!("/api/v1/couple/invitations/{random}/accept"),
            Body::Json(json!({"policy_consent": "no_secrets"})),
            [401, 404, 404, 404, 403, 403, 403],
        ),
        row(
            "POST",
            "/api/v1/couple/policy-consent",
            "/api/v1/couple/policy-consent".into(),
            Body::Json(json!({"policy": "limited_secrets"})),
            [401, 200, 200, 404, 403, 403, 403],
        ),
        // The couple's care proposal, already agreed: nothing is pending for either partner.
        row(
            "POST",
            "/api/v1/couple/care-proposal/accept",
            "/api/v1/couple/care-proposal/accept".into(),
            Body::None,
            [401, 409, 409, 404, 403, 403, 403],
        ),
        row(
            "POST",
            "/api/v1/couple/care-proposal/decline",
            "/api/v1/couple/care-proposal/decline".into(),
            Body::None,
            [401, 409, 409, 404, 403, 403, 403],
        ),
        // Rooms: their members only; the couple room has both partners and their therapist.
        row("GET", "/api/v1/rooms", "/api/v1/rooms".into(), Body::None, [401, 200, 200, 200, 200, 200, 200]),
        row(
            "GET",
            "/api/v1/rooms/{id}/messages",
            format!("/api/v1/rooms/{room}/messages"),
            Body::None,
            [401, 200, 200, 404, 200, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/rooms/{id}/messages",
            format!("/api/v1/rooms/{}/messages", w.private_channel),
            Body::None,
            [401, 200, 404, 404, 200, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/rooms/{id}/messages",
            format!("/api/v1/rooms/{}/messages", w.strangers_room),
            Body::None,
            [401, 404, 404, 200, 404, 200, 404],
        ),
        row(
            "POST",
            "/api/v1/rooms/{id}/messages",
            format!("/api/v1/rooms/{room}/messages"),
            Body::Json(json!({"body": "Hello, everyone"})),
            [401, 201, 201, 404, 201, 404, 404],
        ),
        row(
            "POST",
            "/api/v1/rooms/{id}/read",
            format!("/api/v1/rooms/{room}/read"),
            Body::Json(json!({"message_id": message})),
            [401, 204, 204, 404, 204, 404, 404],
        ),
        row(
            "POST",
            "/api/v1/rooms/{id}/attachments",
            format!("/api/v1/rooms/{room}/attachments"),
            Body::Multipart(multipart_body),
            [401, 201, 201, 404, 201, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/messages/{id}/versions",
            format!("/api/v1/messages/{message}/versions"),
            Body::None,
            [401, 200, 200, 404, 200, 404, 404],
        ),
        row(
            "PUT",
            "/api/v1/messages/{id}/star",
            format!("/api/v1/messages/{message}/star"),
            Body::None,
            [401, 204, 204, 404, 204, 404, 404],
        ),
        row(
            "DELETE",
            "/api/v1/messages/{id}/star",
            format!("/api/v1/messages/{message}/star"),
            Body::None,
            [401, 204, 204, 404, 204, 404, 404],
        ),
        row(
            "GET",
            "/api/v1/messages/{id}/attachment",
            format!("/api/v1/messages/{message}/attachment"),
            Body::None,
            [401, 404, 404, 404, 404, 404, 404],
        ),
        // Only the sender corrects or deletes a message; other members are refused, others learn nothing.
        row(
            "PATCH",
            "/api/v1/messages/{id}",
            format!("/api/v1/messages/{message}"),
            Body::Json(json!({"body": "A message of Riley's, corrected"})),
            [401, 200, 403, 404, 403, 404, 404],
        ),
        row(
            "DELETE",
            "/api/v1/messages/{id}",
            format!("/api/v1/messages/{}", w.message_to_delete),
            Body::None,
            [401, 200, 403, 404, 403, 404, 404],
        ),
        // Realtime: a ticket for anyone signed in; the socket itself needs an upgrade.
        row(
            "POST",
            "/api/v1/events/ticket",
            "/api/v1/events/ticket".into(),
            Body::None,
            [401, 201, 201, 201, 201, 201, 201],
        ),
        row("GET", "/api/v1/events", "/api/v1/events".into(), Body::None, [401, 400, 400, 400, 400, 400, 400]),
        // Last: the rows that end things.
        row(
            "POST",
            "/api/v1/therapists/application",
            "/api/v1/therapists/application".into(),
            Body::Json(json!({})),
            [401, 422, 422, 422, 422, 422, 422],
        ),
        row(
            "DELETE",
            "/api/v1/me/sessions",
            "/api/v1/me/sessions".into(),
            Body::None,
            [401, 204, 204, 204, 204, 204, 204],
        ),
        row("DELETE", "/api/v1/couple", "/api/v1/couple".into(), Body::None, [401, 204, 404, 404, 403, 403, 403]),
        row(
            "DELETE",
            "/api/v1/auth/token",
            "/api/v1/auth/token".into(),
            Body::None,
            [401, 204, 204, 204, 204, 204, 204],
        ),
    ]
}

/// A 1×1 PNG.
fn png_bytes() -> Vec<u8> {
    let mut b = PNG.to_vec();
    b.extend_from_slice(&[0u8; 64]);
    b
}

async fn call(server: &TestServer, row: &Row, caller: usize, token: Option<&str>) -> (u16, String) {
    let method: Method = row.method.parse().expect("a method");
    let mut request = crate::common::api_client().request(method, server.url(&row.path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request = match &row.body {
        Body::None => request,
        Body::Json(v) => request.json(v),
        Body::PerCaller(bodies) => request.json(&bodies[caller]),
        Body::Raw(content_type, bytes) => request.header("content-type", *content_type).body(bytes.clone()),
        Body::Multipart(bytes) => {
            let (content_type, _) = multipart(&[]);
            request.header("content-type", content_type).body(bytes.clone())
        }
    };
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says() {
    let server = TestServer::spawn().await;
    let w = world(&server).await;

    // The routes come from the document the router generates: none may be missing here.
    let doc = json_with_status(get(&server, "/api/v1/openapi.json", "").await, StatusCode::OK).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let rows = rows(&w);
    let covered: BTreeSet<(String, String)> =
        rows.iter().map(|r| (r.method.to_owned(), r.documented.to_owned())).collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(missing.is_empty(), "routes with no row in the authorization matrix: {missing:?}");
    let unknown: Vec<_> = covered.difference(&documented).collect();
    assert!(unknown.is_empty(), "matrix rows for routes that don't exist: {unknown:?}");

    let mut wrong = Vec::new();
    for row in &rows {
        for (i, token) in w.tokens.iter().enumerate() {
            let (status, body) = call(&server, row, i, token.as_deref()).await;
            if status != row.expect[i] {
                let body: String = body.chars().take(160).collect();
                wrong.push(format!(
                    "{} {} as {}: {status}, expected {} ({body})",
                    row.method, row.path, CALLERS[i], row.expect[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} answers differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
    server.stop().await;
}
