//! The therapist network in a real browser: a therapist applies, an admin
//! checks the licences, a client does intake (privacy first), sees
//! explained matches and chooses one. `matching_pages` audits each of
//! these pages, in every state, at 1280 px and 360 px.

use crate::common::TestServer;
use crate::harness::{Browser, BrowserOptions};
use chrono::{Duration, NaiveDate, Utc};
use fantoccini::Locator;
use rapport_app::SignUp;
use rapport_domain::Role;

pub const PASSWORD: &str = "slow mornings and warm tea";

pub const ADMIN: &str = "admin@example.com";
const THERAPIST: &str = "dana.whitfield@example.com";
const THERAPIST_NAME: &str = "Dr. Dana Whitfield, LMFT";
const CLIENT: &str = "maya@example.com";

// ---- acting like a person -------------------------------------------------

/// Ticks a checkbox or radio button.
pub async fn tick(b: &Browser, css: &str) {
    let input = b.find(css).await;
    if !input.is_selected().await.expect("selected?") {
        input.click().await.unwrap_or_else(|e| panic!("tick {css}: {e}"));
    }
}

async fn choose(b: &Browser, css: &str, value: &str) {
    b.find(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("choose {value} in {css}: {e}"));
}

/// Types a date into `<input type=date>` as a person in the US would (month, day, year).
async fn type_date(b: &Browser, css: &str, date: NaiveDate) {
    let input = b.find(css).await;
    input.send_keys(&date.format("%m%d%Y").to_string()).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    let value = input.prop("value").await.expect("value");
    assert_eq!(
        value.as_deref(),
        Some(date.to_string().as_str()),
        "the date in {css} (the browser should run in en-US)"
    );
}

/// Types a 24-hour time (`17:30`) into `<input type=time>` as a person in the US would.
async fn type_time(b: &Browser, css: &str, time: &str) {
    let (h, m) = time.split_once(':').expect("HH:MM");
    let h: u32 = h.parse().expect("hour");
    let keys = format!("{:02}{m}{}", if h.is_multiple_of(12) { 12 } else { h % 12 }, if h < 12 { "AM" } else { "PM" });
    let input = b.find(css).await;
    input.send_keys(&keys).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    assert_eq!(input.prop("value").await.expect("value").as_deref(), Some(time), "the time in {css}");
}

async fn value(b: &Browser, css: &str) -> String {
    b.find(css).await.prop("value").await.expect("value").unwrap_or_default()
}

async fn sign_up(b: &Browser, name: &str, email: &str) {
    b.open("/sign-up").await;
    b.wait_for_heading("Create your account").await;
    b.fill("#display_name", name).await;
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.press("Create account").await;
    let first = name.split_whitespace().next().expect("a name");
    b.wait_for_heading(&format!("Hello, {first}")).await;
}

pub fn in_two_years() -> NaiveDate {
    Utc::now().date_naive() + Duration::days(730)
}

// ---- the journey ----------------------------------------------------------

