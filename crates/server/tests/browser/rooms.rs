//! Couples and message rooms in a real browser: a client invites a partner,
//! the partner accepts choosing an agreement, both consent, and once they
//! work with a couples therapist the three of them talk live, including a
//! voice message recorded with Chromium's fake microphone. The same forms
//! work without JavaScript. Every new page is audited with axe-core at
//! 1280 px and measured at 360 px.

use crate::common::TestServer;
use crate::harness::{xpath_literal, Browser, BrowserOptions};
use crate::matching::{in_two_years, tick};
use base64::Engine as _;
use fantoccini::Locator;
use rapport_app::{
    AttachmentUpload, Authenticated, IntakeInput, LicenseInput, SignUp, TherapistApplication, WindowInput,
};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::room::RoomKind;
use rapport_domain::{AccountId, MessageId, Role, RoomId};
use rapport_store::SessionKind;
use serde_json::Value;
use std::time::Duration;

pub(crate) const PASSWORD: &str = "we still laugh at the same jokes";
pub(crate) const ADMIN: &str = "admin@example.com";
pub(crate) const THERAPIST: &str = "iris@example.com";
pub(crate) const THERAPIST_NAME: &str = "Dr. Iris Moreno, LMFT";
pub(crate) const ALEX: &str = "alex@example.com";
pub(crate) const JORDAN: &str = "jordan@example.com";

// ---- people and care, made through the use cases ----------------------------

pub(crate) async fn account(server: &TestServer, email: &str, name: &str, role: Role) {
    let sign_up = SignUp {
        email: email.into(),
        password: PASSWORD.into(),
        display_name: name.into(),
        time_zone: "America/Los_Angeles".into(),
    };
    server.app.create_account(sign_up, role, &Default::default()).await.expect("create account");
}

/// A fresh API session for someone (re-read, so a new role counts).
pub(crate) async fn login(server: &TestServer, email: &str) -> Authenticated {
    let signed_in = server.app.sign_in(email, PASSWORD, SessionKind::Api, &Default::default()).await.expect("sign in");
    server.app.authenticate(signed_in.token.expose()).await.expect("authenticate")
}

/// An approved couples therapist licensed in California.
pub(crate) async fn approved_therapist(server: &TestServer) -> AccountId {
    account(server, ADMIN, "Ada Admin", Role::Admin).await;
    account(server, THERAPIST, "Iris Moreno", Role::Client).await;
    let admin = login(server, ADMIN).await;
    let who = login(server, THERAPIST).await;
    let application = TherapistApplication {
        professional_name: THERAPIST_NAME.into(),
        pronouns: Some("she/her".into()),
        gender: Some("woman".into()),
        bio: "I help couples who feel far apart find their way back to each other.".into(),
        licenses: vec![LicenseInput {
            license_type: "lmft".into(),
            number: "LMFT-4411".into(),
            jurisdiction: "US-CA".into(),
            expires_on: in_two_years().to_string(),
        }],
        specialties: vec!["couples".into(), "emotional_distance".into()],
        approaches: vec!["emotionally_focused".into()],
        languages: vec!["en".into()],
        modalities: vec!["video".into(), "chat".into()],
        works_with_couples: true,
        time_zone: "America/Los_Angeles".into(),
        weekly_availability: vec![WindowInput { weekday: "tue".into(), start: "09:00".into(), end: "13:00".into() }],
        capacity: 20,
        accepting_new_clients: true,
    };
    let ctx = Default::default();
    let profile = server.app.apply_as_therapist(&who, application, &ctx).await.expect("apply");
    server
        .app
        .decide_therapist_application(&admin, profile.account_id, true, "CA BBS lookup", "", &ctx)
        .await
        .expect("approve");
    profile.account_id
}

/// `email` answers intake as a couple and proposes the therapist; their partner `agrees`.
async fn couple_in_care(server: &TestServer, email: &str, agrees: &str, therapist: AccountId) {
    let who = login(server, email).await;
    let input = IntakeInput {
        kind: "couple".into(),
        privacy_consent: Some(true),
        jurisdiction: "US-CA".into(),
        languages: vec!["en".into()],
        concerns: vec!["less_communication".into()],
        ..IntakeInput::default()
    };
    server.app.submit_intake(&who, input, &Default::default()).await.expect("intake");
    server.app.choose_therapist(&who, therapist, false, None, &Default::default()).await.expect("choose");
    let partner = login(server, agrees).await;
    server.app.accept_care_proposal(&partner, &Default::default()).await.expect("the partner agrees");
}

/// Links two clients through an invitation, both consenting to `policy`.
pub(crate) async fn linked(server: &TestServer, inviter: &str, invited: &str, policy: ConfidentialityPolicy) {
    let ctx = Default::default();
    let a = login(server, inviter).await;
    let b = login(server, invited).await;
    let new = server.app.invite_partner(&a, invited, Some(policy), &ctx).await.expect("invite");
    server.app.accept_invitation(&b, new.token.expose(), policy, &ctx).await.expect("accept");
}

/// The caller's room of a kind.
async fn room_of(server: &TestServer, email: &str, kind: RoomKind) -> RoomId {
    let who = login(server, email).await;
    let rooms = server.app.my_rooms(&who).await.expect("rooms");
    rooms.into_iter().find(|r| r.kind == kind).unwrap_or_else(|| panic!("{email} has no {kind} room")).id
}

async fn say(server: &TestServer, email: &str, room: RoomId, text: &str) -> MessageId {
    let who = login(server, email).await;
    server.app.post_message(&who, room, text, None, &Default::default()).await.expect("post").id
}

