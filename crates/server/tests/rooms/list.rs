//! The list of rooms: each room's newest message in short (to its members only),
//! and titles that never look alike, from each person's side.

use crate::common::{browser_like_client, TestServer};
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

/// A second couple choosing the same therapist (both partners agree, so private channels open).
async fn another_couple(server: &TestServer, therapist: &Person, a: &str, b: &str) -> (Person, Person) {
    let a = sign_up(server, a).await;
    let b = sign_up(server, b).await;
    link(server, &a, &b, "limited_secrets", true).await;
    json_with_status(submit_intake(server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    json_with_status(choose(server, &a, &therapist.id).await, StatusCode::CREATED).await;
    json_with_status(answer_care(server, &b, "accept").await, StatusCode::OK).await;
    (a, b)
}

fn titles(list: &[Value]) -> Vec<String> {
    list.iter().map(|r| s(r, "title")).collect()
}

/// The room of `kind` in `who`'s list whose title starts with `start`.
async fn titled(server: &TestServer, who: &Person, start: &str) -> Value {
    let list = rooms(server, who).await;
    list.iter()
        .find(|r| s(r, "title").starts_with(start))
        .cloned()
        .unwrap_or_else(|| panic!("no room titled {start}… for {}: {:?}", who.email, titles(&list)))
}

#[tokio::test]
async fn titles_never_look_alike_from_any_side() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a: riley, b: sam, therapist, .. } = couple_in_care(&server, true).await;
    let (riley2, alex) = another_couple(&server, &therapist, "Riley", "Alex").await;
    // A third couple with exactly the same names as the first.
    let (riley3, _sam3) = another_couple(&server, &therapist, "Riley", "Sam").await;

    let theirs = titles(&rooms(&server, &therapist).await);
    assert_eq!(theirs.len(), 9, "three couple rooms and six private channels: {theirs:?}");
    assert_eq!(theirs.iter().collect::<BTreeSet<_>>().len(), theirs.len(), "no two alike: {theirs:?}");
    for expected in ["Riley & Alex", "Private: Riley (Riley & Alex)", "Private: Alex (Riley & Alex)"] {
        assert!(theirs.iter().any(|t| t == expected), "{expected} in {theirs:?}");
    }
    // The two "Riley & Sam" couples are told apart (by when their room began).
    for start in ["Riley & Sam", "Private: Riley (Riley & Sam)", "Private: Sam (Riley & Sam)"] {
        let same: Vec<_> = theirs.iter().filter(|t| t.starts_with(start)).collect();
        assert_eq!(same.len(), 2, "{start}: {theirs:?}");
        assert!(same.iter().all(|t| t.contains("(since ")), "{same:?}");
    }

    // Each partner sees their couple named, and a private channel with the therapist.
    for (who, partner) in [(&riley, "Sam"), (&sam, "Riley"), (&riley2, "Alex"), (&alex, "Riley"), (&riley3, "Sam")] {
        let mine = titles(&rooms(&server, who).await);
        assert_eq!(mine.len(), 2, "{mine:?}");
        assert!(mine.iter().any(|t| t.starts_with(&format!("You & {partner}, with "))), "{mine:?}");
        assert!(mine.iter().any(|t| t.starts_with("Private with ")), "{mine:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_list_shows_each_rooms_newest_message_to_its_members_only() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a: riley, b: sam, therapist, couple_room, .. } = couple_in_care(&server, true).await;
    let (_riley2, alex) = another_couple(&server, &therapist, "Riley", "Alex").await;

    // Nothing written yet.
    let empty = titled(&server, &sam, "You & Riley").await;
    assert_eq!(empty["last_message"], Value::Null, "{empty}");

    say(&server, &riley, &couple_room, "Thank you for\n\nlistening   today").await;
    let seen = titled(&server, &sam, "You & Riley").await;
    let last = &seen["last_message"];
    assert_eq!(keys(last), set(["id", "preview", "at", "sender_id", "sender_name"]), "{last}");
    assert_eq!((s(last, "preview"), s(last, "sender_name")), ("Thank you for listening today".into(), "Riley".into()));
    assert_eq!(s(last, "sender_id"), riley.id);
    assert!(chrono::DateTime::parse_from_rfc3339(&s(last, "at")).is_ok(), "{last}");
    assert_eq!(seen["unread"], 1);

    // A long message is cut short; an attachment says what it is; a deleted one says so.
    let long = "We keep coming back to the same argument about the weekend plans and I think it is really about something else entirely.";
    say(&server, &sam, &couple_room, long).await;
    let preview = s(&titled(&server, &therapist, "Riley & Sam").await["last_message"], "preview");
    assert!(preview.ends_with('…') && preview.chars().count() <= 81 && long.starts_with(preview.trim_end_matches('…')));
    let voice = attach(&server, &riley, &couple_room, &[Part::file("note.ogg", "audio/ogg", ogg())]).await;
    let voice = json_with_status(voice, StatusCode::CREATED).await;
    assert_eq!(s(&titled(&server, &sam, "You & Riley").await["last_message"], "preview"), "Voice message");
    json_with_status(
        send_empty(&server, Method::DELETE, &format!("/api/v1/messages/{}", s(&voice, "id")), &riley.token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(s(&titled(&server, &sam, "You & Riley").await["last_message"], "preview"), "Message deleted");

    // Riley's private channel: the therapist sees what was written, Sam never does.
    let secret = "Something only my therapist should read";
    let private = s(&titled(&server, &riley, "Private with ").await, "id");
    say(&server, &riley, &private, secret).await;
    let therapist_view = titled(&server, &therapist, "Private: Riley (Riley & Sam)").await;
    assert_eq!(s(&therapist_view["last_message"], "preview"), secret);
    for outsider in [&sam, &alex] {
        let list = rooms(&server, outsider).await;
        assert!(!list.iter().any(|r| r["id"] == private.as_str()), "{list:?}");
        let text = serde_json::to_string(&list).unwrap();
        assert!(!text.contains("only my therapist"), "{} sees the private preview: {text}", outsider.email);
        problem(
            get(&server, &format!("/api/v1/rooms/{private}/messages"), &outsider.token).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // Alex, of the other couple, sees nothing of Riley and Sam's room either, nor its page.
    let alexs = serde_json::to_string(&rooms(&server, &alex).await).unwrap();
    assert!(!alexs.contains("listening") && !alexs.contains(&couple_room), "{alexs}");
    let browser = signed_in_browser(&server, &alex).await;
    for path in [format!("/rooms/{couple_room}"), format!("/rooms/{private}")] {
        let page = browser.get(server.url(&path)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{path}");
        let html = page.text().await.unwrap();
        assert!(!html.contains("only my therapist") && !html.contains("listening"), "{html}");
    }
    let list = browser.get(server.url("/rooms")).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("only my therapist") && !list.contains("listening"), "{list}");

    // The members' own list page shows the excerpt, and who wrote it in a couple room.
    let sams = signed_in_browser(&server, &sam).await;
    let page = sams.get(server.url("/rooms")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Message deleted") && page.contains("room-when"), "{page}");
    assert!(!page.contains("only my therapist"), "{page}");
    server.stop().await;
}

/// A tiny Ogg stream (the sniffed signature is what counts).
fn ogg() -> Vec<u8> {
    let mut bytes = b"OggS\0\x02".to_vec();
    bytes.extend_from_slice(&[0u8; 20]);
    bytes.extend_from_slice(b"OpusHead");
    bytes
}

/// A cookie-keeping client signed in through the sign-in form.
async fn signed_in_browser(server: &TestServer, who: &Person) -> reqwest::Client {
    let client = browser_like_client();
    let page = client.get(server.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a csrf field") + marker.len();
    let csrf = &page[start..start + page[start..].find('"').expect("end of csrf")];
    let response = client
        .post(server.url("/sign-in"))
        .form(&[("csrf", csrf), ("email", who.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed in");
    client
}
