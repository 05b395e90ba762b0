//! Therapists see what their clients shared at intake, and only their own
//! clients; each read shows in the client's "who accessed my data", once an
//! hour, with the therapist's professional name and never anyone's address.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn audit(server: &TestServer, person: &Person) -> Vec<Value> {
    let body = json_with_status(get(server, "/api/v1/me/audit-events", &person.token).await, StatusCode::OK).await;
    body["events"].as_array().expect("events").clone()
}

#[tokio::test]
async fn the_chosen_therapist_reads_the_shared_intake_and_the_client_sees_it() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let amara = therapist(&server, &admin, "Dr. Amara Okafor, LMFT", json!({})).await;
    let other = therapist(&server, &admin, "Dr. Other Person", json!({})).await;
    let stranger = client(&server, "Someone Else", json!({})).await;
    let client = client(
        &server,
        "Jamie Rivera",
        json!({
            "note": "We barely talk since the baby came.",
            "goals": "Evenings together again.",
            "safety": {"immediate_risk": true, "relationship_safety": false}
        }),
    )
    .await;

    let path = format!("/api/v1/clients/{}/intake", client.id);

    // Before anyone is chosen, no therapist can read it.
    problem(get(&server, &path, &amara.token).await, StatusCode::NOT_FOUND).await;
    json_with_status(choose(&server, &client, &amara.id).await, StatusCode::CREATED).await;
    // The therapist is told someone chose them, with nothing of what the client shared.
    let told = crate::common::wait_for_mails(&server, &amara.email, "chose you", 1).await;
    assert_eq!(told.len(), 1, "the chosen therapist is emailed");
    for private in ["Jamie", "baby", "Evenings"] {
        assert!(!told[0].contains(private), "the email says nothing about {private}: {}", told[0]);
    }

    let intake = json_with_status(get(&server, &path, &amara.token).await, StatusCode::OK).await;
    assert_eq!(intake["client_id"], client.id.as_str());
    assert_eq!(intake["client_name"], "Jamie Rivera");
    assert_eq!(intake["note"], "We barely talk since the baby came.");
    assert_eq!(intake["goals"], "Evenings together again.");
    assert_eq!(intake["concerns"], json!(["less_communication", "less_affection"]));
    assert_eq!(intake["safety"]["immediate_risk"], true);
    assert_eq!(intake["jurisdiction"], "US-CA");
    assert_eq!(intake["languages"], json!(["en"]));
    // A second read within the hour is not listed again.
    json_with_status(get(&server, &path, &amara.token).await, StatusCode::OK).await;

    // Anyone else learns nothing: another therapist, an admin, the client, another client.
    for (who, person) in
        [("other therapist", &other), ("admin", &admin), ("the client", &client), ("stranger", &stranger)]
    {
        let response = get(&server, &path, &person.token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{who}");
    }
    let unknown = format!("/api/v1/clients/{}/intake", uuid::Uuid::now_v7());
    problem(get(&server, &unknown, &amara.token).await, StatusCode::NOT_FOUND).await;
    problem(get(&server, "/api/v1/clients/not-an-id/intake", &amara.token).await, StatusCode::NOT_FOUND).await;

    let events = audit(&server, &client).await;
    let reads: Vec<&Value> = events.iter().filter(|e| e["action"] == "intake.read").collect();
    assert_eq!(reads.len(), 1, "one entry per reader and hour: {events:?}");
    assert_eq!(reads[0]["actor"], "Dr. Amara Okafor, LMFT");
    assert_eq!(reads[0]["description"], "Dr. Amara Okafor, LMFT read your intake answers");
    assert!(reads[0]["ip"].is_null(), "a therapist's address is never shown");
    // The client's own reads (matches) are not listed as accesses.
    assert!(events.iter().all(|e| !(e["action"] == "intake.read" && e["actor"] == "You")), "{events:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_therapist_client_page_shows_the_intake_to_the_therapist_only() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let amara = therapist(&server, &admin, "Dr. Amara Okafor", json!({})).await;
    let other = therapist(&server, &admin, "Dr. Other", json!({})).await;
    let client = client(&server, "Kai Moreno", json!({"note": "I feel alone in this <relationship>."})).await;
    json_with_status(choose(&server, &client, &amara.id).await, StatusCode::CREATED).await;
    let page = format!("/clients/{}", client.id);

    let cookie = browser_cookie(&server, &amara).await;
    let home = crate::common::api_client().get(server.url("/home")).header("cookie", &cookie).send().await.unwrap();
    let home = home.text().await.unwrap();
    assert!(home.contains(&format!("href=\"{page}\"")), "the client list links to the client: {home}");
    assert!(home.contains("Hello, Dr. Amara Okafor"), "greeted by professional name: {home}");

    let response = crate::common::api_client().get(server.url(&page)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("I feel alone in this &#60;relationship&#62;."), "their words, escaped: {html}");
    assert!(html.contains("We talk less than we used to"), "concerns in plain words: {html}");

    for person in [&other, &client, &admin] {
        let cookie = browser_cookie(&server, person).await;
        let response =
            crate::common::api_client().get(server.url(&page)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(!response.text().await.unwrap().contains("I feel alone"));
    }
    server.stop().await;
}
