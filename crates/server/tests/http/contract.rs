//! The external contract of the JSON API: shapes and statuses that API
//! clients depend on, and the OpenAPI document that describes them.

use crate::common::{api_client, TestServer};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Every route of the API, as `(method, path)`, the way OpenAPI names them.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/accounts"),
    ("POST", "/api/v1/auth/token"),
    ("DELETE", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/{token}"),
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/me/sessions"),
    ("DELETE", "/api/v1/me/sessions"),
    ("DELETE", "/api/v1/me/sessions/{id}"),
    ("GET", "/api/v1/me/audit-events"),
    ("GET", "/api/v1/me/notices"),
    ("POST", "/api/v1/me/notices/{id}/dismiss"),
    ("POST", "/api/v1/therapists/application"),
    ("GET", "/api/v1/therapists/application"),
    ("PUT", "/api/v1/therapists/application/photo"),
    ("GET", "/api/v1/therapists/{id}/photo"),
    ("GET", "/api/v1/admin/therapist-applications"),
    ("POST", "/api/v1/admin/therapist-applications/{id}/approve"),
    ("POST", "/api/v1/admin/therapist-applications/{id}/reject"),
    ("POST", "/api/v1/intake"),
    ("GET", "/api/v1/matches"),
    ("POST", "/api/v1/matches/{therapist_id}/choose"),
    ("GET", "/api/v1/clients/{id}/intake"),
    ("POST", "/api/v1/couple/invitations"),
    ("GET", "/api/v1/couple/invitations"),
    ("DELETE", "/api/v1/couple/sent-invitations/{id}"),
    ("POST", "/api/v1/couple/sent-invitations/{id}/resend"),
    ("POST", "/api/v1/couple/invitations/{token}/accept"),
    ("POST", "/api/v1/couple/policy-consent"),
    ("GET", "/api/v1/couple"),
    ("DELETE", "/api/v1/couple"),
    ("GET", "/api/v1/rooms"),
    ("GET", "/api/v1/rooms/{id}/messages"),
    ("POST", "/api/v1/rooms/{id}/messages"),
    ("POST", "/api/v1/rooms/{id}/read"),
    ("POST", "/api/v1/rooms/{id}/attachments"),
    ("GET", "/api/v1/messages/{id}/attachment"),
    ("PATCH", "/api/v1/messages/{id}"),
    ("DELETE", "/api/v1/messages/{id}"),
    ("GET", "/api/v1/messages/{id}/versions"),
    ("PUT", "/api/v1/messages/{id}/star"),
    ("DELETE", "/api/v1/messages/{id}/star"),
    ("POST", "/api/v1/events/ticket"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/me/notifications"),
    ("PUT", "/api/v1/me/notifications"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/couple/care-proposal/accept"),
    ("POST", "/api/v1/couple/care-proposal/decline"),
];

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("a JSON object").keys().map(String::as_str).collect()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

async fn sign_up_sign_in_me_sign_out(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };

    // Sign up: 201 with exactly the documented members; the email is normalised.
    let response = post_account(
        &server,
        &json!({"email": "  Robin.Ash@Example.ORG ", "password": PASSWORD, "display_name": "Robin Ash"}),
    )
    .await;
    assert!(content_type(&response).starts_with("application/json"), "{:?}", response.headers());
    let account = json_with_status(response, StatusCode::CREATED).await;
    assert_eq!(keys(&account), BTreeSet::from(["id", "email", "display_name", "role"]), "{account}");
    assert_eq!(account["email"], "robin.ash@example.org");
    assert_eq!(account["display_name"], "Robin Ash");
    assert_eq!(account["role"], "client");
    let id: uuid::Uuid = account["id"].as_str().expect("id is a string").parse().expect("id is a UUID");
    assert_eq!(id.get_version_num(), 7, "ids are UUIDv7");

    // Sign in: a token and the absolute end of its life (12 hours by default).
    let before = chrono::Utc::now();
    let response = request_token(&server, "robin.ash@example.org", PASSWORD, None).await;
    let issued = json_with_status(response, StatusCode::OK).await;
    assert_eq!(keys(&issued), BTreeSet::from(["token", "expires_at"]), "{issued}");
    let token = issued["token"].as_str().expect("token").to_owned();
    assert!(token.len() >= 32, "a token has at least 256 bits of entropy: {token}");
    let expires_at: chrono::DateTime<chrono::Utc> =
        issued["expires_at"].as_str().expect("expires_at").parse().expect("RFC 3339 expires_at");
    let lifetime = expires_at - before;
    assert!(
        lifetime > chrono::Duration::minutes(719) && lifetime <= chrono::Duration::minutes(721),
        "expires_at is 12h after sign-in, got {lifetime}"
    );

    // Sign-in is case-insensitive on the email, like sign-up.
    let again = request_token(&server, "ROBIN.ASH@example.org", PASSWORD, None).await;
    assert_eq!(again.status(), StatusCode::OK);

    // Me.
    let me = json_with_status(get_me(&server, &token).await, StatusCode::OK).await;
    assert_eq!(keys(&me), BTreeSet::from(["id", "email", "display_name", "role", "time_zone"]), "{me}");
    assert_eq!(me["id"], account["id"]);
    assert_eq!(me["email"], "robin.ash@example.org");
    assert_eq!(me["display_name"], "Robin Ash");
    assert_eq!(me["role"], "client");
    assert_eq!(me["time_zone"], "UTC");

    // Without a token, or with a wrong one: 401 problem asking for a bearer token.
    let anonymous = api_client().get(server.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(anonymous.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    problem(get_me(&server, "not-a-real-token").await, StatusCode::UNAUTHORIZED).await;
    let tampered = format!("{}x", &token[..token.len() - 1]);
    problem(get_me(&server, &tampered).await, StatusCode::UNAUTHORIZED).await;
    let basic = api_client().get(server.url("/api/v1/me")).basic_auth("robin.ash@example.org", Some(PASSWORD));
    problem(basic.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;

    // Sign out: 204, and the token is dead at once (and stays dead).
    let out = authed(&server, Method::DELETE, "/api/v1/auth/token", &token).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(out.bytes().await.unwrap().is_empty(), "204 has no body");
    problem(get_me(&server, &token).await, StatusCode::UNAUTHORIZED).await;
    let twice = authed(&server, Method::DELETE, "/api/v1/auth/token", &token).send().await.unwrap();
    problem(twice, StatusCode::UNAUTHORIZED).await;

    server.stop().await;
}

async fn duplicate_email_in_another_case_conflicts(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    sign_up(&server, "kai@example.org", "Kai").await;
    let response = post_account(
        &server,
        &json!({"email": "KAI@Example.org", "password": "another long password", "display_name": "Not Kai"}),
    )
    .await;
    let conflict = problem(response, StatusCode::CONFLICT).await;
    assert_eq!(error_fields(&conflict), ["email"], "{conflict}");
    // The first account is untouched: its password still works, the second one's doesn't.
    sign_in(&server, "kai@example.org", PASSWORD).await;
    let other = request_token(&server, "kai@example.org", "another long password", None).await;
    problem(other, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

on_both_backends! {
    sign_up_sign_in_me_sign_out => contract_flow_on_sqlite, contract_flow_on_postgres;
    duplicate_email_in_another_case_conflicts => duplicate_email_on_sqlite, duplicate_email_on_postgres;
}

#[tokio::test]
async fn openapi_document_describes_every_route_with_bearer_auth() {
    let server = TestServer::spawn().await;
    let response = api_client().get(server.url("/api/v1/openapi.json")).send().await.unwrap();
    assert!(content_type(&response).starts_with("application/json"));
    let doc = json_with_status(response, StatusCode::OK).await;

    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "openapi: {}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in API_ROUTES {
        let operation =
            &paths.get(*path).unwrap_or_else(|| panic!("{path} is not documented"))[method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(operation["responses"].is_object(), "{method} {path} documents no responses");
    }
    let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = API_ROUTES.iter().map(|(_, p)| *p).collect();
    assert_eq!(documented, expected, "the document lists exactly the API's routes");

    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert!(scheme["scheme"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("bearer")), "{scheme}");
    // Operations that need a token say so; signing up and in don't.
    for (method, path) in [("get", "/api/v1/me"), ("delete", "/api/v1/auth/token"), ("get", "/api/v1/me/audit-events")]
    {
        let security = &paths[path][method]["security"];
        assert!(
            security.as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some())),
            "{method} {path} should require the bearer scheme: {security}"
        );
    }
    assert!(paths["/api/v1/accounts"]["post"]["security"].is_null());

    // And every documented route is really served (no 404/405 from the router).
    let token = {
        sign_up(&server, "doc@example.org", "Doc").await;
        sign_in(&server, "doc@example.org", PASSWORD).await
    };
    // Signing out comes last, so the token works for the others.
    let mut routes = API_ROUTES.to_vec();
    routes.sort_by_key(|(method, path)| (*method, *path) == ("DELETE", "/api/v1/auth/token"));
    for (method, path) in routes {
        let concrete = concrete_path(path, &uuid::Uuid::now_v7().to_string());
        let method: Method = method.parse().unwrap();
        let response = authed(&server, method.clone(), &concrete, &token).json(&json!({})).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete}: {body}");
        assert!(
            !(status == StatusCode::NOT_FOUND && body.contains("nothing at this address")),
            "{method} {concrete} is documented but not routed: {body}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn health_check_answers() {
    let server = TestServer::spawn().await;
    let response = api_client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
    server.stop().await;
}
