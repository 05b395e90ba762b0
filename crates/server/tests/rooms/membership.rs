//! Which rooms exist and who is in them: an individual room after choosing a
//! therapist, the couple room, private channels only once both partners agreed
//! a policy, and therapist switches (with or without the earlier history).

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn people<const N: usize>(ids: [&str; N]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn choosing_a_therapist_opens_an_individual_room_for_the_two_of_them() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Lin", json!({})).await;
    let client = client(&server, "Jordan", json!({})).await;
    assert!(rooms(&server, &client).await.is_empty(), "no rooms before choosing");
    assert!(rooms(&server, &t).await.is_empty());

    json_with_status(choose(&server, &client, &t.id).await, StatusCode::CREATED).await;
    let mine = rooms(&server, &client).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["kind"], "individual");
    assert_eq!(member_ids(&mine[0]), people([&client.id, &t.id]));
    let therapist_member = mine[0]["members"].as_array().unwrap().iter().find(|m| m["id"] == t.id.as_str()).unwrap();
    assert_eq!(therapist_member["role"], "therapist");
    assert_eq!(therapist_member["display_name"], "Dr Lin", "therapists appear under their professional name");
    let theirs = rooms(&server, &t).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["id"], mine[0]["id"]);

    // Nobody else is in it or can read it.
    let other = sign_up(&server, "Other Client").await;
    locked_out(&server, &other, &s(&mine[0], "id")).await;
    locked_out(&server, &admin, &s(&mine[0], "id")).await;
    server.stop().await;
}

