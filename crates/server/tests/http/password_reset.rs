//! "Forgot your password?": the same answer whether or not the account exists,
//! a single-use link valid for an hour, every session ended, the person told.

use crate::common::{api_client, mails_to, wait_for_mails, TestServer};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn ask_for_reset(server: &TestServer, email: &str) -> reqwest::Response {
    api_client().post(server.url("/api/v1/auth/password-reset")).json(&json!({ "email": email })).send().await.unwrap()
}

async fn reset(server: &TestServer, token: &str, new_password: &str) -> reqwest::Response {
    api_client()
        .post(server.url(&format!("/api/v1/auth/password-reset/{token}")))
        .json(&json!({ "new_password": new_password }))
        .send()
        .await
        .unwrap()
}

/// The token of the newest reset link emailed to `to`.
async fn reset_token(server: &TestServer, to: &str, nth: usize) -> String {
    let mails = wait_for_mails(server, to, "/reset-password/", nth).await;
    let mail = mails.get(nth - 1).unwrap_or_else(|| panic!("no reset email {nth} to {to}"));
    let marker = "/reset-password/";
    let start = mail.find(marker).expect("a reset link") + marker.len();
    mail[start..].split_whitespace().next().expect("a token").to_owned()
}

async fn reset_by_email(backend: Backend) {
    let Some(server) = spawn_with_clock(backend).await else { return };
    let robin = sign_up(&server, "robin@example.org", "Robin").await;
    let other = sign_up(&server, "sky@example.org", "Sky").await;
    let phone = sign_in(&server, &robin.email, PASSWORD).await;
    let laptop = sign_in(&server, &robin.email, PASSWORD).await;
    let skys = sign_in(&server, &other.email, PASSWORD).await;

    // The same answer for an account and for no account.
    let known = ask_for_reset(&server, &robin.email).await;
    let unknown = ask_for_reset(&server, "nobody@example.org").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let token = reset_token(&server, &robin.email, 1).await;
    assert!(mails_to(&server, "nobody@example.org", "").is_empty(), "no email to an address without an account");

    // A weak password is refused, and the link still works afterwards.
    let weak = problem(reset(&server, &token, "password").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&weak), vec!["new_password"]);
    assert_eq!(me_status(&server, &phone).await, StatusCode::OK, "nothing changed yet");

    assert_eq!(reset(&server, &token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    // Every session and token of the account ended; someone else's did not.
    assert_eq!(me_status(&server, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&server, &laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&server, &skys).await, StatusCode::OK);
    // The new password works, the old one does not.
    problem(request_token(&server, &robin.email, PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    let fresh = sign_in(&server, &robin.email, NEW_PASSWORD).await;
    // The person is told, without a link.
    let told = wait_for_mails(&server, &robin.email, "was changed", 1).await;
    assert_eq!(told.len(), 1, "an email says the password was changed");
    assert!(!told[0].contains("/reset-password/"));

    // Used once: a second use is gone, and changes nothing.
    let again = problem(reset(&server, &token, "another fine long password").await, StatusCode::GONE).await;
    assert_eq!(again["type"], "urn:rapport:problem:gone");
    assert_eq!(me_status(&server, &fresh).await, StatusCode::OK);
    sign_in(&server, &robin.email, NEW_PASSWORD).await;
    // Unknown tokens are gone too.
    let unknown = problem(reset(&server, "not-a-real-token", NEW_PASSWORD).await, StatusCode::GONE).await;
    assert_eq!(unknown["type"], "urn:rapport:problem:gone");

    // A link is valid for one hour.
    assert_eq!(ask_for_reset(&server, &robin.email).await.status(), StatusCode::ACCEPTED);
    let late = reset_token(&server, &robin.email, 2).await;
    advance(&server, minutes(61));
    problem(reset(&server, &late, "yet another fine long password").await, StatusCode::GONE).await;
    let latest = sign_in(&server, &robin.email, NEW_PASSWORD).await;

    // The audit trail shows the reset, without anyone else's address.
    let trail = authed(&server, Method::GET, "/api/v1/me/audit-events", &latest).send().await.unwrap();
    let trail = json_with_status(trail, StatusCode::OK).await;
    let actions: Vec<&str> =
        trail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"account.password_reset"), "{actions:?}");
    assert!(actions.contains(&"account.password_reset_requested"), "{actions:?}");
    for e in trail["events"].as_array().unwrap() {
        if e["actor"] != "You" {
            assert!(e["ip"].is_null(), "an address shown for something the person did not do: {e}");
        }
    }
    server.stop().await;
}

on_both_backends! {
    reset_by_email => password_reset_on_sqlite, password_reset_on_postgres;
}

#[tokio::test]
async fn a_link_resets_only_its_own_account() {
    let server = TestServer::spawn().await;
    let ash = sign_up(&server, "ash@example.org", "Ash").await;
    let bo = sign_up(&server, "bo@example.org", "Bo").await;
    ask_for_reset(&server, &ash.email).await;
    let ashs = reset_token(&server, &ash.email, 1).await;
    assert_eq!(reset(&server, &ashs, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    // Bo's password is untouched.
    sign_in(&server, &bo.email, PASSWORD).await;
    problem(request_token(&server, &bo.email, NEW_PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn reset_requests_are_throttled_per_email_and_bad_input_is_refused() {
    let server = TestServer::spawn().await;
    let jo = sign_up(&server, "jo@example.org", "Jo").await;
    for _ in 0..5 {
        assert_eq!(ask_for_reset(&server, &jo.email).await.status(), StatusCode::ACCEPTED);
    }
    let response = ask_for_reset(&server, &jo.email).await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    // An address with no account is throttled alike: the answer reveals nothing.
    for _ in 0..5 {
        ask_for_reset(&server, "ghost@example.org").await;
    }
    problem(ask_for_reset(&server, "ghost@example.org").await, StatusCode::TOO_MANY_REQUESTS).await;
    // Not an email, not JSON, no body.
    let p = problem(ask_for_reset(&server, "not an email").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["email"]);
    let response = api_client().post(server.url("/api/v1/auth/password-reset")).body("email=x").send().await.unwrap();
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    server.stop().await;
}

#[tokio::test]
async fn sign_out_every_other_session_in_one_call() {
    let server = TestServer::spawn().await;
    let lee = sign_up(&server, "lee@example.org", "Lee").await;
    let here = sign_in(&server, &lee.email, PASSWORD).await;
    let there = sign_in(&server, &lee.email, PASSWORD).await;
    let elsewhere = sign_in(&server, &lee.email, PASSWORD).await;
    let response = authed(&server, Method::DELETE, "/api/v1/me/sessions", &here).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_status(&server, &here).await, StatusCode::OK);
    assert_eq!(me_status(&server, &there).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&server, &elsewhere).await, StatusCode::UNAUTHORIZED);
    let anonymous = api_client().delete(server.url("/api/v1/me/sessions")).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    server.stop().await;
}

#[tokio::test]
async fn the_reset_pages_work_without_javascript() {
    let server = TestServer::spawn().await;
    let mo = sign_up(&server, "mo@example.org", "Mo").await;
    let browser = Browser::new(&server);
    let sign_in_page = browser.page("/sign-in").await;
    assert!(sign_in_page.contains("href=\"/forgot-password\""), "the sign-in page offers a reset");
    let sent = browser.submit("/forgot-password", "/forgot-password", &[("email", &mo.email)]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(sent.text().await.unwrap().contains("If an account uses"));
    let token = reset_token(&server, &mo.email, 1).await;
    let path = format!("/reset-password/{token}");
    // A weak password: the form again, with the reason.
    let weak = browser.submit(&path, &path, &[("new_password", "short")]).await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text().await.unwrap().contains("new_password-error"));
    let done = browser.submit(&path, &path, &[("new_password", NEW_PASSWORD)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/sign-in?password_reset=1");
    assert!(browser.page("/sign-in?password_reset=1").await.contains("Your new password is saved"));
    // The used link says so, and offers a new one.
    let gone = browser.get(&path).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    assert!(gone.text().await.unwrap().contains("href=\"/forgot-password\""));
    sign_in(&server, &mo.email, NEW_PASSWORD).await;
    server.stop().await;
}
