//! The matching rules, seen over HTTP: who may never be suggested, and how
//! the ones who may are ranked and explained.

use crate::common::TestServer;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn reasons_of(body: &Value, therapist: &Person) -> Vec<String> {
    let m = body["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .find(|m| m["therapist_id"].as_str() == Some(therapist.id.as_str()))
        .unwrap_or_else(|| panic!("{} is not matched: {body}", therapist.id));
    m["reasons"].as_array().expect("reasons").iter().map(|r| r.as_str().expect("reason").to_owned()).collect()
}

fn scores(body: &Value) -> Vec<u64> {
    body["matches"].as_array().expect("matches").iter().map(|m| m["score"].as_u64().expect("score")).collect()
}

fn assert_hints(body: &Value) {
    assert_eq!(body["matches"], json!([]), "{body}");
    let hints = body["hints"].as_array().unwrap_or_else(|| panic!("hints: {body}"));
    assert!(!hints.is_empty() && hints.iter().all(|h| h.as_str().is_some_and(|h| h.len() > 10)), "{body}");
}

#[tokio::test]
async fn only_therapists_licensed_where_the_client_lives_are_matched() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let new_york = therapist(&server, &admin, "Dr New York", json!({"licenses": [license(&server, "US-NY")]})).await;
    let california = therapist(&server, &admin, "Dr California", json!({})).await;
    let both = therapist(
        &server,
        &admin,
        "Dr Both",
        json!({"licenses": [license(&server, "US-NY"), license(&server, "US-CA")]}),
    )
    .await;

    let in_california = client(&server, "Cali", json!({})).await;
    let found = matches(&server, &in_california).await;
    assert_eq!(sorted(ids(&found)), sorted(vec![california.id.clone(), both.id.clone()]), "{found}");
    for m in found["matches"].as_array().expect("matches") {
        assert_eq!(m["reasons"][0], "Licensed in California", "{found}");
    }

    let in_new_york = client(&server, "Nyla", json!({"jurisdiction": "US-NY"})).await;
    let found = matches(&server, &in_new_york).await;
    assert_eq!(sorted(ids(&found)), sorted(vec![new_york.id.clone(), both.id.clone()]), "{found}");
    assert!(reasons_of(&found, &new_york).contains(&"Licensed in New York".to_owned()), "{found}");

    let in_texas = client(&server, "Tex", json!({"jurisdiction": "US-TX"})).await;
    assert_hints(&matches(&server, &in_texas).await);
    server.stop().await;
}

