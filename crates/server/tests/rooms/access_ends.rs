//! Access follows care: a therapist who was not given the history never sees
//! an earlier message, not as a correction, a deletion, a replay, its versions
//! or a star; and a deleted message's earlier words are gone with it.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn correct(server: &TestServer, who: &Person, message: &str, body: &str) -> Value {
    let response =
        send_json(server, Method::PATCH, &format!("/api/v1/messages/{message}"), &who.token, &json!({ "body": body }))
            .await;
    json_with_status(response, StatusCode::OK).await
}

/// A client who switched from `first` to `second` without sharing the history,
/// with one message from before the switch.
struct Switched {
    client: Person,
    first: Person,
    second: Person,
    room: String,
    earlier: String,
}

async fn switched_without_history(server: &TestServer) -> Switched {
    let admin = admin(server).await;
    let first = therapist(server, &admin, "Dr First", json!({})).await;
    let second = therapist(server, &admin, "Dr Second", json!({})).await;
    let client = client(server, "Jordan", json!({})).await;
    json_with_status(choose(server, &client, &first.id).await, StatusCode::CREATED).await;
    let room = only_room(server, &client, "individual").await;
    let earlier = s(&say(server, &client, &room, "What I told the first therapist").await, "id");
    let body = json!({"sees_history": false});
    json_with_status(
        post(server, &format!("/api/v1/matches/{}/choose", second.id), &client.token, &body).await,
        StatusCode::CREATED,
    )
    .await;
    Switched { client, first, second, room, earlier }
}

#[tokio::test]
async fn corrections_of_earlier_messages_never_reach_a_therapist_without_the_history() {
    let server = TestServer::spawn().await;
    let w = switched_without_history(&server).await;
    let mut live = Socket::with_bearer(&server.base, &w.second.token, None).await;

    // The client corrects, then deletes, the earlier message; then writes a new one and corrects it.
    correct(&server, &w.client, &w.earlier, "What I told the first therapist, corrected").await;
    let response =
        send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{}", w.earlier), &w.client.token).await;
    json_with_status(response, StatusCode::OK).await;
    let new = s(&say(&server, &w.client, &w.room, "Hello, new therapist").await, "id");
    correct(&server, &w.client, &new, "Hello again, new therapist").await;

    let frames = live.sync().await;
    let about = |id: &str| frames.iter().filter(|f| f["message"]["id"] == id).count();
    assert_eq!(about(&w.earlier), 0, "live: nothing about the earlier message: {frames:?}");
    assert_eq!(about(&new), 2, "the new message and its correction arrive: {frames:?}");
    assert!(!frames.iter().any(|f| f.to_string().contains("first therapist")), "{frames:?}");

    // Replaying from the very beginning: the same.
    let mut replay = Socket::with_bearer(&server.base, &w.second.token, Some(0)).await;
    let frames = replay.sync().await;
    assert!(!frames.iter().any(|f| f["message"]["id"] == w.earlier.as_str()), "replay: {frames:?}");
    assert!(frames.iter().any(|f| f["message"]["id"] == new.as_str()), "replay: {frames:?}");

    // The client, who has the whole history, heard about all of it.
    let mut client = Socket::with_bearer(&server.base, &w.client.token, Some(0)).await;
    let frames = client.sync().await;
    assert!(frames.iter().filter(|f| f["message"]["id"] == w.earlier.as_str()).count() >= 3, "{frames:?}");
    live.close().await;
    replay.close().await;
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn an_earlier_message_cannot_be_starred_or_read_by_someone_without_the_history() {
    let server = TestServer::spawn().await;
    let w = switched_without_history(&server).await;
    let star = format!("/api/v1/messages/{}/star", w.earlier);
    for method in [Method::PUT, Method::DELETE] {
        let response = send_empty(&server, method.clone(), &star, &w.second.token).await;
        problem(response, StatusCode::NOT_FOUND).await;
    }
    problem(
        get(&server, &format!("/api/v1/messages/{}/versions", w.earlier), &w.second.token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The client can star their own history; the old therapist can do nothing at all now.
    assert_eq!(send_empty(&server, Method::PUT, &star, &w.client.token).await.status(), StatusCode::NO_CONTENT);
    problem(send_empty(&server, Method::PUT, &star, &w.first.token).await, StatusCode::NOT_FOUND).await;
    locked_out(&server, &w.first, &w.room).await;
    server.stop().await;
}

#[tokio::test]
async fn a_deleted_messages_versions_are_gone() {
    let server = TestServer::spawn().await;
    let care = individual(&server).await;
    let id = s(&say(&server, &care.client, &care.room, "Something I regret writing").await, "id");
    correct(&server, &care.client, &id, "Something I wrote").await;
    let versions = format!("/api/v1/messages/{id}/versions");
    let before = json_with_status(get(&server, &versions, &care.therapist.token).await, StatusCode::OK).await;
    assert!(before.to_string().contains("Something I regret writing"), "{before}");

    let response = send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{id}"), &care.client.token).await;
    json_with_status(response, StatusCode::OK).await;
    for who in [&care.therapist, &care.client] {
        let gone = problem(get(&server, &versions, &who.token).await, StatusCode::GONE).await;
        assert!(!gone.to_string().contains("regret"), "{gone}");
    }
    server.stop().await;
}