#[tokio::test]
async fn private_channels_open_only_once_both_partners_agree_a_policy() {
    let server = TestServer::spawn().await;
    // Sam accepted with limited_secrets; Riley has not consented yet.
    let CoupleInCare { a, b, therapist: t, couple_room, .. } = couple_in_care(&server, false).await;
    for who in [&b, &t] {
        let list = rooms(&server, who).await;
        assert_eq!(list.len(), 1, "only the couple room for {}: {list:?}", who.email);
        assert_eq!(list[0]["id"], couple_room.as_str());
        assert_eq!(list[0]["kind"], "couple");
        assert_eq!(member_ids(&list[0]), people([&a.id, &b.id, &t.id]));
    }
    // Riley, who proposed the therapist, talked with them one-to-one until Sam agreed: that
    // room became Riley's private channel, closed (the therapist out of it) until a policy is agreed.
    let with_therapist: Vec<Value> =
        rooms(&server, &a).await.into_iter().filter(|r| member_ids(r).contains(&t.id)).collect();
    assert_eq!(with_therapist.len(), 1, "only the couple room with the therapist: {with_therapist:?}");
    assert_eq!(with_therapist[0]["id"], couple_room.as_str());
    let closed = rooms_of_kind(&server, &a, "private_channel").await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(member_ids(&closed[0]), people([&a.id]));

    // Riley consenting to something else is not an agreement.
    json_with_status(consent(&server, &a, "no_secrets").await, StatusCode::OK).await;
    assert!(rooms_of_kind(&server, &b, "private_channel").await.is_empty());
    assert!(rooms_of_kind(&server, &t, "private_channel").await.is_empty());
    assert_eq!(member_ids(&rooms_of_kind(&server, &a, "private_channel").await[0]), people([&a.id]));

    // Both on the same policy: each partner gets a channel with the therapist alone.
    json_with_status(consent(&server, &a, "limited_secrets").await, StatusCode::OK).await;
    let a_private = rooms_of_kind(&server, &a, "private_channel").await;
    let b_private = rooms_of_kind(&server, &b, "private_channel").await;
    assert_eq!(a_private.len(), 1, "{a_private:?}");
    assert_eq!(b_private.len(), 1, "{b_private:?}");
    assert_eq!(member_ids(&a_private[0]), people([&a.id, &t.id]));
    assert_eq!(member_ids(&b_private[0]), people([&b.id, &t.id]));
    assert_ne!(a_private[0]["id"], b_private[0]["id"]);
    let t_kinds: Vec<String> = rooms(&server, &t).await.iter().map(|r| s(r, "kind")).collect();
    assert_eq!(t_kinds.iter().filter(|k| *k == "private_channel").count(), 2, "{t_kinds:?}");
    assert_eq!(t_kinds.iter().filter(|k| *k == "couple").count(), 1, "{t_kinds:?}");

    // What Riley writes privately stays between Riley and the therapist.
    let a_room = s(&a_private[0], "id");
    let secret = say(&server, &a, &a_room, "I haven't told Sam about the job offer").await;
    problem(get_history(&server, &b, &a_room, "").await, StatusCode::NOT_FOUND).await;
    problem(post_message(&server, &b, &a_room, "Let me in").await, StatusCode::NOT_FOUND).await;
    problem(mark_read(&server, &b, &a_room, &s(&secret, "id")).await, StatusCode::NOT_FOUND).await;
    let versions = format!("/api/v1/messages/{}/versions", s(&secret, "id"));
    problem(get(&server, &versions, &b.token).await, StatusCode::NOT_FOUND).await;
    assert_eq!(bodies(&everything(&server, &t, &a_room).await), ["I haven't told Sam about the job offer"]);
    assert!(everything(&server, &b, &couple_room).await.is_empty(), "nothing leaked into the couple room");
    // A later change of policy, while only proposed, keeps the channels.
    json_with_status(consent(&server, &b, "no_secrets").await, StatusCode::OK).await;
    assert_eq!(rooms_of_kind(&server, &b, "private_channel").await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_new_therapist_replaces_the_old_one_and_sees_only_what_they_may() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let first = therapist(&server, &admin, "Dr First", json!({})).await;
    let second = therapist(&server, &admin, "Dr Second", json!({})).await;
    let client = client(&server, "Jordan", json!({})).await;
    json_with_status(choose(&server, &client, &first.id).await, StatusCode::CREATED).await;
    let room_id = only_room(&server, &client, "individual").await;
    say(&server, &client, &room_id, "What I told the first therapist").await;
    say(&server, &first, &room_id, "Thank you for telling me").await;

    // Switching without sharing the history.
    let switched = post(
        &server,
        &format!("/api/v1/matches/{}/choose", second.id),
        &client.token,
        &json!({"sees_history": false, "reason": "A better time zone"}),
    )
    .await;
    json_with_status(switched, StatusCode::CREATED).await;

    let list = rooms(&server, &client).await;
    assert_eq!(list.len(), 1, "still one room: {list:?}");
    assert_eq!(list[0]["id"], room_id.as_str(), "the same room continues");
    assert_eq!(member_ids(&list[0]), people([&client.id, &second.id]));
    locked_out(&server, &first, &room_id).await;
    problem(post_message(&server, &first, &room_id, "Still here?").await, StatusCode::NOT_FOUND).await;

    assert!(everything(&server, &second, &room_id).await.is_empty(), "the new therapist sees no earlier messages");
    assert_eq!(unread(&server, &second, &room_id).await, 0, "nor counts them as unread");
    let hello = say(&server, &client, &room_id, "Hello, new therapist").await;
    assert_eq!(bodies(&everything(&server, &second, &room_id).await), ["Hello, new therapist"]);
    assert_eq!(
        bodies(&everything(&server, &client, &room_id).await),
        ["What I told the first therapist", "Thank you for telling me", "Hello, new therapist"],
        "the client keeps the whole history"
    );
    // Nor can the new therapist reach an earlier message directly.
    let earlier = everything(&server, &client, &room_id).await;
    let path = format!("/api/v1/messages/{}/versions", s(&earlier[0], "id"));
    problem(get(&server, &path, &second.token).await, StatusCode::NOT_FOUND).await;
    let path = format!("/api/v1/messages/{}/versions", s(&hello, "id"));
    json_with_status(get(&server, &path, &second.token).await, StatusCode::OK).await;
    server.stop().await;
}

#[tokio::test]
async fn a_couple_switching_therapists_can_share_their_history() {
    let server = TestServer::spawn().await;
    let CoupleInCare { admin, a, b, therapist: first, couple_room, .. } = couple_in_care(&server, true).await;
    let second = therapist(&server, &admin, "Dr Second Couples", json!({})).await;
    say(&server, &b, &couple_room, "Our first weeks").await;
    let a_private = only_room(&server, &a, "private_channel").await;
    say(&server, &a, &a_private, "Private, before the switch").await;

    let switched =
        post(&server, &format!("/api/v1/matches/{}/choose", second.id), &a.token, &json!({"sees_history": true})).await;
    json_with_status(switched, StatusCode::CREATED).await;

    // Riley left the first therapist at once; the second joins the couple's rooms once Sam agrees.
    for r in [&couple_room, &a_private] {
        locked_out(&server, &first, r).await;
        locked_out(&server, &second, r).await;
    }
    json_with_status(answer_care(&server, &b, "accept").await, StatusCode::OK).await;
    assert_eq!(rooms_of_kind(&server, &a, "private_channel").await.len(), 1, "never two private rooms");
    let couple = room(&server, &second, &couple_room).await.expect("the new therapist joins the couple room");
    assert_eq!(member_ids(&couple), people([&a.id, &b.id, &second.id]));
    assert_eq!(bodies(&everything(&server, &second, &couple_room).await), ["Our first weeks"]);
    assert_eq!(bodies(&everything(&server, &second, &a_private).await), ["Private, before the switch"]);
    assert_eq!(rooms_of_kind(&server, &second, "private_channel").await.len(), 2);
    assert!(rooms(&server, &first).await.is_empty(), "the old therapist keeps no room of theirs");
    server.stop().await;
}
