//! The OpenAPI document: the contract's paths are there, and the taxonomy
//! identifiers are published as `enum`s that the server really accepts.

use crate::common::{api_client, TestServer};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn document(server: &TestServer) -> Value {
    let response = api_client().get(server.url("/api/v1/openapi.json")).send().await.expect("GET openapi.json");
    json_with_status(response, StatusCode::OK).await
}

/// Follows `$ref`s (also through a single-member `allOf`/`oneOf`/`anyOf`
/// wrapper, and past a `null` alternative) to the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("local ref: {reference}"));
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "{reference} is not in components.schemas");
        return resolve(doc, target);
    }
    for wrapper in ["allOf", "oneOf", "anyOf"] {
        if let Some(members) = schema[wrapper].as_array() {
            let real: Vec<&Value> = members.iter().filter(|m| m["type"] != "null").collect();
            if real.len() == 1 {
                return resolve(doc, real[0]);
            }
        }
    }
    schema
}

/// The JSON request body schema of `method path`.
fn request_body<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(!schema.is_null(), "{method} {path} documents no JSON request body");
    resolve(doc, schema)
}

/// The schema of property `dotted` (e.g. `preferences.modalities`) of `schema`,
/// and of its items when it is an array.
fn property<'a>(doc: &'a Value, schema: &'a Value, dotted: &str) -> &'a Value {
    let mut here = schema;
    for part in dotted.split('.') {
        let next = &here["properties"][part];
        assert!(!next.is_null(), "no property `{part}` of `{dotted}` in {here}");
        here = resolve(doc, next);
    }
    if here["type"] == "array" || here["type"].as_array().is_some_and(|t| t.contains(&json!("array"))) {
        here = resolve(doc, &here["items"]);
    }
    here
}

/// The `enum` of a property's (item) schema.
fn enum_of(doc: &Value, schema: &Value, dotted: &str) -> Vec<String> {
    let target = property(doc, schema, dotted);
    let values = target["enum"].as_array().unwrap_or_else(|| panic!("`{dotted}` has no `enum` array: {target}"));
    values.iter().map(|v| v.as_str().unwrap_or_else(|| panic!("`{dotted}`: non-string id {v}")).to_owned()).collect()
}

fn assert_snake_case(kind: &str, ids: &[String]) {
    assert!(!ids.is_empty(), "{kind}: no identifiers");
    for id in ids {
        let ok = !id.is_empty()
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !id.ends_with('_')
            && !id.contains("__");
        assert!(ok, "{kind} id {id:?} is not snake_case ASCII");
    }
}

fn assert_includes(kind: &str, ids: &[String], required: &[&str]) {
    for r in required {
        assert!(ids.iter().any(|id| id == r), "{kind} must include {r:?}; has {ids:?}");
    }
}

