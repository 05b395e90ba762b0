//! Bad input: 422 with field errors and nothing half-saved; malformed JSON
//! is 400 and a body that is not JSON is 415.

use crate::common::TestServer;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn window(weekday: &str, start: &str, end: &str) -> Value {
    json!([{"weekday": weekday, "start": start, "end": end}])
}

/// Invalid applications: (what, changes to a valid one, the field named in the 422).
fn invalid_applications(server: &TestServer) -> Vec<(&'static str, Value, &'static str)> {
    let yesterday = (today(server) - chrono::Duration::days(1)).to_string();
    let lic = |patch: Value| {
        let mut l = license(server, "US-CA");
        for (k, v) in patch.as_object().expect("object") {
            l[k] = v.clone();
        }
        json!({ "licenses": [l] })
    };
    vec![
        ("unknown specialty", json!({"specialties": ["couples", "astrology"]}), "specialties"),
        ("no specialty", json!({"specialties": []}), "specialties"),
        ("unknown approach", json!({"approaches": ["primal_scream"]}), "approaches"),
        ("unknown modality", json!({"modalities": ["video", "carrier_pigeon"]}), "modalities"),
        ("modality as a label", json!({"modalities": ["Live chat"]}), "modalities"),
        ("unknown region", lic(json!({"jurisdiction": "US-ZZ"})), "licenses[0].jurisdiction"),
        ("a name, not a code", lic(json!({"jurisdiction": "California"})), "licenses[0].jurisdiction"),
        ("unknown country", lic(json!({"jurisdiction": "XQ"})), "licenses[0].jurisdiction"),
        ("expired yesterday", lic(json!({"expires_on": yesterday})), "licenses[0].expires_on"),
        ("date with slashes", lic(json!({"expires_on": "2031/01/31"})), "licenses[0].expires_on"),
        ("no such day", lic(json!({"expires_on": "2031-02-30"})), "licenses[0].expires_on"),
        ("unknown licence type", lic(json!({"type": "shaman"})), "licenses[0].type"),
        ("no licence number", lic(json!({"number": "  "})), "licenses[0].number"),
        ("no licences", json!({"licenses": []}), "licenses"),
        ("capacity 0", json!({"capacity": 0}), "capacity"),
        ("negative capacity", json!({"capacity": -3}), "capacity"),
        ("capacity left out", json!({"capacity": null}), "capacity"),
        ("language name", json!({"languages": ["english"]}), "languages"),
        ("unknown language code", json!({"languages": ["en", "zz"]}), "languages"),
        ("no language", json!({"languages": []}), "languages"),
        ("unknown weekday", json!({"weekly_availability": window("funday", "17:00", "21:00")}), "weekly_availability"),
        ("hour 25", json!({"weekly_availability": window("mon", "25:00", "26:00")}), "weekly_availability"),
        ("12-hour time", json!({"weekly_availability": window("mon", "5pm", "9pm")}), "weekly_availability"),
        ("end before start", json!({"weekly_availability": window("tue", "21:00", "17:00")}), "weekly_availability"),
        ("empty window", json!({"weekly_availability": window("tue", "17:00", "17:00")}), "weekly_availability"),
        ("unknown time zone", json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone"),
        ("abbreviated time zone", json!({"time_zone": "PST"}), "time_zone"),
        ("no name", json!({"professional_name": "   "}), "professional_name"),
    ]
}

async fn application_status(server: &TestServer, person: &Person) -> StatusCode {
    get(server, "/api/v1/therapists/application", &person.token).await.status()
}

#[tokio::test]
async fn a_rejected_first_application_saves_nothing() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let person = sign_up(&server, "Pat Applicant").await;
    for (what, patch, field) in invalid_applications(&server) {
        let body = with(&application(&server, "Pat Applicant"), patch);
        let fields = field_error(apply(&server, &person, &body).await, field, what).await;
        assert_eq!(
            application_status(&server, &person).await,
            StatusCode::NOT_FOUND,
            "{what} ({fields:?}): half-saved"
        );
    }
    // Several problems at once are all reported.
    let body = with(
        &application(&server, "Pat Applicant"),
        json!({"licenses": [with(&license(&server, "US-CA"), json!({"jurisdiction": "US-ZZ"}))], "capacity": 0, "time_zone": "Nowhere/Land"}),
    );
    let fields = field_error(apply(&server, &person, &body).await, "capacity", "three problems").await;
    for field in ["licenses[0].jurisdiction", "time_zone"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {fields:?}");
    }
    assert_eq!(application_status(&server, &person).await, StatusCode::NOT_FOUND);
    let queue =
        json_with_status(get(&server, "/api/v1/admin/therapist-applications", &admin.token).await, StatusCode::OK)
            .await;
    assert_eq!(queue["applications"], json!([]), "nothing reached the queue");
    assert_eq!(role_of(&server, &person).await, "client");
    // The same person can still apply properly.
    json_with_status(apply(&server, &person, &application(&server, "Pat Applicant")).await, StatusCode::CREATED).await;
    assert_eq!(application_status(&server, &person).await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn an_invalid_update_leaves_the_valid_application_unchanged() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let person = applicant(&server, "Lee Steady", json!({})).await;
    let before =
        json_with_status(get(&server, "/api/v1/therapists/application", &person.token).await, StatusCode::OK).await;
    let mut cases = invalid_applications(&server);
    // Valid changes riding along with an invalid one must not be kept either.
    cases.push((
        "new licence and name with a bad capacity",
        json!({"professional_name": "Someone Else", "licenses": [license(&server, "US-NY")], "capacity": 0}),
        "capacity",
    ));
    for (what, patch, field) in cases {
        let body = with(&application(&server, "Lee Steady"), patch);
        let fields = field_error(apply(&server, &person, &body).await, field, what).await;
        let after =
            json_with_status(get(&server, "/api/v1/therapists/application", &person.token).await, StatusCode::OK).await;
        assert_eq!(after, before, "{what} ({fields:?}) changed the saved application");
    }

    // Once approved, an invalid update neither changes it nor sends it back to verification.
    json_with_status(approve(&server, &admin, &person.id).await, StatusCode::OK).await;
    let approved =
        json_with_status(get(&server, "/api/v1/therapists/application", &person.token).await, StatusCode::OK).await;
    let body = with(
        &application(&server, "Lee Steady"),
        json!({"licenses": [license(&server, "US-NY")], "modalities": ["smoke_signals"]}),
    );
    field_error(apply(&server, &person, &body).await, "modalities", "approved, then a bad update").await;
    let after =
        json_with_status(get(&server, "/api/v1/therapists/application", &person.token).await, StatusCode::OK).await;
    assert_eq!(after, approved);
    assert_eq!(after["status"], "approved");
    let client = client(&server, "Still Matched", json!({})).await;
    assert_eq!(matched_ids(&server, &client).await, vec![person.id.clone()]);
    server.stop().await;
}

/// Invalid intakes: (what, changes to a valid one, the field named in the 422).
fn invalid_intakes() -> Vec<(&'static str, Value, &'static str)> {
    let prefs = |patch: Value| {
        let mut p = json!({"modalities": ["video"], "therapist_gender": null, "approaches": []});
        for (k, v) in patch.as_object().expect("object") {
            p[k] = v.clone();
        }
        json!({ "preferences": p })
    };
    vec![
        ("unknown concern", json!({"concerns": ["less_communication", "astrology"]}), "concerns"),
        ("concern as a label", json!({"concerns": ["We talk less than we used to"]}), "concerns"),
        ("unknown modality", prefs(json!({"modalities": ["carrier_pigeon"]})), "preferences.modalities"),
        ("unknown approach", prefs(json!({"approaches": ["primal_scream"]})), "preferences.approaches"),
        ("unknown gender", prefs(json!({"therapist_gender": "robot"})), "preferences.therapist_gender"),
        ("unknown time zone", prefs(json!({"time_zone": "Mars/Olympus_Mons"})), "preferences.time_zone"),
        (
            "window ends before it starts",
            prefs(json!({"time_windows": window("wed", "20:00", "18:00")})),
            "preferences.time_windows",
        ),
        ("unknown region", json!({"jurisdiction": "US-ZZ"}), "jurisdiction"),
        ("a name, not a code", json!({"jurisdiction": "California"}), "jurisdiction"),
        ("no jurisdiction", json!({"jurisdiction": ""}), "jurisdiction"),
        ("language name", json!({"languages": ["english"]}), "languages"),
        ("no language", json!({"languages": []}), "languages"),
        ("unknown kind", json!({"kind": "throuple"}), "kind"),
        ("privacy notice refused", json!({"privacy_consent": false}), "privacy_consent"),
        ("kind left out", json!({"kind": null}), "kind"),
    ]
}

#[tokio::test]
async fn invalid_intake_is_422_and_saves_nothing() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let therapist = therapist(&server, &admin, "Dr Kim", json!({})).await;
    let person = sign_up(&server, "Jo Intake").await;
    for (what, patch, field) in invalid_intakes() {
        let fields = field_error(submit_intake(&server, &person, &with(&intake(), patch)).await, field, what).await;
        let status = get(&server, "/api/v1/matches", &person.token).await.status();
        assert_eq!(status, StatusCode::CONFLICT, "{what} ({fields:?}): an intake was saved anyway");
    }

    // With a valid intake saved, an invalid one changes nothing: its valid
    // parts (a move to New York, where Dr Kim isn't licensed) are not kept.
    json_with_status(submit_intake(&server, &person, &intake()).await, StatusCode::CREATED).await;
    assert_eq!(matched_ids(&server, &person).await, vec![therapist.id.clone()]);
    for (what, patch, field) in invalid_intakes() {
        let mut patch = patch;
        if patch.get("jurisdiction").is_none() {
            patch["jurisdiction"] = json!("US-NY");
        }
        field_error(submit_intake(&server, &person, &with(&intake(), patch)).await, field, what).await;
        assert_eq!(matched_ids(&server, &person).await, vec![therapist.id.clone()], "{what} changed the saved intake");
    }
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400_and_other_content_types_are_415() {
    let server = TestServer::spawn().await;
    let admin = admin(&server).await;
    let pending = applicant(&server, "Dr Pending", json!({})).await;
    let person = sign_up(&server, "Max Malformed").await;
    let routes = [
        ("/api/v1/therapists/application".to_owned(), &person),
        ("/api/v1/intake".to_owned(), &person),
        (format!("/api/v1/admin/therapist-applications/{}/approve", pending.id), &admin),
        (format!("/api/v1/admin/therapist-applications/{}/reject", pending.id), &admin),
        (format!("/api/v1/matches/{}/choose", pending.id), &person),
    ];
    for (path, who) in &routes {
        for broken in ["{\"professional_name\": ", "{'kind': 'individual'}", "not json at all", "[1, 2, 3]"] {
            let response = authed(&server, Method::POST, path, &who.token)
                .header("content-type", "application/json")
                .body(broken)
                .send()
                .await
                .expect("POST");
            let p = problem(response, StatusCode::BAD_REQUEST).await;
            assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{path}: {p}");
        }
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            let response = authed(&server, Method::POST, path, &who.token)
                .header("content-type", content_type)
                .body(r#"{"reason": "x", "kind": "individual"}"#)
                .send()
                .await
                .expect("POST");
            problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        }
    }
    // None of that saved or decided anything.
    assert_eq!(get(&server, "/api/v1/therapists/application", &person.token).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get(&server, "/api/v1/matches", &person.token).await.status(), StatusCode::CONFLICT);
    let still =
        json_with_status(get(&server, "/api/v1/therapists/application", &pending.token).await, StatusCode::OK).await;
    assert_eq!(still["status"], "pending");
    assert_eq!(role_of(&server, &pending).await, "client");
    server.stop().await;
}
