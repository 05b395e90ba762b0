//! The audit trail API: every access event on your data, only yours, paged.

use crate::common::TestServer;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn trail(server: &TestServer, token: &str, query: &str) -> Value {
    let path = format!("/api/v1/me/audit-events{query}");
    json_with_status(authed(server, Method::GET, &path, token).send().await.unwrap(), StatusCode::OK).await
}

fn actions(page: &Value) -> Vec<String> {
    page["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

async fn the_trail_holds_your_events_and_only_yours(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let olive = sign_up(&server, "olive@example.org", "Olive").await;
    let oscar = sign_up(&server, "oscar@example.org", "Oscar").await;
    let oscar_token = sign_in(&server, &oscar.email, PASSWORD).await;

    problem(request_token(&server, &olive.email, "a wrong guess", None).await, StatusCode::UNAUTHORIZED).await;
    let main = sign_in(&server, &olive.email, PASSWORD).await;
    let to_revoke = sign_in(&server, &olive.email, PASSWORD).await;
    let to_sign_out = sign_in(&server, &olive.email, PASSWORD).await;
    let response = authed(&server, Method::PATCH, "/api/v1/me", &main).json(&json!({"time_zone": "Asia/Tokyo"}));
    assert_eq!(response.send().await.unwrap().status(), StatusCode::OK);
    let listed = authed(&server, Method::GET, "/api/v1/me/sessions", &to_revoke).send().await.unwrap();
    let listed: Value = listed.json().await.unwrap();
    let revoke_id = listed["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = authed(&server, Method::DELETE, &format!("/api/v1/me/sessions/{revoke_id}"), &main).send().await;
    assert_eq!(response.unwrap().status(), StatusCode::NO_CONTENT);
    let response = authed(&server, Method::DELETE, "/api/v1/auth/token", &to_sign_out).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = authed(&server, Method::PUT, "/api/v1/me/password", &main)
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}));
    assert_eq!(response.send().await.unwrap().status(), StatusCode::NO_CONTENT);

    // Newest first, each with plain words, who and where.
    let all = trail(&server, &main, "").await;
    assert_eq!(
        actions(&all),
        [
            "account.password_changed",
            "auth.signed_out",
            "auth.session_revoked",
            "account.profile_updated",
            "auth.signed_in",
            "auth.signed_in",
            "auth.signed_in",
            "auth.sign_in_failed",
            "account.created",
        ],
        "{all}"
    );
    assert!(all["next_before"].is_null(), "one page holds it all: {all}");
    for event in all["events"].as_array().unwrap() {
        assert!(event["description"].as_str().is_some_and(|d| !d.is_empty()), "{event}");
        assert!(event["at"].as_str().is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()), "{event}");
        let expected_actor = if event["action"] == "auth.sign_in_failed" { Value::Null } else { json!("You") };
        assert_eq!(event["actor"], expected_actor, "{event}");
    }
    let failed = &all["events"][7];
    assert_eq!(failed["description"], "Failed sign-in attempt");
    // Nobody was signed in: the attempt may be someone else's, whose address is theirs to keep.
    assert!(failed["ip"].is_null(), "{failed}");
    assert_eq!(all["events"][4]["ip"], "127.0.0.1", "a person sees the address of their own sign-ins");
    assert_eq!(failed["record_id"], olive.id.as_str(), "the attempt is recorded against the account");
    let created = &all["events"][8];
    assert_eq!(created["record_kind"], "account");
    let revoked = &all["events"][2];
    assert_eq!(revoked["record_kind"], "session");
    assert_eq!(revoked["record_id"], revoke_id.as_str());

    // Oscar sees only his own two events, even when he pages from one of Olive's ids.
    let his = trail(&server, &oscar_token, "").await;
    assert_eq!(actions(&his), ["auth.signed_in", "account.created"], "{his}");
    let olive_ids = ids(&all);
    assert!(ids(&his).iter().all(|id| !olive_ids.contains(id)));
    let his_from_hers = trail(&server, &oscar_token, &format!("?before={}", olive_ids[0])).await;
    assert!(ids(&his_from_hers).iter().all(|id| !olive_ids.contains(id)), "{his_from_hers}");
    server.stop().await;
}

on_both_backends! {
    the_trail_holds_your_events_and_only_yours => audit_trail_on_sqlite, audit_trail_on_postgres;
}

#[tokio::test]
async fn the_trail_pages_with_before_and_limit() {
    let server = TestServer::spawn().await;
    let person = sign_up(&server, "pages@example.org", "Pages").await;
    for _ in 0..4 {
        problem(request_token(&server, &person.email, "not the one at all", None).await, StatusCode::UNAUTHORIZED)
            .await;
    }
    let token = sign_in(&server, &person.email, PASSWORD).await;
    let everything = ids(&trail(&server, &token, "?limit=200").await);
    assert_eq!(everything.len(), 6, "created, 4 failures, signed in");

    // Two at a time, following next_before, gives the same events in the same order.
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    for _ in 0..10 {
        let page = trail(&server, &token, &query).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2, "{page}");
        paged.extend(page_ids);
        match page["next_before"].as_str() {
            Some(next) => query = format!("?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(paged, everything);

    // Out-of-range limits are clamped, not refused.
    assert_eq!(ids(&trail(&server, &token, "?limit=0").await).len(), 1);
    assert_eq!(ids(&trail(&server, &token, "?limit=100000").await), everything);
    // Before the oldest there is nothing.
    let last = trail(&server, &token, &format!("?before={}", everything.last().unwrap())).await;
    assert!(ids(&last).is_empty() && last["next_before"].is_null(), "{last}");

    // A cursor that is not an event id, or a limit that is not a number, is a 400 problem.
    for query in ["?before=yesterday", "?before=123", "?limit=ten", "?limit=-1"] {
        let response = authed(&server, Method::GET, &format!("/api/v1/me/audit-events{query}"), &token).send().await;
        problem(response.unwrap(), StatusCode::BAD_REQUEST).await;
    }
    server.stop().await;
}
