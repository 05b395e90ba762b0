//! Bad input gets a precise 4xx problem document, never a 500, and nothing
//! a person types can break out of a page.

use crate::common::{api_client, TestServer};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn account(email: &str, password: &str, display_name: &str) -> Value {
    json!({"email": email, "password": password, "display_name": display_name})
}

async fn post_raw(server: &TestServer, path: &str, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = api_client().post(server.url(path)).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    request.send().await.expect("POST")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let server = TestServer::spawn().await;
    for path in ["/api/v1/accounts", "/api/v1/auth/token"] {
        for body in [&b"{\"email\": \"a@example.org\","[..], b"{email: 1}", b"{\"a\":1}}", b"\xff\xfe"] {
            let response = post_raw(&server, path, Some("application/json"), body.to_vec()).await;
            problem(response, StatusCode::BAD_REQUEST).await;
        }
    }
    // A JSON value that is not an object is not a request either.
    for body in ["[]", "\"a@example.org\"", "42", "null"] {
        let response = post_raw(&server, "/api/v1/accounts", Some("application/json"), body.into()).await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_changes_nothing() {
    let server = TestServer::spawn().await;
    let body = serde_json::to_vec(&account("sol@example.org", PASSWORD, "Sol")).unwrap();
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/xml"), None] {
        let response = post_raw(&server, "/api/v1/accounts", content_type, body.clone()).await;
        problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }
    // None of those created the account.
    sign_up(&server, "sol@example.org", "Sol").await;
    // JSON with a charset, or a +json type, is JSON.
    let body = serde_json::to_vec(&account("noor@example.org", PASSWORD, "Noor")).unwrap();
    let response = post_raw(&server, "/api/v1/accounts", Some("application/json; charset=utf-8"), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    server.stop().await;
}

#[tokio::test]
async fn invalid_fields_are_422_with_errors_per_field() {
    let server = TestServer::spawn().await;

    let all_wrong = problem(
        post_account(&server, &account("not-an-email", "short", "   ")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&all_wrong), ["display_name", "email", "password"], "{all_wrong}");
    for (field, messages) in all_wrong["errors"].as_object().unwrap() {
        let messages = messages.as_array().unwrap_or_else(|| panic!("{field}: a list of messages"));
        assert!(!messages.is_empty() && messages.iter().all(|m| m.as_str().is_some_and(|m| !m.is_empty())));
    }

    // A missing field and a field of the wrong type are named too.
    let missing = problem(
        post_account(&server, &json!({"email": "a@example.org", "display_name": "A"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&missing), ["password"], "{missing}");
    let wrong_type = problem(
        post_account(&server, &json!({"email": "a@example.org", "password": 123456789012345u64, "display_name": "A"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&wrong_type), ["password"], "{wrong_type}");

    // The time zone is checked when given.
    let mut bad_zone = account("zone@example.org", PASSWORD, "Zone");
    bad_zone["time_zone"] = json!("Mars/Olympus_Mons");
    let bad_zone = problem(post_account(&server, &bad_zone).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&bad_zone), ["time_zone"], "{bad_zone}");
    server.stop().await;
}

#[tokio::test]
async fn the_password_policy_is_enforced_at_the_edges() {
    let server = TestServer::spawn().await;
    let refused = [
        ("qwerty123456", "a common password"),
        ("QWERTY123456", "a common password in capitals"),
        ("abcdefghijk", "11 characters"),
        (&"x".repeat(257), "257 characters"),
    ];
    for (i, (password, why)) in refused.iter().enumerate() {
        let email = format!("refused{i}@example.org");
        let response = post_account(&server, &account(&email, password, "Someone")).await;
        let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["password"], "{why}: {p}");
    }
    let accepted = [
        ("abcdefghijkl".to_owned(), "12 characters"),
        ("x".repeat(256), "256 characters"),
        ("é".repeat(256), "256 two-byte characters"),
        ("correct horse battery staple".to_owned(), "a passphrase with spaces"),
    ];
    for (i, (password, why)) in accepted.iter().enumerate() {
        let email = format!("accepted{i}@example.org");
        let response = post_account(&server, &account(&email, password, "Someone")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{why} should be accepted");
        sign_in(&server, &email, password).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let server = TestServer::spawn().await;
    sign_up(&server, "ivy@example.org", "Ivy").await;
    let wrong_password =
        problem(request_token(&server, "ivy@example.org", "not my password", None).await, StatusCode::UNAUTHORIZED)
            .await;
    let unknown_email =
        problem(request_token(&server, "nobody@example.org", PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    let not_an_email = problem(request_token(&server, "nobody", PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong_password, unknown_email, "the answer must not reveal whether the email has an account");
    assert_eq!(wrong_password, not_an_email);
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let server = TestServer::spawn().await;
    let limit = 1024 * 1024;
    let envelope = |filler: usize| {
        let body =
            format!(r#"{{"email":"big@example.org","password":"{PASSWORD}","display_name":"{}"}}"#, "a".repeat(filler));
        body.into_bytes()
    };
    let overhead = envelope(0).len();

    let over = envelope(limit - overhead + 1);
    assert_eq!(over.len(), limit + 1);
    let response = post_raw(&server, "/api/v1/accounts", Some("application/json"), over).await;
    problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Exactly at the limit the body is read (and the overlong name refused).
    let at = envelope(limit - overhead);
    let response = post_raw(&server, "/api/v1/accounts", Some("application/json"), at).await;
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["display_name"]);
    server.stop().await;
}

#[tokio::test]
async fn a_smaller_configured_body_limit_is_honoured() {
    let server = TestServer::spawn_with(crate::common::Options {
        adjust: Box::new(|settings| settings.http.body_limit = 256),
        ..Default::default()
    })
    .await
    .unwrap();
    let body = serde_json::to_vec(&account("small@example.org", PASSWORD, &"b".repeat(300))).unwrap();
    problem(post_raw(&server, "/api/v1/accounts", Some("application/json"), body).await, StatusCode::PAYLOAD_TOO_LARGE)
        .await;
    // Forms too, with a friendly page.
    let browser = Browser::new(&server);
    let response = browser.submit("/sign-in", "/sign-in", &[("email", &"c".repeat(300)), ("password", "x")]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await;
}

#[tokio::test]
async fn unknown_addresses_are_404_problems_for_api_clients() {
    let server = TestServer::spawn().await;
    for path in ["/api/v1/nope", "/api/v2/me", "/api/v1/me/nothing/here", "/api/v1/accounts/123"] {
        let response = api_client().get(server.url(path)).send().await.unwrap();
        problem(response, StatusCode::NOT_FOUND).await;
    }
    // Outside /api, a JSON client still gets a problem; a browser gets a page.
    let json_client = api_client().get(server.url("/no-such-page")).header("accept", "application/json");
    problem(json_client.send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let page = Browser::new(&server).get("/no-such-page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Page not found"));
    // A known address with the wrong method is a 405 problem.
    let response = api_client().put(server.url("/api/v1/accounts")).json(&json!({})).send().await.unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    server.stop().await;
}

const SCRIPT: &str = r#"<script>alert("pwned")</script>"#;

/// True when the page shows [`SCRIPT`]'s opening tag as text (named or numeric entities).
fn shows_escaped_script(html: &str) -> bool {
    html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;")
}

#[tokio::test]
async fn sql_and_html_in_an_email_are_422_not_500() {
    let server = TestServer::spawn().await;
    for email in [
        "x'; DROP TABLE accounts;--@example.org",
        "robert@example.org' OR '1'='1",
        "<script>alert(1)</script>@example.org",
        "a@example.org<img src=x onerror=alert(1)>",
        "\"><svg/onload=alert(1)>@example.org",
    ] {
        let p = problem(
            post_account(&server, &account(email, PASSWORD, "Mallory")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), ["email"], "{email}: {p}");
        problem(request_token(&server, email, PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    }
    // The accounts table is still there and working.
    sign_up(&server, "after@example.org", "After").await;
    sign_in(&server, "after@example.org", PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn what_people_type_is_escaped_in_pages() {
    let server = TestServer::spawn().await;
    let browser = Browser::new(&server);

    // A refused email is shown back in the form, escaped.
    let email = format!("\">{SCRIPT}@example.org");
    let response = browser
        .submit("/sign-up", "/sign-up", &[("email", &email), ("password", PASSWORD), ("display_name", SCRIPT)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!html.contains(SCRIPT), "raw script in the sign-up page:\n{html}");
    assert!(shows_escaped_script(&html), "the typed text is shown back, escaped:\n{html}");
    assert!(!html.contains("\"><script"), "an attribute value was broken out of:\n{html}");

    // A display name is free text; it is escaped wherever it is shown.
    sign_up(&server, "markup@example.org", SCRIPT).await;
    let response = browser.sign_in("markup@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for path in ["/home", "/settings"] {
        let html = browser.page(path).await;
        assert!(!html.contains(SCRIPT), "raw script on {path}:\n{html}");
        assert!(shows_escaped_script(&html), "the name is on {path}, escaped:\n{html}");
    }
    server.stop().await;
}

async fn nul_and_invisible_text_is_refused_alike(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let rosa = sign_up(&server, "rosa@example.org", "Rosa").await;
    // A NUL byte in the sign-in email (PostgreSQL cannot store one) and in a password.
    for body in [
        json!({"email": "rosa@example.org\u{0}", "password": PASSWORD}),
        json!({"email": rosa.email, "password": "a calm river\u{0} at dawn"}),
    ] {
        let response = api_client().post(server.url("/api/v1/auth/token")).json(&body).send().await.unwrap();
        let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p).len(), 1, "{p}");
    }
    // A name made only of zero-width spaces, and a NUL in a new account's email.
    let p = problem(
        post_account(&server, &account("zw@example.org", PASSWORD, "\u{200B}\u{200B}")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["display_name"]);
    let p = problem(
        post_account(&server, &account("nul\u{0}@example.org", PASSWORD, "Nul")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&p), ["email"]);
    // Profile changes: nothing is stored.
    let token = sign_in(&server, &rosa.email, PASSWORD).await;
    let response = authed(&server, reqwest::Method::PATCH, "/api/v1/me", &token)
        .json(&json!({"display_name": "\u{FEFF}\u{2060}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_fields(&problem(response, StatusCode::UNPROCESSABLE_ENTITY).await), ["display_name"]);
    let me: Value = get_me(&server, &token).await.json().await.unwrap();
    assert_eq!(me["display_name"], "Rosa");
    // A web form with a NUL gets a page that says why, not a server error.
    let browser = Browser::new(&server);
    let response =
        browser.submit("/sign-in", "/sign-in", &[("email", "rosa@example.org\u{0}"), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("characters we can"));
    server.stop().await;
}

on_both_backends! {
    nul_and_invisible_text_is_refused_alike => nul_and_invisible_text_on_sqlite, nul_and_invisible_text_on_postgres;
}

/// Sends only the head of a request declaring `length` body bytes, and returns the
/// status line and the head of the answer (which must come without the body).
async fn declare_only(server: &TestServer, method_path: &str, content_type: &str, length: u64) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "{method_path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answered without waiting for the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_read() {
    let server = TestServer::spawn().await;
    let answer = declare_only(&server, "POST /api/v1/accounts", "application/json", 50 * 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/problem+json"), "{answer}");
    // Attachments have their own, larger limit; over it, the same answer.
    let answer =
        declare_only(&server, "POST /api/v1/rooms/x/attachments", "multipart/form-data; boundary=b", 80 * 1024 * 1024)
            .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A web form gets a page.
    let answer = declare_only(&server, "POST /sign-in", "application/x-www-form-urlencoded", 5 * 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: text/html"), "{answer}");
    server.stop().await;
}
