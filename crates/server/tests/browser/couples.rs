//! Consent and couples in a real browser, on a phone (390 px) and a laptop
//! (1366 px): the agreement form chooses nothing for anyone and explains a
//! save without a choice; a partner's proposal of a couple's therapist is
//! declined, asked again and accepted, each partner seeing it in words.

use crate::common::TestServer;
use crate::harness::{Browser, BrowserOptions};
use crate::matching::tick;
use crate::rooms::{account, approved_therapist, http_session, login, ALEX, JORDAN, PASSWORD, THERAPIST_NAME};
use fantoccini::Locator;
use rapport_app::IntakeInput;
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::Role;

/// How many agreement radio buttons are checked on the page.
async fn checked_policies(b: &Browser) -> u64 {
    let n = b.run_script("return document.querySelectorAll(\"input[name='policy']:checked\").length;").await;
    n.as_u64().expect("a count")
}

/// Fails on serious accessibility problems, and on a page wider than the window.
async fn looks_right(b: &Browser, page: &str) {
    let blocking = b.blocking_axe(page).await;
    assert!(blocking.is_empty(), "{}", blocking.join("\n"));
    let width = b.width().await;
    assert!(!width.scrolls_sideways(), "{page} scrolls sideways: {width:?}");
    b.screenshot(page).await;
}

async fn journey(options: BrowserOptions) {
    let server = TestServer::spawn().await;
    approved_therapist(&server).await;
    account(&server, ALEX, "Alex Rivera", Role::Client).await;
    account(&server, JORDAN, "Jordan Lee", Role::Client).await;
    // Alex invites Jordan without suggesting an agreement; Jordan accepts choosing limited secrets.
    let ctx = Default::default();
    let invite = server.app.invite_partner(&login(&server, ALEX).await, JORDAN, None, &ctx).await.expect("invite");
    let jordan_api = login(&server, JORDAN).await;
    server
        .app
        .accept_invitation(&jordan_api, invite.token.expose(), ConfidentialityPolicy::LimitedSecrets, &ctx)
        .await
        .expect("accept");

    // Alex's agreement form: nothing chosen, Jordan's proposal and Alex's own state in words.
    let alex = Browser::start(&server.base, options).await;
    alex.sign_in(ALEX, PASSWORD, "Alex").await;
    alex.open("/couple").await;
    alex.wait_for_heading("You and Jordan Lee").await;
    assert_eq!(checked_policies(&alex).await, 0, "no agreement is chosen for Alex");
    assert!(alex.text(".partner-proposal").await.contains("Jordan Lee proposed Limited secrets"));
    assert!(alex.text(".my-choice").await.contains("You haven't chosen yet"));
    looks_right(&alex, "agreement form, nothing chosen").await;

    // Saving without a choice explains itself and changes nothing.
    alex.press("Save my choice").await;
    let error = alex.wait_for(Locator::Css("#consent-error")).await;
    assert!(error.text().await.unwrap().contains("Please choose one of the two agreements"));
    assert_eq!(checked_policies(&alex).await, 0);
    assert!(alex.text(".policy-box").await.contains("Waiting for both of you"));
    looks_right(&alex, "agreement form, saved without a choice").await;

    // Alex chooses; the saved choice is shown in words, the form again chooses nothing.
    tick(&alex, "#consent-limited_secrets").await;
    alex.press("Save my choice").await;
    alex.wait_for_notice("Your choice is saved.").await;
    assert!(alex.text(".policy-box").await.contains("In force"));
    assert!(alex.text(".my-choice").await.contains("Your current choice: Limited secrets"));
    assert_eq!(checked_policies(&alex).await, 0, "the form is for a new choice");

    // Alex, with a couple intake, chooses the therapist from the matches page: a proposal to Jordan.
    let input = IntakeInput {
        kind: "couple".into(),
        privacy_consent: Some(true),
        jurisdiction: "US-CA".into(),
        languages: vec!["en".into()],
        concerns: vec!["less_communication".into()],
        ..IntakeInput::default()
    };
    server.app.submit_intake(&login(&server, ALEX).await, input, &ctx).await.expect("intake");
    alex.open("/matches").await;
    alex.wait_for_heading("Your matches").await;
    alex.press(&format!("Choose {THERAPIST_NAME}")).await;
    alex.wait_for_notice("We've asked your partner").await;
    assert!(alex.text(".proposal-state").await.contains("Waiting for Jordan Lee to agree"));
    looks_right(&alex, "partner page, waiting for the partner").await;

    // Jordan sees the therapist's card with the reasons, and declines.
    let jordan = Browser::start(&server.base, options).await;
    jordan.sign_in(JORDAN, PASSWORD, "Jordan").await;
    assert!(jordan.text(".care-proposal").await.contains("Alex Rivera suggested"), "told on the home page");
    jordan.open("/couple").await;
    jordan.wait_for_heading("You and Alex Rivera").await;
    let card = jordan.text(".proposal-card").await;
    for words in
        [THERAPIST_NAME, "IM", "LMFT", "California", "Emotionally Focused Therapy", "Specialises in couples therapy"]
    {
        assert!(card.contains(words), "the card shows {words:?}: {card}");
    }
    assert!(!card.contains("Works with"), "nothing from Alex's answers: {card}");
    looks_right(&jordan, "partner page, a therapist proposed").await;
    jordan.press("Decline").await;
    jordan.wait_for_notice("You've declined").await;
    jordan.open("/rooms").await;
    jordan.wait_for_heading("Messages").await;
    assert!(!jordan.main_text().await.contains("Together"), "no shared room after a decline");

    // Alex reads the decline in words, keeps the therapist one-to-one, and asks again.
    alex.open("/couple").await;
    let state = alex.text(".proposal-state").await;
    assert!(state.contains("Jordan Lee declined") && state.contains("on your own"), "{state}");
    alex.find_link("main", "choose someone else from your matches").await;
    looks_right(&alex, "partner page, the proposal declined").await;
    alex.press("Ask Jordan Lee again").await;
    alex.wait_for_notice("We've asked your partner").await;

    // This time Jordan accepts: the shared room and Jordan's private channel open.
    jordan.open("/couple").await;
    jordan.press(&format!("Accept {THERAPIST_NAME}")).await;
    jordan.wait_for_notice("You've agreed").await;
    assert!(jordan.text(".proposal-state").await.contains("You both agreed"));
    jordan.open("/rooms").await;
    jordan.wait_for_heading("Messages").await;
    let rooms = jordan.main_text().await;
    assert!(
        rooms.contains(&format!("You & Alex Rivera, with {THERAPIST_NAME}"))
            && rooms.contains(&format!("Private with {THERAPIST_NAME}")),
        "{rooms}"
    );
    jordan.open("/home").await;
    assert!(jordan.text(".your-therapist").await.contains(THERAPIST_NAME), "no 'find a therapist' for Jordan");

    let alex_api = login(&server, ALEX).await;
    let kinds: Vec<String> =
        server.app.my_rooms(&alex_api).await.expect("rooms").iter().map(|r| r.kind.as_str().to_owned()).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "private_channel").count(), 1, "{kinds:?}");
    alex.close().await;
    jordan.close().await;
    server.stop().await;
}

