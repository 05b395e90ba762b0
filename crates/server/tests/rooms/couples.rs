//! Linking partners: invitations (for the invited person only, single use, 72
//! hours, withdrawable, resendable), the confidentiality policy both consent to,
//! who may invite whom, and unlinking by either partner.

use crate::common::TestServer;
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// `GET /api/v1/couple/invitations`: the state of the invitation with `id`.
async fn invitation_state(server: &TestServer, inviter: &Person, id: &str) -> String {
    let body = json_with_status(get(server, "/api/v1/couple/invitations", &inviter.token).await, StatusCode::OK).await;
    let found = body["invitations"].as_array().expect("invitations").iter().find(|i| i["id"] == id).cloned();
    s(&found.unwrap_or_else(|| panic!("invitation {id} is listed: {body}")), "state")
}

/// A fresh token for someone whose session lapsed while the clock moved.
async fn refresh(server: &TestServer, person: &mut Person) {
    person.token = sign_in(server, &person.email).await;
}

fn history_accounts(couple: &Value) -> Vec<(String, String)> {
    couple["history"].as_array().expect("history").iter().map(|h| (s(h, "account_id"), s(h, "policy"))).collect()
}

#[tokio::test]
async fn only_the_invited_person_can_accept_and_the_policy_needs_both() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let stranger = sign_up(&server, "Stranger").await;
    let inv = invitation(&server, &a, &b).await;
    let token = s(&inv, "token");

    // Someone else holding the link learns nothing and changes nothing.
    problem(accept(&server, &stranger, &token, "no_secrets").await, StatusCode::NOT_FOUND).await;
    problem(accept(&server, &b, "not-the-token", "no_secrets").await, StatusCode::NOT_FOUND).await;
    problem(get(&server, "/api/v1/couple", &stranger.token).await, StatusCode::NOT_FOUND).await;
    assert_eq!(invitation_state(&server, &a, &s(&inv, "id")).await, "open");
    // A consent that is not a policy is refused.
    problem(accept(&server, &b, &token, "anything_goes").await, StatusCode::UNPROCESSABLE_ENTITY).await;

    let accepted = json_with_status(accept(&server, &b, &token, "limited_secrets").await, StatusCode::CREATED).await;
    let couple_id = s(&accepted, "couple_id");
    assert_eq!(invitation_state(&server, &a, &s(&inv, "id")).await, "used");

    // Only Sam has consented: no policy in force yet, Sam's choice is a proposal.
    let sams = couple_of(&server, &b).await;
    assert_eq!(sams["couple_id"], couple_id.as_str());
    assert_eq!(sams["partner"]["id"], a.id.as_str());
    assert_eq!(sams["partner"]["display_name"], "Riley");
    assert_eq!(sams["policy"], Value::Null, "{sams}");
    assert_eq!(sams["my_consent"], "limited_secrets");
    assert_eq!(history_accounts(&sams), [(b.id.clone(), "limited_secrets".to_owned())]);
    let rileys = couple_of(&server, &a).await;
    assert_eq!(rileys["partner"]["id"], b.id.as_str());
    assert_eq!(rileys["policy"], Value::Null);
    assert_eq!(rileys["my_consent"], Value::Null);
    assert_eq!(rileys["proposed_policy"], "limited_secrets");

    // Riley confirms: the policy is agreed, the history shows both consents in order.
    let agreed = json_with_status(consent(&server, &a, "limited_secrets").await, StatusCode::OK).await;
    assert_eq!(agreed["policy"], "limited_secrets", "{agreed}");
    assert_eq!(agreed["proposed_policy"], Value::Null);
    for who in [&a, &b] {
        let c = couple_of(&server, who).await;
        assert_eq!(c["policy"], "limited_secrets");
        assert_eq!(
            history_accounts(&c),
            [(b.id.clone(), "limited_secrets".to_owned()), (a.id.clone(), "limited_secrets".to_owned())]
        );
        assert!(c["history"].as_array().unwrap().iter().all(|h| h["at"].as_str().is_some()), "{c}");
    }

    // A change by one partner is only a proposal: the agreed policy holds meanwhile.
    let proposed = json_with_status(consent(&server, &b, "no_secrets").await, StatusCode::OK).await;
    assert_eq!(proposed["policy"], "limited_secrets", "{proposed}");
    assert_eq!(proposed["proposed_policy"], "no_secrets");
    assert_eq!(proposed["my_consent"], "no_secrets");
    let seen_by_a = couple_of(&server, &a).await;
    assert_eq!(seen_by_a["policy"], "limited_secrets");
    assert_eq!(seen_by_a["proposed_policy"], "no_secrets");
    // Until the other consents too.
    let changed = json_with_status(consent(&server, &a, "no_secrets").await, StatusCode::OK).await;
    assert_eq!(changed["policy"], "no_secrets");
    assert_eq!(changed["proposed_policy"], Value::Null);
    assert_eq!(history_accounts(&couple_of(&server, &b).await).len(), 4, "every consent is kept");

    // Not a policy; not linked.
    problem(consent(&server, &a, "secret_garden").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    problem(consent(&server, &stranger, "no_secrets").await, StatusCode::NOT_FOUND).await;
    server.stop().await;
}

