//! A walk through every page a person can reach today, signed out and
//! signed in, including the pages that show mistakes and notices. Checks
//! (accessibility, layout width, the crisis link) run at each stop.

use crate::common::TestServer;
use crate::harness::Browser;

pub const EMAIL: &str = "sam.okafor@example.com";
pub const PASSWORD: &str = "our kitchen table is blue";

/// Creates the account the tour signs in with.
pub async fn create_account(server: &TestServer) {
    server
        .app
        .sign_up(
            rapport_app::SignUp {
                email: EMAIL.into(),
                password: PASSWORD.into(),
                display_name: "Sam Okafor".into(),
                time_zone: "Europe/London".into(),
            },
            &Default::default(),
        )
        .await
        .expect("sign up Sam");
}

/// A page name as a file name: "home page" → "home-page".
pub fn file_name(page: &str) -> String {
    page.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-")
}

/// Brings the browser to every page in turn and calls `at(page name)` there.
/// Each stop sets itself up from scratch, so a check may navigate away.
pub async fn every_page(b: &Browser, mut at: impl AsyncFnMut(&str)) {
    b.open("/").await;
    b.wait_for_heading("When you feel far apart, you don't have to find the way back alone.").await;
    at("start page").await;

    b.open("/sign-up").await;
    b.wait_for_heading("Create your account").await;
    at("sign-up page").await;

    b.open("/sign-up").await;
    b.wait_for_heading("Create your account").await;
    b.fill("#email", "sam@").await;
    b.fill("#password", "short").await;
    b.press("Create account").await;
    b.wait_for(fantoccini::Locator::Css("#display_name-error")).await;
    at("sign-up page showing mistakes").await;

    b.open("/sign-in").await;
    b.wait_for_heading("Sign in").await;
    at("sign-in page").await;

    b.open("/sign-in").await;
    b.wait_for_heading("Sign in").await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", "not the right password").await;
    b.press("Sign in").await;
    b.wait_for(fantoccini::Locator::Css("#sign-in-error")).await;
    at("sign-in page showing an error").await;

    b.open("/privacy").await;
    b.wait_for_heading("Privacy").await;
    at("privacy page").await;

    b.open("/crisis").await;
    b.wait_for_heading("Get help now").await;
    at("crisis page").await;

    b.open("/no-such-page").await;
    b.wait_for_heading("Page not found").await;
    at("page not found").await;

    b.sign_in(EMAIL, PASSWORD, "Sam").await;
    b.open("/home").await;
    b.wait_for_heading("Hello, Sam").await;
    at("home page").await;

    b.open("/settings").await;
    b.wait_for_heading("Settings").await;
    at("settings page").await;

    b.open("/settings").await;
    b.wait_for_heading("Settings").await;
    b.press("Save profile").await;
    b.wait_for_notice("Your profile is saved.").await;
    at("settings page with a notice").await;

    b.open("/settings").await;
    b.wait_for_heading("Settings").await;
    b.fill("#current_password", "this is not my password").await;
    b.fill("#new_password", "a completely new passphrase").await;
    b.press("Change password").await;
    b.wait_for(fantoccini::Locator::Css("#current_password-error")).await;
    at("settings page showing a mistake").await;

    b.open("/settings/sessions").await;
    b.wait_for_heading("Your active sessions").await;
    at("sessions page").await;

    b.open("/settings/access-log").await;
    b.wait_for_heading("Who accessed my data").await;
    at("access log").await;

    b.open("/privacy").await;
    b.wait_for_heading("Privacy").await;
    at("privacy page, signed in").await;

    b.open("/home").await;
    b.wait_for_heading("Hello, Sam").await;
    b.sign_out().await;
    at("sign-in page after signing out").await;
}
