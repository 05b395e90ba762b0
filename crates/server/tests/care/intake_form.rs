//! The intake questions as a browser without JavaScript sends them: places
//! and languages chosen by name and stored as codes, the form filled with
//! the saved answers when someone changes them, and the privacy notice
//! shown only until it has been accepted.

use crate::common::browser_like_client;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

struct Web {
    client: reqwest::Client,
    cookie: String,
}

impl Web {
    async fn get(&self, server: &crate::common::TestServer, path: &str) -> reqwest::Response {
        self.client.get(server.url(path)).header("cookie", &self.cookie).send().await.unwrap()
    }

    async fn page(&self, server: &crate::common::TestServer, path: &str) -> String {
        let response = self.get(server, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    async fn post(&self, server: &crate::common::TestServer, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(server.url(path)).header("cookie", &self.cookie).form(form).send().await.unwrap()
    }
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

/// The questions, answered by name.
fn answers<'a>(csrf: &'a str, place: &'a str, other_languages: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("privacy_consent", "yes"),
        ("time_zone", "America/Toronto"),
        ("kind", "individual"),
        ("concerns", "less_communication"),
        ("concerns", "grieving"),
        ("note", "We lost my father in spring."),
        ("goals", "To feel like a team again."),
        ("jurisdiction", place),
        ("languages", "en"),
        ("languages", "fr"),
        ("other_languages", other_languages),
        ("modalities", "video"),
        ("approaches", "gottman_method"),
        ("therapist_gender", "woman"),
        ("time_windows[0].weekday", "tue"),
        ("time_windows[0].start", "18:00"),
        ("time_windows[0].end", "21:00"),
        ("time_windows[1].weekday", ""),
        ("time_windows[1].start", ""),
        ("time_windows[1].end", ""),
        ("immediate_risk", "no"),
        ("relationship_safety", "no"),
    ]
}

#[tokio::test]
async fn the_form_takes_names_stores_codes_and_comes_back_filled_in() {
    let server = crate::common::TestServer::spawn().await;
    let person = sign_up(&server, "Noor").await;
    let web = Web { client: browser_like_client(), cookie: browser_cookie(&server, &person).await };

    // First time: the privacy notice, then the questions, which list places and languages by name.
    assert!(web.page(&server, "/intake").await.contains("Before we begin"));
    let page = web.page(&server, "/intake/questions?consent=yes").await;
    for name in [
        "California, United States",
        "Ontario, Canada",
        "New South Wales, Australia",
        "United Kingdom",
        "Ireland",
        "Swahili",
    ] {
        assert!(page.contains(&format!("<option value=\"{name}\">")), "{name} is offered");
    }
    assert!(!page.contains("US-CA"), "codes stay under the hood");
    assert!(page.contains(r#"id="languages-en" name="languages" value="en" checked"#), "English to start with");

    let csrf = csrf_of(&page);
    let saved = web.post(&server, "/intake/questions", &answers(&csrf, "Ontario, Canada", "Español, greek")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/matches");

    let who = who(&server, &person).await;
    let stored = server.app.my_intake_answers(&who).await.unwrap().expect("saved");
    assert_eq!(stored.jurisdiction.code(), "CA-ON");
    let codes: Vec<&str> = stored.languages.iter().map(|l| l.code()).collect();
    assert_eq!(codes, ["en", "fr", "es", "el"]);
    assert_eq!(stored.time_zone.name(), "America/Toronto");
    assert!(stored.consented_to_current_notice);

    // Changing the answers skips the notice already accepted, and shows every answer.
    let again = web.get(&server, "/intake").await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&again), "/intake/questions");
    let page = web.page(&server, "/intake/questions").await;
    assert!(page.contains("<h1>Your answers</h1>"), "{page}");
    for filled in [
        r#"id="kind-individual" name="kind" value="individual" checked"#,
        r#"id="concerns-less_communication" name="concerns" value="less_communication" checked"#,
        r#"id="concerns-grieving" name="concerns" value="grieving" checked"#,
        "We lost my father in spring.</textarea>",
        "To feel like a team again.</textarea>",
        r#"value="Ontario, Canada""#,
        r#"id="languages-en" name="languages" value="en" checked"#,
        r#"id="languages-fr" name="languages" value="fr" checked"#,
        r#"id="languages-es" name="languages" value="es" checked"#,
        r#"id="other_languages" name="other_languages" type="text" maxlength="200" list="language-names" autocomplete="off" spellcheck="false" value="Greek""#,
        r#"id="modalities-video" name="modalities" value="video" checked"#,
        r#"id="approaches-gottman_method" name="approaches" value="gottman_method" checked"#,
        r#"<option value="woman" selected>"#,
        r#"<option value="tue" selected>"#,
        r#"value="18:00""#,
        r#"value="21:00""#,
        r#"id="immediate_risk-no" name="immediate_risk" value="no" checked"#,
        r#"id="relationship_safety-no" name="relationship_safety" value="no" checked"#,
        r#"name="time_zone" value="America/Toronto""#,
    ] {
        assert!(page.contains(filled), "filled in: {filled}");
    }
    assert!(!page.contains(r#"id="languages-de" name="languages" value="de" checked"#));

    // Names we can't find are explained in words, and nothing is half-saved.
    let csrf = csrf_of(&page);
    let refused = web.post(&server, "/intake/questions", &answers(&csrf, "Atlantis", "Klingon")).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("couldn&#39;t find \u{201c}Atlantis\u{201d} in our list of places"), "{html}");
    assert!(html.contains("couldn&#39;t find \u{201c}Klingon\u{201d} in our list of languages"), "{html}");
    assert!(
        !html.contains("is not a jurisdiction code") && !html.contains("language code"),
        "no codes asked for: {html}"
    );
    assert!(html.contains(r##"href="#other_languages""##), "the summary links to the field: {html}");
    let stored = server.app.my_intake_answers(&who).await.unwrap().expect("still saved");
    assert_eq!(stored.jurisdiction.code(), "CA-ON");
    server.stop().await;
}

#[tokio::test]
async fn answers_given_through_the_api_show_by_name_on_the_form() {
    let server = crate::common::TestServer::spawn().await;
    let person = client(&server, "Ari", json!({"jurisdiction": "US-NY", "languages": ["en", "tl", "yo"]})).await;
    let web = Web { client: browser_like_client(), cookie: browser_cookie(&server, &person).await };
    let page = web.page(&server, "/intake/questions").await;
    assert!(page.contains(r#"value="New York, United States""#), "{page}");
    assert!(page.contains(r#"id="languages-tl" name="languages" value="tl" checked"#));
    assert!(page.contains(r#"value="Yoruba""#));
    // Codes still work when typed, for people who know them.
    let csrf = csrf_of(&page);
    let saved = web.post(&server, "/intake/questions", &answers(&csrf, "us-ca", "")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stored = server.app.my_intake_answers(&who(&server, &person).await).await.unwrap().unwrap();
    assert_eq!(stored.jurisdiction.code(), "US-CA");
    server.stop().await;
}

#[tokio::test]
async fn match_cards_show_the_therapist_in_words_and_hints_name_the_place() {
    let server = crate::common::TestServer::spawn().await;
    let admin = admin(&server).await;
    let long_bio = format!("I help couples who feel far apart find their way back. {}", "We go gently. ".repeat(30));
    therapist(
        &server,
        &admin,
        "Dr. Amara Okafor, LMFT",
        json!({"pronouns": "she/her", "bio": long_bio, "languages": ["en", "es"], "approaches": ["gottman_method", "emotionally_focused"]}),
    )
    .await;
    let robin = client(&server, "Robin", json!({})).await;
    let web = Web { client: browser_like_client(), cookie: browser_cookie(&server, &robin).await };
    let page = web.page(&server, "/matches").await;
    for shown in [
        "Dr. Amara Okafor, LMFT",
        r#"<span class="therapist-initials" aria-hidden="true">AO</span>"#,
        "she/her",
        "Licensed Marriage and Family Therapist (LMFT) in California, United States",
        "Emotionally Focused Therapy, Gottman Method",
        "English, Spanish",
        "I help couples who feel far apart find their way back.",
        "fit</strong>",
    ] {
        assert!(page.contains(shown), "the card shows {shown}: {page}");
    }
    assert!(!page.contains("out of 100"), "never a bare score");
    assert!(!page.contains("LMFT-104233"), "licence numbers stay private");
    assert!(!page.contains(&"We go gently. ".repeat(30)), "only the start of a long bio");

    // Nobody licensed in New York: the hint says so, and blames no preference.
    let nyla = client(&server, "Nyla", json!({"jurisdiction": "US-NY"})).await;
    let web = Web { client: browser_like_client(), cookie: browser_cookie(&server, &nyla).await };
    let page = web.page(&server, "/matches").await;
    assert!(page.contains("No therapist on Rapport is licensed in New York yet."), "{page}");
    assert!(!page.contains("another way to meet") && !page.contains("another language"), "{page}");
    server.stop().await;
}
