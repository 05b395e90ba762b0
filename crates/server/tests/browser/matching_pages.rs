//! Every page of the therapist network, in each of its states (empty,
//! filled, showing mistakes, with and without matches), audited with
//! axe-core at 1280 px and measured at 360 px; and who may open which.

use crate::common::TestServer;
use crate::harness::{Browser, BrowserOptions};
use crate::matching::{in_two_years, tick, ADMIN, PASSWORD};
use fantoccini::Locator;
use rapport_app::{Authenticated, IntakeInput, LicenseInput, SignUp, TherapistApplication, WindowInput};
use rapport_domain::{AccountId, Role};
use rapport_store::SessionKind;

// ---- the people the page tour needs, made through the use cases ----------

pub async fn person(server: &TestServer, email: &str, name: &str, role: Role) -> Authenticated {
    let sign_up = SignUp {
        email: email.into(),
        password: PASSWORD.into(),
        display_name: name.into(),
        time_zone: "America/Los_Angeles".into(),
    };
    server.app.create_account(sign_up, role, &Default::default()).await.expect("create account");
    let signed_in = server.app.sign_in(email, PASSWORD, SessionKind::Api, &Default::default()).await.expect("sign in");
    server.app.authenticate(signed_in.token.expose()).await.expect("authenticate")
}

fn application(name: &str, jurisdiction: &str) -> TherapistApplication {
    TherapistApplication {
        professional_name: name.into(),
        pronouns: None,
        gender: Some("man".into()),
        bio: "Twenty years of helping couples talk again.".into(),
        licenses: vec![LicenseInput {
            license_type: "lpc".into(),
            number: format!("LPC-{}", name.len()),
            jurisdiction: jurisdiction.into(),
            expires_on: in_two_years().to_string(),
        }],
        specialties: vec!["couples".into(), "conflict".into()],
        approaches: vec!["gottman_method".into()],
        languages: vec!["en".into()],
        modalities: vec!["video".into(), "chat".into()],
        works_with_couples: true,
        time_zone: "America/Los_Angeles".into(),
        weekly_availability: vec![WindowInput { weekday: "tue".into(), start: "09:00".into(), end: "13:00".into() }],
        capacity: 20,
        accepting_new_clients: true,
    }
}

/// Applies for `who`, and has the admin decide when `decision` says so.
pub async fn applied(
    server: &TestServer,
    admin: &Authenticated,
    who: &Authenticated,
    name: &str,
    decision: Option<bool>,
) -> AccountId {
    let ctx = Default::default();
    let profile = server.app.apply_as_therapist(who, application(name, "US-CA"), &ctx).await.expect("apply");
    if let Some(approve) = decision {
        let notes = if approve { "" } else { "The licence number doesn't match the board's record. Please check it." };
        server
            .app
            .decide_therapist_application(admin, profile.account_id, approve, "CA BBS lookup", notes, &ctx)
            .await
            .expect("decide");
    }
    profile.account_id
}

const TOUR_CLIENT: &str = "sam.okafor@example.com";

/// Two approved therapists, one waiting for review and one declined; an
/// admin; and a client who has not done intake yet.
async fn tour_world(server: &TestServer) {
    let admin = person(server, ADMIN, "Ada Admin", Role::Admin).await;
    for (email, person_name, name) in [
        ("lena@example.com", "Lena Park", "Dr. Lena Park, PhD"),
        ("omar@example.com", "Omar Haddad", "Omar Haddad, LPC"),
    ] {
        let t = person(server, email, person_name, Role::Client).await;
        applied(server, &admin, &t, name, Some(true)).await;
    }
    let waiting = person(server, "june@example.com", "June Ito", Role::Client).await;
    applied(server, &admin, &waiting, "June Ito, LCSW", None).await;
    let declined = person(server, "ray@example.com", "Ray Cole", Role::Client).await;
    applied(server, &admin, &declined, "Ray Cole, LMHC", Some(false)).await;
    person(server, TOUR_CLIENT, "Sam Okafor", Role::Client).await;
}

/// Answers the intake questions through the app, for the stops that need
/// them but aren't about the questions themselves.
async fn intake_at(server: &TestServer, jurisdiction: &str) {
    let signed_in =
        server.app.sign_in(TOUR_CLIENT, PASSWORD, SessionKind::Api, &Default::default()).await.expect("sign in");
    let who = server.app.authenticate(signed_in.token.expose()).await.expect("authenticate");
    let input = IntakeInput {
        kind: "individual".into(),
        privacy_consent: Some(true),
        jurisdiction: jurisdiction.into(),
        languages: vec!["en".into()],
        concerns: vec!["same_fight".into()],
        ..IntakeInput::default()
    };
    server.app.submit_intake(&who, input, &Default::default()).await.expect("intake");
}

