//! Messages: what is accepted, who may post, unread counts, corrections that
//! keep earlier versions, deletions that leave a tombstone, the audit trail,
//! stars, and message text encrypted at rest.

use crate::common::{api_client, TestServer};
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn message_text_must_be_present_and_fit() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    for (body, what) in [("", "empty"), ("   \n\t  \n", "whitespace"), (&*"a".repeat(10_001), "10,001 characters")] {
        let fields = field_error(post_message(&server, &client, &room, body).await, "body", what).await;
        assert_eq!(fields, ["body"], "{what}");
    }
    // Exactly 10,000 characters is fine, counted as characters rather than bytes.
    let longest = say(&server, &client, &room, &"a".repeat(10_000)).await;
    assert_eq!(longest["body"].as_str().unwrap().chars().count(), 10_000);
    let accented = say(&server, &therapist, &room, &"é".repeat(10_000)).await;
    assert_eq!(accented["body"].as_str().unwrap().chars().count(), 10_000);
    field_error(post_message(&server, &client, &room, &"é".repeat(10_001)).await, "body", "10,001 é").await;
    // What was written is kept as written (inner spacing, other scripts, markup as text).
    let exact = "  Line one\n\n  <b>line two</b> — 🙂  ";
    assert_eq!(say(&server, &client, &room, exact).await["body"], exact);
    assert_eq!(everything(&server, &therapist, &room).await.len(), 3, "only the valid messages were stored");
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_refused_and_store_nothing() {
    let server = TestServer::spawn().await;
    let Individual { client, room, .. } = individual(&server).await;
    let path = format!("/api/v1/rooms/{room}/messages");
    let wrong_type = authed(&server, Method::POST, &path, &client.token)
        .header("content-type", "text/plain")
        .body(r#"{"body":"hello"}"#)
        .send()
        .await
        .unwrap();
    problem(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let form = authed(&server, Method::POST, &path, &client.token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("body=hello")
        .send()
        .await
        .unwrap();
    problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    for malformed in [r#"{"body":"hello""#, "{body: 'hello'}", "", "[\"hello\"]"] {
        let response = authed(&server, Method::POST, &path, &client.token)
            .header("content-type", "application/json")
            .body(malformed)
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    for wrong_shape in [json!({}), json!({"body": 42}), json!({"body": null}), json!({"text": "hello"})] {
        let response = post(&server, &path, &client.token, &wrong_shape).await;
        field_error(response, "body", &wrong_shape.to_string()).await;
    }
    // Without a token: 401.
    let anonymous = api_client().post(server.url(&path)).json(&json!({"body": "hello"})).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    // A bad cursor or limit: 400.
    for query in ["?after=not-an-id", "?limit=0", "?limit=201", "?limit=ten"] {
        problem(get_history(&server, &client, &room, query).await, StatusCode::BAD_REQUEST).await;
    }
    assert!(everything(&server, &client, &room).await.is_empty(), "nothing was stored");
    server.stop().await;
}

#[tokio::test]
async fn only_members_can_post_or_read_and_refusals_store_nothing() {
    let server = TestServer::spawn().await;
    let Individual { admin, client, therapist, room } = individual(&server).await;
    let other_client = sign_up(&server, "Someone Else").await;
    let other_therapist = crate::support::therapist(&server, &admin, "Dr Elsewhere", json!({})).await;
    say(&server, &client, &room, "Only for my therapist").await;
    let before = everything(&server, &therapist, &room).await;

    for outsider in [&other_client, &other_therapist, &admin] {
        let p = problem(post_message(&server, outsider, &room, "Let me in").await, StatusCode::NOT_FOUND).await;
        assert!(!p.to_string().contains("Only for my therapist"), "{p}");
        problem(get_history(&server, outsider, &room, "").await, StatusCode::NOT_FOUND).await;
        problem(mark_read(&server, outsider, &room, &s(&before[0], "id")).await, StatusCode::NOT_FOUND).await;
    }
    // Rooms that don't exist look the same as rooms you are not in.
    for missing in [uuid::Uuid::now_v7().to_string(), "not-a-room".to_owned()] {
        problem(post_message(&server, &client, &missing, "Hello?").await, StatusCode::NOT_FOUND).await;
        problem(get_history(&server, &client, &missing, "").await, StatusCode::NOT_FOUND).await;
    }
    // An invalid body from an outsider is refused the same way as from a member (422),
    // so refusals don't depend on membership in a way that reveals more.
    field_error(post_message(&server, &admin, &room, "").await, "body", "admin, empty").await;

    assert_eq!(everything(&server, &therapist, &room).await, before, "nothing was stored");
    assert_eq!(everything(&server, &client, &room).await, before);
    assert_eq!(unread(&server, &therapist, &room).await, 1, "no unread message appeared");
    server.stop().await;
}

#[tokio::test]
async fn unread_counts_rise_for_the_others_and_reset_after_reading() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let m1 = say(&server, &client, &room, "One").await;
    let m2 = say(&server, &client, &room, "Two").await;
    let m3 = say(&server, &client, &room, "Three").await;
    assert_eq!(unread(&server, &therapist, &room).await, 3);
    assert_eq!(unread(&server, &client, &room).await, 0, "your own messages are never unread");

    no_content(mark_read(&server, &therapist, &room, &s(&m2, "id")).await).await;
    assert_eq!(unread(&server, &therapist, &room).await, 1);
    // The marker never moves back.
    no_content(mark_read(&server, &therapist, &room, &s(&m1, "id")).await).await;
    assert_eq!(unread(&server, &therapist, &room).await, 1);
    no_content(mark_read(&server, &therapist, &room, &s(&m3, "id")).await).await;
    assert_eq!(unread(&server, &therapist, &room).await, 0);

    let reply = say(&server, &therapist, &room, "Thank you for writing").await;
    assert_eq!(unread(&server, &client, &room).await, 1);
    assert_eq!(unread(&server, &therapist, &room).await, 0);
    no_content(mark_read(&server, &client, &room, &s(&reply, "id")).await).await;
    assert_eq!(unread(&server, &client, &room).await, 0);
    // A deleted message no longer counts as unread.
    let oops = say(&server, &therapist, &room, "Sent to the wrong room").await;
    assert_eq!(unread(&server, &client, &room).await, 1);
    json_with_status(
        send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{}", s(&oops, "id")), &therapist.token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unread(&server, &client, &room).await, 0);
    server.stop().await;
}

#[tokio::test]
async fn unread_counts_in_a_couple_room_are_per_person() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, therapist, couple_room, .. } = couple_in_care(&server, true).await;
    let m = say(&server, &a, &couple_room, "For both of you").await;
    assert_eq!(unread(&server, &a, &couple_room).await, 0);
    assert_eq!(unread(&server, &b, &couple_room).await, 1);
    assert_eq!(unread(&server, &therapist, &couple_room).await, 1);
    no_content(mark_read(&server, &b, &couple_room, &s(&m, "id")).await).await;
    assert_eq!(unread(&server, &b, &couple_room).await, 0);
    assert_eq!(unread(&server, &therapist, &couple_room).await, 1, "Sam reading does not read for the therapist");
    server.stop().await;
}

fn message_path(message: &Value) -> String {
    format!("/api/v1/messages/{}", s(message, "id"))
}

#[tokio::test]
async fn corrections_keep_the_earlier_version_and_deletions_leave_a_tombstone() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, admin } = individual(&server).await;
    let before = say(&server, &client, &room, "I felt unheard on Tuesday").await;
    let other = say(&server, &therapist, &room, "Tell me more about Tuesday").await;
    let after = say(&server, &client, &room, "It was at dinner").await;
    assert_eq!(before["version"], 1);
    assert_eq!(before["edited_at"], Value::Null);
    assert_eq!(before["deleted"], false);
    let path = message_path(&before);

    // Only the sender may correct; another member is refused, outsiders see nothing.
    let by_other = send_json(&server, Method::PATCH, &path, &therapist.token, &json!({"body": "Changed"})).await;
    problem(by_other, StatusCode::FORBIDDEN).await;
    let by_admin = send_json(&server, Method::PATCH, &path, &admin.token, &json!({"body": "Changed"})).await;
    problem(by_admin, StatusCode::NOT_FOUND).await;
    let empty = send_json(&server, Method::PATCH, &path, &client.token, &json!({"body": "  "})).await;
    field_error(empty, "body", "an empty correction").await;

    let corrected = json_with_status(
        send_json(&server, Method::PATCH, &path, &client.token, &json!({"body": "I felt unheard on Wednesday"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(corrected["id"], before["id"]);
    assert_eq!(corrected["body"], "I felt unheard on Wednesday");
    assert_eq!(corrected["version"], 2);
    assert_eq!(corrected["created_at"], before["created_at"], "a correction keeps the message's time");
    let edited_at: chrono::DateTime<chrono::Utc> = s(&corrected, "edited_at").parse().expect("edited_at is a time");
    assert!(edited_at >= s(&before, "created_at").parse::<chrono::DateTime<chrono::Utc>>().unwrap());

    // History shows the correction in place; the earlier version is kept for members.
    let page = everything(&server, &therapist, &room).await;
    assert_eq!(ids_of(&page), ids_of(&[before.clone(), other.clone(), after.clone()]), "same place in history");
    assert_eq!(page[0]["body"], "I felt unheard on Wednesday");
    assert_eq!(page[0]["version"], 2);
    assert_eq!(page[0]["edited_at"], corrected["edited_at"]);
    for member in [&client, &therapist] {
        let versions =
            json_with_status(get(&server, &format!("{path}/versions"), &member.token).await, StatusCode::OK).await;
        let list = versions["versions"].as_array().expect("versions");
        assert_eq!(list.len(), 1, "{versions}");
        assert_eq!(list[0]["version"], 1);
        assert_eq!(list[0]["body"], "I felt unheard on Tuesday");
        assert!(list[0]["replaced_at"].as_str().is_some(), "{versions}");
    }
    problem(get(&server, &format!("{path}/versions"), &admin.token).await, StatusCode::NOT_FOUND).await;

    // Deleting: only the sender; a tombstone stays in place with an empty body.
    problem(send_empty(&server, Method::DELETE, &path, &therapist.token).await, StatusCode::FORBIDDEN).await;
    problem(send_empty(&server, Method::DELETE, &path, &admin.token).await, StatusCode::NOT_FOUND).await;
    let deleted =
        json_with_status(send_empty(&server, Method::DELETE, &path, &client.token).await, StatusCode::OK).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["body"], "");
    let page = everything(&server, &therapist, &room).await;
    assert_eq!(ids_of(&page).len(), 3, "the tombstone keeps its place");
    assert_eq!(page[0]["id"], before["id"]);
    assert_eq!(page[0]["deleted"], true);
    assert_eq!(page[0]["body"], "");
    assert!(!page.iter().any(|m| m["body"].as_str().unwrap().contains("unheard")), "{page:?}");
    assert_eq!(page[1]["body"], "Tell me more about Tuesday");
    // Twice: gone. A deleted message can't be corrected either.
    problem(send_empty(&server, Method::DELETE, &path, &client.token).await, StatusCode::GONE).await;
    let late = send_json(&server, Method::PATCH, &path, &client.token, &json!({"body": "Back again"})).await;
    problem(late, StatusCode::GONE).await;

    // Both the correction and the deletion are in the sender's audit trail.
    let actions = audit_actions_for(&server, &client, &s(&before, "id")).await;
    assert!(actions.iter().any(|a| a == "message.edited"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "message.deleted"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "message.posted"), "{actions:?}");
    // A message nobody corrected has no earlier versions.
    let plain = json_with_status(
        get(&server, &format!("{}/versions", message_path(&after)), &therapist.token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(plain["versions"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn stars_are_personal_and_for_members_only() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, admin } = individual(&server).await;
    let m = say(&server, &therapist, &room, "Try the breathing exercise").await;
    let star = format!("{}/star", message_path(&m));
    no_content(send_empty(&server, Method::PUT, &star, &client.token).await).await;
    no_content(send_empty(&server, Method::PUT, &star, &client.token).await).await;
    no_content(send_empty(&server, Method::DELETE, &star, &client.token).await).await;
    no_content(send_empty(&server, Method::DELETE, &star, &client.token).await).await;
    no_content(send_empty(&server, Method::PUT, &star, &therapist.token).await).await;
    problem(send_empty(&server, Method::PUT, &star, &admin.token).await, StatusCode::NOT_FOUND).await;
    let missing = format!("/api/v1/messages/{}/star", uuid::Uuid::now_v7());
    problem(send_empty(&server, Method::PUT, &missing, &client.token).await, StatusCode::NOT_FOUND).await;
    problem(send_empty(&server, Method::PUT, "/api/v1/messages/nope/star", &client.token).await, StatusCode::NOT_FOUND)
        .await;
    server.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn message_text_is_encrypted_at_rest() {
    let server = TestServer::spawn().await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let original = "Zebra-marmalade confession number 7781";
    let corrected = "Quokka-lantern confession number 9902";
    let m = say(&server, &client, &room, original).await;
    let path = message_path(&m);
    json_with_status(
        send_json(&server, Method::PATCH, &path, &client.token, &json!({"body": corrected})).await,
        StatusCode::OK,
    )
    .await;
    say(&server, &therapist, &room, "Reply-pelican phrase 4417").await;
    assert_eq!(bodies(&everything(&server, &therapist, &room).await), [corrected, "Reply-pelican phrase 4417"]);

    // The tables holding message text.
    let db = sqlite_of(&server).await;
    let mut stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM messages").fetch_all(&db).await.unwrap();
    assert_eq!(stored.len(), 2);
    stored.extend(sqlx::query_scalar::<_, Vec<u8>>("SELECT body FROM message_versions").fetch_all(&db).await.unwrap());
    assert_eq!(stored.len(), 3, "one earlier version");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM room_events").fetch_all(&db).await.unwrap();
    db.close().await;
    for text in [original, corrected, "Reply-pelican phrase 4417"] {
        for bytes in &stored {
            assert!(!contains(bytes, text.as_bytes()), "{text:?} is stored in the clear");
            assert!(!contains(bytes, b"confession"), "part of a message is stored in the clear");
        }
        assert!(payloads.iter().all(|p| !p.contains(text)), "{text:?} is in the event log");
    }

    // And nowhere in the database files (the write-ahead log included). The same scan
    // finds an email address, which is stored as is: the scan itself works.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("rapport.db") {
            files.push(std::fs::read(&path).unwrap());
        }
    }
    assert!(files.iter().any(|f| contains(f, client.email.as_bytes())), "the scan sees plain data");
    for text in [original, corrected, "Reply-pelican", "Zebra-marmalade", "Quokka-lantern"] {
        assert!(files.iter().all(|f| !contains(f, text.as_bytes())), "{text:?} is in a database file");
    }
    server.stop().await;
}
