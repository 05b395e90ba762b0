//! What the care tests share: people (admin, therapists, clients) made
//! through the API, valid application and intake bodies to vary, and
//! readers for JSON and problem documents.

use crate::common::{api_client, Options, TestServer};
use rapport_app::Clock;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A password that meets the policy.
pub const PASSWORD: &str = "a calm river at dawn";

/// Someone signed in through the API.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// A server whose clock only moves when told to.
pub async fn spawn_with_clock() -> TestServer {
    TestServer::spawn_with(Options { manual_clock: true, ..Options::default() }).await.expect("test server")
}

/// The server's idea of today (its manual clock when it has one).
pub fn today(server: &TestServer) -> chrono::NaiveDate {
    match &server.clock {
        Some(clock) => clock.now().date_naive(),
        None => chrono::Utc::now().date_naive(),
    }
}

/// Moves a manual clock on by whole days.
pub fn advance_days(server: &TestServer, days: u64) {
    server.clock.as_ref().expect("a manual clock").advance(std::time::Duration::from_secs(days * 24 * 3600));
}

fn unique_email(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let local: String = label.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    format!("{local}.{n}@example.org")
}

/// A request with a bearer token.
pub fn authed(server: &TestServer, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    api_client().request(method, server.url(path)).bearer_auth(token)
}