/// The whole way from a therapist's application to a client's first choice,
/// with JavaScript off: every form here must work without it.
#[tokio::test]
async fn a_therapist_is_verified_then_matched_and_chosen() {
    let server = TestServer::spawn().await;
    server
        .app
        .create_account(
            SignUp {
                email: ADMIN.into(),
                password: PASSWORD.into(),
                display_name: "Ada Admin".into(),
                time_zone: "Europe/London".into(),
            },
            Role::Admin,
            &Default::default(),
        )
        .await
        .expect("create the admin");
    let b = Browser::start(&server.base, BrowserOptions::without_javascript()).await;

    // A therapist signs up and finds the way to apply.
    sign_up(&b, "Dana Whitfield", THERAPIST).await;
    b.follow_link("main", "Apply to join").await;
    b.wait_for_heading("Join Rapport as a therapist").await;
    assert_eq!(value(&b, "#languages").await, "en", "English is filled in to start with");
    assert!(b.find("#accepting_new_clients").await.is_selected().await.unwrap(), "accepting is ticked to start");

    b.fill("#professional_name", THERAPIST_NAME).await;
    b.fill("#pronouns", "she/her").await;
    choose(&b, "#gender", "woman").await;
    b.fill("#bio", "I help couples who feel far apart find their way back to each other.").await;
    choose(&b, "#licenses-0-type", "lmft").await;
    b.fill("#licenses-0-number", "123456").await;
    b.fill("#licenses-0-jurisdiction", "California").await; // a name, not a code: explained below
    type_date(&b, "#licenses-0-expires_on", in_two_years()).await;
    b.fill("#licenses-1-number", "PSY 998").await; // a half-filled second licence
    for s in ["couples", "emotional_distance", "communication"] {
        tick(&b, &format!("#specialties-{s}")).await;
    }
    tick(&b, "#approaches-emotionally_focused").await;
    tick(&b, "#modalities-video").await;
    tick(&b, "#modalities-messaging").await;
    b.fill("#languages", "en, es").await;
    tick(&b, "#works_with_couples").await;
    b.find("#time_zone").await.select_by_value("America/Los_Angeles").await.expect("choose a time zone");
    choose(&b, "#weekly_availability-0-weekday", "mon").await;
    type_time(&b, "#weekly_availability-0-start", "17:00").await;
    type_time(&b, "#weekly_availability-0-end", "21:00").await;
    // Row 3 (row 2 left empty): its errors must land on row 3.
    choose(&b, "#weekly_availability-2-weekday", "sat").await;
    type_time(&b, "#weekly_availability-2-start", "12:00").await;
    type_time(&b, "#weekly_availability-2-end", "09:00").await;
    b.fill("#capacity", "12").await;
    b.press("Send application").await;

    // Each mistake is explained next to its field, and what was typed is kept.
    let jurisdiction = b.wait_for(Locator::Css("#licenses-0-jurisdiction-error")).await;
    assert!(
        jurisdiction.text().await.unwrap().contains("is not a jurisdiction code"),
        "{}",
        jurisdiction.text().await.unwrap()
    );
    let field = b.find("#licenses-0-jurisdiction").await;
    assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(
        field.attr("aria-describedby").await.unwrap().as_deref(),
        Some("licenses-0-jurisdiction-hint licenses-0-jurisdiction-error")
    );
    assert_eq!(b.text("#licenses-1-type-error").await, "Please choose the type of licence.");
    assert_eq!(b.text("#weekly_availability-2-error").await, "A window must end after it starts.");
    assert!(b.client.find(Locator::Css("#weekly_availability-1-error")).await.is_err(), "the empty row is ignored");
    let summary = b.text(".error-summary").await;
    assert!(summary.contains("Licence 1, where it's valid"), "summary: {summary}");
    assert_eq!(value(&b, "#professional_name").await, THERAPIST_NAME);
    assert_eq!(value(&b, "#licenses-0-expires_on").await, in_two_years().to_string());
    assert!(b.find("#specialties-communication").await.is_selected().await.unwrap());
    assert_eq!(b.find("#time_zone").await.prop("value").await.unwrap().as_deref(), Some("America/Los_Angeles"));

    // Put it right and send it again.
    b.fill("#licenses-0-jurisdiction", "US-CA").await;
    b.fill("#licenses-1-number", "").await;
    choose(&b, "#weekly_availability-2-weekday", "").await;
    b.fill("#weekly_availability-2-start", "").await;
    b.fill("#weekly_availability-2-end", "").await;
    b.press("Send application").await;
    b.wait_for_notice("Your application is saved").await;
    b.wait_for_heading("Your therapist profile").await;
    assert!(b.text(".standing").await.contains("We're checking your licences"));
    assert_eq!(value(&b, "#licenses-0-jurisdiction").await, "US-CA", "the form shows what was saved");
    assert_eq!(value(&b, "#weekly_availability-0-end").await, "21:00");
    assert_eq!(value(&b, "#languages").await, "en, es");
    b.sign_out().await;

    // The admin finds the application in the queue and approves it.
    b.sign_in(ADMIN, PASSWORD, "Ada").await;
    assert!(b.main_text().await.contains("1 application is waiting for a licence check."));
    b.follow_link("main", "Review applications").await;
    b.wait_for_heading("Therapist applications").await;
    let queue = b.text("main .queue").await;
    assert!(queue.contains("LMFT 123456, California (US-CA), valid until"), "queue: {queue}");
    b.follow_link("main .queue", THERAPIST_NAME).await;
    b.wait_for_heading(THERAPIST_NAME).await;
    let review = b.main_text().await;
    assert!(review.contains("California (US-CA)") && review.contains("Spanish (es)"), "review page: {review}");
    b.fill("#approve-checked", "CA BBS licence lookup: name, number and expiry match.").await;
    b.press(&format!("Approve {THERAPIST_NAME}")).await;
    b.wait_for_notice("Approved.").await;
    b.wait_for_heading("Therapist applications").await;
    assert!(b.main_text().await.contains("Nothing is waiting for review right now."));
    b.sign_out().await;

    // A client signs up, and meets the privacy notice before any question.
    sign_up(&b, "Maya Rivera", CLIENT).await;
    b.follow_link("main", "Find a therapist").await;
    b.wait_for_heading("Before we begin").await;
    assert_eq!(b.path().await, "/intake");
    let notice = b.main_text().await;
    assert!(notice.contains("Never your partner"), "consent page: {notice}");
    assert!(notice.contains("never sell your answers or share them for advertising"), "consent page: {notice}");
    b.find_link("main", "privacy notice").await;
    // The questions can't be reached around the notice.
    b.open("/intake/questions").await;
    b.wait_for_heading("Before we begin").await;
    b.press("I agree, continue").await;
    b.wait_for_heading("A few questions").await;

    tick(&b, "#kind-individual").await;
    tick(&b, "#concerns-less_communication").await;
    tick(&b, "#concerns-less_affection").await;
    b.fill("#note", "We've stopped really talking since the baby came.").await;
    b.fill("#jurisdiction", "California, United States").await;
    assert!(
        b.client.find(Locator::Css("#places option[value='California, United States']")).await.is_ok(),
        "chosen from the list"
    );
    assert_eq!(b.find("#languages-en").await.prop("checked").await.unwrap().as_deref(), Some("true"));
    b.fill("#other_languages", "Spanish").await;
    tick(&b, "#modalities-video").await;
    choose(&b, "#preferences-therapist_gender", "woman").await;
    let safety = b.text("#safety-heading + p").await;
    assert!(safety.contains("never shown to a partner"), "safety words: {safety}");
    tick(&b, "#immediate_risk-no").await;
    b.press("See my matches").await;

    // Explained matches, kindly scored.
    b.wait_for_heading("Your matches").await;
    let card = b.text("main .match-list li").await;
    assert!(card.contains(THERAPIST_NAME), "match card: {card}");
    assert!(card.contains("Strong fit"), "match card: {card}");
    let reasons = b.text("main .match-list li .reasons").await;
    for reason in ["Licensed in California", "Offers video"] {
        assert!(reasons.contains(reason), "reasons: {reasons}");
    }
    assert!(b.client.find(Locator::Css("main input[name=sees_history]")).await.is_err(), "nobody to carry over from");
    b.press(&format!("Choose {THERAPIST_NAME}")).await;
    b.wait_for_notice("Your choice is saved").await;
    b.wait_for_heading("Hello, Maya").await;
    assert_eq!(b.text(".your-therapist").await, format!("Your therapist: {THERAPIST_NAME}"));
    b.sign_out().await;

    // The therapist sees their new client.
    b.sign_in(THERAPIST, PASSWORD, THERAPIST_NAME).await;
    let home = b.text("main").await;
    assert!(home.contains("Your clients"), "therapist's home: {home}");
    assert_eq!(b.text("main .client-list").await, "Maya Rivera");
    assert!(!home.contains("Apply to join"), "a therapist isn't invited to apply: {home}");

    b.close().await;
    server.stop().await;
}