/// Brings the browser to every new page, in each of its states, and calls
/// `at(page name)` there.
async fn every_new_page(server: &TestServer, b: &Browser, mut at: impl AsyncFnMut(&str)) {
    b.sign_in(TOUR_CLIENT, PASSWORD, "Sam").await;
    at("client home before intake").await;

    b.open("/matches").await;
    b.wait_for_heading("Your matches").await;
    b.find_link("main", "Answer the questions").await;
    at("matches before intake").await;

    b.open("/therapist/apply").await;
    b.wait_for_heading("Join Rapport as a therapist").await;
    at("therapist application").await;

    b.fill("#professional_name", "").await;
    b.fill("#licenses-0-jurisdiction", "XX").await;
    b.fill("#capacity", "0").await;
    b.press("Send application").await;
    b.wait_for(Locator::Css(".error-summary")).await;
    at("therapist application showing mistakes").await;

    b.open("/intake").await;
    b.wait_for_heading("Before we begin").await;
    at("intake privacy notice").await;

    b.press("I agree, continue").await;
    b.wait_for_heading("A few questions").await;
    at("intake questions").await;

    tick(b, "#languages-en").await; // unticks English: no language at all
    b.fill("#jurisdiction", "Atlantis").await;
    b.press("See my matches").await;
    b.wait_for(Locator::Css(".error-summary")).await;
    at("intake questions showing mistakes").await;

    b.open("/intake/questions?consent=yes").await;
    b.wait_for_heading("A few questions").await;
    tick(b, "#kind-couple").await;
    b.fill("#jurisdiction", "California, United States").await;
    tick(b, "#immediate_risk-yes").await;
    tick(b, "#relationship_safety-yes").await;
    b.press("See my matches").await;
    b.wait_for_heading("Thank you for telling us").await;
    let text = b.main_text().await;
    assert!(text.contains("Call or text 988"), "crisis lines: {text}");
    assert!(text.contains("individual support"), "individual support offered: {text}");
    at("intake safety resources").await;

    b.follow_link("main", "Continue to your matches").await;
    b.wait_for_heading("Your matches").await;
    b.wait_for(Locator::Css(".match-list")).await;
    at("matches").await;

    // Changing the answers skips the notice accepted before and shows them filled in.
    b.follow_link("main", "change your answers").await;
    b.wait_for_heading("Your answers").await;
    assert_eq!(b.path().await, "/intake/questions");
    let place = b.find("#jurisdiction").await.prop("value").await.unwrap();
    assert_eq!(place.as_deref(), Some("California, United States"));
    at("intake questions with earlier answers").await;
    b.open("/matches").await;
    b.wait_for_heading("Your matches").await;

    b.press("Choose Dr. Lena Park, PhD").await;
    b.wait_for_heading("Hello, Sam").await;
    at("client home with a therapist").await;

    b.open("/matches").await;
    b.wait_for_heading("Your matches").await;
    b.wait_for(Locator::Css("main input[name=sees_history]")).await;
    at("matches when switching").await;

    intake_at(server, "NZ").await;
    b.open("/matches").await;
    b.wait_for_heading("Your matches").await;
    b.wait_for(Locator::Css("main .hints")).await;
    let hints = b.text("main .hints").await;
    assert!(hints.contains("No therapist on Rapport is licensed in New Zealand yet."), "{hints}");
    at("matches without results").await;
    b.sign_out().await;

    b.sign_in("june@example.com", PASSWORD, "June").await;
    at("applicant's home").await;
    b.open("/therapist/apply").await;
    b.wait_for_heading("Your therapist profile").await;
    at("application waiting for review").await;
    b.sign_out().await;

    b.sign_in("ray@example.com", PASSWORD, "Ray").await;
    b.open("/therapist/apply").await;
    b.wait_for_heading("Your therapist profile").await;
    assert!(b.text(".admin-note").await.contains("doesn't match the board's record"));
    at("declined application").await;
    b.sign_out().await;

    b.sign_in("lena@example.com", PASSWORD, "Dr. Lena Park, PhD").await;
    at("therapist home with a client").await;
    b.sign_out().await;

    b.sign_in(ADMIN, PASSWORD, "Ada").await;
    at("admin home").await;
    b.open("/admin/therapists").await;
    b.wait_for_heading("Therapist applications").await;
    at("verification queue").await;
    b.follow_link("main .queue", "June Ito, LCSW").await;
    b.wait_for_heading("June Ito, LCSW").await;
    at("application review").await;
    b.press("Decline the application").await;
    b.wait_for(Locator::Css("#reject-reason-error")).await;
    at("application review showing a mistake").await;
}

#[tokio::test]
async fn every_new_page_passes_an_axe_core_audit() {
    let server = TestServer::spawn().await;
    tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;
    let mut blocking = Vec::new();
    every_new_page(&server, &b, async |page: &str| {
        b.screenshot(&format!("{}-1280", crate::tour::file_name(page))).await;
        blocking.extend(b.blocking_axe(page).await);
    })
    .await;
    b.close().await;
    server.stop().await;
    assert!(blocking.is_empty(), "axe-core found serious or critical problems:\n{}", blocking.join("\n"));
}

#[tokio::test]
async fn every_new_page_fits_a_small_phone() {
    let server = TestServer::spawn().await;
    tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::phone()).await;
    let mut too_wide = Vec::new();
    let mut blocking = Vec::new();
    every_new_page(&server, &b, async |page: &str| {
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
async fn only_admins_see_the_verification_queue_and_only_clients_do_intake() {
    let server = TestServer::spawn().await;
    tour_world(&server).await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;

    b.sign_in(TOUR_CLIENT, PASSWORD, "Sam").await;
    for path in ["/admin/therapists", "/admin/therapists/0190a000-0000-7000-8000-000000000000"] {
        b.open(path).await;
        b.wait_for_heading("Page not found").await;
    }
    b.open("/home").await;
    b.sign_out().await;

    b.sign_in("lena@example.com", PASSWORD, "Dr. Lena Park, PhD").await;
    for path in ["/admin/therapists", "/intake", "/intake/questions?consent=yes", "/matches"] {
        b.open(path).await;
        b.wait_for_heading("Page not found").await;
    }
    b.open("/home").await;
    b.sign_out().await;

    b.sign_in(ADMIN, PASSWORD, "Ada").await;
    assert!(!b.main_text().await.contains("Apply to join"), "admins aren't invited to apply");
    b.open("/intake").await;
    b.wait_for_heading("Page not found").await;

    b.close().await;
    server.stop().await;
}
