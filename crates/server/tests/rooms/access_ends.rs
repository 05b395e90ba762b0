//! Access follows care: a therapist who was not given the history never sees
//! an earlier message, not as a correction, a deletion, a replay, its versions
//! or a star; and a deleted message's earlier words are gone with it.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

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

#[tokio::test]
async fn a_therapist_left_behind_by_a_move_to_couples_work_reads_and_hears_nothing_more() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let before = therapist(&server, &admin, "Dr Before", json!({})).await;
    let couples = therapist(&server, &admin, "Dr Couples", json!({})).await;
    let riley = client(&server, "Riley", json!({})).await;
    json_with_status(choose(&server, &riley, &before.id).await, StatusCode::CREATED).await;
    let solo = only_room(&server, &riley, "individual").await;
    say(&server, &riley, &solo, "Something I told Dr Before").await;
    let mut old_socket = Socket::with_bearer(&server.base, &before.token, None).await;

    // Riley links with Sam and proposes couples work with another therapist; Sam agrees.
    let sam = sign_up(&server, "Sam").await;
    link(&server, &riley, &sam, "limited_secrets", true).await;
    json_with_status(submit_intake(&server, &riley, &couple_intake()).await, StatusCode::CREATED).await;
    let body = json!({"sees_history": false});
    let chosen = post(&server, &format!("/api/v1/matches/{}/choose", couples.id), &riley.token, &body).await;
    json_with_status(chosen, StatusCode::CREATED).await;
    json_with_status(answer_care(&server, &sam, "accept").await, StatusCode::OK).await;

    // The earlier therapist is out of every room of Riley's: no reading, no posting, nothing live.
    locked_out(&server, &before, &solo).await;
    problem(post_message(&server, &before, &solo, "Still here?").await, StatusCode::NOT_FOUND).await;
    assert!(rooms(&server, &before).await.is_empty(), "Dr Before has no room with Riley or Sam");
    let couple_room = only_room(&server, &riley, "couple").await;
    say(&server, &riley, &solo, "Only for my new therapist").await;
    say(&server, &riley, &couple_room, "For both of us").await;
    let frames = old_socket.sync().await;
    let leaked: Vec<&Value> =
        frames.iter().filter(|f| f["type"] == "message" || f["type"] == "message_updated").collect();
    assert!(leaked.is_empty(), "Dr Before heard messages after care ended: {leaked:?}");
    // Nor can they reach Riley's intake any more.
    problem(get(&server, &format!("/api/v1/clients/{}/intake", riley.id), &before.token).await, StatusCode::NOT_FOUND)
        .await;
    old_socket.close().await;
    server.stop().await;
}

#[tokio::test]
async fn a_partner_s_intake_reaches_the_couple_s_therapist_only_once_they_agree() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Couples", json!({})).await;
    let riley = sign_up(&server, "Riley").await;
    let sam = client(&server, "Sam", json!({"note": "Only for a therapist I agreed to"})).await;
    link(&server, &riley, &sam, "limited_secrets", true).await;
    json_with_status(submit_intake(&server, &riley, &couple_intake()).await, StatusCode::CREATED).await;
    json_with_status(choose(&server, &riley, &t.id).await, StatusCode::CREATED).await;
    let sams = format!("/api/v1/clients/{}/intake", sam.id);
    problem(get(&server, &sams, &t.token).await, StatusCode::NOT_FOUND).await;
    json_with_status(get(&server, &format!("/api/v1/clients/{}/intake", riley.id), &t.token).await, StatusCode::OK)
        .await;
    json_with_status(answer_care(&server, &sam, "accept").await, StatusCode::OK).await;
    let intake = json_with_status(get(&server, &sams, &t.token).await, StatusCode::OK).await;
    assert_eq!(intake["note"], "Only for a therapist I agreed to");
    // Both partners are in the therapist's client list now.
    let caseload = server.app.my_caseload(&who(&server, &t).await).await.expect("caseload");
    let people: BTreeSet<String> = caseload.into_iter().map(|(_, id, _)| id.to_string()).collect();
    assert_eq!(people, BTreeSet::from([riley.id.clone(), sam.id.clone()]));
    server.stop().await;
}
