//! The web pages at the HTTP level, as a browser without JavaScript uses
//! them: forms with CSRF tokens, the session cookie, settings, sessions and
//! the access log.

use crate::common::{api_client, Options, TestServer};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn account_exists(server: &TestServer, email: &str) -> bool {
    request_token(server, email, PASSWORD, None).await.status() == StatusCode::OK
}

#[tokio::test]
async fn signing_up_through_the_form_signs_you_in() {
    let server = TestServer::spawn().await;
    let browser = Browser::new(&server);
    let page = browser.get("/sign-up").await;
    assert_eq!(page.status(), StatusCode::OK);
    let pre = set_cookie_for(page.headers(), "rapport_pre").expect("an anonymous form secret is set");
    assert!(cookie_attributes(&pre).contains(&"HttpOnly".to_owned()), "{pre}");
    let html = page.text().await.unwrap();
    let csrf = csrf_from(&html);
    assert!(html.contains(r#"action="/sign-up""#));

    let response = browser
        .post_form(
            "/sign-up",
            &[
                ("csrf", &csrf),
                ("email", "Quinn@Example.org"),
                ("password", PASSWORD),
                ("display_name", "Quinn Rivers"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/home?welcome=1");
    assert!(set_cookie_for(response.headers(), "rapport_session").is_some(), "signed in straight away");
    let home = browser.page("/home?welcome=1").await;
    assert!(home.contains("Hello, Quinn"), "{home}");
    assert!(home.contains("Your account is ready"));

    // It is a real account: the API sees it, with what the form said.
    let token = sign_in(&server, "quinn@example.org", PASSWORD).await;
    let me = json_with_status(get_me(&server, &token).await, StatusCode::OK).await;
    assert_eq!(me["display_name"], "Quinn Rivers");
    assert_eq!(me["time_zone"], "America/Chicago");

    // Signed in, the sign-up page sends you home.
    let response = browser.get("/sign-up").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/home");

    // A refused form keeps what was typed (except the password) and explains.
    let response = Browser::new(&server)
        .submit(
            "/sign-up",
            "/sign-up",
            &[("email", "quinn@example.org"), ("password", PASSWORD), ("display_name", "Q")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("already exists"), "{html}");
    assert!(html.contains(r#"value="quinn@example.org""#));
    assert!(!html.contains(PASSWORD), "a password is never sent back");
    server.stop().await;
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let server = TestServer::spawn().await;
    let browser = Browser::new(&server);
    let csrf = csrf_from(&browser.page("/sign-up").await);
    let other_browser = Browser::new(&server);
    let others_csrf = csrf_from(&other_browser.page("/sign-up").await);
    let fields = |email: &'static str| {
        vec![("email", email), ("password", PASSWORD), ("display_name", "Forged"), ("time_zone", "")]
    };

    let mut missing = fields("missing@example.org");
    missing.push(("csrf", ""));
    let mut wrong = fields("wrong@example.org");
    wrong.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    let mut borrowed = fields("borrowed@example.org");
    borrowed.push(("csrf", others_csrf.as_str()));
    for (form, email) in [
        (fields("absent@example.org"), "absent@example.org"),
        (missing, "missing@example.org"),
        (wrong, "wrong@example.org"),
        (borrowed, "borrowed@example.org"),
    ] {
        let response = browser.post_form("/sign-up", &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{email}");
        assert!(response.text().await.unwrap().contains("This form has expired"));
        assert!(!account_exists(&server, email).await, "{email} was created by a forged form");
    }

    // A valid token does not help a request from another site.
    let mut from_evil = fields("evil@example.org");
    from_evil.push(("csrf", csrf.as_str()));
    let response =
        browser.client.post(browser.url("/sign-up")).header("origin", "https://evil.example").form(&from_evil);
    assert_eq!(response.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let response = browser.client.post(browser.url("/sign-up")).header("sec-fetch-site", "cross-site").form(&from_evil);
    assert_eq!(response.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(!account_exists(&server, "evil@example.org").await);

    // The same form from this site goes through.
    let response = browser.client.post(browser.url("/sign-up")).header("origin", server.base.as_str()).form(&from_evil);
    assert_eq!(response.send().await.unwrap().status(), StatusCode::SEE_OTHER);
    assert!(account_exists(&server, "evil@example.org").await);

    // Signed in, a form with a wrong token changes nothing.
    let response = browser
        .post_form("/settings/profile", &[("csrf", "nope"), ("display_name", "Hacked"), ("time_zone", "UTC")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(browser.page("/settings").await.contains(r#"value="Forged""#));
    let response = browser.post_form("/sign-out", &[("csrf", &others_csrf)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/home").await.status(), StatusCode::OK, "still signed in");
    server.stop().await;
}

fn has(attributes: &[String], wanted: &str) -> bool {
    attributes.iter().any(|a| a.eq_ignore_ascii_case(wanted))
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let server = TestServer::spawn().await;
    sign_up(&server, "cookie@example.org", "Cookie").await;
    let response = Browser::new(&server).sign_in("cookie@example.org", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/home");
    let cookie = set_cookie_for(response.headers(), "rapport_session").expect("session cookie");
    let attributes = cookie_attributes(&cookie);
    assert!(has(&attributes, "HttpOnly"), "{cookie}");
    assert!(has(&attributes, "SameSite=Lax"), "{cookie}");
    assert!(has(&attributes, "Path=/"), "{cookie}");
    assert!(!has(&attributes, "Secure"), "plain HTTP by default, so not Secure: {cookie}");
    assert!(cookie_value(&cookie).len() >= 32);
    server.stop().await;
}

#[tokio::test]
async fn behind_a_tls_proxy_cookies_are_secure() {
    let server = TestServer::spawn_with(Options {
        adjust: Box::new(|settings| settings.http.tls_proxy = true),
        ..Default::default()
    })
    .await
    .unwrap();
    sign_up(&server, "secure@example.org", "Secure").await;
    // A browser would not send Secure cookies back over plain HTTP, so carry them by hand.
    let client = api_client();
    let page = client.get(server.url("/sign-in")).send().await.unwrap();
    let pre = set_cookie_for(page.headers(), "rapport_pre").expect("pre-session cookie");
    assert!(has(&cookie_attributes(&pre), "Secure"), "{pre}");
    let csrf = csrf_from(&page.text().await.unwrap());
    let response = client
        .post(server.url("/sign-in"))
        .header("cookie", format!("rapport_pre={}", cookie_value(&pre)))
        .form(&[("csrf", csrf.as_str()), ("email", "secure@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie_for(response.headers(), "rapport_session").expect("session cookie");
    let attributes = cookie_attributes(&cookie);
    for wanted in ["Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(has(&attributes, wanted), "{wanted} missing: {cookie}");
    }
    server.stop().await;
}

#[tokio::test]
async fn signed_in_pages_send_strangers_to_sign_in() {
    let server = TestServer::spawn().await;
    let browser = Browser::new(&server);
    for path in ["/home", "/settings", "/settings/sessions", "/settings/access-log"] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), "/sign-in", "{path}");
    }
    // A made-up cookie is no better, and is cleared.
    let response =
        api_client().get(server.url("/home")).header("cookie", "rapport_session=made-up").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookie_for(response.headers(), "rapport_session").expect("the dead cookie is cleared");
    assert!(has(&cookie_attributes(&cleared), "Max-Age=0"), "{cleared}");
    server.stop().await;
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let server = TestServer::spawn().await;
    sign_up(&server, "leave@example.org", "Leave").await;
    let browser = Browser::new(&server);
    let response = browser.sign_in("leave@example.org", PASSWORD).await;
    let old = cookie_value(&set_cookie_for(response.headers(), "rapport_session").unwrap());

    let response = browser.submit("/home", "/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/sign-in?signed_out=1");
    let cleared = set_cookie_for(response.headers(), "rapport_session").expect("cookie cleared");
    assert!(has(&cookie_attributes(&cleared), "Max-Age=0"));
    assert!(browser.page("/sign-in?signed_out=1").await.contains("You&#39;re signed out"));

    // Someone who kept a copy of the cookie gets nowhere.
    let replay =
        api_client().get(server.url("/home")).header("cookie", format!("rapport_session={old}")).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/sign-in");
    server.stop().await;
}

#[tokio::test]
async fn the_settings_form_changes_name_and_time_zone() {
    let server = TestServer::spawn().await;
    sign_up(&server, "tz@example.org", "Tee").await;
    let browser = Browser::new(&server);
    browser.sign_in("tz@example.org", PASSWORD).await;

    let response = browser
        .submit("/settings", "/settings/profile", &[("display_name", "Tee Zed"), ("time_zone", "Europe/Paris")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings?saved=profile");
    let html = browser.page("/settings?saved=profile").await;
    assert!(html.contains("Your profile is saved."));
    assert!(html.contains(r#"value="Tee Zed""#), "{html}");
    assert!(html.contains(r#"<option value="Europe/Paris" selected>Paris (UTC+0"#), "{html}");
    assert!(html.contains(r#"<optgroup label="Europe">"#));
    assert!(!html.contains(r#"value="GB-Eire""#) && !html.contains(r#"value="Etc/UTC""#), "no aliases");

    // A zone saved under an older alias still shows as chosen, by place and offset.
    let response = browser
        .submit("/settings", "/settings/profile", &[("display_name", "Tee Zed"), ("time_zone", "US/Pacific")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = browser.page("/settings?saved=profile").await;
    assert!(
        html.contains(r#"<optgroup label="Your zone now"><option value="US/Pacific" selected>Pacific (UTC"#),
        "{html}"
    );

    // An unknown zone: a friendly 422 on the same page, keeping what was typed.
    let response = browser
        .submit("/settings", "/settings/profile", &[("display_name", "Tee Again"), ("time_zone", "Mars/Olympus_Mons")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Please choose a time zone from the list"), "{html}");
    assert!(html.contains(r#"action="/settings/profile""#), "the form is still there");
    assert!(html.contains(r#"value="Tee Again""#), "what was typed is kept");

    let token = sign_in(&server, "tz@example.org", PASSWORD).await;
    let me = json_with_status(get_me(&server, &token).await, StatusCode::OK).await;
    assert_eq!(me["display_name"], "Tee Zed", "the refused change was not saved");
    assert_eq!(me["time_zone"], "US/Pacific", "the API keeps the name as saved");
    server.stop().await;
}

#[tokio::test]
async fn the_password_form_changes_the_password_and_ends_other_sessions() {
    let server = TestServer::spawn().await;
    sign_up(&server, "pw@example.org", "Pat").await;
    let elsewhere = sign_in(&server, "pw@example.org", PASSWORD).await;
    let browser = Browser::new(&server);
    browser.sign_in("pw@example.org", PASSWORD).await;

    let response = browser
        .submit(
            "/settings",
            "/settings/password",
            &[("current_password", "not it at all"), ("new_password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("isn&#39;t your current password"));
    assert_eq!(me_status(&server, &elsewhere).await, StatusCode::OK);

    let response = browser
        .submit("/settings", "/settings/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings?saved=password");
    assert!(browser.page("/settings?saved=password").await.contains("Your password is changed"));
    problem(get_me(&server, &elsewhere).await, StatusCode::UNAUTHORIZED).await;
    problem(request_token(&server, "pw@example.org", PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    sign_in(&server, "pw@example.org", NEW_PASSWORD).await;
    server.stop().await;
}

/// The `<li>` of the sessions page that mentions `needle`.
fn session_card<'a>(html: &'a str, needle: &str) -> Option<&'a str> {
    html.split(r#"<li class="card">"#).skip(1).find(|card| card.contains(needle))
}

fn revoke_action(card: &str) -> String {
    let start = card.find(r#"action="/settings/sessions/"#).expect("a sign-out form") + r#"action=""#.len();
    let end = card[start..].find('"').unwrap() + start;
    card[start..end].to_owned()
}

#[tokio::test]
async fn the_sessions_page_lists_sessions_and_signs_one_out() {
    let server = TestServer::spawn().await;
    sign_up(&server, "dev@example.org", "Dev").await;
    let app = reqwest::Client::builder().user_agent("RapportTestApp 1.0").build().unwrap();
    let response = app
        .post(server.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"email": "dev@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = json_with_status(response, StatusCode::OK).await["token"].as_str().unwrap().to_owned();
    let browser = Browser::new(&server);
    browser.sign_in("dev@example.org", PASSWORD).await;

    let html = browser.page("/settings/sessions").await;
    let this_device = session_card(&html, "This device").expect("the current session is marked");
    assert!(this_device.contains("Browser"));
    let app_card = session_card(&html, "RapportTestApp 1.0").expect("the app session is listed");
    assert!(app_card.contains("App or API") && !app_card.contains("This device"), "{app_card}");

    // Someone else's session id in the form is "not found", and ends nothing.
    sign_up(&server, "other@example.org", "Other").await;
    let other = sign_in(&server, "other@example.org", PASSWORD).await;
    let others_list = authed(&server, Method::GET, "/api/v1/me/sessions", &other).send().await.unwrap();
    let others: Value = others_list.json().await.unwrap();
    let others_id = others["sessions"][0]["id"].as_str().unwrap().to_owned();
    let response = browser.submit("/settings/sessions", &format!("/settings/sessions/{others_id}/revoke"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(me_status(&server, &other).await, StatusCode::OK);

    let response = browser.submit("/settings/sessions", &revoke_action(app_card), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings/sessions?saved=session");
    problem(get_me(&server, &token).await, StatusCode::UNAUTHORIZED).await;
    let html = browser.page("/settings/sessions?saved=session").await;
    assert!(html.contains("That session is signed out."));
    assert!(session_card(&html, "RapportTestApp").is_none(), "the ended session is gone from the list");
    assert!(session_card(&html, "This device").is_some());
    server.stop().await;
}

#[tokio::test]
async fn the_access_log_shows_your_events_and_nobody_elses() {
    let server = TestServer::spawn().await;
    sign_up(&server, "mine@example.org", "Mine").await;
    sign_up(&server, "theirs@example.org", "Theirs").await;
    // Someone tries Mine's account, then Mine signs in.
    problem(request_token(&server, "mine@example.org", "a wrong guess here", None).await, StatusCode::UNAUTHORIZED)
        .await;
    let browser = Browser::new(&server);
    browser.sign_in("mine@example.org", PASSWORD).await;
    // Theirs does things Mine never does.
    let theirs = Browser::new(&server);
    theirs.sign_in("theirs@example.org", PASSWORD).await;
    theirs.submit("/settings", "/settings/profile", &[("display_name", "Theirs Renamed"), ("time_zone", "UTC")]).await;
    theirs
        .submit("/settings", "/settings/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)])
        .await;

    let mine = browser.page("/settings/access-log").await;
    for expected in ["Account created", "Signed in", "Failed sign-in attempt", "Someone not signed in", "You"] {
        assert!(mine.contains(expected), "{expected:?} missing from:\n{mine}");
    }
    for foreign in ["Profile updated", "Password changed", "Theirs"] {
        assert!(!mine.contains(foreign), "another account's event ({foreign:?}) shown:\n{mine}");
    }
    let their_log = theirs.page("/settings/access-log").await;
    assert!(their_log.contains("Profile updated") && their_log.contains("Password changed"));
    assert!(!their_log.contains("Failed sign-in attempt"), "{their_log}");
    server.stop().await;
}
