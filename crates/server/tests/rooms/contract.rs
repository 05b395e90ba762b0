//! The external contract of couples, rooms, messages and realtime events, exactly
//! as outside tools check it; on SQLite and, when configured, on PostgreSQL.

use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn uuid_of(value: &Value, what: &str) -> uuid::Uuid {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{what} is a UUID string: {value}"))
}

fn time_of(value: &Value, what: &str) -> chrono::DateTime<chrono::Utc> {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{what} is an RFC 3339 time: {value}"))
}

/// The properties the OpenAPI document gives a schema.
async fn documented(server: &crate::common::TestServer, schema: &str) -> BTreeSet<String> {
    let doc = json_with_status(
        crate::common::api_client().get(server.url("/api/v1/openapi.json")).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    keys(&doc["components"]["schemas"][schema]["properties"])
}

/// Checks a room object: the contract's members with their types.
fn check_room_shape(room: &Value) {
    let k = keys(room);
    for key in ["id", "kind", "members", "unread"] {
        assert!(k.contains(key), "a room has `{key}`: {room}");
    }
    uuid_of(&room["id"], "room id");
    assert!(
        ["individual", "couple", "private_channel"].contains(&room["kind"].as_str().unwrap_or_default()),
        "kind: {room}"
    );
    assert!(room["unread"].is_u64(), "unread is a non-negative integer: {room}");
    let members = room["members"].as_array().unwrap_or_else(|| panic!("members is an array: {room}"));
    assert!(!members.is_empty(), "{room}");
    for m in members {
        assert_eq!(keys(m), set(["id", "display_name", "role"]), "a member is exactly id, display_name, role: {m}");
        uuid_of(&m["id"], "member id");
        assert!(m["display_name"].as_str().is_some_and(|n| !n.is_empty()), "{m}");
        assert!(["client", "therapist", "admin"].contains(&m["role"].as_str().unwrap_or_default()), "{m}");
    }
}

/// Checks a message object against the contract and the documented schema.
fn check_message_shape(m: &Value, documented: &BTreeSet<String>) {
    let k = keys(m);
    for key in ["id", "room_id", "sender_id", "body", "created_at"] {
        assert!(k.contains(key), "a message has `{key}`: {m}");
    }
    assert_eq!(&k, documented, "a message has exactly the documented members");
    uuid_of(&m["id"], "message id");
    uuid_of(&m["room_id"], "room_id");
    uuid_of(&m["sender_id"], "sender_id");
    assert!(m["body"].is_string(), "{m}");
    time_of(&m["created_at"], "created_at");
}

async fn couple_rooms_messages_and_events(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let admin = admin(&server).await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let t = therapist(&server, &admin, "Dr Contract", json!({})).await;

    // Invitation: 201 {id, token, expires_at}, valid for 72 hours.
    let before = chrono::Utc::now();
    let response = invite(&server, &a, &b.email).await;
    assert!(
        response.headers()["content-type"].to_str().unwrap().starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    let inv = json_with_status(response, StatusCode::CREATED).await;
    assert_eq!(keys(&inv), set(["id", "token", "expires_at"]), "{inv}");
    uuid_of(&inv["id"], "invitation id");
    let token = s(&inv, "token");
    assert!(token.len() >= 32, "an unguessable token: {token}");
    let after = chrono::Utc::now();
    let expires_at = time_of(&inv["expires_at"], "expires_at");
    let slack = chrono::Duration::milliseconds(1);
    assert!(
        expires_at >= before + chrono::Duration::hours(72) - slack
            && expires_at <= after + chrono::Duration::hours(72) + slack,
        "72 hours from now, got {expires_at} (asked between {before} and {after})"
    );

    // Accept: 201 {couple_id}; the inviter confirms the same policy.
    let accepted = json_with_status(accept(&server, &b, &token, "no_secrets").await, StatusCode::CREATED).await;
    assert_eq!(keys(&accepted), set(["couple_id"]), "{accepted}");
    let couple_id = uuid_of(&accepted["couple_id"], "couple_id").to_string();
    let couple = json_with_status(consent(&server, &a, "no_secrets").await, StatusCode::OK).await;
    assert_eq!(couple["couple_id"], couple_id.as_str());
    assert_eq!(couple["policy"], "no_secrets", "{couple}");

    // Care for the couple: Riley proposes the therapist and Sam agrees; then a couple room and,
    // as the policy is agreed, two private channels.
    json_with_status(submit_intake(&server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    let chosen = json_with_status(choose(&server, &a, &t.id).await, StatusCode::CREATED).await;
    assert_eq!(keys(&chosen), set(["care_team_id", "therapist_id", "partner_agreement"]), "{chosen}");
    assert_eq!(chosen["partner_agreement"], "pending", "{chosen}");
    let agreed = json_with_status(answer_care(&server, &b, "accept").await, StatusCode::OK).await;
    assert_eq!(agreed["care_proposal"]["state"], "accepted", "{agreed}");
    let raw = json_with_status(get(&server, "/api/v1/rooms", &a.token).await, StatusCode::OK).await;
    assert_eq!(keys(&raw), set(["rooms"]), "{raw}");
    let a_rooms = raw["rooms"].as_array().expect("rooms").clone();
    a_rooms.iter().for_each(check_room_shape);
    let kinds: BTreeSet<&str> = a_rooms.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, BTreeSet::from(["couple", "private_channel"]), "{a_rooms:?}");
    assert_eq!(a_rooms.len(), 2, "{a_rooms:?}");
    let couple_room = a_rooms.iter().find(|r| r["kind"] == "couple").unwrap().clone();
    let room_id = s(&couple_room, "id");
    assert_eq!(member_ids(&couple_room), BTreeSet::from([a.id.clone(), b.id.clone(), t.id.clone()]));
    for m in couple_room["members"].as_array().unwrap() {
        let (name, role) = if m["id"] == a.id.as_str() {
            ("Riley", "client")
        } else if m["id"] == b.id.as_str() {
            ("Sam", "client")
        } else {
            ("Dr Contract", "therapist")
        };
        assert_eq!((m["display_name"].as_str().unwrap(), m["role"].as_str().unwrap()), (name, role), "{m}");
    }
    assert_eq!(couple_room["unread"], 0);
    for who in [&b, &t] {
        let theirs = rooms(&server, who).await;
        theirs.iter().for_each(check_room_shape);
        assert!(theirs.iter().any(|r| r["id"] == room_id.as_str()), "{} sees the couple room", who.email);
    }

    // Realtime: a ticket for Sam, a bearer header for the therapist.
    let mut sam = Socket::with_ticket(&server.base, &b.token, None).await;
    let mut therapist_socket = Socket::with_bearer(&server.base, &t.token, None).await;

    // Posting: 201 with the message, exactly as documented.
    let message_schema = documented(&server, "MessageDto").await;
    let response = post_message(&server, &a, &room_id, "We talked calmly last night.").await;
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let posted = json_with_status(response, StatusCode::CREATED).await;
    check_message_shape(&posted, &message_schema);
    assert_eq!(posted["room_id"], room_id.as_str());
    assert_eq!(posted["sender_id"], a.id.as_str());
    assert_eq!(posted["body"], "We talked calmly last night.");
    let created = time_of(&posted["created_at"], "created_at");
    assert!((created - chrono::Utc::now()).num_seconds().abs() < 60, "created now: {created}");

    // …and it reaches the other members as a `message` event carrying the same message.
    for socket in [&mut sam, &mut therapist_socket] {
        let event = socket.next().await;
        assert_eq!(keys(&event), set(["id", "type", "room_id", "message"]), "{event}");
        assert_message_event(&event, &posted);
    }

    // History: oldest first; without `after`, the latest `limit` (default 50).
    let mut sent = vec![posted.clone()];
    for i in 1..=55 {
        sent.push(say(&server, if i % 2 == 0 { &a } else { &b }, &room_id, &format!("m{i:02}")).await);
    }
    let all_bodies = bodies(&sent);
    for who in [&a, &b, &t] {
        let page = history(&server, who, &room_id, "").await;
        assert_eq!(page.len(), 50, "the default page is 50");
        assert_eq!(bodies(&page), all_bodies[6..].to_vec(), "the latest 50, oldest first");
        page.iter().for_each(|m| check_message_shape(m, &message_schema));
        let times: Vec<_> = page.iter().map(|m| time_of(&m["created_at"], "created_at")).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    }
    assert_eq!(history(&server, &b, &room_id, "").await[0], sent[6], "as posted");
    let latest5 = history(&server, &a, &room_id, "?limit=5").await;
    assert_eq!(bodies(&latest5), ["m51", "m52", "m53", "m54", "m55"]);
    let after10 = history(&server, &a, &room_id, &format!("?after={}&limit=3", s(&sent[10], "id"))).await;
    assert_eq!(bodies(&after10), ["m11", "m12", "m13"], "`after` pages forward, oldest first");
    let after50 = history(&server, &t, &room_id, &format!("?after={}", s(&sent[50], "id"))).await;
    assert_eq!(bodies(&after50), ["m51", "m52", "m53", "m54", "m55"]);
    assert!(history(&server, &a, &room_id, &format!("?after={}", s(&sent[55], "id"))).await.is_empty());
    let first_page = history(&server, &a, &room_id, &format!("?after={}&limit=200", s(&sent[0], "id"))).await;
    assert_eq!(first_page.len(), 55);

    // Events arrive in order too.
    for expected in &sent[1..] {
        assert_message_event(&sam.next().await, expected);
    }

    // Unlinking: 204, no body.
    no_content(send_empty(&server, Method::DELETE, "/api/v1/couple", &b.token).await).await;
    sam.close().await;
    therapist_socket.close().await;
    server.stop().await;
}

async fn individual_room_and_read_receipts(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let Individual { client, therapist, room, .. } = individual(&server).await;
    let listed = rooms(&server, &client).await;
    assert_eq!(listed.len(), 1);
    check_room_shape(&listed[0]);
    assert_eq!(listed[0]["kind"], "individual");
    assert_eq!(member_ids(&listed[0]), BTreeSet::from([client.id.clone(), therapist.id.clone()]));

    let mut client_socket = Socket::with_bearer(&server.base, &client.token, None).await;
    let m = say(&server, &therapist, &room, "How are you both?").await;
    assert_message_event(&client_socket.next().await, &m);
    assert_eq!(unread(&server, &client, &room).await, 1);
    no_content(mark_read(&server, &client, &room, &s(&m, "id")).await).await;
    assert_eq!(unread(&server, &client, &room).await, 0);
    let read = client_socket.next().await;
    assert_eq!(read["type"], "read", "{read}");
    assert_eq!(read["account_id"], client.id.as_str());
    assert_eq!(read["message_id"], m["id"]);
    client_socket.close().await;
    server.stop().await;
}

on_both_backends! {
    couple_rooms_messages_and_events => contract_flow_on_sqlite, contract_flow_on_postgres;
    individual_room_and_read_receipts => individual_room_on_sqlite, individual_room_on_postgres;
}
