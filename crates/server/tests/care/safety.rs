//! The private safety answers: immediate risk brings crisis resources at
//! once; a relationship-safety concern means individual support, so matching
//! treats the person as an individual.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn immediate_risk_shows_crisis_resources_and_the_flow_continues() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Steady", json!({})).await;

    let at_risk = sign_up(&server, "At Risk").await;
    let body = with(&intake(), json!({"safety": {"immediate_risk": true}}));
    let outcome = json_with_status(submit_intake(&server, &at_risk, &body).await, StatusCode::CREATED).await;
    assert_eq!(outcome["show_crisis_resources"], true, "{outcome}");
    assert!(outcome["crisis_resources"].as_str().is_some_and(|s| !s.is_empty()), "{outcome}");
    assert_eq!(outcome["offer_individual_support"], false, "{outcome}");
    // Gently onwards: matching still works.
    assert_eq!(matched_ids(&server, &at_risk).await, vec![t.id.clone()]);

    let fine = sign_up(&server, "Doing Okay").await;
    let body = with(&intake(), json!({"safety": {"immediate_risk": false}}));
    let outcome = json_with_status(submit_intake(&server, &fine, &body).await, StatusCode::CREATED).await;
    assert_eq!(outcome["show_crisis_resources"], false, "{outcome}");
    let outcome = json_with_status(submit_intake(&server, &fine, &intake()).await, StatusCode::CREATED).await;
    assert_eq!(outcome["show_crisis_resources"], false, "no answer is no risk: {outcome}");
    server.stop().await;
}

#[tokio::test]
async fn a_relationship_safety_concern_means_individual_support() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let individual_work = therapist(&server, &admin, "Dr Individual Work", json!({"works_with_couples": false})).await;

    // A couple without a safety concern is not matched with someone who doesn't see couples…
    let couple = sign_up(&server, "Together").await;
    let outcome = json_with_status(
        submit_intake(&server, &couple, &with(&intake(), json!({"kind": "couple"}))).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(outcome["offer_individual_support"], false, "{outcome}");
    assert_eq!(outcome["kind"], "couple");
    assert!(matched_ids(&server, &couple).await.is_empty());

    // …but someone afraid of their partner is offered individual support, and matched for it.
    let afraid = sign_up(&server, "Afraid").await;
    let body = with(&intake(), json!({"kind": "couple", "safety": {"relationship_safety": true}}));
    let outcome = json_with_status(submit_intake(&server, &afraid, &body).await, StatusCode::CREATED).await;
    assert_eq!(outcome["offer_individual_support"], true, "{outcome}");
    assert_eq!(outcome["show_crisis_resources"], false, "{outcome}");
    let found = matches(&server, &afraid).await;
    assert_eq!(ids(&found), vec![individual_work.id.clone()], "{found}");
    let reasons = found["matches"][0]["reasons"].to_string();
    assert!(!reasons.contains("couples therapy"), "not routed into couples work: {reasons}");
    json_with_status(choose(&server, &afraid, &individual_work.id).await, StatusCode::CREATED).await;

    // The answer is private: it is not echoed back anywhere a partner could read it.
    let audit = json_with_status(get(&server, "/api/v1/me/audit-events", &afraid.token).await, StatusCode::OK).await;
    assert!(!audit.to_string().contains("relationship_safety"), "{audit}");
    server.stop().await;
}
