//! Who may do what: admins verify, clients seek care, everyone signs in.

use crate::common::{api_client, TestServer};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn non_admins_get_403_on_admin_routes() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let therapist = therapist(&server, &admin, "Dr Colleague", json!({})).await;
    let pending = applicant(&server, "Dr Waiting", json!({})).await;
    let client = client(&server, "Curious Client", json!({})).await;
    for (who, person) in [("client", &client), ("therapist", &therapist), ("applicant", &pending)] {
        problem(get(&server, "/api/v1/admin/therapist-applications", &person.token).await, StatusCode::FORBIDDEN).await;
        for action in ["approve", "reject"] {
            let path = format!("/api/v1/admin/therapist-applications/{}/{action}", pending.id);
            let body = json!({"notes": "looks fine to me", "reason": "no"});
            let response = post(&server, &path, &person.token, &body).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} {action}");
            problem(response, StatusCode::FORBIDDEN).await;
        }
    }
    // Nobody but an admin decided anything.
    let mine =
        json_with_status(get(&server, "/api/v1/therapists/application", &pending.token).await, StatusCode::OK).await;
    assert_eq!(mine["status"], "pending");
    assert_eq!(role_of(&server, &pending).await, "client");
    assert!(!matched_ids(&server, &client).await.contains(&pending.id));
    server.stop().await;
}

#[tokio::test]
async fn therapists_and_admins_cannot_do_intake_or_get_matches() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let therapist = therapist(&server, &admin, "Dr Busy", json!({})).await;
    let other = therapist_with_room(&server, &admin).await;
    for (who, person) in [("therapist", &therapist), ("admin", &admin)] {
        let response = submit_intake(&server, person, &intake()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} intake");
        problem(response, StatusCode::FORBIDDEN).await;
        let response = get(&server, "/api/v1/matches", &person.token).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} matches");
        let response = choose(&server, person, &other.id).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} choose");
    }
    assert!(clients_of(&server, &other).await.is_empty());
    server.stop().await;
}

async fn therapist_with_room(server: &TestServer, admin: &Person) -> Person {
    therapist(server, admin, "Dr Room", json!({"capacity": 20})).await
}

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let pending = applicant(&server, "Dr Anyone", json!({})).await;
    // A token that worked once and was signed out.
    let gone = sign_up(&server, "Signed Out").await;
    let response = authed(&server, Method::DELETE, "/api/v1/auth/token", &gone.token).send().await.expect("sign out");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let id = &pending.id;
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "/api/v1/therapists/application".into(), Some(application(&server, "Dr Anon"))),
        (Method::GET, "/api/v1/therapists/application".into(), None),
        (Method::GET, "/api/v1/admin/therapist-applications".into(), None),
        (Method::POST, format!("/api/v1/admin/therapist-applications/{id}/approve"), Some(json!({"notes": "ok"}))),
        (Method::POST, format!("/api/v1/admin/therapist-applications/{id}/reject"), Some(json!({"reason": "no"}))),
        (Method::POST, "/api/v1/intake".into(), Some(intake())),
        (Method::GET, "/api/v1/matches".into(), None),
        (Method::POST, format!("/api/v1/matches/{id}/choose"), None),
    ];
    for (method, path, body) in &routes {
        for token in [None, Some("not-a-real-token"), Some(gone.token.as_str())] {
            let mut request = api_client().request(method.clone(), server.url(path));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            if let Some(b) = body {
                request = request.json(b);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}");
            assert!(response.headers().contains_key("www-authenticate"), "{method} {path}");
            problem(response, StatusCode::UNAUTHORIZED).await;
        }
    }
    let mine =
        json_with_status(get(&server, "/api/v1/therapists/application", &pending.token).await, StatusCode::OK).await;
    assert_eq!(mine["status"], "pending");
    let queue =
        json_with_status(get(&server, "/api/v1/admin/therapist-applications", &admin.token).await, StatusCode::OK)
            .await;
    assert_eq!(queue["applications"].as_array().map(Vec::len), Some(1), "{queue}");
    server.stop().await;
}

