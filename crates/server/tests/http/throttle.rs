//! Sign-in throttling: per account (known or not, so it reveals nothing),
//! 10 failures in 15 minutes; and per client address only past 100 failures
//! in an hour, so people sharing a network are not locked out by one another.

use crate::common::{Options, TestServer};
use crate::support::*;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// Asserts a 429 with a `Retry-After` of whole seconds in `1..=max`; returns (seconds, problem).
async fn too_many(response: Response, max: u64) -> (u64, Value) {
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let p = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    let retry_after = retry_after.expect("a 429 says when to retry");
    let seconds: u64 = retry_after.parse().unwrap_or_else(|_| panic!("Retry-After is whole seconds: {retry_after:?}"));
    assert!((1..=max).contains(&seconds), "Retry-After {seconds} is not within 1..={max}");
    (seconds, p)
}

fn behind_proxy() -> Options {
    Options { manual_clock: true, adjust: Box::new(|settings| settings.http.tls_proxy = true), ..Options::default() }
}

async fn each_account_gets_ten_attempts_per_window(backend: Backend) {
    // Behind a proxy, each attempt can come from a different address, so
    // only the per-account limit can stop the eleventh.
    let Some(server) = spawn_on(backend, behind_proxy()).await else { return };
    let alex = sign_up(&server, "alex@example.org", "Alex").await;
    sign_up(&server, "blair@example.org", "Blair").await;

    for i in 0..10 {
        let response = request_token(&server, &alex.email, "not the password", Some(&format!("203.0.113.{i}"))).await;
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    // The eleventh is refused even with the right password, from a fresh address.
    let response = request_token(&server, &alex.email, PASSWORD, Some("198.51.100.7")).await;
    let (_, known) = too_many(response, 15 * 60).await;
    // Other accounts, from the same addresses, are not affected.
    assert_eq!(
        request_token(&server, "blair@example.org", PASSWORD, Some("203.0.113.1")).await.status(),
        StatusCode::OK
    );

    // An email with no account is throttled the same way, with the same answer.
    for i in 0..10 {
        let response =
            request_token(&server, "ghost@example.org", "not the password", Some(&format!("203.0.113.{}", 100 + i)))
                .await;
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = request_token(&server, "ghost@example.org", PASSWORD, Some("198.51.100.8")).await;
    let (_, unknown) = too_many(response, 15 * 60).await;
    assert_eq!(known, unknown, "a 429 must not reveal whether the account exists");

    // Near the end of the window the wait is shorter; after it, sign-in works again.
    advance(&server, minutes(14));
    let response = request_token(&server, &alex.email, PASSWORD, Some("198.51.100.7")).await;
    too_many(response, 60).await;
    advance(&server, minutes(1) + std::time::Duration::from_secs(1));
    let response = request_token(&server, &alex.email, PASSWORD, Some("198.51.100.7")).await;
    assert_eq!(response.status(), StatusCode::OK, "the window has passed");
    server.stop().await;
}

on_both_backends! {
    each_account_gets_ten_attempts_per_window => account_throttle_on_sqlite, account_throttle_on_postgres;
}

#[tokio::test]
async fn one_account_failing_does_not_lock_out_others_on_the_same_network() {
    let server = TestServer::spawn_with(Options { manual_clock: true, ..Options::default() }).await.unwrap();
    let sam = sign_up(&server, "sam@example.org", "Sam").await;
    let kim = sign_up(&server, "kim@example.org", "Kim").await;
    // Not behind a proxy: a client-supplied X-Forwarded-For changes nothing.
    for i in 0..11 {
        let response = request_token(&server, &sam.email, "not the password", Some(&format!("10.0.0.{i}"))).await;
        assert!([StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&response.status()));
    }
    too_many(request_token(&server, &sam.email, PASSWORD, None).await, 15 * 60).await;
    // The 11th failure for Sam's account; Kim, from the same address, still gets in.
    sign_in(&server, &kim.email, PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn one_address_is_throttled_after_a_hundred_failures_in_an_hour() {
    let server = TestServer::spawn_with(Options { manual_clock: true, ..Options::default() }).await.unwrap();
    let sam = sign_up(&server, "sam@example.org", "Sam").await;
    for i in 0..100 {
        // Different emails, so no one account reaches its own limit.
        let response = request_token(&server, &format!("guess{i}@example.org"), "not the password", None).await;
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    // An account with no failures of its own is now refused from this address.
    too_many(request_token(&server, &sam.email, PASSWORD, None).await, 60 * 60).await;
    advance(&server, minutes(60) + std::time::Duration::from_secs(1));
    sign_in(&server, &sam.email, PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn behind_a_proxy_the_forwarded_address_is_the_one_counted() {
    let server = TestServer::spawn_with(behind_proxy()).await.unwrap();
    let sam = sign_up(&server, "sam@example.org", "Sam").await;
    for i in 0..100 {
        let email = format!("guess{i}@example.org");
        // The proxy appends the address it saw; earlier entries are the client's and untrusted.
        let forwarded = format!("10.9.9.{}, 192.0.2.1", i % 250);
        let response = request_token(&server, &email, "not the password", Some(&forwarded)).await;
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    too_many(request_token(&server, &sam.email, PASSWORD, Some("192.0.2.1")).await, 60 * 60).await;
    // Someone else, elsewhere, is not affected.
    assert_eq!(request_token(&server, &sam.email, PASSWORD, Some("192.0.2.2")).await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_is_throttled_with_a_friendly_page() {
    let server = TestServer::spawn().await;
    let river = sign_up(&server, "river@example.org", "River").await;
    let browser = Browser::new(&server);
    for _ in 0..10 {
        let response = browser.sign_in(&river.email, "not the password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.text().await.unwrap().contains("don&#39;t match"));
    }
    let response = browser.sign_in(&river.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie_for(response.headers(), "rapport_session").is_none(), "no session was started");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().expect("whole seconds");
    assert!((1..=900).contains(&retry_after));
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("too many attempts to sign in"), "{html}");
    assert!(!html.contains("minute(s)"), "waits are said in plain words: {html}");
    assert!(html.contains(" minutes, or reset your password"), "{html}");
    assert!(html.contains("href=\"/forgot-password\""), "a throttled person is offered a reset: {html}");
    assert!(html.contains("name=\"csrf\""), "the form is still there to try later");
    // And the API agrees.
    too_many(request_token(&server, &river.email, PASSWORD, None).await, 900).await;
    server.stop().await;
}

#[tokio::test]
async fn signing_up_from_a_throttled_address_still_says_what_happened() {
    let server = TestServer::spawn().await;
    for i in 0..100 {
        let response = request_token(&server, &format!("guess{i}@example.org"), "not the password", None).await;
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let browser = Browser::new(&server);
    let fields = [("email", "new.person@example.org"), ("password", PASSWORD), ("display_name", "New Person")];
    let response = browser.submit("/sign-up", "/sign-up", &fields).await;
    // The account exists, but signing straight in is refused from here: the person is told.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert_eq!(to, "/sign-in?created=1");
    let page = browser.page(&to).await;
    assert!(page.contains("Your account is ready. Sign in to continue."), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn one_click_signs_out_every_other_browser() {
    let server = TestServer::spawn().await;
    let pat = sign_up(&server, "pat@example.org", "Pat").await;
    let here = Browser::new(&server);
    let there = Browser::new(&server);
    for b in [&here, &there] {
        assert_eq!(b.sign_in(&pat.email, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    }
    let token = sign_in(&server, &pat.email, PASSWORD).await;
    let page = here.page("/settings/sessions").await;
    assert!(page.contains("Sign out all other sessions"), "{page}");
    let response = here.submit("/settings/sessions", "/settings/sessions/revoke-others", &[]).await;
    assert_eq!(location(&response), "/settings/sessions?saved=others");
    assert!(here.page("/settings/sessions?saved=others").await.contains("Every other session is signed out."));
    // The other browser and the API token are signed out; this browser is not.
    assert_eq!(location(&there.get("/home").await), "/sign-in");
    assert_eq!(me_status(&server, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(here.get("/home").await.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_signing_in() {
    let server = TestServer::spawn().await;
    let kim = sign_up(&server, "kim@example.org", "Kim").await;
    let token = sign_in(&server, &kim.email, PASSWORD).await;
    let change = |current: &'static str| {
        authed(&server, reqwest::Method::PUT, "/api/v1/me/password", &token)
            .json(&serde_json::json!({"current_password": current, "new_password": NEW_PASSWORD}))
    };
    for _ in 0..10 {
        let p = problem(change("not my password at all").send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["current_password"]);
    }
    // The 11th is refused without checking, even with the right password.
    too_many(change(PASSWORD).send().await.unwrap(), 15 * 60).await;
    assert_eq!(me_status(&server, &token).await, StatusCode::OK, "the session itself goes on");
    sign_in(&server, &kim.email, PASSWORD).await;
    server.stop().await;
}

#[tokio::test]
async fn behind_two_proxies_the_client_cannot_choose_its_own_address() {
    let server = TestServer::spawn_with(Options {
        adjust: Box::new(|settings| {
            settings.http.tls_proxy = true;
            settings.http.trusted_proxies = 2;
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    let ash = sign_up(&server, "ash@example.org", "Ash").await;
    // The client wrote 6.6.6.6 itself; the outer proxy saw 198.51.100.7; the inner one saw the outer.
    let response = request_token(&server, &ash.email, PASSWORD, Some("6.6.6.6, 198.51.100.7, 192.0.2.254")).await;
    let token: serde_json::Value = response.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let sessions = authed(&server, reqwest::Method::GET, "/api/v1/me/sessions", &token).send().await.unwrap();
    let sessions: serde_json::Value = sessions.json().await.unwrap();
    assert_eq!(sessions["sessions"][0]["ip"], "198.51.100.7", "{sessions}");
    server.stop().await;
}
