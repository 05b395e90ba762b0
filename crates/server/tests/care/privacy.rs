//! Health data at rest: intake answers are sealed before they reach the
//! database, and every read of them is in the person's audit trail.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

/// Concern ids that are not also part of any other stored identifier
/// (`communication` alone is a specialty, and therapists' specialties are not health data).
const CONCERNS: [&str; 3] = ["less_communication", "lonely_together", "pursue_withdraw"];
const NOTE: &str = "Since the move to Tacoma we barely speak; marker heliotrope-quasar-7731";
const GOALS: &str = "To laugh together again; marker obsidian-lantern-5512";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The bytes of the SQLite database and its write-ahead log, as they are on disk now.
fn database_bytes(server: &TestServer) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in ["rapport.db", "rapport.db-wal", "rapport.db-journal"] {
        let path = server.data_dir().join(name);
        if path.exists() {
            out.push((name.to_owned(), std::fs::read(&path).expect("read database file")));
        }
    }
    assert!(out.iter().any(|(n, _)| n == "rapport.db"), "no database at {}", server.data_dir().display());
    out
}

#[tokio::test]
async fn intake_answers_are_encrypted_at_rest_and_saving_them_is_audited() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    therapist(&server, &admin, "Dr Private", json!({})).await;
    let person = sign_up(&server, "Private Person").await;
    let body = with(
        &intake(),
        json!({"concerns": CONCERNS, "note": NOTE, "goals": GOALS, "safety": {"immediate_risk": false, "relationship_safety": true}}),
    );
    json_with_status(submit_intake(&server, &person, &body).await, StatusCode::CREATED).await;
    // Reading the intake back (for matching) works: the answers were kept, sealed.
    let found = matches(&server, &person).await;
    let reasons = found["matches"][0]["reasons"].to_string();
    assert!(reasons.contains("emotional distance") || reasons.contains("communication"), "{found}");

    let files = database_bytes(&server);
    // The search itself works: the person's email is stored in plain text.
    assert!(files.iter().any(|(_, bytes)| contains(bytes, &person.email)), "the email should be findable on disk");
    for (name, bytes) in &files {
        for secret in
            [NOTE, "heliotrope-quasar-7731", "barely speak", GOALS, "obsidian-lantern-5512"].into_iter().chain(CONCERNS)
        {
            assert!(!contains(bytes, secret), "{name} holds {secret:?} in plain text");
        }
    }

    // The person's audit trail shows the intake being saved; their own reads
    // (for matching) are not accesses by someone else, so they are not listed.
    let audit =
        json_with_status(get(&server, "/api/v1/me/audit-events?limit=200", &person.token).await, StatusCode::OK).await;
    let actions: Vec<&str> =
        audit["events"].as_array().expect("events").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"intake.submitted"), "{actions:?}");
    assert!(!actions.contains(&"intake.read"), "{actions:?}");
    server.stop().await;
}
