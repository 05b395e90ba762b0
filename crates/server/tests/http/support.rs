//! What the HTTP tests share: starting a server on either backend, signing
//! up and in through the API, reading problem documents, and driving the
//! web forms like a browser without JavaScript would.

use crate::common::{api_client, browser_like_client, Options, TestServer};
use reqwest::header::{HeaderMap, CONTENT_TYPE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

/// A password that meets the policy (long enough, not a common one).
pub const PASSWORD: &str = "a calm river at dawn";
/// Another acceptable password, for changes.
pub const NEW_PASSWORD: &str = "slow tide over the harbour";

pub use crate::common::{spawn_on, Backend};

/// A server with a manual clock.
pub async fn spawn_with_clock(backend: Backend) -> Option<TestServer> {
    spawn_on(backend, Options { manual_clock: true, ..Options::default() }).await
}

/// Moves a server's manual clock on.
pub fn advance(server: &TestServer, by: std::time::Duration) {
    server.clock.as_ref().expect("this server was started with a manual clock").advance(by);
}

pub fn minutes(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n * 60)
}

/// `path` with every `{placeholder}` segment replaced by `id`.
pub fn concrete_path(path: &str, id: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { id } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// A signed-up person.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
}

/// `POST /api/v1/accounts` with any JSON.
pub async fn post_account(server: &TestServer, body: &Value) -> Response {
    api_client().post(server.url("/api/v1/accounts")).json(body).send().await.expect("POST /api/v1/accounts")
}

/// Signs someone up through the API, asserting it worked.
pub async fn sign_up(server: &TestServer, email: &str, display_name: &str) -> Person {
    let response =
        post_account(server, &json!({"email": email, "password": PASSWORD, "display_name": display_name})).await;
    assert_eq!(response.status(), StatusCode::CREATED, "sign up {email}");
    let body: Value = response.json().await.expect("account JSON");
    Person { id: body["id"].as_str().expect("id").to_owned(), email: body["email"].as_str().expect("email").to_owned() }
}

/// `POST /api/v1/auth/token`, optionally from a given forwarded IP.
pub async fn request_token(server: &TestServer, email: &str, password: &str, forwarded_for: Option<&str>) -> Response {
    let mut request =
        api_client().post(server.url("/api/v1/auth/token")).json(&json!({"email": email, "password": password}));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.expect("POST /api/v1/auth/token")
}

/// Signs in through the API and returns the bearer token.
pub async fn sign_in(server: &TestServer, email: &str, password: &str) -> String {
    let response = request_token(server, email, password, None).await;
    assert_eq!(response.status(), StatusCode::OK, "sign in {email}");
    let body: Value = response.json().await.expect("token JSON");
    body["token"].as_str().expect("token").to_owned()
}

/// A bearer-authenticated request.
pub fn authed(server: &TestServer, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    api_client().request(method, server.url(path)).bearer_auth(token)
}

/// `GET /api/v1/me` with a token.
pub async fn get_me(server: &TestServer, token: &str) -> Response {
    authed(server, reqwest::Method::GET, "/api/v1/me", token).send().await.expect("GET /api/v1/me")
}

/// The status of `GET /api/v1/me`: 200 while a token works, 401 after.
pub async fn me_status(server: &TestServer, token: &str) -> StatusCode {
    get_me(server, token).await.status()
}

/// Reads a JSON body, asserting the status first (with the body in the message).
pub async fn json_with_status(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// True when the response says it is an RFC 9457 problem document.
pub fn is_problem_type(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/problem+json"))
}

/// Checks a problem document's shape: content type, `status` matching the
/// response, a `title` and a `detail`.
pub fn check_problem(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let shown = String::from_utf8_lossy(body);
    if !is_problem_type(headers) {
        return Err(format!(
            "{status}: content type {:?} is not problem+json; body: {shown}",
            headers.get(CONTENT_TYPE)
        ));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("{status}: problem is not JSON ({e}): {shown}"))?;
    if value["status"].as_u64() != Some(u64::from(status.as_u16())) {
        return Err(format!("{status}: problem `status` does not match: {shown}"));
    }
    for member in ["title", "detail", "type"] {
        if value[member].as_str().is_none_or(str::is_empty) {
            return Err(format!("{status}: problem lacks `{member}`: {shown}"));
        }
    }
    Ok(value)
}

/// Asserts a problem response with `status` and returns its document.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body");
    assert_eq!(got, status, "body: {}", String::from_utf8_lossy(&body));
    check_problem(got, &headers, &body).unwrap_or_else(|e| panic!("{e}"))
}

/// The field names of a 422's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

/// The `Set-Cookie` header that sets cookie `name`, if any.
pub fn set_cookie_for(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers).into_iter().find(|c| c.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` header sets.
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=').map(|(_, v)| v.to_owned()).unwrap_or_default()
}

/// The attributes of a `Set-Cookie` header, trimmed, e.g. `HttpOnly`, `SameSite=Lax`.
pub fn cookie_attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_owned()).collect()
}

/// The value of the hidden `csrf` input on a page.
pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf field on the page:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("end of csrf value") + start;
    html[start..end].to_owned()
}

/// Where a redirect points.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_owned()
}

/// A browser without JavaScript: keeps cookies, does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(server: &TestServer) -> Self {
        Self { client: browser_like_client(), base: server.base.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GETs a page, asserting 200, and returns its HTML.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        let status = response.status();
        let html = response.text().await.expect("page");
        assert_eq!(status, StatusCode::OK, "GET {path}:\n{html}");
        html
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(self.url(path)).form(fields).send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Opens `page`, takes its CSRF token and submits `fields` to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = csrf_from(&self.page(page).await);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// Signs in through the form.
    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.submit("/sign-in", "/sign-in", &[("email", email), ("password", password)]).await
    }
}
