//! Where trust is decided, in a real browser at phone and desktop widths: a
//! forgotten password reset from the emailed link, and a therapist reading a
//! client's intake while the client sees that access in their audit trail.

use crate::common::{wait_for_mails, TestServer};
use crate::harness::{Browser, BrowserOptions};
use crate::matching::PASSWORD;
use crate::matching_pages::{applied, person};
use fantoccini::Locator;
use rapport_app::IntakeInput;
use rapport_domain::Role;

const NEW_PASSWORD: &str = "evening light over the bay";

fn phone() -> BrowserOptions {
    BrowserOptions { width: 390, height: 844, ..BrowserOptions::phone() }
}

fn desktop() -> BrowserOptions {
    BrowserOptions { width: 1366, height: 900, ..BrowserOptions::default() }
}

/// Asserts the page has no serious accessibility problem and no sideways scrolling.
async fn looks_right(b: &Browser, page: &str) {
    let blocking = b.blocking_axe(page).await;
    assert!(blocking.is_empty(), "axe-core found serious or critical problems:\n{}", blocking.join("\n"));
    let width = b.width().await;
    assert!(!width.scrolls_sideways(), "{page} scrolls sideways: {width:?}");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_emailed_link() {
    let server = TestServer::spawn().await;
    for (options, label) in [(phone(), "390"), (desktop(), "1366")] {
        let email = format!("noor.{label}@example.com");
        person(&server, &email, "Noor Haddad", Role::Client).await;
        let b = Browser::start(&server.base, options).await;

        b.open("/sign-in").await;
        b.wait_for_heading("Sign in").await;
        b.follow_link("main", "Forgot your password?").await;
        b.wait_for_heading("Forgot your password?").await;
        b.fill("#email", &email).await;
        b.press("Email me a link").await;
        b.wait_for(Locator::Css("#reset-sent")).await;
        assert!(b.main_text().await.contains(&format!("If an account uses {email}")));
        looks_right(&b, &format!("reset link sent at {label} px")).await;
        b.screenshot(&format!("reset-sent-{label}")).await;

        let mails = wait_for_mails(&server, &email, "/reset-password/", 1).await;
        let mail = mails.first().expect("the reset email is in the outbox");
        let start = mail.find("/reset-password/").expect("a link");
        let link = mail[start..].split_whitespace().next().expect("the link's path").to_owned();
        b.open(&link).await;
        b.wait_for_heading("Choose a new password").await;
        looks_right(&b, &format!("choose a new password at {label} px")).await;

        // A commonly used password: said next to the field, and the link still works.
        b.fill("#new_password", "1qaz2wsx3edc").await;
        b.press("Save my new password").await;
        b.wait_for(Locator::Css("#new_password-error")).await;
        b.fill("#new_password", NEW_PASSWORD).await;
        b.press("Save my new password").await;
        b.wait_for_notice("Your new password is saved").await;
        b.screenshot(&format!("reset-done-{label}")).await;

        // The old password no longer works; the new one does.
        b.fill("#email", &email).await;
        b.fill("#password", PASSWORD).await;
        b.press("Sign in").await;
        b.wait_for(Locator::Css("#sign-in-error")).await;
        b.sign_in(&email, NEW_PASSWORD, "Noor").await;

        // The used link says so, and offers a new one.
        b.sign_out().await;
        b.open(&link).await;
        b.wait_for_heading("Choose a new password").await;
        b.wait_for(Locator::Css("#reset-gone")).await;
        b.find_link("main", "Ask for a new link").await;
        b.close().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_therapist_reads_what_a_client_shared_and_the_client_sees_that_they_did() {
    let server = TestServer::spawn().await;
    let admin = person(&server, "ada@example.com", "Ada Admin", Role::Admin).await;
    let lena = person(&server, "lena@example.com", "Lena Park", Role::Client).await;
    let lena_id = applied(&server, &admin, &lena, "Dr. Lena Park, PhD", Some(true)).await;
    let sam = person(&server, "sam@example.com", "Sam Okafor", Role::Client).await;
    let intake = IntakeInput {
        kind: "individual".into(),
        privacy_consent: Some(true),
        jurisdiction: "US-CA".into(),
        languages: vec!["en".into()],
        concerns: vec!["same_fight".into()],
        note: "We keep having the same argument about money.".into(),
        goals: "To talk without it turning into a fight.".into(),
        ..IntakeInput::default()
    };
    server.app.submit_intake(&sam, intake, &Default::default()).await.expect("intake");
    server.app.choose_therapist(&sam, lena_id, false, None, &Default::default()).await.expect("choose");

    // The therapist, at a desk: the client is on their home page, and their page shows the intake.
    let desk = Browser::start(&server.base, desktop()).await;
    desk.sign_in("lena@example.com", PASSWORD, "Dr. Lena Park, PhD").await;
    desk.follow_link("main", "Sam Okafor").await;
    desk.wait_for_heading("Sam Okafor").await;
    let page = desk.main_text().await;
    assert!(page.contains("We keep having the same argument about money."), "{page}");
    assert!(page.contains("To talk without it turning into a fight."), "{page}");
    assert!(page.contains("No safety concerns were raised at intake."), "{page}");
    looks_right(&desk, "a client's intake at 1366 px").await;
    desk.screenshot("client-intake-1366").await;

    // The client, on a phone: the access is in their audit trail, by name, without the therapist's address.
    let client_phone = Browser::start(&server.base, phone()).await;
    client_phone.sign_in("sam@example.com", PASSWORD, "Sam").await;
    client_phone.open("/settings/access-log").await;
    client_phone.wait_for_heading("Who accessed my data").await;
    let log = client_phone.main_text().await;
    assert!(log.contains("Dr. Lena Park, PhD read your intake answers"), "{log}");
    assert_eq!(log.matches("read your intake answers").count(), 1, "{log}");
    looks_right(&client_phone, "who accessed my data at 390 px").await;
    client_phone.screenshot("access-log-390").await;

    // The same page on a phone for the therapist fits too.
    let therapist_phone = Browser::start(&server.base, phone()).await;
    therapist_phone.sign_in("lena@example.com", PASSWORD, "Dr. Lena Park, PhD").await;
    therapist_phone.follow_link("main", "Sam Okafor").await;
    therapist_phone.wait_for_heading("Sam Okafor").await;
    looks_right(&therapist_phone, "a client's intake at 390 px").await;
    therapist_phone.screenshot("client-intake-390").await;

    for b in [desk, client_phone, therapist_phone] {
        b.close().await;
    }
    server.stop().await;
}