#[tokio::test]
async fn the_document_lists_the_contract_paths() {
    let server = TestServer::spawn().await;
    let doc = document(&server).await;
    for (path, method) in [
        ("/api/v1/therapists/application", "post"),
        ("/api/v1/admin/therapist-applications", "get"),
        ("/api/v1/admin/therapist-applications/{id}/approve", "post"),
        ("/api/v1/admin/therapist-applications/{id}/reject", "post"),
        ("/api/v1/intake", "post"),
        ("/api/v1/matches", "get"),
        ("/api/v1/matches/{therapist_id}/choose", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(!op["security"].is_null(), "{method} {path} should say it needs a bearer token: {op}");
    }
    // The contract's success statuses are the documented ones.
    for (path, method, status) in [
        ("/api/v1/therapists/application", "post", "201"),
        ("/api/v1/intake", "post", "201"),
        ("/api/v1/matches", "get", "200"),
        ("/api/v1/matches/{therapist_id}/choose", "post", "201"),
        ("/api/v1/admin/therapist-applications/{id}/approve", "post", "200"),
        ("/api/v1/admin/therapist-applications/{id}/reject", "post", "200"),
    ] {
        assert!(doc["paths"][path][method]["responses"][status].is_object(), "{method} {path} → {status} undocumented");
    }
    let matches = &doc["paths"]["/api/v1/matches"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    let list = resolve(&doc, matches);
    let one = property(&doc, list, "matches");
    for member in ["therapist_id", "professional_name", "score", "reasons"] {
        assert!(one["properties"][member].is_object(), "MatchView lacks {member}: {one}");
    }
    server.stop().await;
}

#[tokio::test]
async fn taxonomy_identifiers_are_published_as_snake_case_enums() {
    let server = TestServer::spawn().await;
    let doc = document(&server).await;
    let application = request_body(&doc, "/api/v1/therapists/application", "post");
    let intake = request_body(&doc, "/api/v1/intake", "post");

    let specialties = enum_of(&doc, application, "specialties");
    assert_snake_case("specialty", &specialties);
    assert_includes(
        "specialty",
        &specialties,
        &["couples", "emotional_distance", "communication", "conflict", "anxiety", "depression", "grief"],
    );
    let approaches = enum_of(&doc, application, "approaches");
    assert_snake_case("approach", &approaches);
    assert_includes("approach", &approaches, &["emotionally_focused", "gottman_method", "cbt"]);
    let modalities = enum_of(&doc, application, "modalities");
    assert_snake_case("modality", &modalities);
    assert_includes("modality", &modalities, &["messaging", "video", "audio", "chat"]);
    let concerns = enum_of(&doc, intake, "concerns");
    assert_snake_case("concern", &concerns);
    assert_includes("concern", &concerns, &["less_communication", "less_affection"]);

    // The intake's preferences use the same vocabularies.
    assert_eq!(enum_of(&doc, intake, "preferences.modalities"), modalities);
    assert_eq!(enum_of(&doc, intake, "preferences.approaches"), approaches);

    // The named component schemas exist and carry the same enums.
    for (name, ids) in
        [("Specialty", &specialties), ("Approach", &approaches), ("Modality", &modalities), ("Concern", &concerns)]
    {
        let schema = &doc["components"]["schemas"][name];
        assert!(schema["enum"].is_array(), "components.schemas.{name} has no enum: {schema}");
        let listed: Vec<String> =
            schema["enum"].as_array().expect("enum").iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
        assert_eq!(&listed, ids, "components.schemas.{name}");
    }
    server.stop().await;
}

/// What the document publishes, the server accepts: an application using every
/// listed specialty, approach and modality, and an intake with every listed
/// concern, are both saved.
#[tokio::test]
async fn every_published_identifier_is_accepted() {
    let server = TestServer::spawn().await;
    let doc = document(&server).await;
    let application_schema = request_body(&doc, "/api/v1/therapists/application", "post");
    let intake_schema = request_body(&doc, "/api/v1/intake", "post");
    let specialties = enum_of(&doc, application_schema, "specialties");
    let approaches = enum_of(&doc, application_schema, "approaches");
    let modalities = enum_of(&doc, application_schema, "modalities");
    let concerns = enum_of(&doc, intake_schema, "concerns");

    let therapist = sign_up(&server, "Every Term").await;
    let body = with(
        &application(&server, "Every Term"),
        json!({"specialties": specialties, "approaches": approaches, "modalities": modalities}),
    );
    let saved = json_with_status(apply(&server, &therapist, &body).await, StatusCode::CREATED).await;
    let mut echoed: Vec<String> = saved["specialties"]
        .as_array()
        .expect("specialties")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    echoed.sort();
    let mut expected = specialties.clone();
    expected.sort();
    assert_eq!(echoed, expected, "every specialty is kept");

    let person = sign_up(&server, "Every Concern").await;
    let body = with(
        &intake(),
        json!({"concerns": concerns, "preferences": {"modalities": modalities, "therapist_gender": null, "approaches": approaches}}),
    );
    json_with_status(submit_intake(&server, &person, &body).await, StatusCode::CREATED).await;
    server.stop().await;
}
