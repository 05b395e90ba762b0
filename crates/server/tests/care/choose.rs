//! Choosing a therapist: only one of your matches, switching frees the old
//! therapist's place, your current therapist is not suggested again, and
//! concurrent choices never take a therapist past their capacity.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn choosing_someone_who_is_not_a_match_is_404_and_creates_nothing() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let new_york = therapist(&server, &admin, "Dr New York", json!({"licenses": [license(&server, "US-NY")]})).await;
    let california = therapist(&server, &admin, "Dr California", json!({})).await;
    let person = client(&server, "Chooser", json!({})).await;
    assert_eq!(matched_ids(&server, &person).await, vec![california.id.clone()]);

    let colleague = sign_up(&server, "Not A Therapist").await;
    for id in [
        new_york.id.as_str(),
        colleague.id.as_str(),
        admin.id.as_str(),
        &uuid::Uuid::now_v7().to_string(),
        "not-a-uuid",
    ] {
        let p = problem(choose(&server, &person, id).await, StatusCode::NOT_FOUND).await;
        assert!(p["detail"].as_str().is_some(), "{p}");
    }
    assert_eq!(therapist_of(&server, &person).await, None, "no care team was made");
    assert!(clients_of(&server, &new_york).await.is_empty());
    // The client's matches are unchanged, and choosing one of them works.
    assert_eq!(matched_ids(&server, &person).await, vec![california.id.clone()]);
    let chosen = json_with_status(choose(&server, &person, &california.id).await, StatusCode::CREATED).await;
    assert_eq!(chosen["therapist_id"].as_str(), Some(california.id.as_str()));
    server.stop().await;
}

#[tokio::test]
async fn choosing_before_intake_is_refused() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Ready", json!({})).await;
    let person = sign_up(&server, "Too Soon").await;
    problem(choose(&server, &person, &t.id).await, StatusCode::CONFLICT).await;
    assert_eq!(therapist_of(&server, &person).await, None);
    server.stop().await;
}

#[tokio::test]
async fn switching_frees_the_old_therapists_place() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let first = therapist(&server, &admin, "Dr First", json!({"capacity": 1})).await;
    let second = therapist(&server, &admin, "Dr Second", json!({"capacity": 1})).await;

    let alex = client(&server, "Alex", json!({})).await;
    let mut both = vec![first.id.clone(), second.id.clone()];
    both.sort();
    let mut found = matched_ids(&server, &alex).await;
    found.sort();
    assert_eq!(found, both);
    let team_one = json_with_status(choose(&server, &alex, &first.id).await, StatusCode::CREATED).await;

    // Alex's current therapist is not suggested again, nor can be chosen again.
    assert_eq!(matched_ids(&server, &alex).await, vec![second.id.clone()]);
    assert_eq!(choose(&server, &alex, &first.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(therapist_of(&server, &alex).await.as_deref(), Some(first.id.as_str()));

    // Dr First is full: Blair only sees Dr Second.
    let blair = client(&server, "Blair", json!({})).await;
    assert_eq!(matched_ids(&server, &blair).await, vec![second.id.clone()]);

    // Alex switches, with a reason.
    let team_two = json_with_status(
        post(
            &server,
            &format!("/api/v1/matches/{}/choose", second.id),
            &alex.token,
            &json!({"reason": "Evenings suit me better", "sees_history": false}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(team_two["therapist_id"].as_str(), Some(second.id.as_str()));
    assert_ne!(team_two["care_team_id"], team_one["care_team_id"], "a new care relationship");
    assert_eq!(therapist_of(&server, &alex).await.as_deref(), Some(second.id.as_str()));
    assert!(clients_of(&server, &first).await.is_empty(), "the old therapist has no active client");
    assert_eq!(clients_of(&server, &second).await, vec![alex.id.clone()]);

    // Dr First has room again (and Dr Second is now full): Blair sees exactly that.
    assert_eq!(matched_ids(&server, &blair).await, vec![first.id.clone()]);
    // Alex is offered Dr First again, not the current Dr Second.
    assert_eq!(matched_ids(&server, &alex).await, vec![first.id.clone()]);
    server.stop().await;
}

#[tokio::test]
async fn the_current_therapist_is_not_suggested_or_chosen_again() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let mine = therapist(&server, &admin, "Dr Mine", json!({"capacity": 10})).await;
    let other = therapist(&server, &admin, "Dr Other", json!({"capacity": 10})).await;
    let person = client(&server, "Settled", json!({})).await;
    json_with_status(choose(&server, &person, &mine.id).await, StatusCode::CREATED).await;
    // Dr Mine still has room (a newcomer is offered them), yet is not suggested to their own client.
    let newcomer = client(&server, "Newcomer", json!({})).await;
    assert!(matched_ids(&server, &newcomer).await.contains(&mine.id));
    assert_eq!(matched_ids(&server, &person).await, vec![other.id.clone()]);
    problem(choose(&server, &person, &mine.id).await, StatusCode::NOT_FOUND).await;
    assert_eq!(clients_of(&server, &mine).await, vec![person.id.clone()], "still one care team");
    assert_eq!(therapist_of(&server, &person).await.as_deref(), Some(mine.id.as_str()));
    server.stop().await;
}

/// Many clients choosing the same therapist at once: the therapist never gets
/// more clients than places; everyone else is told no (404 or 409) and keeps
/// no care team.
async fn last_places_go_to_as_many_clients_as_there_are(server: TestServer) {
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Two Places", json!({"capacity": 2})).await;
    let mut people = Vec::new();
    for i in 0..6 {
        people.push(client(&server, &format!("Rusher {i}"), json!({})).await);
    }
    for p in &people {
        assert_eq!(matched_ids(&server, p).await, vec![t.id.clone()]);
    }
    let results = futures::future::join_all(people.iter().map(|p| choose(&server, p, &t.id))).await;
    let statuses: Vec<StatusCode> = results.iter().map(|r| r.status()).collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 2, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [StatusCode::CREATED, StatusCode::NOT_FOUND, StatusCode::CONFLICT].contains(s)),
        "{statuses:?}"
    );
    let clients = clients_of(&server, &t).await;
    assert_eq!(clients.len(), 2, "capacity 2, active clients {clients:?}");
    for (p, status) in people.iter().zip(&statuses) {
        let has = therapist_of(&server, p).await;
        if *status == StatusCode::CREATED {
            assert_eq!(has.as_deref(), Some(t.id.as_str()));
            assert!(clients.contains(&p.id));
        } else {
            assert_eq!(has, None, "{status}");
        }
    }
    // Now full: nobody else is matched with them.
    let late = client(&server, "Latecomer", json!({})).await;
    assert!(matched_ids(&server, &late).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn concurrent_choices_never_exceed_capacity_on_sqlite() {
    last_places_go_to_as_many_clients_as_there_are(TestServer::spawn().await).await;
}

#[tokio::test]
async fn concurrent_choices_never_exceed_capacity_on_postgres() {
    let Some(server) = TestServer::spawn_postgres().await else { return };
    last_places_go_to_as_many_clients_as_there_are(server).await;
}
