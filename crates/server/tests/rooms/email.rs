//! Email, through a real (tiny) SMTP server: invitation links, and a note about
//! unread messages a little later that never carries what the message says,
//! unless the person read it first or turned such emails off. Without SMTP,
//! emails land in the outbox folder.

use crate::common::{Options, TestServer};
use crate::kit::*;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

/// A server with a manual clock that sends email to `sink` and looks for due jobs often.
async fn spawn_with_mail(sink: &MailSink) -> TestServer {
    let url = sink.url();
    TestServer::spawn_with(Options {
        manual_clock: true,
        adjust: Box::new(move |settings| {
            settings.smtp_url = Some(url.parse().expect("an SMTP URL"));
            settings.job_interval = Duration::from_millis(50);
        }),
        ..Options::default()
    })
    .await
    .expect("test server")
}

/// A little past the moment unread messages are emailed about.
fn past_email_delay() -> Duration {
    rapport_app::EMAIL_AFTER.to_std().unwrap() + Duration::from_secs(1)
}

async fn job_for(db: &sqlx::SqlitePool, account: &Person, room: &str) -> (i64, i64) {
    let key = format!("message_email:{}:{room}", account.id);
    let all: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE dedupe_key = ?").bind(&key).fetch_one(db).await.unwrap();
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE dedupe_key = ? AND done_at IS NOT NULL")
        .bind(&key)
        .fetch_one(db)
        .await
        .unwrap();
    (all, done)
}

async fn wait_for_job(db: &sqlx::SqlitePool, account: &Person, room: &str, done: bool) {
    let what = format!("the email job for {} is {}", account.email, if done { "done" } else { "queued" });
    eventually(&what, || async {
        let (all, finished) = job_for(db, account, room).await;
        all == 1 && (!done || finished == 1)
    })
    .await;
}

#[tokio::test]
async fn an_invitation_is_emailed_with_its_link() {
    let mut sink = MailSink::start().await;
    let server = spawn_with_mail(&sink).await;
    let a = sign_up(&server, "Riley").await;
    let inv = json_with_status(invite(&server, &a, "Partner.Invited@Example.org").await, StatusCode::CREATED).await;
    let mail = sink.next().await;
    assert_eq!(mail.to, ["partner.invited@example.org"]);
    let token = s(&inv, "token");
    assert!(mail.text.contains(&format!("/couple/invitations/{token}")), "the link carries the token:\n{}", mail.text);
    assert!(mail.text.contains("Riley"), "says who invited them:\n{}", mail.text);
    assert!(mail.raw.contains("Subject:"), "{}", mail.raw);
    assert!(!mail.raw.contains(PASSWORD));

    // A resent invitation is emailed with the new link.
    let path = format!("/api/v1/couple/sent-invitations/{}/resend", s(&inv, "id"));
    let resent = json_with_status(post_empty(&server, &path, &a.token).await, StatusCode::CREATED).await;
    let mail = sink.next().await;
    assert!(mail.text.contains(&format!("/couple/invitations/{}", s(&resent, "token"))), "{}", mail.text);
    assert!(!mail.text.contains(&token), "the old link is not repeated");
    server.stop().await;
}