#[tokio::test]
async fn consent_and_a_couples_therapist_on_a_phone() {
    journey(BrowserOptions { width: 390, height: 844, phone: true, ..BrowserOptions::default() }).await;
}

#[tokio::test]
async fn consent_and_a_couples_therapist_on_a_laptop() {
    journey(BrowserOptions { width: 1366, height: 900, ..BrowserOptions::default() }).await;
}

/// The agreement radios on a page that are checked.
fn checked_radios(html: &str) -> usize {
    html.split("<input").filter(|i| i.contains("name=\"policy\"") && i.contains(" checked")).count()
}

#[tokio::test]
async fn saving_the_agreement_without_a_choice_is_a_form_error_that_changes_nothing() {
    let server = TestServer::spawn().await;
    account(&server, ALEX, "Alex Rivera", Role::Client).await;
    account(&server, JORDAN, "Jordan Lee", Role::Client).await;
    let ctx = Default::default();
    // Alex suggests limited secrets when inviting; Jordan's invitation page describes it, choosing nothing.
    let alex_api = login(&server, ALEX).await;
    let invite = server
        .app
        .invite_partner(&alex_api, JORDAN, Some(ConfidentialityPolicy::LimitedSecrets), &ctx)
        .await
        .expect("invite");
    let (jordan, _) = http_session(&server, JORDAN).await;
    let page = jordan
        .get(server.url(&format!("/couple/invitations/{}", invite.token.expose())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Alex Rivera suggested <strong>Limited secrets</strong>"), "{page}");
    assert_eq!(checked_radios(&page), 0, "nothing chosen for Jordan");
    let jordan_api = login(&server, JORDAN).await;
    server
        .app
        .accept_invitation(&jordan_api, invite.token.expose(), ConfidentialityPolicy::NoSecrets, &ctx)
        .await
        .expect("accept");

    // Alex saves the form without choosing: 422, the page again with the message, nothing saved.
    let (alex, csrf) = http_session(&server, ALEX).await;
    let page = alex.get(server.url("/couple")).send().await.unwrap().text().await.unwrap();
    assert_eq!(checked_radios(&page), 0, "nothing chosen for Alex");
    let response = alex.post(server.url("/couple/policy")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Please choose one of the two agreements."), "{page}");
    assert!(page.contains("Jordan Lee proposed <strong>No secrets</strong>"), "{page}");
    assert_eq!(checked_radios(&page), 0);
    let couple = server.app.my_couple(&alex_api).await.expect("couple").expect("linked");
    assert_eq!(couple.my_consent, None, "nothing saved");
    assert_eq!(couple.history.len(), 1, "only Jordan's consent");
    server.stop().await;
}