#[tokio::test]
async fn an_invitation_works_once() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let stranger = sign_up(&server, "Stranger").await;
    let inv = invitation(&server, &a, &b).await;
    let token = s(&inv, "token");
    json_with_status(accept(&server, &b, &token, "no_secrets").await, StatusCode::CREATED).await;
    let again = problem(accept(&server, &b, &token, "no_secrets").await, StatusCode::GONE).await;
    assert!(again["detail"].as_str().is_some_and(|d| !d.is_empty()), "{again}");
    // Still nothing for anyone else.
    problem(accept(&server, &stranger, &token, "no_secrets").await, StatusCode::NOT_FOUND).await;
    // Resending a used invitation is refused.
    let resend = format!("/api/v1/couple/sent-invitations/{}/resend", s(&inv, "id"));
    problem(post_empty(&server, &resend, &a.token).await, StatusCode::GONE).await;
    server.stop().await;
}

#[tokio::test]
async fn an_invitation_expires_after_72_hours() {
    let server = spawn_manual().await;
    let mut a = sign_up(&server, "Riley").await;
    let mut b = sign_up(&server, "Sam").await;
    let inv = invitation(&server, &a, &b).await;
    let id = s(&inv, "id");

    advance(&server, Duration::from_secs(72 * 3600 - 60));
    refresh(&server, &mut a).await;
    refresh(&server, &mut b).await;
    assert_eq!(invitation_state(&server, &a, &id).await, "open", "a minute before the end");

    advance(&server, Duration::from_secs(61));
    let gone = problem(accept(&server, &b, &s(&inv, "token"), "no_secrets").await, StatusCode::GONE).await;
    assert!(gone["detail"].as_str().is_some_and(|d| d.contains("expired")), "{gone}");
    assert_eq!(invitation_state(&server, &a, &id).await, "expired");
    problem(get(&server, "/api/v1/couple", &b.token).await, StatusCode::NOT_FOUND).await;

    // A fresh link works.
    let resend = post_empty(&server, &format!("/api/v1/couple/sent-invitations/{id}/resend"), &a.token).await;
    let fresh = json_with_status(resend, StatusCode::CREATED).await;
    json_with_status(accept(&server, &b, &s(&fresh, "token"), "no_secrets").await, StatusCode::CREATED).await;
    server.stop().await;
}

#[tokio::test]
async fn a_withdrawn_invitation_is_gone_and_a_resent_one_replaces_the_old_link() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;

    let first = invitation(&server, &a, &b).await;
    let path = format!("/api/v1/couple/sent-invitations/{}", s(&first, "id"));
    // Only the inviter can withdraw it.
    problem(send_empty(&server, Method::DELETE, &path, &b.token).await, StatusCode::NOT_FOUND).await;
    no_content(send_empty(&server, Method::DELETE, &path, &a.token).await).await;
    problem(send_empty(&server, Method::DELETE, &path, &a.token).await, StatusCode::NOT_FOUND).await;
    assert_eq!(invitation_state(&server, &a, &s(&first, "id")).await, "revoked");
    problem(accept(&server, &b, &s(&first, "token"), "no_secrets").await, StatusCode::GONE).await;

    // Resending gives a new link; the old one stops working.
    let second = invitation(&server, &a, &b).await;
    let resend_path = format!("/api/v1/couple/sent-invitations/{}/resend", s(&second, "id"));
    problem(post_empty(&server, &resend_path, &b.token).await, StatusCode::NOT_FOUND).await;
    let resent = json_with_status(post_empty(&server, &resend_path, &a.token).await, StatusCode::CREATED).await;
    assert_eq!(keys(&resent), set(["id", "token", "expires_at"]));
    assert_ne!(resent["token"], second["token"]);
    problem(accept(&server, &b, &s(&second, "token"), "no_secrets").await, StatusCode::GONE).await;
    json_with_status(accept(&server, &b, &s(&resent, "token"), "no_secrets").await, StatusCode::CREATED).await;
    server.stop().await;
}