#[tokio::test]
async fn an_unread_message_is_emailed_about_later_without_its_text() {
    let mut sink = MailSink::start().await;
    let server = spawn_with_mail(&sink).await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    sink.take(2).await; // the therapist's approval, and being chosen
    let db = sqlite_of(&server).await;

    let secret = "Confidential-walrus detail 5521 about our fight";
    say(&server, &client, &room, secret).await;
    wait_for_job(&db, &therapist, &room, false).await;
    assert!(sink.received().is_empty(), "nothing is sent straight away");

    advance(&server, past_email_delay());
    let mail = sink.next().await;
    assert_eq!(mail.to, std::slice::from_ref(&therapist.email));
    for leak in [secret, "walrus", "Confidential"] {
        assert!(!mail.raw.contains(leak) && !mail.text.contains(leak), "the email holds message text:\n{}", mail.raw);
    }
    assert!(mail.text.contains(&format!("/rooms/{room}")), "a link to the room:\n{}", mail.text);
    wait_for_job(&db, &therapist, &room, true).await;
    // The sender is never emailed about their own message.
    assert_eq!(job_for(&db, &client, &room).await, (0, 0));
    assert!(sink.received().is_empty(), "exactly one email");
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn reading_first_means_no_email() {
    let mut sink = MailSink::start().await;
    let server = spawn_with_mail(&sink).await;
    let Individual { client, therapist, room, .. } = individual(&server).await;
    sink.take(2).await; // the therapist's approval, and being chosen
    let db = sqlite_of(&server).await;

    let m = say(&server, &client, &room, "Are you there?").await;
    wait_for_job(&db, &therapist, &room, false).await;
    no_content(mark_read(&server, &therapist, &room, &s(&m, "id")).await).await;
    advance(&server, past_email_delay());
    // Once the job has run, any email it sent has been received.
    wait_for_job(&db, &therapist, &room, true).await;
    assert!(sink.received().is_empty(), "no email about a message already read");
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn no_email_for_someone_who_turned_them_off() {
    let mut sink = MailSink::start().await;
    let server = spawn_with_mail(&sink).await;
    let CoupleInCare { a, b, therapist, couple_room, .. } = couple_in_care(&server, true).await;
    sink.take(4).await; // the invitation, the therapist's approval, being chosen, the proposal to Sam
    let db = sqlite_of(&server).await;

    let prefs = json!({"email": "off", "reply_working_days": 1});
    let set = send_json(&server, Method::PUT, "/api/v1/me/notifications", &a.token, &prefs).await;
    assert_eq!(json_with_status(set, StatusCode::OK).await, prefs);
    assert_eq!(json_with_status(get(&server, "/api/v1/me/notifications", &a.token).await, StatusCode::OK).await, prefs);
    let unknown = json!({"email": "sometimes", "reply_working_days": 1});
    let bad = send_json(&server, Method::PUT, "/api/v1/me/notifications", &a.token, &unknown).await;
    field_error(bad, "email", "an unknown email choice").await;

    say(&server, &b, &couple_room, "Shall we talk tonight?").await;
    // The therapist (who kept the default) is emailed; Riley is not.
    wait_for_job(&db, &therapist, &couple_room, false).await;
    advance(&server, past_email_delay());
    let mail = sink.next().await;
    assert_eq!(mail.to, std::slice::from_ref(&therapist.email));
    wait_for_job(&db, &therapist, &couple_room, true).await;
    assert_eq!(job_for(&db, &a, &couple_room).await, (0, 0), "nothing was queued for Riley");
    let rest = sink.received();
    assert!(rest.iter().all(|m| !m.to.contains(&a.email)), "Riley turned emails off: {rest:?}");

    // Turning them off after a message was queued also stops that email.
    let (c, room) = another_client(&server, &therapist, "Casey").await;
    sink.take(1).await; // the therapist was chosen
    say(&server, &c, &room, "Hello?").await;
    wait_for_job(&db, &therapist, &room, false).await;
    let off = send_json(&server, Method::PUT, "/api/v1/me/notifications", &therapist.token, &prefs).await;
    json_with_status(off, StatusCode::OK).await;
    advance(&server, past_email_delay());
    wait_for_job(&db, &therapist, &room, true).await;
    assert!(sink.received().is_empty(), "no email once turned off");
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn without_smtp_emails_land_in_the_outbox() {
    let server = TestServer::spawn().await;
    let a = sign_up(&server, "Riley").await;
    let inv = json_with_status(invite(&server, &a, "partner.outbox@example.org").await, StatusCode::CREATED).await;
    let outbox = server.data_dir().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .expect("an outbox folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: partner.outbox@example.org\r\n"), "{eml}");
    assert!(eml.contains(&format!("/couple/invitations/{}", s(&inv, "token"))), "{eml}");
    server.stop().await;
}
