//! A realtime connection ends with its session: signing out, revoking the
//! session, changing or resetting the password close it with code 4001
//! ("session ended") within a second, and nothing is delivered after the end.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(1);

async fn assert_ended(socket: &mut Socket, since: Instant) {
    let (code, reason, before) = socket.closed().await;
    assert_eq!((code, reason.as_str()), (4001, "session ended"), "frames before the close: {before:?}");
    assert!(since.elapsed() < WITHIN, "closed after {:?}", since.elapsed());
    assert!(before.iter().all(|f| f["type"] != "message"), "no message after the session ended: {before:?}");
}

#[tokio::test]
async fn signing_out_closes_the_sockets_of_that_session_only() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let second = sign_in(&server, &client.email).await;
    let mut signed_out = Socket::with_bearer(&server.base, &client.token, None).await;
    let mut by_ticket = Socket::with_ticket(&server.base, &client.token, None).await;
    let mut other_session = Socket::with_bearer(&server.base, &second, None).await;

    let started = Instant::now();
    let response = send_empty(&server, Method::DELETE, "/api/v1/auth/token", &client.token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    say(&server, &therapist, &room, "Sent after the sign-out").await;
    assert_ended(&mut signed_out, started).await;
    assert_ended(&mut by_ticket, started).await;
    // The person's other session hears the message and stays open.
    assert_eq!(other_session.next_message().await["message"]["body"], "Sent after the sign-out");
    other_session.close().await;
    server.stop().await;
}

#[tokio::test]
async fn revoking_a_session_or_changing_the_password_closes_its_sockets() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let laptop = sign_in(&server, &client.email).await;
    let phone = sign_in(&server, &client.email).await;
    let mut on_laptop = Socket::with_bearer(&server.base, &laptop, None).await;
    let mut on_phone = Socket::with_bearer(&server.base, &phone, None).await;
    let mut here = Socket::with_bearer(&server.base, &client.token, None).await;

    // Revoking the laptop's session from this one.
    let sessions = json_with_status(get(&server, "/api/v1/me/sessions", &laptop).await, StatusCode::OK).await;
    let laptop_id = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let path = format!("/api/v1/me/sessions/{laptop_id}");
    assert_eq!(send_empty(&server, Method::DELETE, &path, &client.token).await.status(), StatusCode::NO_CONTENT);
    assert_ended(&mut on_laptop, started).await;

    // A password change ends every other session: the phone's socket closes, this one stays.
    let started = Instant::now();
    let change = json!({"current_password": PASSWORD, "new_password": "a brand new long password"});
    let response = send_json(&server, Method::PUT, "/api/v1/me/password", &client.token, &change).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_ended(&mut on_phone, started).await;
    say(&server, &therapist, &room, "Still talking").await;
    assert_eq!(here.next_message().await["message"]["body"], "Still talking");
    here.close().await;
    server.stop().await;
}
