//! Both partners agree to a couple's therapist. Choosing with a couple intake is a
//! proposal to the other partner: until they accept, they are in no room of that care
//! team and nothing of theirs reaches the therapist, while the chooser already talks
//! with the therapist one-to-one. Accepting opens the couple room and the accepter's
//! private channel; declining leaves the chooser in one-to-one care, free to ask again.

use crate::common::{spawn_on, Backend, TestServer};
use crate::kit::*;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Riley and Sam, linked with an agreed policy; Riley did a couple intake and proposed `therapist`.
struct Proposed {
    admin: Person,
    a: Person,
    b: Person,
    therapist: Person,
    care_team_id: String,
}

async fn proposed(server: &TestServer) -> Proposed {
    let admin = admin(server).await;
    let a = sign_up(server, "Riley").await;
    let b = sign_up(server, "Sam").await;
    let therapist = therapist(server, &admin, "Dr Both Of You", json!({})).await;
    link(server, &a, &b, "limited_secrets", true).await;
    json_with_status(submit_intake(server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    let chosen = json_with_status(choose(server, &a, &therapist.id).await, StatusCode::CREATED).await;
    assert_eq!(keys(&chosen), set(["care_team_id", "therapist_id", "partner_agreement"]), "{chosen}");
    assert_eq!(chosen["therapist_id"], therapist.id.as_str());
    assert_eq!(chosen["partner_agreement"], "pending", "{chosen}");
    Proposed { admin, a, b, therapist, care_team_id: s(&chosen, "care_team_id") }
}

fn ids<const N: usize>(people: [&Person; N]) -> BTreeSet<String> {
    people.iter().map(|p| p.id.clone()).collect()
}

/// The caller's rooms that `other` is a member of.
async fn rooms_with(server: &TestServer, who: &Person, other: &Person) -> Vec<Value> {
    rooms(server, who).await.into_iter().filter(|r| member_ids(r).contains(&other.id)).collect()
}

async fn notice_kinds(server: &TestServer, who: &Person) -> Vec<String> {
    let body = json_with_status(get(server, "/api/v1/me/notices", &who.token).await, StatusCode::OK).await;
    body["notices"].as_array().expect("notices").iter().map(|n| s(n, "kind")).collect()
}

async fn audit_actions(server: &TestServer, who: &Person) -> Vec<String> {
    let body =
        json_with_status(get(server, "/api/v1/me/audit-events?limit=100", &who.token).await, StatusCode::OK).await;
    body["events"].as_array().expect("events").iter().map(|e| s(e, "action")).collect()
}

async fn therapist_agreement_is_needed(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let Proposed { a, b, therapist: t, .. } = proposed(&server).await;

    // Both see the proposal; it names the therapist and who proposed them.
    for who in [&a, &b] {
        let couple = couple_of(&server, who).await;
        let p = &couple["care_proposal"];
        assert_eq!(keys(p), set(["therapist_id", "professional_name", "proposed_by", "proposed_at", "state"]), "{p}");
        assert_eq!(p["therapist_id"], t.id.as_str());
        assert_eq!(p["professional_name"], "Dr Both Of You");
        assert_eq!(p["proposed_by"], a.id.as_str());
        assert_eq!(p["state"], "pending");
        assert!(p["proposed_at"].as_str().is_some(), "{p}");
    }

    // Until Sam agrees: Sam is in no room of that care team; Riley and the therapist talk one-to-one.
    assert!(rooms(&server, &b).await.is_empty(), "Sam is in no room yet");
    assert!(rooms_with(&server, &t, &b).await.is_empty(), "the therapist shares no room with Sam");
    let riley_rooms = rooms(&server, &a).await;
    assert_eq!(riley_rooms.len(), 1, "{riley_rooms:?}");
    assert_eq!(riley_rooms[0]["kind"], "individual");
    assert_eq!(member_ids(&riley_rooms[0]), ids([&a, &t]));
    let solo = s(&riley_rooms[0], "id");
    say(&server, &a, &solo, "Before Sam decides").await;
    say(&server, &t, &solo, "Glad to meet you, Riley").await;
    locked_out(&server, &b, &solo).await;

    // Sam is told, in the app.
    assert!(notice_kinds(&server, &b).await.contains(&"care_proposed".to_owned()));

    // Sam agrees: 200 with the couple, as GET /couple shows it.
    let agreed = json_with_status(answer_care(&server, &b, "accept").await, StatusCode::OK).await;
    assert_eq!(agreed["care_proposal"]["state"], "accepted", "{agreed}");
    assert_eq!(keys(&agreed), keys(&couple_of(&server, &b).await));
    assert_eq!(couple_of(&server, &a).await["care_proposal"]["state"], "accepted");

    // Now the couple room, and Sam's private channel with the therapist.
    let couple_room = only_room(&server, &b, "couple").await;
    let sam_private = rooms_of_kind(&server, &b, "private_channel").await;
    assert_eq!(sam_private.len(), 1, "{sam_private:?}");
    assert_eq!(member_ids(&sam_private[0]), ids([&b, &t]));
    assert_eq!(member_ids(&room(&server, &b, &couple_room).await.expect("couple room")), ids([&a, &b, &t]));
    // Riley's one-to-one room is their private channel now: one private room with the therapist.
    let riley_with_t = rooms_with(&server, &a, &t).await;
    let kinds: BTreeSet<String> = riley_with_t.iter().map(|r| s(r, "kind")).collect();
    assert_eq!(kinds, set(["couple", "private_channel"]), "{riley_with_t:?}");
    assert_eq!(riley_with_t.len(), 2, "{riley_with_t:?}");
    let riley_private = rooms_of_kind(&server, &a, "private_channel").await;
    assert_eq!(s(&riley_private[0], "id"), solo, "the same room, kept with its history");
    assert_eq!(bodies(&everything(&server, &a, &solo).await), ["Before Sam decides", "Glad to meet you, Riley"]);
    locked_out(&server, &b, &solo).await;

    // Riley is told; both see it in their audit trail.
    assert!(notice_kinds(&server, &a).await.contains(&"care_proposal_accepted".to_owned()));
    for who in [&a, &b] {
        let actions = audit_actions(&server, who).await;
        for action in ["care_proposal.proposed", "care_proposal.accepted"] {
            assert!(actions.contains(&action.to_owned()), "{action} for {}: {actions:?}", who.email);
        }
    }

    // Answered once.
    let again = problem(answer_care(&server, &b, "accept").await, StatusCode::CONFLICT).await;
    assert!(again["detail"].as_str().is_some_and(|d| !d.is_empty()), "{again}");
    problem(answer_care(&server, &b, "decline").await, StatusCode::CONFLICT).await;
    assert_eq!(couple_of(&server, &b).await["care_proposal"]["state"], "accepted");
    server.stop().await;
}

async fn a_decline_keeps_one_to_one_care(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let Proposed { a, b, therapist: t, care_team_id, .. } = proposed(&server).await;
    let solo = only_room(&server, &a, "individual").await;

    let declined = json_with_status(answer_care(&server, &b, "decline").await, StatusCode::OK).await;
    assert_eq!(declined["care_proposal"]["state"], "declined", "{declined}");
    assert!(notice_kinds(&server, &a).await.contains(&"care_proposal_declined".to_owned()));
    assert!(audit_actions(&server, &a).await.contains(&"care_proposal.declined".to_owned()));

    // Riley keeps working with the therapist one-to-one; Sam stays out of it.
    let riley_rooms = rooms(&server, &a).await;
    assert_eq!(riley_rooms.len(), 1, "{riley_rooms:?}");
    assert_eq!((s(&riley_rooms[0], "id"), member_ids(&riley_rooms[0])), (solo.clone(), ids([&a, &t])));
    say(&server, &t, &solo, "Still here for you, Riley").await;
    assert!(rooms(&server, &b).await.is_empty());
    assert_eq!(therapist_of(&server, &a).await, Some(t.id.clone()));

    // An answered proposal can't be accepted afterwards, and nothing changes.
    problem(answer_care(&server, &b, "accept").await, StatusCode::CONFLICT).await;
    assert!(rooms(&server, &b).await.is_empty());
    assert_eq!(couple_of(&server, &a).await["care_proposal"]["state"], "declined");

    // Riley may ask again: the same care team, pending once more; this time Sam agrees.
    let asked = json_with_status(choose(&server, &a, &t.id).await, StatusCode::CREATED).await;
    assert_eq!(asked["partner_agreement"], "pending", "{asked}");
    assert_eq!(asked["care_team_id"], care_team_id.as_str(), "the one-to-one care continues: {asked}");
    assert_eq!(couple_of(&server, &b).await["care_proposal"]["state"], "pending");
    json_with_status(answer_care(&server, &b, "accept").await, StatusCode::OK).await;
    assert_eq!(
        member_ids(&room(&server, &b, &only_room(&server, &b, "couple").await).await.unwrap()),
        ids([&a, &b, &t])
    );
    server.stop().await;
}

on_both_backends! {
    therapist_agreement_is_needed => sqlite_the_other_partner_agrees_before_joining_any_room,
        postgres_the_other_partner_agrees_before_joining_any_room;
    a_decline_keeps_one_to_one_care => sqlite_a_decline_keeps_one_to_one_care_and_the_proposer_may_ask_again,
        postgres_a_decline_keeps_one_to_one_care_and_the_proposer_may_ask_again;
}

#[tokio::test]
async fn only_the_other_partner_answers_and_only_a_pending_proposal() {
    let server = TestServer::spawn().await;
    let Proposed { admin, a, b, therapist: t, .. } = proposed(&server).await;
    // The proposer can't answer their own proposal.
    for answer in ["accept", "decline"] {
        problem(answer_care(&server, &a, answer).await, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(couple_of(&server, &b).await["care_proposal"]["state"], "pending");
    // Nor can the therapist, an admin, or someone not linked.
    let stranger = sign_up(&server, "Stranger").await;
    problem(answer_care(&server, &t, "accept").await, StatusCode::FORBIDDEN).await;
    problem(answer_care(&server, &admin, "accept").await, StatusCode::FORBIDDEN).await;
    problem(answer_care(&server, &stranger, "accept").await, StatusCode::NOT_FOUND).await;
    assert!(rooms(&server, &b).await.is_empty());

    // A couple with nothing proposed: 409.
    let c = sign_up(&server, "Casey").await;
    let d = sign_up(&server, "Drew").await;
    link(&server, &c, &d, "no_secrets", true).await;
    assert_eq!(couple_of(&server, &c).await["care_proposal"], Value::Null);
    for who in [&c, &d] {
        for answer in ["accept", "decline"] {
            problem(answer_care(&server, who, answer).await, StatusCode::CONFLICT).await;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_withdrawn_proposal_cannot_be_accepted() {
    let server = TestServer::spawn().await;
    let Proposed { admin, a, b, therapist: t, .. } = proposed(&server).await;
    // Riley changes their mind and chooses someone individually: the proposal is withdrawn.
    let other = therapist(&server, &admin, "Dr Just Riley", json!({})).await;
    json_with_status(submit_intake(&server, &a, &intake()).await, StatusCode::CREATED).await;
    let chosen = json_with_status(choose(&server, &a, &other.id).await, StatusCode::CREATED).await;
    assert_eq!(chosen["partner_agreement"], Value::Null, "individual care: {chosen}");
    assert_eq!(couple_of(&server, &b).await["care_proposal"], Value::Null);

    problem(answer_care(&server, &b, "accept").await, StatusCode::CONFLICT).await;
    assert!(rooms(&server, &b).await.is_empty(), "nothing changed for Sam");
    assert!(rooms_with(&server, &t, &b).await.is_empty());
    assert_eq!(therapist_of(&server, &a).await, Some(other.id.clone()));
    assert_eq!(therapist_of(&server, &b).await, None);

    // Unlinking withdraws a pending proposal too.
    json_with_status(submit_intake(&server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    json_with_status(choose(&server, &a, &t.id).await, StatusCode::CREATED).await;
    assert_eq!(couple_of(&server, &b).await["care_proposal"]["state"], "pending");
    no_content(send_empty(&server, reqwest::Method::DELETE, "/api/v1/couple", &a.token).await).await;
    problem(answer_care(&server, &b, "accept").await, StatusCode::NOT_FOUND).await;
    assert!(rooms(&server, &b).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_one_to_one_room_becomes_the_private_channel() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let t = therapist(&server, &admin, "Dr Known To Both", json!({})).await;
    // Each already works with the therapist one-to-one.
    let mut solos = Vec::new();
    for who in [&a, &b] {
        json_with_status(submit_intake(&server, who, &intake()).await, StatusCode::CREATED).await;
        json_with_status(choose(&server, who, &t.id).await, StatusCode::CREATED).await;
        let solo = only_room(&server, who, "individual").await;
        say(&server, who, &solo, &format!("Earlier, from {}", who.email)).await;
        solos.push(solo);
    }
    link(&server, &a, &b, "no_secrets", true).await;
    // Riley proposes the same therapist for the couple.
    json_with_status(submit_intake(&server, &a, &couple_intake()).await, StatusCode::CREATED).await;
    let chosen = json_with_status(choose(&server, &a, &t.id).await, StatusCode::CREATED).await;
    assert_eq!(chosen["partner_agreement"], "pending", "{chosen}");
    json_with_status(answer_care(&server, &b, "accept").await, StatusCode::OK).await;

    // Each has exactly one private room with the therapist: their earlier one-to-one room.
    for (who, solo) in [(&a, &solos[0]), (&b, &solos[1])] {
        let with_t = rooms_with(&server, who, &t).await;
        let kinds: Vec<String> = with_t.iter().map(|r| s(r, "kind")).collect();
        assert_eq!(with_t.len(), 2, "the couple room and one private channel for {}: {kinds:?}", who.email);
        let private = with_t.iter().find(|r| r["kind"] == "private_channel").expect("a private channel");
        assert_eq!(&s(private, "id"), solo, "{} keeps their room", who.email);
        assert_eq!(member_ids(private), ids([who, &t]));
        assert_eq!(bodies(&everything(&server, who, solo).await), [format!("Earlier, from {}", who.email)]);
    }
    locked_out(&server, &b, &solos[0]).await;
    locked_out(&server, &a, &solos[1]).await;
    // Sam's own one-to-one care with the therapist continues as the couple's care.
    assert_eq!(therapist_of(&server, &b).await, Some(t.id.clone()));
    server.stop().await;
}

#[tokio::test]
async fn what_sam_sees_leaves_out_rileys_answers() {
    let server = TestServer::spawn().await;
    let Proposed { a, b, therapist: t, .. } = proposed(&server).await;
    // The card's reasons are about the therapist, not about Riley's concerns.
    let who_b = who(&server, &b).await;
    let couple = server.app.my_couple(&who_b).await.expect("my_couple").expect("linked");
    let card = couple.care_proposal.expect("a proposal");
    assert!(card.reasons.iter().any(|r| r == "Specialises in couples therapy"), "{:?}", card.reasons);
    assert!(card.reasons.iter().all(|r| !r.starts_with("Works with")), "no concerns: {:?}", card.reasons);
    assert!(!card.by_me);
    // The email to Sam (in the outbox, as no SMTP is set) says only that there is a suggestion.
    let outbox = server.data_dir().join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .expect("outbox")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).expect("eml"))
        .filter(|m| m.contains(&b.email) && m.contains("suggested a therapist"))
        .collect();
    assert_eq!(mails.len(), 1, "one email to Sam");
    for private in ["communication", "affection", "Dr Both Of You"] {
        assert!(!mails[0].contains(private), "the email says nothing about {private}: {}", mails[0]);
    }
    // The therapist's clients are Riley alone until Sam agrees.
    assert_eq!(clients_of(&server, &t).await, vec![a.id.clone()]);
    server.stop().await;
}

#[tokio::test]
async fn the_policy_consent_needs_a_choice() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    link(&server, &a, &b, "no_secrets", false).await;
    let before = couple_of(&server, &a).await;
    for body in [json!({}), json!({"policy": null})] {
        let p = problem(
            post(&server, "/api/v1/couple/policy-consent", &a.token, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&p), ["policy"], "{p}");
        assert!(p["errors"]["policy"][0].as_str().is_some_and(|m| m.contains("choose")), "{p}");
    }
    assert_eq!(couple_of(&server, &a).await, before, "nothing changed");
    server.stop().await;
}

#[tokio::test]
async fn the_demo_couple_agreed_on_their_therapist() {
    let server = TestServer::spawn().await;
    server.app.seed_demo().await.expect("demo world");
    for email in ["riley@demo.rapport.test", "sam@demo.rapport.test"] {
        let signed = server
            .app
            .sign_in(email, rapport_app::DEMO_PASSWORD, rapport_store::SessionKind::Api, &Default::default())
            .await
            .expect("demo sign-in");
        let who = server.app.authenticate(signed.token.expose()).await.expect("authenticate");
        let couple = server.app.my_couple(&who).await.expect("couple").expect("linked");
        let proposal = couple.care_proposal.expect("the demo couple's proposal");
        assert_eq!(proposal.state, rapport_store::CareProposalState::Accepted, "{email}");
        // In the couple room, and never told to find a therapist: they have one.
        let (_, name) = server
            .app
            .my_therapist(&who)
            .await
            .expect("therapist")
            .unwrap_or_else(|| panic!("no therapist for {email}"));
        assert_eq!(name, proposal.professional_name, "{email}");
        let kinds: Vec<&str> =
            server.app.my_rooms(&who).await.expect("rooms").iter().map(|r| r.kind.as_str()).collect();
        let mut sorted = kinds.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["couple", "private_channel"], "{email}: {kinds:?}");
    }
    server.stop().await;
}
