//! Realtime events over the WebSocket: who receives what, read receipts,
//! typing, membership changes, posting over the socket, resuming without gaps
//! or repeats, and who may open a connection at all.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn messages_reach_every_member_and_nobody_else() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, therapist: t, couple_room, admin, .. } = couple_in_care(&server, true).await;
    let a_private = only_room(&server, &a, "private_channel").await;
    // Someone in care elsewhere, with a room of their own.
    let other_t = crate::support::therapist(&server, &admin, "Dr Elsewhere", json!({})).await;
    let (outsider, outsider_room) = another_client(&server, &other_t, "Outsider").await;

    let mut riley = Socket::with_ticket(&server.base, &a.token, None).await;
    let mut sam = Socket::with_bearer(&server.base, &b.token, None).await;
    let mut therapist = Socket::with_ticket(&server.base, &t.token, None).await;
    let mut other = Socket::with_bearer(&server.base, &outsider.token, None).await;

    let together = say(&server, &b, &couple_room, "For the three of us").await;
    assert_message_event(&riley.next().await, &together);
    assert_message_event(&therapist.next().await, &together);
    assert_message_event(&sam.next().await, &together);

    // A private message reaches the therapist (and the writer's other tabs), not the partner.
    let private = say(&server, &a, &a_private, "Only for the therapist").await;
    assert_message_event(&therapist.next().await, &private);
    assert_message_event(&riley.next().await, &private);

    // Events reach each connection in order, so a later marker arriving first proves
    // the earlier event never came.
    let marker = say(&server, &t, &couple_room, "Marker for the couple").await;
    assert_message_event(&sam.next().await, &marker);
    let own = say(&server, &outsider, &outsider_room, "Marker for the outsider").await;
    let first = other.next().await;
    assert_message_event(&first, &own);
    assert!(!first.to_string().contains("Only for the therapist") && !first.to_string().contains("three of us"));

    for socket in [riley, sam, therapist, other] {
        socket.close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn read_receipts_and_typing_reach_the_others() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, therapist: t, couple_room, .. } = couple_in_care(&server, true).await;
    let mut riley = Socket::with_bearer(&server.base, &a.token, None).await;
    let mut sam = Socket::with_bearer(&server.base, &b.token, None).await;
    let mut therapist = Socket::with_bearer(&server.base, &t.token, None).await;

    let m = say(&server, &a, &couple_room, "Did you see my note?").await;
    assert_message_event(&sam.next().await, &m);
    assert_message_event(&therapist.next().await, &m);
    no_content(mark_read(&server, &b, &couple_room, &s(&m, "id")).await).await;
    for socket in [&mut riley, &mut therapist] {
        let read = socket.next_of("read").await;
        assert_eq!(keys(&read), set(["id", "type", "room_id", "account_id", "message_id"]), "{read}");
        assert_eq!(read["room_id"], couple_room.as_str());
        assert_eq!(read["account_id"], b.id.as_str());
        assert_eq!(read["message_id"], m["id"]);
    }

    // Typing: the others see who is typing where.
    riley.send(json!({"type": "typing", "room_id": couple_room})).await;
    for socket in [&mut sam, &mut therapist] {
        let typing = socket.next_of("typing").await;
        assert_eq!(typing["room_id"], couple_room.as_str(), "{typing}");
        assert_eq!(typing["account_id"], a.id.as_str());
        assert_eq!(typing["display_name"], "Riley");
    }
    // Typing in a room you are not in reaches nobody: Sam's next event is the marker.
    let sams_private = only_room(&server, &b, "private_channel").await;
    riley.send(json!({"type": "typing", "room_id": sams_private})).await;
    riley.sync().await;
    let marker = say(&server, &b, &sams_private, "Marker").await;
    assert_message_event(&therapist.next().await, &marker);
    assert_message_event(&sam.next().await, &marker);
    server.stop().await;
}