async fn attach(server: &TestServer, email: &str, room: RoomId, name: &str, bytes: Vec<u8>) -> MessageId {
    let who = login(server, email).await;
    let upload = AttachmentUpload { file_name: name.into(), bytes, video: false };
    server.app.post_message(&who, room, "", Some(upload), &Default::default()).await.expect("attach").id
}

/// The link's token from the invitation emailed to `to` (the newest one).
fn invitation_token(server: &TestServer, to: &str) -> String {
    let outbox = server.data_dir().join("outbox");
    let mut mails: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("no outbox at {}: {e}", outbox.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| std::fs::read_to_string(e.path()).expect("read email"))
        .filter(|text| text.contains(&format!("To: {to}")))
        .collect();
    mails.sort();
    let mail = mails.last().unwrap_or_else(|| panic!("no email to {to} in the outbox"));
    let marker = "/couple/invitations/";
    let start = mail.find(marker).expect("an invitation link") + marker.len();
    mail[start..].split_whitespace().next().expect("a token").to_owned()
}

/// A second of 8 kHz sound as a WAV file: a real voice message the browser can play.
fn wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..8000u32)
        .map(|i| (128.0 + 60.0 * ((i as f64) * 440.0 * 2.0 * std::f64::consts::PI / 8000.0).sin()) as u8)
        .collect();
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(&samples);
    out
}

/// A one-pixel PNG.
fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
        .expect("png")
}

// ---- acting like a person ---------------------------------------------------

/// Signs in with the form on the sign-in page that is already showing.
async fn sign_in_here(b: &Browser, email: &str) {
    b.wait_for_heading("Sign in").await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.press("Sign in").await;
}

/// Opens the room whose title starts with `title` from the Messages page,
/// and waits for its live connection.
async fn open_room(b: &Browser, title: &str) {
    b.open("/rooms").await;
    b.wait_for_heading("Messages").await;
    let xpath = format!("//main//a[starts-with(normalize-space(), {})]", xpath_literal(title));
    b.wait_for(Locator::XPath(&xpath)).await.click().await.expect("open the room");
    b.wait_for(Locator::Css("#room")).await;
}

async fn live(b: &Browser) {
    b.wait_for(Locator::Css("#room[data-live='connected']")).await;
}

/// Waits for a message with exactly this text to be on the page.
async fn wait_for_message(b: &Browser, text: &str) {
    let xpath = format!(
        "//li[contains(@class, 'message')]//p[contains(@class, 'message-body') and normalize-space()={}]",
        xpath_literal(text)
    );
    b.wait_for(Locator::XPath(&xpath)).await;
}

/// Marks the page, so a later check can tell it was not reloaded.
async fn mark_page(b: &Browser) {
    b.run_script("window.notReloaded = true;").await;
}

async fn not_reloaded(b: &Browser, who: &str) {
    assert_eq!(
        b.run_script("return window.notReloaded === true;").await,
        Value::Bool(true),
        "{who}'s page was reloaded"
    );
}

// ---- the journey ------------------------------------------------------------

