//! Security headers on every kind of response, set in one place.

use crate::common::{api_client, Options, TestServer};
use crate::support::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// Every kind of response the server gives: a page, an API answer, an API
/// error, a 404 page and problem, a redirect, the health check, an asset.
async fn sample_responses(server: &TestServer) -> Vec<(String, StatusCode, HeaderMap)> {
    sign_up(server, "headers@example.org", "Headers").await;
    let token = sign_in(server, "headers@example.org", PASSWORD).await;
    let browser = Browser::new(server);
    browser.sign_in("headers@example.org", PASSWORD).await;
    let mut out = Vec::new();
    let requests = [
        ("page /", api_client().get(server.url("/"))),
        ("page /sign-in", api_client().get(server.url("/sign-in"))),
        ("page /home", browser.client.get(server.url("/home"))),
        ("page /settings", browser.client.get(server.url("/settings"))),
        ("redirect /home", api_client().get(server.url("/home"))),
        ("api /api/v1/me", authed(server, Method::GET, "/api/v1/me", &token)),
        ("api /api/v1/me/sessions", authed(server, Method::GET, "/api/v1/me/sessions", &token)),
        ("api 401", api_client().get(server.url("/api/v1/me"))),
        ("api 422", api_client().post(server.url("/api/v1/accounts")).json(&serde_json::json!({}))),
        ("api 404", api_client().get(server.url("/api/v1/nowhere"))),
        ("page 404", api_client().get(server.url("/nowhere"))),
        ("openapi", api_client().get(server.url("/api/v1/openapi.json"))),
        ("healthz", api_client().get(server.url("/healthz"))),
        ("asset", api_client().get(server.url("/assets/style.css"))),
        ("missing asset", api_client().get(server.url("/assets/nope.js"))),
    ];
    for (name, request) in requests {
        let response = request.send().await.unwrap();
        out.push((name.to_owned(), response.status(), response.headers().clone()));
    }
    out
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn csp_directive<'a>(csp: &'a str, name: &str) -> Option<&'a str> {
    csp.split(';').map(str::trim).find(|d| d.split_whitespace().next() == Some(name))
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::spawn().await;
    let responses = sample_responses(&server).await;
    assert_eq!(responses.iter().find(|r| r.0 == "asset").unwrap().1, StatusCode::OK);
    assert_eq!(responses.iter().find(|r| r.0 == "page 404").unwrap().1, StatusCode::NOT_FOUND);
    for (name, _, headers) in &responses {
        let csp = header(headers, "content-security-policy").unwrap_or_else(|| panic!("{name}: no CSP"));
        let scripts = csp_directive(csp, "script-src").unwrap_or_else(|| panic!("{name}: no script-src in {csp}"));
        assert!(scripts.contains("'self'"), "{name}: {csp}");
        assert!(!scripts.contains("'unsafe-inline'") && !scripts.contains("'unsafe-eval'"), "{name}: {csp}");
        assert!(!scripts.contains('*') && !scripts.contains("http"), "{name}: scripts only from here: {csp}");
        assert_eq!(csp_directive(csp, "frame-ancestors"), Some("frame-ancestors 'none'"), "{name}: {csp}");
        assert!(!csp.contains("'unsafe-inline'"), "{name}: {csp}");

        assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"), "{name}");
        // Same-origin: nothing leaks to other sites, and our own form posts carry a real Origin.
        assert_eq!(header(headers, "referrer-policy"), Some("same-origin"), "{name}");
        let permissions =
            header(headers, "permissions-policy").unwrap_or_else(|| panic!("{name}: no Permissions-Policy"));
        assert!(
            permissions.contains("camera=(self)") && permissions.contains("microphone=(self)"),
            "{name}: {permissions}"
        );
        assert!(header(headers, "strict-transport-security").is_none(), "{name}: no HSTS over plain HTTP");
    }
    server.stop().await;
}

#[tokio::test]
async fn personal_pages_and_api_answers_are_never_cached() {
    let server = TestServer::spawn().await;
    for (name, _, headers) in sample_responses(&server).await {
        if name.starts_with("page /home") || name.starts_with("page /settings") || name.starts_with("api") {
            let cache = header(&headers, "cache-control").unwrap_or_else(|| panic!("{name}: no Cache-Control"));
            assert!(cache.split(',').any(|d| d.trim() == "no-store"), "{name}: {cache}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn behind_a_tls_proxy_every_response_has_hsts() {
    let server = TestServer::spawn_with(Options {
        adjust: Box::new(|settings| settings.http.tls_proxy = true),
        ..Default::default()
    })
    .await
    .unwrap();
    // Plain HTTP requests here stand for the proxy's; the server trusts it for TLS.
    for path in ["/", "/healthz", "/api/v1/me", "/assets/app.js", "/nowhere"] {
        let response = api_client().get(server.url(path)).send().await.unwrap();
        let hsts = header(response.headers(), "strict-transport-security").unwrap_or_else(|| panic!("{path}: no HSTS"));
        let max_age: u64 = hsts
            .split(';')
            .find_map(|d| d.trim().strip_prefix("max-age="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{path}: HSTS without max-age: {hsts}"));
        assert!(max_age >= 365 * 24 * 3600, "{path}: at least a year: {hsts}");
    }
    server.stop().await;
}