#[tokio::test]
async fn a_sender_need_not_wait_for_each_acknowledgement() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, couple_room, .. } = couple_in_care(&server, true).await;
    let mut riley = Socket::with_bearer(&server.base, &a.token, None).await;
    let mut sam = Socket::with_ticket(&server.base, &b.token, None).await;

    // Twenty frames back to back, one of them refused: every answer comes, in the order
    // sent, and the messages are stored and delivered in that order.
    let body = |n: i32| if n == 10 { "   ".to_owned() } else { format!("quick {n}") };
    for n in 0..20 {
        riley.send(json!({"type": "message", "room_id": couple_room, "body": body(n), "ref": n})).await;
    }
    let mut answered = Vec::new();
    while answered.len() < 20 {
        let frame = riley.next().await;
        match frame["type"].as_str() {
            Some("ack") => {
                assert_eq!(frame["message"]["body"], body(frame["ref"].as_i64().unwrap() as i32), "{frame}");
                answered.push((frame["ref"].as_i64().unwrap(), "ack"));
            }
            Some("error") => answered.push((frame["ref"].as_i64().unwrap(), "error")),
            _ => {}
        }
    }
    let expected: Vec<(i64, &str)> = (0..20).map(|n| (n, if n == 10 { "error" } else { "ack" })).collect();
    assert_eq!(answered, expected);
    let sent: Vec<String> = (0..20).filter(|n| *n != 10).map(body).collect();
    let mut delivered = Vec::new();
    while delivered.len() < sent.len() {
        delivered.push(sam.next_message().await["message"]["body"].as_str().unwrap().to_owned());
    }
    assert_eq!(delivered, sent);
    assert_eq!(bodies(&everything(&server, &b, &couple_room).await), sent);
    server.stop().await;
}

#[tokio::test]
async fn messages_can_be_posted_over_the_socket() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, couple_room, .. } = couple_in_care(&server, true).await;
    let sams_private = only_room(&server, &b, "private_channel").await;
    let mut riley = Socket::with_bearer(&server.base, &a.token, None).await;
    let mut sam = Socket::with_ticket(&server.base, &b.token, None).await;

    riley.send(json!({"type": "message", "room_id": couple_room, "body": "Sent from the socket", "ref": 1})).await;
    let ack = riley.next_of("ack").await;
    assert_eq!(keys(&ack), set(["type", "ref", "message"]), "{ack}");
    assert_eq!(ack["ref"], 1);
    let message = &ack["message"];
    assert_eq!(message["body"], "Sent from the socket");
    assert_eq!(message["room_id"], couple_room.as_str());
    assert_eq!(message["sender_id"], a.id.as_str());
    // The same shape as the HTTP answer, and the same message everybody else gets.
    let via_http = say(&server, &a, &couple_room, "Sent over HTTP").await;
    assert_eq!(keys(message), keys(&via_http));
    assert_message_event(&sam.next().await, message);
    assert_message_event(&sam.next().await, &via_http);
    assert_eq!(bodies(&everything(&server, &b, &couple_room).await), ["Sent from the socket", "Sent over HTTP"]);

    // Refusals come back as errors with the same ref; nothing is stored.
    riley.send(json!({"type": "message", "room_id": couple_room, "body": "   ", "ref": "blank"})).await;
    let error = riley.next_of("error").await;
    assert_eq!((error["ref"].clone(), error["status"].clone()), (json!("blank"), json!(422)), "{error}");
    riley.send(json!({"type": "message", "room_id": sams_private, "body": "Peeking", "ref": 3})).await;
    let error = riley.next_of("error").await;
    assert_eq!((error["ref"].clone(), error["status"].clone()), (json!(3), json!(404)), "{error}");
    riley.send(json!({"type": "message", "room_id": couple_room, "body": "x".repeat(10_001), "ref": 4})).await;
    let error = riley.next_of("error").await;
    assert_eq!((error["ref"].clone(), error["status"].clone()), (json!(4), json!(422)), "{error}");
    assert_eq!(everything(&server, &b, &couple_room).await.len(), 2);
    assert!(everything(&server, &b, &sams_private).await.is_empty());
    // And the connection is still fine.
    let later = say(&server, &b, &couple_room, "Still connected?").await;
    assert_message_event(&riley.next_of("message").await, &later);
    server.stop().await;
}