#[tokio::test]
async fn a_couple_links_up_and_talks_live_with_their_therapist() {
    let server = TestServer::spawn().await;
    let therapist = approved_therapist(&server).await;
    account(&server, ALEX, "Alex Rivera", Role::Client).await;
    account(&server, JORDAN, "Jordan Lee", Role::Client).await;

    // Alex invites Jordan from the Partner page, leaving the agreement for later.
    let alex = Browser::start(&server.base, BrowserOptions::with_fake_media()).await;
    alex.sign_in(ALEX, PASSWORD, "Alex").await;
    alex.follow_link("header", "Partner").await;
    alex.wait_for_heading("Your partner").await;
    alex.fill("#email", ALEX).await;
    alex.press("Send invitation").await;
    let own = alex.wait_for(Locator::Css("#email-error")).await;
    assert!(own.text().await.unwrap().contains("your own email"), "inviting yourself is explained");
    alex.fill("#email", JORDAN).await;
    alex.press("Send invitation").await;
    alex.wait_for_notice("Your invitation is on its way").await;
    let sent = alex.text(".invitation-list").await;
    assert!(sent.contains(JORDAN) && sent.contains("Open"), "sent invitations: {sent}");

    // Jordan follows the emailed link, signs in first, and comes back to it.
    let token = invitation_token(&server, JORDAN);
    let jordan = Browser::start(&server.base, BrowserOptions::default()).await;
    jordan.open(&format!("/couple/invitations/{token}")).await;
    jordan.wait_for_notice("to see your partner's invitation").await;
    sign_in_here(&jordan, JORDAN).await;
    jordan.wait_for_heading("Alex Rivera invited you to link your accounts").await;
    let page = jordan.main_text().await;
    for policy in ConfidentialityPolicy::ALL {
        assert!(page.contains(policy.title()) && page.contains(policy.explain()), "both agreements explained: {page}");
    }
    tick(&jordan, "#policy-limited_secrets").await;
    jordan.press("Accept and link our accounts").await;
    jordan.wait_for_notice("You're linked").await;
    jordan.wait_for_heading("You and Alex Rivera").await;
    assert!(jordan.text(".policy-box").await.contains("Waiting for both of you"));
    // The link is used up now.
    jordan.open(&format!("/couple/invitations/{token}")).await;
    jordan.wait_for_heading("This invitation can't be used any more").await;

    // Alex sees Jordan's choice and agrees to the same.
    alex.open("/couple").await;
    alex.wait_for_heading("You and Jordan Lee").await;
    assert!(alex.main_text().await.contains("Jordan Lee proposed Limited secrets"));
    tick(&alex, "#consent-limited_secrets").await;
    alex.press("Save my choice").await;
    alex.wait_for_notice("Your choice is saved.").await;
    let policy = alex.text(".policy-box").await;
    assert!(policy.contains("In force") && policy.contains("Limited secrets"), "policy: {policy}");
    let history = alex.text(".history").await;
    assert!(history.contains("You chose Limited secrets") && history.contains("Jordan Lee chose Limited secrets"));

    // They start working with a couples therapist; the shared room opens for the three of them.
    couple_in_care(&server, ALEX, JORDAN, therapist).await;
    let iris = Browser::start(&server.base, BrowserOptions::default()).await;
    iris.sign_in(THERAPIST, PASSWORD, THERAPIST_NAME).await;
    // Each sees the room named from their side.
    open_room(&iris, "Alex Rivera & Jordan Lee").await;
    open_room(&jordan, "You & Alex Rivera, with").await;
    open_room(&alex, "You & Jordan Lee, with").await;
    for (b, who) in [(&alex, "Alex"), (&jordan, "Jordan"), (&iris, "Iris")] {
        live(b).await;
        mark_page(b).await;
        assert!(b.main_text().await.contains("No messages yet"), "{who} sees an empty room");
    }

    // Jordan starts typing: the others see it.
    jordan.find("#body").await.send_keys("I wanted").await.expect("type");
    iris.wait_for(Locator::XPath("//p[@id='typing' and contains(., 'Jordan Lee is typing')]")).await;
    alex.wait_for(Locator::XPath("//p[@id='typing' and contains(., 'Jordan Lee is typing')]")).await;
    jordan.fill("#body", "").await;

    // Alex writes; Jordan and the therapist see it arrive without reloading.
    let words = "We had a calmer week. We tried the evening walk.";
    alex.fill("#body", words).await;
    alex.press("Send").await;
    for (b, who) in [(&alex, "Alex"), (&jordan, "Jordan"), (&iris, "Iris")] {
        wait_for_message(b, words).await;
        not_reloaded(b, who).await;
    }
    assert_eq!(alex.find("#body").await.prop("value").await.unwrap().as_deref(), Some(""), "the box is cleared");
    let sender = iris.text("#messages li.message:last-child .sender").await;
    assert_eq!(sender, "Alex Rivera");
    // The live message's time reads as the server writes times: "5 Dec 2026, 18:35 PST", after reloading too.
    let live_time = iris.text("#messages li.message:last-child time").await;
    iris.open(&iris.path().await).await;
    wait_for_message(&iris, words).await;
    let rendered = iris.text("#messages li.message:last-child time").await;
    assert_eq!(live_time, rendered, "live and rendered times read alike");
    assert!(!live_time.contains("GMT"), "{live_time}");
    live(&iris).await;
    mark_page(&iris).await;

    // Alex records a voice message with the fake microphone and sends it.
    alex.press("Record a voice message").await;
    alex.wait_for(Locator::XPath("//p[@id='record-status' and contains(., 'Recording')]")).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    alex.press("Stop recording").await;
    alex.wait_for(Locator::Css("#record-preview audio")).await;
    alex.press("Send recording").await;

    // The therapist's page gets a player whose recording loads.
    for (b, who) in [(&iris, "Iris"), (&jordan, "Jordan")] {
        b.wait_for(Locator::Css("#messages li.message audio")).await;
        let state = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const deadline = Date.now() + 20000;
                 (function check() {
                   const a = document.querySelector('#messages li.message audio');
                   if (a.error || a.readyState >= 1 || Date.now() > deadline) {
                     done({ ready: a.readyState, error: a.error ? a.error.code : null,
                            positive: a.duration > 0, src: a.currentSrc });
                   } else {
                     setTimeout(check, 100);
                   }
                 })();",
                vec![],
            )
            .await
            .expect("check the audio");
        assert_eq!(state["error"], Value::Null, "{who}'s player could not load the recording: {state}");
        assert!(state["ready"].as_u64().unwrap_or(0) >= 1, "{who}'s player has no metadata: {state}");
        assert_eq!(state["positive"], Value::Bool(true), "{who}'s recording has no length: {state}");
        assert!(state["src"].as_str().unwrap_or_default().contains("/attachments/"), "{state}");
        not_reloaded(b, who).await;
    }

    // A video message, recorded with the fake camera, plays for the others too.
    alex.press("Record a video message").await;
    alex.wait_for(Locator::XPath("//p[@id='record-status' and contains(., 'Recording video')]")).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    alex.press("Stop recording").await;
    alex.wait_for(Locator::Css("#record-preview video")).await;
    alex.press("Send recording").await;
    iris.wait_for(Locator::Css("#messages li.message video")).await;
    let video = iris
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const deadline = Date.now() + 20000;
             (function check() {
               const v = document.querySelector('#messages li.message video');
               if (v.error || v.readyState >= 1 || Date.now() > deadline) {
                 done({ ready: v.readyState, error: v.error ? v.error.code : null });
               } else {
                 setTimeout(check, 100);
               }
             })();",
            vec![],
        )
        .await
        .expect("check the video");
    assert_eq!(video["error"], Value::Null, "the video could not load: {video}");
    assert!(video["ready"].as_u64().unwrap_or(0) >= 1, "the video has no metadata: {video}");

    // Without a microphone to use, Jordan is told plainly.
    jordan.press("Record a voice message").await;
    let blocked = jordan.wait_for(Locator::XPath("//p[@id='record-error' and contains(., 'microphone')]")).await;
    let blocked = blocked.text().await.unwrap();
    assert!(blocked.contains("file below"), "a way forward is offered: {blocked}");

    // Alex corrects, then deletes, the first message: the others' pages follow along.
    let first = alex.find("#messages li.message.mine").await.attr("id").await.unwrap().expect("an id");
    alex.find(&format!("#{first} a[href$='/edit']")).await.click().await.expect("edit");
    alex.wait_for_heading("Correct your message").await;
    let corrected = "We had a calmer week. We tried the evening walk twice.";
    alex.fill("#body", corrected).await;
    alex.press("Save the correction").await;
    for (b, who) in [(&jordan, "Jordan"), (&iris, "Iris")] {
        wait_for_message(b, corrected).await;
        b.wait_for(Locator::Css(&format!("#{first} a.edited"))).await;
        not_reloaded(b, who).await;
    }
    alex.wait_for(Locator::Css(&format!("#{first} a[href$='/delete']"))).await.click().await.expect("delete");
    alex.wait_for_heading("Delete your message?").await;
    alex.press("Delete the message").await;
    for (b, who) in [(&jordan, "Jordan"), (&iris, "Iris")] {
        b.wait_for(Locator::XPath(&format!("//li[@id='{first}']/p[@class='tombstone']"))).await;
        not_reloaded(b, who).await;
    }

    // In Alex's private channel, the agreement is right above the box.
    open_room(&alex, "Private").await;
    let reminder = alex.text(".policy-reminder").await;
    assert!(
        reminder.contains(THERAPIST_NAME) && reminder.contains("Limited secrets"),
        "the agreement where Alex writes privately: {reminder}"
    );

    alex.close().await;
    jordan.close().await;
    iris.close().await;
    server.stop().await;
}