/// `GET path` with a token.
pub async fn get(server: &TestServer, path: &str, token: &str) -> Response {
    authed(server, Method::GET, path, token).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `POST path` with a token and a JSON body.
pub async fn post(server: &TestServer, path: &str, token: &str, body: &Value) -> Response {
    authed(server, Method::POST, path, token).json(body).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// `POST path` with a token and no body at all.
pub async fn post_empty(server: &TestServer, path: &str, token: &str) -> Response {
    authed(server, Method::POST, path, token).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// Reads a JSON body, asserting the status first (with the body in the message).
pub async fn json_with_status(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let url = response.url().path().to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "{url}: unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts an RFC 9457 problem response with `status` and returns its document.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let url = response.url().path().to_owned();
    let content_type =
        response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "{url}: unexpected status; body: {text}");
    assert!(content_type.starts_with("application/problem+json"), "{url}: content type {content_type:?}: {text}");
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: problem not JSON ({e}): {text}"));
    assert_eq!(value["status"].as_u64(), Some(u64::from(status.as_u16())), "{text}");
    value
}

/// The field names of a 422's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// Asserts a 422 whose `errors` name a field starting with `field` (with a
/// message), and returns the fields; `what` names the case in failures.
pub async fn field_error(response: Response, field: &str, what: &str) -> Vec<String> {
    let got = response.status();
    let content_type =
        response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("body");
    assert_eq!(got, StatusCode::UNPROCESSABLE_ENTITY, "{what}: expected 422; body: {text}");
    assert!(content_type.starts_with("application/problem+json"), "{what}: content type {content_type:?}");
    let p: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    let fields = error_fields(&p);
    let hit = fields.iter().find(|f| f.starts_with(field));
    assert!(hit.is_some(), "{what}: expected an error for `{field}`, got {p}");
    let messages = &p["errors"][hit.expect("field")];
    assert!(
        messages
            .as_array()
            .is_some_and(|m| !m.is_empty() && m.iter().all(|s| s.as_str().is_some_and(|s| !s.is_empty()))),
        "{what}: each field error needs a message: {p}"
    );
    fields
}

/// `POST /api/v1/auth/token`: a fresh bearer token.
pub async fn sign_in(server: &TestServer, email: &str) -> String {
    let response = api_client()
        .post(server.url("/api/v1/auth/token"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("POST /api/v1/auth/token");
    let body = json_with_status(response, StatusCode::OK).await;
    body["token"].as_str().expect("token").to_owned()
}

/// Signs someone up through the API (a client) and signs them in.
pub async fn sign_up(server: &TestServer, name: &str) -> Person {
    let email = unique_email(name);
    let response = api_client()
        .post(server.url("/api/v1/accounts"))
        .json(&json!({"email": email, "password": PASSWORD, "display_name": name, "time_zone": "America/Los_Angeles"}))
        .send()
        .await
        .expect("POST /api/v1/accounts");
    let body = json_with_status(response, StatusCode::CREATED).await;
    assert_eq!(body["role"], "client", "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let token = sign_in(server, &email).await;
    Person { id, email, token }
}

/// An admin, made by the operator (there is no API to become one), signed in through the API.
pub async fn admin(server: &TestServer) -> Person {
    let email = unique_email("admin");
    let account = server
        .app
        .create_account(
            rapport_app::SignUp {
                email: email.clone(),
                password: PASSWORD.to_owned(),
                display_name: "Ada Admin".to_owned(),
                time_zone: "UTC".to_owned(),
            },
            rapport_domain::Role::Admin,
            &Default::default(),
        )
        .await
        .expect("create admin");
    let token = sign_in(server, &email).await;
    Person { id: account.id.as_uuid().to_string(), email, token }
}

/// `GET /api/v1/me`'s role.
pub async fn role_of(server: &TestServer, person: &Person) -> String {
    let me = json_with_status(get(server, "/api/v1/me", &person.token).await, StatusCode::OK).await;
    me["role"].as_str().expect("role").to_owned()
}

/// A licence valid for a year from the server's today, in `jurisdiction`.
pub fn license(server: &TestServer, jurisdiction: &str) -> Value {
    let expires = today(server) + chrono::Duration::days(365);
    json!({"type": "LMFT", "number": "LMFT-104233", "jurisdiction": jurisdiction, "expires_on": expires.to_string()})
}

/// A complete, valid application: a Californian LMFT for couples, emotional
/// distance and communication, in English, by video and messaging, on
/// Monday evenings, with room for 10 clients. `accepting_new_clients` is left
/// out on purpose (it defaults to true).
pub fn application(server: &TestServer, professional_name: &str) -> Value {
    json!({
        "professional_name": professional_name,
        "bio": "I help couples find their way back to each other.",
        "licenses": [license(server, "US-CA")],
        "specialties": ["couples", "emotional_distance", "communication"],
        "approaches": ["emotionally_focused"],
        "languages": ["en"],
        "modalities": ["video", "messaging"],
        "works_with_couples": true,
        "time_zone": "America/Los_Angeles",
        "weekly_availability": [{"weekday": "mon", "start": "17:00", "end": "21:00"}],
        "capacity": 10
    })
}

/// `base` with the top-level members of `patch` replaced (a `null` removes one).
pub fn with(base: &Value, patch: Value) -> Value {
    let mut out = base.clone();
    let object = out.as_object_mut().expect("object");
    for (k, v) in patch.as_object().expect("patch object") {
        if v.is_null() {
            object.remove(k);
        } else {
            object.insert(k.clone(), v.clone());
        }
    }
    out
}

/// `POST /api/v1/therapists/application`.
pub async fn apply(server: &TestServer, person: &Person, body: &Value) -> Response {
    post(server, "/api/v1/therapists/application", &person.token, body).await
}

/// `POST /api/v1/admin/therapist-applications/{id}/approve`.
pub async fn approve(server: &TestServer, admin: &Person, id: &str) -> Response {
    post(
        server,
        &format!("/api/v1/admin/therapist-applications/{id}/approve"),
        &admin.token,
        &json!({"notes": "Checked the licensing board's register."}),
    )
    .await
}

/// `POST /api/v1/admin/therapist-applications/{id}/reject`.
pub async fn reject(server: &TestServer, admin: &Person, id: &str, body: &Value) -> Response {
    post(server, &format!("/api/v1/admin/therapist-applications/{id}/reject"), &admin.token, body).await
}

/// Someone who applied (201) and is waiting for verification.
pub async fn applicant(server: &TestServer, name: &str, patch: Value) -> Person {
    let person = sign_up(server, name).await;
    let body =
        json_with_status(apply(server, &person, &with(&application(server, name), patch)).await, StatusCode::CREATED)
            .await;
    assert_eq!(body["id"].as_str(), Some(person.id.as_str()), "{body}");
    person
}

/// A therapist who applied with the default application changed by `patch`,
/// and was approved (their token keeps working; the role is read per request).
pub async fn therapist(server: &TestServer, admin: &Person, name: &str, patch: Value) -> Person {
    let person = applicant(server, name, patch).await;
    json_with_status(approve(server, admin, &person.id).await, StatusCode::OK).await;
    person
}

/// A valid individual intake from California in English about talking and
/// affection, open to video.
pub fn intake() -> Value {
    json!({
        "kind": "individual",
        "jurisdiction": "US-CA",
        "languages": ["en"],
        "concerns": ["less_communication", "less_affection"],
        "preferences": {"modalities": ["video"], "therapist_gender": null, "approaches": []}
    })
}

/// `POST /api/v1/intake`.
pub async fn submit_intake(server: &TestServer, person: &Person, body: &Value) -> Response {
    post(server, "/api/v1/intake", &person.token, body).await
}

/// A client who did intake (201) with the default answers changed by `patch`.
pub async fn client(server: &TestServer, name: &str, patch: Value) -> Person {
    let person = sign_up(server, name).await;
    json_with_status(submit_intake(server, &person, &with(&intake(), patch)).await, StatusCode::CREATED).await;
    person
}

/// `GET /api/v1/matches` (200).
pub async fn matches(server: &TestServer, person: &Person) -> Value {
    let body = json_with_status(get(server, "/api/v1/matches", &person.token).await, StatusCode::OK).await;
    let list = body["matches"].as_array().unwrap_or_else(|| panic!("matches array: {body}"));
    assert!(list.len() <= 3, "at most 3 matches: {body}");
    body
}

/// The therapist ids of a matches body, in order.
pub fn ids(body: &Value) -> Vec<String> {
    body["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["therapist_id"].as_str().expect("therapist_id").to_owned())
        .collect()
}

/// The therapist ids someone is matched with now.
pub async fn matched_ids(server: &TestServer, person: &Person) -> Vec<String> {
    ids(&matches(server, person).await)
}

/// `POST /api/v1/matches/{id}/choose`.
pub async fn choose(server: &TestServer, person: &Person, therapist_id: &str) -> Response {
    post_empty(server, &format!("/api/v1/matches/{therapist_id}/choose"), &person.token).await
}

/// The signed-in person as the application layer sees them.
pub async fn who(server: &TestServer, person: &Person) -> rapport_app::Authenticated {
    server.app.authenticate(&person.token).await.expect("a valid token")
}

/// The account ids of a therapist's active clients (application layer).
pub async fn clients_of(server: &TestServer, therapist: &Person) -> Vec<String> {
    let who = who(server, therapist).await;
    let clients = server.app.my_clients(&who).await.expect("my_clients");
    clients.into_iter().map(|(team, _)| team.client_id.as_uuid().to_string()).collect()
}

/// The id of a client's current therapist, if any (application layer).
pub async fn therapist_of(server: &TestServer, client: &Person) -> Option<String> {
    let who = who(server, client).await;
    server.app.my_therapist(&who).await.expect("my_therapist").map(|(team, _)| team.therapist_id.as_uuid().to_string())
}

/// A browser session for `person`: the `Cookie` header value a signed-in browser would send.
pub async fn browser_cookie(server: &TestServer, person: &Person) -> String {
    let signed = server
        .app
        .sign_in(&person.email, PASSWORD, rapport_store::SessionKind::Browser, &Default::default())
        .await
        .expect("browser sign-in");
    format!("rapport_session={}", signed.token.expose())
}
