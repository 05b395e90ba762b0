//! A person's account journeys in a real browser: signing up, out and in,
//! changing a password, all with JavaScript and without it.

use crate::common::TestServer;
use crate::harness::{Browser, BrowserOptions};
use fantoccini::Locator;

const OLD_PASSWORD: &str = "lanterns by the river at dusk";
const NEW_PASSWORD: &str = "a quieter morning walk together";

#[tokio::test]
async fn sign_up_sign_out_sign_in_and_change_password() {
    let server = TestServer::spawn().await;
    let b = Browser::start(&server.base, BrowserOptions::default()).await;

    // Sign up from the start page.
    b.open("/").await;
    b.wait_for_heading("When you feel far apart, you don't have to find the way back alone.").await;
    b.follow_link("main", "Create your account").await;
    b.wait_for_heading("Create your account").await;
    b.fill("#display_name", "Maya Rivera").await;
    b.fill("#email", "maya@example.com").await;
    b.fill("#password", OLD_PASSWORD).await;
    b.press("Create account").await;
    b.wait_for_heading("Hello, Maya").await;
    b.wait_for_notice("Welcome to Rapport. Your account is ready.").await;
    let home = b.main_text().await;
    assert!(home.contains("This is your space."), "home page: {home}");
    assert!(home.contains("You're here on your own for now."), "home page: {home}");
    let nav = b.text("header nav").await;
    assert!(nav.contains("Settings") && nav.contains("Sign out"), "signed-in navigation: {nav}");
    assert!(!nav.contains("Sign in"), "signed-in navigation offers to sign in: {nav}");

    // Sign out: the home page is closed to me again.
    b.sign_out().await;
    assert_eq!(b.path().await, "/sign-in?signed_out=1");
    assert!(b.text("header nav").await.contains("Sign in"));
    b.open("/home").await;
    b.wait_for_heading("Sign in").await;
    assert_eq!(b.path().await, "/sign-in");

    // Sign back in and go to Settings.
    b.sign_in("maya@example.com", OLD_PASSWORD, "Maya").await;
    assert_eq!(b.path().await, "/home");
    b.follow_link("header nav", "Settings").await;
    b.wait_for_heading("Settings").await;
    let settings = b.main_text().await;
    assert!(settings.contains("Signed in as maya@example.com."), "settings page: {settings}");
    assert!(settings.contains("Changing your password signs you out everywhere else."), "settings page: {settings}");

    // A wrong current password is explained next to the field, and nothing changes.
    b.fill("#current_password", "this is not my password").await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.press("Change password").await;
    let mistake = b.wait_for(Locator::Css("#current_password-error")).await;
    assert_eq!(mistake.text().await.unwrap(), "That isn't your current password. Please try again.");
    let field = b.find("#current_password").await;
    assert_eq!(field.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert_eq!(field.attr("aria-describedby").await.unwrap().as_deref(), Some("current_password-error"));

    // The real change.
    b.fill("#current_password", OLD_PASSWORD).await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.press("Change password").await;
    b.wait_for_notice("Your password is changed. Any other devices were signed out.").await;
    b.wait_for_heading("Settings").await;

    // It is on my record.
    b.follow_link("main", "Who accessed my data").await;
    b.wait_for_heading("Who accessed my data").await;
    let log = b.text("main table").await;
    assert!(log.contains("Password changed"), "access log: {log}");

    // The old password no longer works, and I am told so kindly.
    b.sign_out().await;
    b.fill("#email", "maya@example.com").await;
    b.fill("#password", OLD_PASSWORD).await;
    b.press("Sign in").await;
    let refused = b.wait_for(Locator::Css("#sign-in-error")).await;
    assert_eq!(
        refused.text().await.unwrap(),
        "That email and password don't match an account. Please check them and try again."
    );
    b.wait_for_heading("Sign in").await;
    let email = b.find("#email").await;
    assert_eq!(email.prop("value").await.unwrap().as_deref(), Some("maya@example.com"), "the email is kept");
    assert_eq!(b.find("#password").await.prop("value").await.unwrap().as_deref(), Some(""), "the password is not");

    // The new one does.
    b.fill("#password", NEW_PASSWORD).await;
    b.press("Sign in").await;
    b.wait_for_heading("Hello, Maya").await;
    assert_eq!(b.path().await, "/home");

    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn every_form_works_without_javascript() {
    let server = TestServer::spawn().await;
    let b = Browser::start(&server.base, BrowserOptions::without_javascript()).await;

    // Sign up.
    b.open("/sign-up").await;
    b.wait_for_heading("Create your account").await;
    b.fill("#display_name", "Ravi Shah").await;
    b.fill("#email", "ravi@example.com").await;
    b.fill("#password", OLD_PASSWORD).await;
    b.press("Create account").await;
    b.wait_for_heading("Hello, Ravi").await;
    b.wait_for_notice("Welcome to Rapport. Your account is ready.").await;
    // The browser runs in New York, but with scripts off nothing could tell
    // the server so: the account starts in UTC. This proves scripts were off.
    let home = b.main_text().await;
    assert!(home.contains("Times are shown in UTC."), "home page: {home}");

    // Sign out and in.
    b.sign_out().await;
    b.sign_in("ravi@example.com", OLD_PASSWORD, "Ravi").await;

    // Save the profile with a new name and zone.
    b.open("/settings").await;
    b.wait_for_heading("Settings").await;
    b.fill("#display_name", "Ravi S.").await;
    let lisbon = b.text("#time_zone option[value='Europe/Lisbon']").await;
    assert!(lisbon.starts_with("Lisbon (UTC+0"), "a place and today's offset: {lisbon}");
    b.find("#time_zone").await.select_by_value("Europe/Lisbon").await.expect("choose a time zone");
    b.press("Save profile").await;
    b.wait_for_notice("Your profile is saved.").await;
    assert_eq!(b.find("#display_name").await.prop("value").await.unwrap().as_deref(), Some("Ravi S."));
    assert_eq!(b.find("#time_zone").await.prop("value").await.unwrap().as_deref(), Some("Europe/Lisbon"));
    let groups = b
        .run_script("return Array.from(document.querySelectorAll('#time_zone optgroup')).map(g => g.label).join(',');")
        .await;
    let groups = groups.as_str().unwrap_or_default();
    for region in ["Africa", "America", "Asia", "Australia", "Europe", "Pacific"] {
        assert!(groups.split(',').any(|g| g == region), "{region} in {groups}");
    }
    let aliases = b.run_script("return ['US/Pacific', 'GB-Eire', 'Zulu', 'Etc/UTC'].filter(z => document.querySelector(`#time_zone option[value='${z}']`)).join(',');").await;
    assert_eq!(aliases, "", "no aliases are offered");

    // Change the password.
    b.fill("#current_password", OLD_PASSWORD).await;
    b.fill("#new_password", NEW_PASSWORD).await;
    b.press("Change password").await;
    b.wait_for_notice("Your password is changed.").await;

    // Sign this session out from the sessions page.
    b.open("/settings/sessions").await;
    b.wait_for_heading("Your active sessions").await;
    let sessions = b.main_text().await;
    assert!(sessions.contains("This device"), "sessions page: {sessions}");
    let this_device = "//main//li[.//*[contains(@class, 'badge') and normalize-space()='This device']]//button";
    b.wait_for(Locator::XPath(this_device)).await.click().await.expect("press Sign out here");
    b.wait_for_notice("You're signed out.").await;
    b.open("/home").await;
    b.wait_for_heading("Sign in").await;

    // And back in with the new password.
    b.sign_in("ravi@example.com", NEW_PASSWORD, "Ravi").await;
    let home = b.main_text().await;
    assert!(home.contains("Times are shown in Europe/Lisbon."), "home page: {home}");

    b.close().await;
    server.stop().await;
}

#[tokio::test]
async fn sign_up_takes_the_time_zone_from_the_browser() {
    let server = TestServer::spawn().await;
    let options = BrowserOptions { time_zone: "America/New_York", ..BrowserOptions::default() };
    let b = Browser::start(&server.base, options).await;

    b.open("/sign-up").await;
    b.wait_for_heading("Create your account").await;
    let browser_zone = b.run_script("return Intl.DateTimeFormat().resolvedOptions().timeZone;").await;
    assert_eq!(browser_zone, "America/New_York", "Chromium should run in the TZ ChromeDriver was started with");
    let detected = b.find("select#time_zone").await.prop("value").await.unwrap();
    assert_eq!(detected.as_deref(), Some("America/New_York"), "app.js chooses the browser's zone");
    let label = b.text("#time_zone option:checked").await;
    assert!(label.starts_with("New York (UTC\u{2212}0"), "{label}");

    b.fill("#display_name", "Lena Park").await;
    b.fill("#email", "lena@example.com").await;
    b.fill("#password", OLD_PASSWORD).await;
    b.press("Create account").await;
    b.wait_for_heading("Hello, Lena").await;
    let home = b.main_text().await;
    assert!(home.contains("Times are shown in America/New_York."), "home page: {home}");

    b.follow_link("header nav", "Settings").await;
    b.wait_for_heading("Settings").await;
    assert_eq!(b.find("#time_zone").await.prop("value").await.unwrap().as_deref(), Some("America/New_York"));

    b.close().await;
    server.stop().await;
}