/// A couple in care with `therapist`, agreed on limited secrets.
async fn couple_world(server: &TestServer) -> AccountId {
    let therapist = approved_therapist(server).await;
    account(server, ALEX, "Alex Rivera", Role::Client).await;
    account(server, JORDAN, "Jordan Lee", Role::Client).await;
    linked(server, ALEX, JORDAN, ConfidentialityPolicy::LimitedSecrets).await;
    couple_in_care(server, ALEX, JORDAN, therapist).await;
    therapist
}

#[tokio::test]
async fn without_javascript_every_message_form_still_works() {
    let server = TestServer::spawn().await;
    couple_world(&server).await;
    let room = room_of(&server, JORDAN, RoomKind::Couple).await;
    say(&server, THERAPIST, room, "Welcome, both of you.").await;

    let b = Browser::start(&server.base, BrowserOptions::without_javascript()).await;
    b.sign_in(JORDAN, PASSWORD, "Jordan").await;
    assert!(b.text("main .home-rooms").await.contains("1 unread"), "home shows the unread message");
    open_room(&b, "You & Alex Rivera").await;
    wait_for_message(&b, "Welcome, both of you.").await;
    assert!(b.client.find(Locator::Css("#recorder:not([hidden])")).await.is_err(), "no recorder without JavaScript");

    // A blank message is explained next to the box.
    b.fill("#body", "   ").await;
    b.press("Send").await;
    let error = b.wait_for(Locator::Css("#body-error")).await;
    assert_eq!(error.text().await.unwrap(), "Write something before sending.");

    // A real one is posted and shown on the next page.
    let words = "Thank you. It helps to write things down between sessions.";
    b.fill("#body", words).await;
    b.press("Send").await;
    wait_for_message(&b, words).await;
    assert!(b.path().await.starts_with(&format!("/rooms/{room}")));
    let mine = b.find("#messages li.message.mine").await;
    let id = mine.attr("id").await.unwrap().expect("an id");

    // Star it.
    b.find(&format!("#{id} .star-form button")).await.click().await.expect("star");
    b.wait_for(Locator::Css(&format!("#{id} .star-mark"))).await;

    // Correct it on its own page; the earlier version stays visible.
    b.find(&format!("#{id} a[href$='/edit']")).await.click().await.expect("edit");
    b.wait_for_heading("Correct your message").await;
    let corrected = "Thank you. It really helps to write things down between sessions.";
    b.fill("#body", corrected).await;
    b.press("Save the correction").await;
    wait_for_message(&b, corrected).await;
    b.find(&format!("#{id} a.edited")).await.click().await.expect("see versions");
    b.wait_for_heading("Earlier versions").await;
    let versions = b.main_text().await;
    assert!(versions.contains(words) && versions.contains(corrected), "versions: {versions}");

    // Send a picture with the plain file form.
    let dir = tempfile::tempdir().expect("temp dir");
    let picture = dir.path().join("our-walk.png");
    std::fs::write(&picture, png()).expect("write picture");
    open_room(&b, "You & Alex Rivera").await;
    b.find("#file").await.send_keys(&picture.display().to_string()).await.expect("choose a file");
    b.press("Send file").await;
    b.wait_for(Locator::Css("#messages li.message.mine img[alt*='our-walk.png']")).await;

    // Delete the text message, after a confirmation step; a tombstone stays.
    b.find(&format!("#{id} a[href$='/delete']")).await.click().await.expect("delete");
    b.wait_for_heading("Delete your message?").await;
    b.press("Delete the message").await;
    b.wait_for(Locator::XPath(&format!("//li[@id='{id}']//p[normalize-space()='This message was deleted.']"))).await;

    b.close().await;
    server.stop().await;
}