#[tokio::test]
async fn pending_and_rejected_therapists_are_never_matched() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let pending = applicant(&server, "Dr Pending", json!({})).await;
    let rejected = applicant(&server, "Dr Rejected", json!({})).await;
    json_with_status(
        reject(&server, &admin, &rejected.id, &json!({"reason": "The licence number is not on the board's register."}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(role_of(&server, &rejected).await, "client");

    let person = client(&server, "Quinn", json!({})).await;
    assert_hints(&matches(&server, &person).await);
    assert_eq!(choose(&server, &person, &pending.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(choose(&server, &person, &rejected.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(therapist_of(&server, &person).await, None);

    // Approval is what makes the difference.
    json_with_status(approve(&server, &admin, &pending.id).await, StatusCode::OK).await;
    assert_eq!(matched_ids(&server, &person).await, vec![pending.id.clone()]);
    // A rejection stands.
    assert_eq!(approve(&server, &admin, &rejected.id).await.status(), StatusCode::CONFLICT);
    assert_eq!(matched_ids(&server, &person).await, vec![pending.id.clone()]);
    server.stop().await;
}

#[tokio::test]
async fn a_licence_that_expires_stops_matching() {
    let server = spawn_with_clock().await;
    let admin = admin(&server).await;
    let expires = today(&server) + chrono::Duration::days(2);
    let expiring = therapist(
        &server,
        &admin,
        "Dr Expiring",
        json!({"licenses": [with(&license(&server, "US-CA"), json!({"expires_on": expires.to_string()}))]}),
    )
    .await;
    let current = therapist(&server, &admin, "Dr Current", json!({})).await;
    let mut person = client(&server, "Ari", json!({})).await;
    assert_eq!(sorted(matched_ids(&server, &person).await), sorted(vec![expiring.id.clone(), current.id.clone()]));

    // On the day it expires the licence still counts…
    advance_days(&server, 2);
    assert_eq!(today(&server), expires);
    person.token = sign_in(&server, &person.email).await;
    assert_eq!(sorted(matched_ids(&server, &person).await), sorted(vec![expiring.id.clone(), current.id.clone()]));

    // …and from the next day on it does not.
    advance_days(&server, 1);
    person.token = sign_in(&server, &person.email).await;
    assert_eq!(matched_ids(&server, &person).await, vec![current.id.clone()]);
    assert_eq!(choose(&server, &person, &expiring.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(therapist_of(&server, &person).await, None);
    server.stop().await;
}

#[tokio::test]
async fn full_or_closed_therapists_are_not_matched() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let full = therapist(&server, &admin, "Dr One Place", json!({"capacity": 1})).await;
    let closed = therapist(&server, &admin, "Dr Closed", json!({"accepting_new_clients": false})).await;
    let roomy = therapist(&server, &admin, "Dr Roomy", json!({"capacity": 5})).await;

    let first = client(&server, "First", json!({})).await;
    let found = matched_ids(&server, &first).await;
    assert_eq!(sorted(found.clone()), sorted(vec![full.id.clone(), roomy.id.clone()]), "closed is never suggested");
    assert!(!found.contains(&closed.id));
    json_with_status(choose(&server, &first, &full.id).await, StatusCode::CREATED).await;

    // Dr One Place now has as many clients as places.
    let second = client(&server, "Second", json!({})).await;
    assert_eq!(matched_ids(&server, &second).await, vec![roomy.id.clone()]);
    assert_eq!(choose(&server, &second, &full.id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(clients_of(&server, &full).await, vec![first.id.clone()]);
    server.stop().await;
}

#[tokio::test]
async fn a_shared_language_and_way_to_meet_are_required() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let spanish = therapist(&server, &admin, "Dra Spanish", json!({"languages": ["es"]})).await;

    let english = client(&server, "English Only", json!({})).await;
    assert_hints(&matches(&server, &english).await);

    let bilingual = client(&server, "Bilingual", json!({"languages": ["en", "es"]})).await;
    let found = matches(&server, &bilingual).await;
    assert_eq!(ids(&found), vec![spanish.id.clone()]);
    assert!(reasons_of(&found, &spanish).contains(&"Speaks Spanish".to_owned()), "{found}");

    // Dra Spanish offers video and messaging, not audio.
    let audio_only = client(
        &server,
        "Audio Only",
        json!({"languages": ["es"], "preferences": {"modalities": ["audio"], "therapist_gender": null, "approaches": []}}),
    )
    .await;
    assert_hints(&matches(&server, &audio_only).await);
    server.stop().await;
}

#[tokio::test]
async fn couples_are_matched_only_with_therapists_who_work_with_couples() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let individuals_only = therapist(
        &server,
        &admin,
        "Dr Individuals",
        json!({"works_with_couples": false, "specialties": ["emotional_distance", "communication"]}),
    )
    .await;
    let couples = therapist(&server, &admin, "Dr Couples", json!({})).await;

    let couple = client(&server, "Couple", json!({"kind": "couple"})).await;
    let found = matches(&server, &couple).await;
    assert_eq!(ids(&found), vec![couples.id.clone()], "{found}");
    assert!(reasons_of(&found, &couples).contains(&"Specialises in couples therapy".to_owned()), "{found}");

    let individual = client(&server, "Individual", json!({"kind": "individual"})).await;
    assert_eq!(
        sorted(matched_ids(&server, &individual).await),
        sorted(vec![individuals_only.id.clone(), couples.id.clone()])
    );
    server.stop().await;
}

#[tokio::test]
async fn at_most_three_best_first_and_the_same_every_time() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    // Made first, so an unscored tie would favour them.
    let grief = therapist(&server, &admin, "Dr Grief", json!({"specialties": ["grief"]})).await;
    let anxiety = therapist(&server, &admin, "Dr Anxiety", json!({"specialties": ["anxiety"]})).await;
    let mut good = Vec::new();
    for (name, specialties) in [
        ("Dr Distance", json!(["emotional_distance"])),
        ("Dr Talk", json!(["communication", "emotional_distance"])),
        ("Dr All", json!(["couples", "emotional_distance", "communication"])),
    ] {
        good.push(therapist(&server, &admin, name, json!({"specialties": specialties})).await.id);
    }

    let person = client(&server, "Robin", json!({})).await;
    let first = matches(&server, &person).await;
    let found = ids(&first);
    assert_eq!(found.len(), 3, "{first}");
    assert_eq!(sorted(found.clone()), sorted(good.clone()), "the three who fit: {first}");
    assert!(!found.contains(&grief.id) && !found.contains(&anxiety.id));
    let s = scores(&first);
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "best first: {s:?}");

    // The same inputs give the same answer.
    for _ in 0..3 {
        assert_eq!(matches(&server, &person).await, first);
    }
    let twin = client(&server, "Robin's twin", json!({})).await;
    assert_eq!(matches(&server, &twin).await["matches"], first["matches"]);
    server.stop().await;
}

#[tokio::test]
async fn a_better_fit_ranks_above_a_worse_one() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    // The poorer fit is made first: on a tie it would come first.
    let poor =
        therapist(&server, &admin, "Dr Poor Fit", json!({"specialties": ["grief"], "approaches": ["cbt"]})).await;
    let fit =
        therapist(&server, &admin, "Dr Good Fit", json!({"specialties": ["emotional_distance", "communication"]}))
            .await;
    let person = client(&server, "Dana", json!({})).await;
    let found = matches(&server, &person).await;
    assert_eq!(ids(&found), [fit.id.clone(), poor.id.clone()], "{found}");
    let s = scores(&found);
    assert!(s[0] > s[1], "{s:?}");
    let reasons = reasons_of(&found, &fit);
    assert!(reasons.iter().any(|r| r.starts_with("Works with") && r.contains("communication")), "{reasons:?}");
    assert!(!reasons_of(&found, &poor).iter().any(|r| r.starts_with("Works with")), "{found}");
    server.stop().await;
}

#[tokio::test]
async fn preferred_approach_and_fitting_times_raise_the_score() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    // Alike but for approach and times; the less fitting ones are made first,
    // so that on a tie they would come first.
    let saturday = json!([{"weekday": "sat", "start": "08:00", "end": "10:00"}]);
    let plain =
        therapist(&server, &admin, "Dr Plain", json!({"approaches": ["cbt"], "weekly_availability": saturday})).await;
    let gottman = therapist(
        &server,
        &admin,
        "Dr Gottman",
        json!({"approaches": ["gottman_method"], "weekly_availability": saturday}),
    )
    .await;
    // Monday 17:00–21:00 in Los Angeles, covering the client's evening.
    let evenings = therapist(&server, &admin, "Dr Evenings", json!({"approaches": ["cbt"]})).await;
    let person = client(
        &server,
        "Evening Person",
        json!({"preferences": {
            "modalities": ["video"], "therapist_gender": null, "approaches": ["gottman_method"],
            "time_zone": "America/Los_Angeles",
            "time_windows": [{"weekday": "mon", "start": "18:00", "end": "21:00"}]
        }}),
    )
    .await;
    let found = matches(&server, &person).await;
    assert_eq!(ids(&found), [evenings.id.clone(), gottman.id.clone(), plain.id.clone()], "{found}");
    let s = scores(&found);
    assert!(s[0] > s[1] && s[1] > s[2], "{s:?}");
    let reasons = reasons_of(&found, &gottman);
    assert!(reasons.contains(&"Uses the Gottman Method".to_owned()), "{reasons:?}");
    assert!(!reasons.iter().any(|r| r.starts_with("Has")), "{reasons:?}");
    let reasons = reasons_of(&found, &evenings);
    assert!(reasons.contains(&"Has evening times that fit yours".to_owned()), "{reasons:?}");
    assert!(!reasons.iter().any(|r| r.starts_with("Uses")), "{reasons:?}");
    let reasons = reasons_of(&found, &plain);
    assert!(!reasons.iter().any(|r| r.starts_with("Uses") || r.starts_with("Has")), "{reasons:?}");
    server.stop().await;
}

#[tokio::test]
async fn nothing_matching_is_said_plainly_with_what_to_change() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let person = client(&server, "Early Bird", json!({})).await;
    assert_hints(&matches(&server, &person).await);

    // Someone licensed in California who is full shows in the hints, not the matches.
    let full = therapist(&server, &admin, "Dr Full", json!({"capacity": 1})).await;
    let taker = client(&server, "Taker", json!({})).await;
    json_with_status(choose(&server, &taker, &full.id).await, StatusCode::CREATED).await;
    let body = matches(&server, &person).await;
    assert_hints(&body);

    let abroad = client(&server, "Abroad", json!({"jurisdiction": "DE", "languages": ["de"]})).await;
    assert_hints(&matches(&server, &abroad).await);
    server.stop().await;
}

#[tokio::test]
async fn a_licence_change_goes_back_through_verification() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let t = therapist(&server, &admin, "Dr Moving", json!({})).await;
    let in_california = client(&server, "Cal", json!({})).await;
    let in_new_york = client(&server, "Ny", json!({"jurisdiction": "US-NY"})).await;
    assert_eq!(matched_ids(&server, &in_california).await, vec![t.id.clone()]);

    // Other edits keep the approval.
    let edited = with(&application(&server, "Dr Moving"), json!({"bio": "Now also on weekends.", "capacity": 12}));
    let saved = json_with_status(apply(&server, &t, &edited).await, StatusCode::CREATED).await;
    assert_eq!(saved["status"], "approved", "{saved}");
    assert_eq!(matched_ids(&server, &in_california).await, vec![t.id.clone()]);

    // A new licence is checked before it counts, and meanwhile nobody is matched with them.
    let relicensed = with(&edited, json!({"licenses": [license(&server, "US-CA"), license(&server, "US-NY")]}));
    let saved = json_with_status(apply(&server, &t, &relicensed).await, StatusCode::CREATED).await;
    assert_eq!(saved["status"], "pending", "{saved}");
    assert_hints(&matches(&server, &in_california).await);
    assert_hints(&matches(&server, &in_new_york).await);
    let queue =
        json_with_status(get(&server, "/api/v1/admin/therapist-applications", &admin.token).await, StatusCode::OK)
            .await;
    assert!(queue["applications"].as_array().expect("list").iter().any(|a| a["id"].as_str() == Some(t.id.as_str())));

    json_with_status(approve(&server, &admin, &t.id).await, StatusCode::OK).await;
    assert_eq!(matched_ids(&server, &in_california).await, vec![t.id.clone()]);
    assert_eq!(matched_ids(&server, &in_new_york).await, vec![t.id.clone()]);
    server.stop().await;
}

#[tokio::test]
async fn asking_for_new_matches_leaves_out_those_already_shown() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let mut all = Vec::new();
    for name in ["Dr One", "Dr Two", "Dr Three", "Dr Four", "Dr Five"] {
        all.push(therapist(&server, &admin, name, json!({})).await.id);
    }
    let person = client(&server, "Kit", json!({})).await;
    let first = ids(&matches(&server, &person).await);
    assert_eq!(first.len(), 3);
    let path = format!("/api/v1/matches?exclude={}", first.join(","));
    let body = json_with_status(get(&server, &path, &person.token).await, StatusCode::OK).await;
    let others = ids(&body);
    assert_eq!(others.len(), 2, "{body}");
    assert!(others.iter().all(|id| !first.contains(id) && all.contains(id)), "{body}");
    // One of the new suggestions can be chosen too.
    json_with_status(choose(&server, &person, &others[0]).await, StatusCode::CREATED).await;
    // A malformed list is a clear 400, not a silent full list.
    problem(get(&server, "/api/v1/matches?exclude=not-an-id", &person.token).await, StatusCode::BAD_REQUEST).await;
    server.stop().await;
}
