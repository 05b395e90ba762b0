//! The whole external contract in one journey, on SQLite and on PostgreSQL:
//! apply → admin approves → role becomes therapist → client intake →
//! explained matches → choose.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

async fn contract_flow(server: TestServer) {
    let admin = admin(&server).await;

    // A signed-in account applies; `accepting_new_clients` is left out.
    let applicant = sign_up(&server, "Dr Robin Vale").await;
    assert_eq!(
        get(&server, "/api/v1/therapists/application", &applicant.token).await.status(),
        StatusCode::NOT_FOUND,
        "no application yet"
    );
    let body = application(&server, "Dr Robin Vale, LMFT");
    assert!(body.get("accepting_new_clients").is_none());
    let created = json_with_status(apply(&server, &applicant, &body).await, StatusCode::CREATED).await;
    assert_eq!(created["id"].as_str(), Some(applicant.id.as_str()), "{created}");
    assert_eq!(created["accepting_new_clients"], true, "defaults to true: {created}");
    assert_eq!(created["status"], "pending", "{created}");
    assert_eq!(created["professional_name"], "Dr Robin Vale, LMFT");
    assert_eq!(created["capacity"], 10);
    assert_eq!(created["licenses"][0]["jurisdiction"], "US-CA");
    assert_eq!(created["weekly_availability"], json!([{"weekday": "mon", "start": "17:00", "end": "21:00"}]));

    // Still a client until approved; the application reads back as saved.
    assert_eq!(role_of(&server, &applicant).await, "client");
    let mine =
        json_with_status(get(&server, "/api/v1/therapists/application", &applicant.token).await, StatusCode::OK).await;
    assert_eq!(mine["accepting_new_clients"], true, "{mine}");
    assert_eq!(mine["status"], "pending");
    assert_eq!(mine["specialties"].as_array().map(Vec::len), Some(3), "{mine}");

    // The admin sees it in the queue and approves it with notes.
    let queue =
        json_with_status(get(&server, "/api/v1/admin/therapist-applications", &admin.token).await, StatusCode::OK)
            .await;
    let listed = queue["applications"].as_array().expect("applications");
    assert!(listed.iter().any(|a| a["id"].as_str() == Some(applicant.id.as_str())), "{queue}");
    let approved = json_with_status(
        post(
            &server,
            &format!("/api/v1/admin/therapist-applications/{}/approve", applicant.id),
            &admin.token,
            &json!({"notes": "Board register checked: licence active, no discipline."}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    // The licence check is recorded: who, when, what was checked, and the notes.
    let history = server
        .app
        .verification_history(&who(&server, &admin).await, applicant.id.parse().expect("account id"))
        .await
        .expect("verification history");
    assert_eq!(history.len(), 1);
    assert!(history[0].approved);
    assert_eq!(history[0].admin_id.as_uuid().to_string(), admin.id);
    assert_eq!(history[0].notes, "Board register checked: licence active, no discipline.");
    assert!(history[0].checked.contains("US-CA"), "defaults to the licences reviewed: {}", history[0].checked);
    assert_eq!(role_of(&server, &applicant).await, "therapist");
    let mine =
        json_with_status(get(&server, "/api/v1/therapists/application", &applicant.token).await, StatusCode::OK).await;
    assert_eq!(mine["status"], "approved");
    assert_eq!(mine["licenses"][0]["verified"], true, "approval verifies the licences: {mine}");

    // A client in California does intake and is matched, with reasons.
    let client = sign_up(&server, "Sam").await;
    assert_eq!(
        get(&server, "/api/v1/matches", &client.token).await.status(),
        StatusCode::CONFLICT,
        "matches need intake first"
    );
    let outcome = json_with_status(
        post(
            &server,
            "/api/v1/intake",
            &client.token,
            &json!({
                "kind": "individual",
                "jurisdiction": "US-CA",
                "languages": ["en"],
                "concerns": ["less_communication", "less_affection"],
                "preferences": {"modalities": ["video"], "therapist_gender": null, "approaches": []}
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(outcome["show_crisis_resources"], false, "{outcome}");
    let found = matches(&server, &client).await;
    let list = found["matches"].as_array().expect("matches");
    assert_eq!(list.len(), 1, "{found}");
    let m = &list[0];
    assert_eq!(m["therapist_id"].as_str(), Some(applicant.id.as_str()), "{found}");
    assert_eq!(m["professional_name"], "Dr Robin Vale, LMFT");
    assert!(m["score"].as_u64().is_some_and(|s| s <= 100), "{found}");
    let reasons: Vec<&str> = m["reasons"].as_array().expect("reasons").iter().filter_map(|r| r.as_str()).collect();
    assert!(reasons.contains(&"Licensed in California"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("emotional distance") || r.contains("communication")), "{reasons:?}");

    // Choosing creates the care team.
    let chosen = json_with_status(
        post_empty(&server, &format!("/api/v1/matches/{}/choose", applicant.id), &client.token).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(chosen["therapist_id"].as_str(), Some(applicant.id.as_str()), "{chosen}");
    assert!(chosen["care_team_id"].as_str().is_some_and(|id| id.parse::<uuid::Uuid>().is_ok()), "{chosen}");
    assert_eq!(therapist_of(&server, &client).await.as_deref(), Some(applicant.id.as_str()));
    assert_eq!(clients_of(&server, &applicant).await, vec![client.id.clone()]);

    server.stop().await;
}

#[tokio::test]
async fn contract_flow_on_sqlite() {
    contract_flow(TestServer::spawn().await).await;
}

#[tokio::test]
async fn contract_flow_on_postgres() {
    let Some(server) = TestServer::spawn_postgres().await else { return };
    contract_flow(server).await;
}