// ---- every page, in its states ---------------------------------------------

const NIA: &str = "nia@example.com";
const OMAR: &str = "omar@example.com";

/// What the page tour needs to reach each page.
struct Tour {
    invitation: String,
    withdrawn: String,
    couple_room: RoomId,
    private_room: RoomId,
    edited: MessageId,
    deleted_later: MessageId,
}

async fn tour_world(server: &TestServer) -> Tour {
    couple_world(server).await;
    let ctx = Default::default();
    account(server, NIA, "Nia Brooks", Role::Client).await;
    account(server, OMAR, "Omar Haddad", Role::Client).await;
    let nia = login(server, NIA).await;
    let withdrawn = server.app.invite_partner(&nia, OMAR, None, &ctx).await.expect("invite Omar");
    server.app.revoke_invitation(&nia, withdrawn.invitation.id).await.expect("withdraw");
    let open =
        server.app.invite_partner(&nia, OMAR, Some(ConfidentialityPolicy::NoSecrets), &ctx).await.expect("invite Omar");

    let couple_room = room_of(server, ALEX, RoomKind::Couple).await;
    let private_room = room_of(server, ALEX, RoomKind::PrivateChannel).await;
    say(server, THERAPIST, couple_room, "Welcome, both of you. Write whenever something comes up.").await;
    let edited = say(server, ALEX, couple_room, "We argued about the dishes agian.").await;
    let alex = login(server, ALEX).await;
    server.app.correct_message(&alex, edited, "We argued about the dishes again.", &ctx).await.expect("correct");
    let gone = say(server, ALEX, couple_room, "Sorry, wrong room.").await;
    server.app.delete_message(&alex, gone, &ctx).await.expect("delete");
    let deleted_later = say(server, ALEX, couple_room, "It was about more than the dishes, really.").await;
    attach(server, JORDAN, couple_room, "voice-message.wav", wav()).await;
    attach(server, THERAPIST, couple_room, "exercise.png", png()).await;
    attach(server, JORDAN, couple_room, "our-plan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec())
        .await;
    say(
        server,
        JORDAN,
        couple_room,
        &"A long message that wraps on a small phone without pushing the page sideways. ".repeat(4),
    )
    .await;
    for n in 1..=55 {
        say(server, THERAPIST, private_room, &format!("Note {n} for you, Alex.")).await;
    }
    let jordan = login(server, JORDAN).await;
    server.app.consent_to_policy(&jordan, ConfidentialityPolicy::NoSecrets, &ctx).await.expect("propose");
    Tour {
        invitation: open.token.expose().to_owned(),
        withdrawn: withdrawn.token.expose().to_owned(),
        couple_room,
        private_room,
        edited,
        deleted_later,
    }
}

/// Brings the browser to every new page, in each of its states, and calls `at(page name)` there.
async fn every_room_page(t: &Tour, b: &Browser, mut at: impl AsyncFnMut(&str)) {
    b.sign_in(NIA, PASSWORD, "Nia").await;
    b.open("/couple").await;
    b.wait_for_heading("Your partner").await;
    b.wait_for(Locator::Css(".invitation-list")).await;
    at("partner page with sent invitations").await;

    b.fill("#email", NIA).await;
    b.press("Send invitation").await;
    b.wait_for(Locator::Css("#email-error")).await;
    at("partner page showing a mistake").await;

    b.open("/rooms").await;
    b.wait_for_heading("Messages").await;
    at("messages before any care").await;
    b.open("/home").await;
    b.sign_out().await;

    b.sign_in(OMAR, PASSWORD, "Omar").await;
    b.open(&format!("/couple/invitations/{}", t.invitation)).await;
    b.wait_for_heading("Nia Brooks invited you to link your accounts").await;
    at("an invitation").await;
    b.open(&format!("/couple/invitations/{}", t.withdrawn)).await;
    b.wait_for_heading("This invitation can't be used any more").await;
    at("a withdrawn invitation").await;
    b.open("/home").await;
    b.sign_out().await;

    b.open(&format!("/couple/invitations/{}", t.invitation)).await;
    b.wait_for_heading("Sign in").await;
    at("sign-in page on the way to an invitation").await;

    b.sign_in(ALEX, PASSWORD, "Alex").await;
    b.wait_for(Locator::Css("main .home-rooms")).await;
    at("client home with messages").await;

    b.open("/couple").await;
    b.wait_for_heading("You and Jordan Lee").await;
    assert!(b.main_text().await.contains("Jordan Lee proposed No secrets"));
    at("partner page with a proposed change").await;

    b.open("/couple/unlink").await;
    b.wait_for_heading("Unlink from Jordan Lee?").await;
    at("unlink confirmation").await;

    b.open("/rooms").await;
    b.wait_for_heading("Messages").await;
    let rooms = b.text("main .room-list").await;
    assert!(rooms.contains("You can expect a reply by") && !rooms.contains("Waiting for your reply"), "{rooms}");
    at("a client's rooms").await;

    b.open(&format!("/rooms/{}", t.couple_room)).await;
    b.wait_for(Locator::Css("#messages audio")).await;
    b.find_link("main", "Jump to the first unread message").await;
    let room = b.main_text().await;
    assert!(room.contains("This message was deleted.") && room.contains("You can expect a reply from"), "{room}");
    assert!(!room.contains("Waiting for your reply"), "that is for the therapist: {room}");
    at("couple room").await;

    b.fill("#body", "  ").await;
    b.press("Send").await;
    b.wait_for(Locator::Css("#body-error")).await;
    at("couple room showing a mistake").await;

    b.open(&format!("/rooms/{}/messages/{}/edit", t.couple_room, t.deleted_later)).await;
    b.wait_for_heading("Correct your message").await;
    at("correcting a message").await;

    b.open(&format!("/rooms/{}/messages/{}/delete", t.couple_room, t.deleted_later)).await;
    b.wait_for_heading("Delete your message?").await;
    at("deleting a message").await;

    b.open(&format!("/rooms/{}/messages/{}/versions", t.couple_room, t.edited)).await;
    b.wait_for_heading("Earlier versions").await;
    at("earlier versions of a message").await;

    b.open(&format!("/rooms/{}", t.private_room)).await;
    b.wait_for(Locator::Css(".policy-reminder")).await;
    b.find_link("main .room-nav", "Show newer messages").await;
    at("private channel opened at the first unread").await;
    b.open("/home").await;
    b.sign_out().await;

    b.sign_in(THERAPIST, PASSWORD, THERAPIST_NAME).await;
    b.open("/rooms").await;
    b.wait_for(Locator::Css("main .reply-due")).await;
    at("a therapist's rooms").await;

    b.open(&format!("/rooms/{}", t.couple_room)).await;
    b.wait_for(Locator::Css("#messages img")).await;
    at("couple room for the therapist").await;

    b.open(&format!("/rooms/{}", t.private_room)).await;
    b.follow_link("main .room-nav", "Show earlier messages").await;
    b.wait_for_heading("Private: Alex Rivera (Alex Rivera & Jordan Lee)").await;
    b.find_link("main .room-nav", "Back to the latest messages").await;
    at("earlier messages").await;

    b.open("/settings").await;
    b.wait_for_heading("Settings").await;
    b.find("#reply_working_days").await;
    at("a therapist's settings").await;

    tick(b, "#email_mode-digest").await;
    b.press("Save notification choices").await;
    b.wait_for_notice("Your notification choices are saved.").await;
    assert!(b.find("#email_mode-digest").await.is_selected().await.unwrap());
    at("settings after saving notification choices").await;
}

#[tokio::test]
async fn every_room_page_passes_an_axe_core_audit() {
    let server = TestServer::spawn().await;
    let tour = tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;
    let mut blocking = Vec::new();
    every_room_page(&tour, &b, async |page: &str| {
        b.screenshot(&format!("{}-1280", crate::tour::file_name(page))).await;
        blocking.extend(b.blocking_axe(page).await);
    })
    .await;
    b.close().await;
    server.stop().await;
    assert!(blocking.is_empty(), "axe-core found serious or critical problems:\n{}", blocking.join("\n"));
}

#[tokio::test]
async fn every_room_page_fits_a_small_phone() {
    let server = TestServer::spawn().await;
    let tour = tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::phone()).await;
    let mut too_wide = Vec::new();
    let mut blocking = Vec::new();
    every_room_page(&tour, &b, async |page: &str| {
        let w = b.width().await;
        assert!(w.client_width <= 360.0, "the window should be 360 px wide, but on the {page} it is {w:?}");
        if w.scrolls_sideways() {
            too_wide.push(format!(
                "{page}: the page is {} px wide in a {} px window; sticking out: {}",
                w.scroll_width,
                w.client_width,
                w.overflowing.join(", ")
            ));
        }
        b.screenshot(&format!("{}-360", crate::tour::file_name(page))).await;
        blocking.extend(b.blocking_axe(page).await);
    })
    .await;
    b.close().await;
    server.stop().await;
    assert!(too_wide.is_empty(), "pages that scroll sideways at 360 px:\n{}", too_wide.join("\n"));
    assert!(blocking.is_empty(), "axe-core found serious or critical problems at 360 px:\n{}", blocking.join("\n"));
}