#[tokio::test]
async fn unlinking_is_announced_and_the_leaver_hears_nothing_more() {
    let server = TestServer::spawn().await;
    let CoupleInCare { admin, a, b, therapist: t, couple_room, .. } = couple_in_care(&server, true).await;
    // Sam also has individual therapy of their own, so Sam's connection keeps a room.
    let own_t = crate::support::therapist(&server, &admin, "Dr Sam's Own", json!({})).await;
    json_with_status(submit_intake(&server, &b, &intake()).await, StatusCode::CREATED).await;
    json_with_status(choose(&server, &b, &own_t.id).await, StatusCode::CREATED).await;
    let sams_own = only_room(&server, &b, "individual").await;
    assert_eq!(rooms_of_kind(&server, &b, "couple").await.len(), 1, "Sam is still in the couple room");
    let sams_private = only_room(&server, &b, "private_channel").await;

    let mut riley = Socket::with_bearer(&server.base, &a.token, None).await;
    let mut sam = Socket::with_bearer(&server.base, &b.token, None).await;
    let mut therapist = Socket::with_bearer(&server.base, &t.token, None).await;

    no_content(send_empty(&server, Method::DELETE, "/api/v1/couple", &b.token).await).await;
    let left = |v: &Value, room: &str| {
        v["type"] == "membership" && v["room_id"] == room && v["account_id"] == b.id.as_str() && v["change"] == "left"
    };
    let event = riley.next_of("membership").await;
    assert!(left(&event, &couple_room), "{event}");
    assert!(event["id"].as_i64().is_some());
    let mut seen = vec![therapist.next_of("membership").await, therapist.next_of("membership").await];
    seen.sort_by_key(|e| e["room_id"].as_str().unwrap() == couple_room);
    assert!(left(&seen[0], &sams_private) && left(&seen[1], &couple_room), "{seen:?}");
    // Sam hears that they left, too.
    let mut own = vec![sam.next_of("membership").await, sam.next_of("membership").await];
    own.sort_by_key(|e| e["room_id"].as_str().unwrap() == couple_room);
    assert!(left(&own[0], &sams_private) && left(&own[1], &couple_room), "{own:?}");

    // Then Riley writes in the couple room: Sam's next event is the marker in Sam's own room.
    let after = say(&server, &a, &couple_room, "After you left").await;
    assert_message_event(&therapist.next_of("message").await, &after);
    let marker = say(&server, &own_t, &sams_own, "Marker in Sam's own room").await;
    let next = sam.next().await;
    assert_message_event(&next, &marker);
    // A new connection resuming from the start replays nothing from the couple's rooms.
    let mut fresh = Socket::with_bearer(&server.base, &b.token, Some(0)).await;
    let replayed = fresh.take_pending();
    assert!(!replayed.is_empty(), "Sam's own room has history");
    for e in &replayed {
        assert_eq!(e["room_id"], sams_own.as_str(), "only Sam's own room: {e}");
    }
    server.stop().await;
}