#[tokio::test]
async fn who_may_invite_whom() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Nope", json!({})).await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let c = sign_up(&server, "Casey").await;

    // Yourself, in any case: 422 on the email.
    for own in [a.email.clone(), a.email.to_ascii_uppercase()] {
        let p = problem(invite(&server, &a, &own).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), ["email"], "{p}");
    }
    let p = problem(invite(&server, &a, "not an email").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), ["email"], "{p}");
    // Therapists and admins don't link partners.
    problem(invite(&server, &t, &c.email).await, StatusCode::FORBIDDEN).await;
    problem(invite(&server, &admin, &c.email).await, StatusCode::FORBIDDEN).await;
    // Accepting is for clients too.
    let inv_for_t = invitation(&server, &c, &t).await;
    problem(accept(&server, &t, &s(&inv_for_t, "token"), "no_secrets").await, StatusCode::FORBIDDEN).await;

    link(&server, &a, &b, "no_secrets", true).await;
    // Already linked: 409, whoever invites whom.
    problem(invite(&server, &a, &c.email).await, StatusCode::CONFLICT).await;
    problem(invite(&server, &b, "someone.new@example.org").await, StatusCode::CONFLICT).await;
    problem(invite(&server, &c, &a.email).await, StatusCode::CONFLICT).await;
    // Someone not linked can still be invited (even before they have an account).
    json_with_status(invite(&server, &c, "someone.new@example.org").await, StatusCode::CREATED).await;
    server.stop().await;
}

#[tokio::test]
async fn a_linked_person_cannot_accept_another_invitation() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let b = sign_up(&server, "Sam").await;
    let c = sign_up(&server, "Casey").await;
    // Casey invites Sam while Sam is free; then Sam links with Riley; Casey's link can't be used now.
    let from_c = invitation(&server, &c, &b).await;
    link(&server, &a, &b, "no_secrets", true).await;
    problem(accept(&server, &b, &s(&from_c, "token"), "no_secrets").await, StatusCode::CONFLICT).await;
    assert_eq!(couple_of(&server, &b).await["partner"]["id"], a.id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn either_partner_can_unlink_and_the_leaver_loses_the_shared_rooms() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, therapist, couple_room, .. } = couple_in_care(&server, true).await;
    say(&server, &a, &couple_room, "Before the break").await;
    let b_private = only_room(&server, &b, "private_channel").await;
    let a_private = only_room(&server, &a, "private_channel").await;
    say(&server, &b, &b_private, "Something only for the therapist").await;

    // Sam, who was invited (and did not choose the therapist), leaves.
    no_content(send_empty(&server, Method::DELETE, "/api/v1/couple", &b.token).await).await;
    problem(send_empty(&server, Method::DELETE, "/api/v1/couple", &b.token).await, StatusCode::NOT_FOUND).await;
    problem(get(&server, "/api/v1/couple", &b.token).await, StatusCode::NOT_FOUND).await;
    problem(get(&server, "/api/v1/couple", &a.token).await, StatusCode::NOT_FOUND).await;

    // Sam no longer sees the couple room nor their private channel; Riley and the therapist do.
    locked_out(&server, &b, &couple_room).await;
    locked_out(&server, &b, &b_private).await;
    problem(post_message(&server, &b, &couple_room, "Can I still write?").await, StatusCode::NOT_FOUND).await;
    assert!(rooms(&server, &b).await.is_empty(), "Sam has no rooms left");
    let after = say(&server, &a, &couple_room, "After Sam left").await;
    assert_eq!(bodies(&everything(&server, &a, &couple_room).await), ["Before the break", "After Sam left"]);
    assert_eq!(bodies(&everything(&server, &therapist, &couple_room).await), ["Before the break", "After Sam left"]);
    let members = member_ids(&room(&server, &therapist, &couple_room).await.expect("the therapist keeps the room"));
    assert_eq!(members, [a.id.clone(), therapist.id.clone()].into_iter().collect());
    // Sam learns nothing about what happens next: not the message, not its versions, not the partner.
    let path = format!("/api/v1/messages/{}/versions", s(&after, "id"));
    problem(get(&server, &path, &b.token).await, StatusCode::NOT_FOUND).await;
    problem(get_history(&server, &b, &a_private, "").await, StatusCode::NOT_FOUND).await;
    // The therapist still has Sam's private channel on record.
    assert_eq!(bodies(&everything(&server, &therapist, &b_private).await), ["Something only for the therapist"]);

    // Both may link again, with someone else.
    let c = sign_up(&server, "Casey").await;
    link(&server, &b, &c, "no_secrets", true).await;
    server.stop().await;
}

#[tokio::test]
async fn the_partner_who_chose_the_therapist_can_unlink_too() {
    let server = TestServer::spawn().await;
    let CoupleInCare { a, b, therapist, couple_room, .. } = couple_in_care(&server, true).await;
    let a_private = only_room(&server, &a, "private_channel").await;
    no_content(send_empty(&server, Method::DELETE, "/api/v1/couple", &a.token).await).await;
    locked_out(&server, &a, &couple_room).await;
    locked_out(&server, &a, &a_private).await;
    assert!(rooms_of_kind(&server, &a, "couple").await.is_empty());
    // Sam and the therapist keep the couple room.
    say(&server, &b, &couple_room, "Still here").await;
    assert_eq!(bodies(&everything(&server, &therapist, &couple_room).await), ["Still here"]);
    // Riley's rooms hold nobody but Riley and the therapist.
    for r in rooms(&server, &a).await {
        assert!(!member_ids(&r).contains(&b.id), "Riley shares no room with Sam any more: {r}");
    }
    server.stop().await;
}