#[tokio::test]
async fn rooms_and_partner_pages_are_only_for_the_people_in_them() {
    let server = TestServer::spawn().await;
    let tour = tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;

    // Someone outside the couple finds nothing there, not even an attachment.
    b.sign_in(NIA, PASSWORD, "Nia").await;
    for path in [
        format!("/rooms/{}", tour.couple_room),
        format!("/rooms/{}/messages/{}/versions", tour.couple_room, tour.edited),
        format!("/rooms/{}/attachments/{}", tour.couple_room, tour.edited),
    ] {
        b.open(&path).await;
        b.wait_for_heading("Page not found").await;
    }
    // Omar's invitation isn't Nia's to accept.
    b.open(&format!("/couple/invitations/{}", tour.invitation)).await;
    b.wait_for_heading("This invitation is for someone else").await;
    b.open("/home").await;
    b.sign_out().await;

    // A partner can't correct the other's message; a therapist has no Partner page.
    b.sign_in(JORDAN, PASSWORD, "Jordan").await;
    b.open(&format!("/rooms/{}/messages/{}/edit", tour.couple_room, tour.edited)).await;
    b.wait_for_heading("Page not found").await;
    b.open(&format!("/rooms/{}", tour.private_room)).await;
    b.wait_for_heading("Page not found").await;
    b.open("/home").await;
    b.sign_out().await;

    b.sign_in(THERAPIST, PASSWORD, THERAPIST_NAME).await;
    assert!(b.client.find(Locator::XPath("//header//a[normalize-space()='Partner']")).await.is_err());
    b.open("/couple").await;
    b.wait_for_heading("Page not found").await;

    b.close().await;
    server.stop().await;
}