async fn resuming_misses_nothing_and_repeats_nothing(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let mut socket = Socket::with_bearer(&server.base, &therapist.token, None).await;
    let m1 = say(&server, &client, &room, "one").await;
    let m2 = say(&server, &client, &room, "two").await;
    let e1 = socket.next().await;
    let e2 = socket.next().await;
    assert_message_event(&e1, &m1);
    assert_message_event(&e2, &m2);
    assert!(e2["id"].as_i64() > e1["id"].as_i64(), "ids increase");
    let last_seen = e2["id"].as_i64().unwrap();
    socket.close().await;

    // Missed while away: two messages, a correction, a read receipt, a deletion.
    let m3 = say(&server, &client, &room, "three").await;
    let m4 = say(&server, &client, &room, "four").await;
    let corrected = json_with_status(
        send_json(
            &server,
            Method::PATCH,
            &format!("/api/v1/messages/{}", s(&m1, "id")),
            &client.token,
            &json!({"body": "one, corrected"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    no_content(mark_read(&server, &client, &room, &s(&m4, "id")).await).await;
    let deleted = json_with_status(
        send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{}", s(&m2, "id")), &client.token).await,
        StatusCode::OK,
    )
    .await;

    let mut again = Socket::with_ticket(&server.base, &therapist.token, Some(last_seen)).await;
    let missed = again.take_pending();
    let kinds: Vec<&str> = missed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message", "message", "message_updated", "read", "message_updated"], "{missed:#?}");
    assert_message_event(&missed[0], &m3);
    assert_message_event(&missed[1], &m4);
    assert_eq!(missed[2]["message"], corrected);
    assert_eq!(missed[3]["account_id"], client.id.as_str());
    assert_eq!(missed[4]["message"], deleted);
    let ids: Vec<i64> = missed.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids[0] > last_seen && ids.windows(2).all(|w| w[0] < w[1]), "in order, after the last seen: {ids:?}");
    // Then live events continue with nothing repeated.
    let m5 = say(&server, &client, &room, "five").await;
    let next = again.next().await;
    assert_message_event(&next, &m5);
    assert!(next["id"].as_i64().unwrap() > *ids.last().unwrap());
    let resume_point = next["id"].as_i64().unwrap();
    again.close().await;

    // Resuming from the newest id replays nothing.
    let mut caught_up = Socket::with_bearer(&server.base, &therapist.token, Some(resume_point)).await;
    assert!(caught_up.take_pending().is_empty());
    // Resuming from an earlier point replays exactly what came after it, once.
    let mut from_start = Socket::with_bearer(&server.base, &therapist.token, Some(last_seen)).await;
    let replay = from_start.take_pending();
    assert_eq!(replay.len(), 6, "{replay:#?}");
    assert_eq!(&replay[..5], &missed[..]);
    assert_message_event(&replay[5], &m5);
    server.stop().await;
}

on_both_backends! {
    resuming_misses_nothing_and_repeats_nothing => resuming_on_sqlite, resuming_on_postgres;
}

#[tokio::test]
async fn who_may_connect() {
    let server = spawn_manual().await;
    let Individual { client, room, .. } = individual(&server).await;
    let base = &server.base;

    // Nothing, or nonsense: 401.
    assert_eq!(open_socket(&events_url(base, ""), &[]).await.err(), Some(StatusCode::UNAUTHORIZED));
    for bad in ["?ticket=nonsense", "?ticket=", "?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        assert_eq!(open_socket(&events_url(base, bad), &[]).await.err(), Some(StatusCode::UNAUTHORIZED), "{bad}");
    }
    let bearer = [("authorization", "Bearer not-a-token".to_owned())];
    assert_eq!(open_socket(&events_url(base, ""), &bearer).await.err(), Some(StatusCode::UNAUTHORIZED));
    // A ticket only opens the socket; it is not a token for the API.
    let t = ticket(base, &client.token).await;
    problem(get(&server, "/api/v1/me", &t).await, StatusCode::UNAUTHORIZED).await;
    // Without the WebSocket upgrade: 400.
    problem(get(&server, "/api/v1/events", &client.token).await, StatusCode::BAD_REQUEST).await;

    // A ticket works within its minute and not after.
    advance(&server, Duration::from_secs(50));
    let mut early = open_socket(&events_url(base, &format!("?ticket={t}")), &[]).await.expect("a fresh ticket");
    early.sync().await;
    let stale = ticket(base, &client.token).await;
    advance(&server, Duration::from_secs(61));
    let refused = open_socket(&events_url(base, &format!("?ticket={stale}")), &[]).await.err();
    assert_eq!(refused, Some(StatusCode::UNAUTHORIZED));
    // Signing out ends tickets issued for that session too.
    let another = ticket(base, &client.token).await;
    no_content(send_empty(&server, Method::DELETE, "/api/v1/auth/token", &client.token).await).await;
    let refused = open_socket(&events_url(base, &format!("?ticket={another}")), &[]).await.err();
    assert_eq!(refused, Some(StatusCode::UNAUTHORIZED));

    // A browser's session cookie works from Rapport's own pages, never from another site.
    let cookie = browser_cookie(&server, &client).await;
    let own_origin = [("cookie", cookie.clone()), ("origin", server.base.clone())];
    let mut from_us = open_socket(&events_url(base, ""), &own_origin).await.expect("same-origin cookie");
    from_us.sync().await;
    for origin in ["https://evil.example", "http://127.0.0.1:1", "null"] {
        let foreign = [("cookie", cookie.clone()), ("origin", origin.to_owned())];
        assert_eq!(open_socket(&events_url(base, ""), &foreign).await.err(), Some(StatusCode::FORBIDDEN), "{origin}");
    }
    // The cookie-authenticated socket is a real one.
    let client_token = sign_in(&server, &client.email).await;
    let m = json_with_status(
        post_message(&server, &Person { token: client_token, ..client.clone() }, &room, "hi").await,
        StatusCode::CREATED,
    )
    .await;
    assert_message_event(&from_us.next().await, &m);
    server.stop().await;
}
