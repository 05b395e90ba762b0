//! Licence expiry notices: the therapist is warned 30 days ahead (API and
//! home page), can dismiss the notice, and nobody else sees it.

use crate::common::browser_like_client;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().expect("csrf value").to_owned()
}

#[tokio::test]
async fn a_therapist_is_warned_before_a_licence_expires_and_can_dismiss_it() {
    let server = spawn_with_clock().await;
    let admin = admin(&server).await;
    let expires = (today(&server) + chrono::Duration::days(45)).format("%Y-%m-%d").to_string();
    let dana = therapist(
        &server,
        &admin,
        "Dana",
        json!({"licenses": [{"type": "lmft", "number": "CA-77", "jurisdiction": "US-CA", "expires_on": expires}]}),
    )
    .await;
    let someone = sign_up(&server, "Someone").await;

    // 45 days out: nothing yet.
    server.app.run_license_checks().await.unwrap();
    let body = json_with_status(get(&server, "/api/v1/me/notices", &dana.token).await, StatusCode::OK).await;
    assert_eq!(body["notices"].as_array().unwrap().len(), 0, "{body}");

    advance_days(&server, 20);
    // Twenty days later everyone signs in again (sessions end after 30 idle minutes).
    let dana = Person { token: sign_in(&server, &dana.email).await, ..dana };
    let someone = Person { token: sign_in(&server, &someone.email).await, ..someone };
    let report = server.app.run_license_checks().await.unwrap();
    assert_eq!(report.therapists_warned, 1);
    let body = json_with_status(get(&server, "/api/v1/me/notices", &dana.token).await, StatusCode::OK).await;
    let notices = body["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{body}");
    assert_eq!(notices[0]["kind"], "license_expiring");
    assert!(notices[0]["message"].as_str().unwrap().contains("California"), "{body}");
    let id = notices[0]["id"].as_str().unwrap().to_owned();

    // Someone else neither sees nor dismisses it.
    let theirs = json_with_status(get(&server, "/api/v1/me/notices", &someone.token).await, StatusCode::OK).await;
    assert_eq!(theirs["notices"].as_array().unwrap().len(), 0);
    let path = format!("/api/v1/me/notices/{id}/dismiss");
    problem(post_empty(&server, &path, &someone.token).await, StatusCode::NOT_FOUND).await;

    // On the home page, with a button to dismiss it.
    let cookie = browser_cookie(&server, &dana).await;
    let client = browser_like_client();
    let home = client.get(server.url("/home")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let page = home.text().await.unwrap();
    assert!(page.contains("For your attention") && page.contains("licence in California expires on"), "{page}");
    let dismissed = client
        .post(server.url(&format!("/notices/{id}/dismiss")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(dismissed.status(), StatusCode::SEE_OTHER);
    let page = client.get(server.url("/home")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("For your attention"), "dismissed notices stay away");
    // Warned once, however often the check runs.
    assert_eq!(server.app.run_license_checks().await.unwrap().therapists_warned, 0);
    server.stop().await;
}