// ---- forms over plain HTTP: CSRF, the cookie-only attachment route, JSON for room.js ----

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap_or_else(|| panic!("no csrf field on the page:\n{html}")) + marker.len();
    let end = html[start..].find('"').expect("end of csrf value") + start;
    html[start..end].to_owned()
}

/// A cookie-keeping HTTP client signed in through the form, and its form token.
pub(crate) async fn http_session(server: &TestServer, email: &str) -> (reqwest::Client, String) {
    let client = crate::common::browser_like_client();
    let page = client.get(server.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let response = client
        .post(server.url("/sign-in"))
        .form(&[("csrf", csrf_in(&page).as_str()), ("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "signed in");
    let home = client.get(server.url("/home")).send().await.unwrap().text().await.unwrap();
    let token = csrf_in(&home);
    (client, token)
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "rapport-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn room_and_partner_forms_need_this_browsers_token() {
    use reqwest::StatusCode;
    let server = TestServer::spawn().await;
    couple_world(&server).await;
    let room = room_of(&server, JORDAN, RoomKind::Couple).await;
    let (jordan, token) = http_session(&server, JORDAN).await;
    let (_, alex_token) = http_session(&server, ALEX).await;
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let jordan = jordan.clone();
        let url = server.url(&path);
        async move { jordan.post(url).form(&fields).send().await.unwrap() }
    };

    // Every room and partner form refuses a missing or someone else's token, and stores nothing.
    let forms: Vec<(String, Vec<(&'static str, String)>)> = vec![
        (format!("/rooms/{room}/messages"), vec![("body", "hello".into())]),
        (format!("/rooms/{room}/read"), vec![("message", MessageId::new().to_string())]),
        ("/couple/policy".into(), vec![("policy", "no_secrets".into())]),
        ("/couple/invitations".into(), vec![("email", "someone@example.com".into())]),
        ("/couple/unlink".into(), vec![]),
        ("/settings/notifications".into(), vec![("email_mode", "off".into())]),
    ];
    for (path, fields) in &forms {
        for bad in ["", alex_token.as_str()] {
            let mut with = fields.clone();
            with.push(("csrf", bad.to_owned()));
            let response = post(path.clone(), with).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path} with token {bad:?}");
        }
    }
    let who = login(&server, JORDAN).await;
    assert!(server.app.room_messages(&who, room, None, None, 50, &Default::default()).await.unwrap().is_empty());
    assert!(server.app.my_couple(&who).await.unwrap().is_some(), "still linked");

    // A page on another site can't post with the right token either.
    let response = jordan
        .post(server.url(&format!("/rooms/{room}/messages")))
        .header("origin", "https://evil.example")
        .form(&[("csrf", token.as_str()), ("body", "hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The attachment form (multipart) checks the token too.
    let (content_type, body) = multipart(&[("csrf", &alex_token)], Some(("walk.png", &png())));
    let response = jordan
        .post(server.url(&format!("/rooms/{room}/attachments")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "someone else's token on an upload");

    // With the right token: a form post lands back in the room at the message…
    let response =
        post(format!("/rooms/{room}/messages"), vec![("csrf", token.clone()), ("body", "hello".into())]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("/rooms/{room}#m-")), "{to}");

    // …room.js gets JSON, with the browser's own attachment address…
    let (content_type, body) = multipart(&[("csrf", &token), ("body", "our walk")], Some(("walk.png", &png())));
    let response = jordan
        .post(server.url(&format!("/rooms/{room}/attachments")))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let sent: Value = response.json().await.unwrap();
    let url = sent["message"]["attachment"]["url"].as_str().expect("an attachment url").to_owned();
    assert!(url.starts_with(&format!("/rooms/{room}/attachments/")), "{url}");
    assert_eq!(sent["message"]["body"], "our walk");

    // …and the attachment is served to members by cookie, with its sniffed type, to nobody else.
    let response = jordan.get(server.url(&url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(response.bytes().await.unwrap().as_ref(), png().as_slice());
    let stranger = crate::common::api_client().get(server.url(&url)).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER, "signed out: to the sign-in page");

    // Recordings may be larger than other forms (here 3 MB).
    let mut long = wav();
    long.resize(3 * 1024 * 1024, 128);
    let (content_type, body) = multipart(&[("csrf", &token)], Some(("voice-message.wav", &long)));
    let response = jordan
        .post(server.url(&format!("/rooms/{room}/attachments")))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "a 3 MB voice message is accepted");

    // A bad type is explained, in JSON for room.js.
    let (content_type, body) = multipart(&[("csrf", &token)], Some(("run.exe", b"MZ\x90\0 not a picture")));
    let response = jordan
        .post(server.url(&format!("/rooms/{room}/attachments")))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("can't be attached"), "{error}");

    // Sign-in only follows local paths afterwards.
    let client = crate::common::browser_like_client();
    let page = client.get(server.url("/sign-in?next=//evil.example/")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("evil.example"), "a foreign next is dropped");
    let response = client
        .post(server.url("/sign-in"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("email", JORDAN),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/home");

    server.stop().await;
}

// ---- a room as a chat: where it opens, the way back, a session that ended ----------

/// JavaScript that is true when the element `css` is wholly on screen.
fn in_view(css: &str) -> String {
    let css = serde_json::to_string(css).expect("selector");
    format!(
        "(() => {{ const e = document.querySelector({css}); if (!e) return false; \
         const r = e.getBoundingClientRect(); return r.top >= -1 && r.bottom <= window.innerHeight + 1; }})()"
    )
}

/// Waits (up to ten seconds) until the JavaScript `condition` holds on the page.
async fn wait_until(b: &Browser, what: &str, condition: &str) {
    for _ in 0..100 {
        if b.run_script(&format!("return Boolean({condition});")).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: still not so after ten seconds\n{}", b.describe_page().await);
}

fn phone_390() -> BrowserOptions {
    BrowserOptions { width: 390, height: 844, phone: true, ..BrowserOptions::default() }
}

#[tokio::test]
async fn a_long_room_opens_at_the_newest_message_and_offers_the_way_back_after_scrolling_up() {
    let server = TestServer::spawn().await;
    couple_world(&server).await;
    let room = room_of(&server, JORDAN, RoomKind::Couple).await;
    let mut newest = None;
    for n in 1..=30 {
        let who = [JORDAN, ALEX, THERAPIST][n % 3];
        let text =
            format!("Message {n}: how the week went, in a few sentences, so that thirty fill more than a screen.");
        newest = Some(say(&server, who, room, &text).await);
    }
    let newest = newest.expect("a newest message");
    // Jordan has read everything, so the room opens at the newest message.
    server.app.mark_read_upto(&login(&server, JORDAN).await, room, newest).await.expect("read");

    let desktop = BrowserOptions { width: 1366, height: 900, ..BrowserOptions::default() };
    for (options, size) in [(phone_390(), "390 px"), (desktop, "1366 px")] {
        let b = Browser::start(&server.base, options).await;
        b.sign_in(JORDAN, PASSWORD, "Jordan").await;
        b.open(&format!("/rooms/{room}")).await;
        live(&b).await;
        let at_newest = format!("{} && {}", in_view(&format!("#m-{newest}")), in_view("#body"));
        wait_until(&b, &format!("{size}: the newest message and the message box in view"), &at_newest).await;
        assert_eq!(b.run_script("return document.getElementById('jump-newest').hidden;").await, Value::Bool(true));

        // Scrolling up to read older messages brings the way back.
        b.run_script("window.scrollTo(0, 0);").await;
        wait_until(&b, &format!("{size}: jump to newest shown"), "!document.getElementById('jump-newest').hidden")
            .await;
        let blocking = b.blocking_axe(&format!("room scrolled up at {size}")).await;
        assert!(blocking.is_empty(), "{}", blocking.join("\n"));
        // A message arriving meanwhile is counted on it, and the page stays where the reader is.
        let arrived = say(&server, ALEX, room, "Are you both free on Thursday?").await;
        wait_for_message(&b, "Are you both free on Thursday?").await;
        wait_until(
            &b,
            "one new message counted",
            "document.getElementById('jump-newest').textContent.includes('1 new')",
        )
        .await;
        assert_eq!(b.run_script("return window.scrollY;").await, serde_json::json!(0), "{size}: not moved");
        b.screenshot(&format!("room-scrolled-up-{}", options.width)).await;

        b.find("#jump-newest").await.click().await.expect("press Jump to newest");
        let back = format!("{} && {}", in_view(&format!("#m-{arrived}")), in_view("#body"));
        wait_until(&b, &format!("{size}: back at the newest message"), &back).await;
        wait_until(&b, "the control is gone", "document.getElementById('jump-newest').hidden").await;
        assert_eq!(b.run_script("return document.activeElement.id;").await, Value::String("body".into()));
        b.close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_tab_whose_session_ended_elsewhere_says_signed_out_and_keeps_the_draft() {
    let server = TestServer::spawn().await;
    couple_world(&server).await;
    let room = room_of(&server, JORDAN, RoomKind::Couple).await;
    say(&server, THERAPIST, room, "How did the talk go?").await;

    let b = Browser::start(&server.base, phone_390()).await;
    b.sign_in(JORDAN, PASSWORD, "Jordan").await;
    b.open(&format!("/rooms/{room}")).await;
    live(&b).await;
    let draft = "It went better than last time. We both listened.";
    b.fill("#body", draft).await;

    // Jordan signs out everywhere else from another device: this tab's session ends.
    let elsewhere = login(&server, JORDAN).await;
    server.app.sign_out_other_sessions(&elsewhere, &Default::default()).await.expect("sign out elsewhere");
    b.press("Send").await;
    let banner = b.wait_for(Locator::Css("#signed-out")).await.text().await.expect("banner text");
    assert!(banner.contains("You're signed out") && banner.contains("Sign in again"), "{banner}");
    let page = b.main_text().await;
    assert!(!page.contains("offline") && !page.contains("Reconnecting"), "never 'offline': {page}");
    assert_eq!(b.run_script("return document.getElementById('body').value;").await, Value::String(draft.into()));
    let blocking = b.blocking_axe("room after the session ended").await;
    assert!(blocking.is_empty(), "{}", blocking.join("\n"));
    b.screenshot("room-signed-out-390").await;

    // Signing in again comes back to the room with the draft in the box.
    b.follow_link("#signed-out", "Sign in again").await;
    sign_in_here(&b, JORDAN).await;
    b.wait_for(Locator::Css("#room")).await;
    assert_eq!(b.path().await, format!("/rooms/{room}"));
    wait_until(
        &b,
        "the draft is back",
        &format!("document.getElementById('body').value === {}", serde_json::to_string(draft).unwrap()),
    )
    .await;
    live(&b).await;
    b.press("Send").await;
    wait_for_message(&b, draft).await;
    // Sent, so no longer kept.
    b.open(&format!("/rooms/{room}")).await;
    live(&b).await;
    assert_eq!(b.run_script("return document.getElementById('body').value;").await, Value::String(String::new()));
    b.close().await;
    server.stop().await;
}