#[tokio::test]
async fn decisions_need_a_real_pending_application_and_rejections_a_reason() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;

    for id in [uuid::Uuid::now_v7().to_string(), "nonsense".to_owned(), admin.id.clone()] {
        problem(approve(&server, &admin, &id).await, StatusCode::NOT_FOUND).await;
        problem(reject(&server, &admin, &id, &json!({"reason": "Unknown"})).await, StatusCode::NOT_FOUND).await;
    }
    // Someone who never applied has nothing to decide on either.
    let stranger = sign_up(&server, "Never Applied").await;
    problem(approve(&server, &admin, &stranger.id).await, StatusCode::NOT_FOUND).await;
    assert_eq!(role_of(&server, &stranger).await, "client");

    // A rejection needs a reason: missing, empty or blank is 422 and decides nothing.
    let pending = applicant(&server, "Dr Undecided", json!({})).await;
    for body in [json!({}), json!({"reason": ""}), json!({"reason": "   "}), json!({"reason": null})] {
        let fields = field_error(reject(&server, &admin, &pending.id, &body).await, "reason", &body.to_string()).await;
        assert_eq!(fields, ["reason"], "{body}");
    }
    let mine =
        json_with_status(get(&server, "/api/v1/therapists/application", &pending.token).await, StatusCode::OK).await;
    assert_eq!(mine["status"], "pending");

    // Approved once: a second approval, or a rejection after it, is a conflict.
    let approved = json_with_status(approve(&server, &admin, &pending.id).await, StatusCode::OK).await;
    assert_eq!(approved["status"], "approved");
    problem(approve(&server, &admin, &pending.id).await, StatusCode::CONFLICT).await;
    problem(reject(&server, &admin, &pending.id, &json!({"reason": "Changed my mind"})).await, StatusCode::CONFLICT)
        .await;
    assert_eq!(role_of(&server, &pending).await, "therapist");

    // Rejected once: approving it later is a conflict too; the reason is recorded.
    let other = applicant(&server, "Dr Unlicensed", json!({})).await;
    let rejected = json_with_status(
        reject(&server, &admin, &other.id, &json!({"reason": "No such licence on the register."})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    problem(approve(&server, &admin, &other.id).await, StatusCode::CONFLICT).await;
    assert_eq!(role_of(&server, &other).await, "client");
    let who = who(&server, &admin).await;
    let history = server
        .app
        .verification_history(&who, other.id.parse::<rapport_domain::AccountId>().expect("account id"))
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert!(!history[0].approved);
    assert_eq!(history[0].notes, "No such licence on the register.");
    server.stop().await;
}

#[tokio::test]
async fn a_missing_page_keeps_the_signed_in_header() {
    let server = crate::common::TestServer::spawn().await;
    let robin = sign_up(&server, "Robin").await;
    let cookie = browser_cookie(&server, &robin).await;
    let web = crate::common::browser_like_client();
    let missing = web.get(server.url("/no-such-page")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let page = missing.text().await.unwrap();
    assert!(page.contains("Page not found") && page.contains("Sign out"), "{page}");
    let anonymous = web.get(server.url("/no-such-page")).send().await.unwrap().text().await.unwrap();
    assert!(anonymous.contains("Sign in") && !anonymous.contains("Sign out"), "{anonymous}");
    server.stop().await;
}

#[tokio::test]
async fn applicants_are_emailed_the_decision_without_the_notes() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let yes = applicant(&server, "Dr Approved", json!({})).await;
    let no = applicant(&server, "Dr Declined", json!({})).await;
    json_with_status(approve(&server, &admin, &yes.id).await, StatusCode::OK).await;
    let reason = json!({"reason": "The licence number is not on the board's register."});
    json_with_status(reject(&server, &admin, &no.id, &reason).await, StatusCode::OK).await;

    let approved = crate::common::wait_for_mails(&server, &yes.email, "verified", 1).await;
    assert_eq!(approved.len(), 1, "the approved applicant is told");
    assert!(approved[0].contains("Hello Dr Approved"), "{}", approved[0]);
    assert!(!approved[0].contains("Checked the licensing board"), "admin notes stay private: {}", approved[0]);
    let declined = crate::common::wait_for_mails(&server, &no.email, "couldn't approve", 1).await;
    assert_eq!(declined.len(), 1, "the declined applicant is told");
    assert!(declined[0].contains("/therapist/apply"), "{}", declined[0]);
    assert!(!declined[0].contains("register"), "the reason is shown in the app, not by email: {}", declined[0]);
    server.stop().await;
}
