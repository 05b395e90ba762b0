//! Sessions: tokens stored only as hashes, idle and absolute expiry, the
//! sessions list, revoking, and password changes ending other sessions.

use crate::common::TestServer;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;

async fn sessions(server: &TestServer, token: &str) -> Vec<Value> {
    let response = authed(server, Method::GET, "/api/v1/me/sessions", token).send().await.unwrap();
    let body = json_with_status(response, StatusCode::OK).await;
    body["sessions"].as_array().expect("sessions").clone()
}

fn current_id(sessions: &[Value]) -> String {
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one session is the current one: {sessions:?}");
    current[0]["id"].as_str().unwrap().to_owned()
}

async fn revoke(server: &TestServer, token: &str, id: &str) -> reqwest::Response {
    authed(server, Method::DELETE, &format!("/api/v1/me/sessions/{id}"), token).send().await.unwrap()
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let server = TestServer::spawn().await;
    let person = sign_up(&server, "hash@example.org", "Hash").await;
    let mut tokens =
        vec![sign_in(&server, &person.email, PASSWORD).await, sign_in(&server, &person.email, PASSWORD).await];
    let browser = Browser::new(&server);
    let response = browser.sign_in(&person.email, PASSWORD).await;
    let cookie = set_cookie_for(response.headers(), "rapport_session").expect("session cookie");
    tokens.push(cookie_value(&cookie));

    let db = server.data_dir().join("rapport.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.expect("open the test database");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(&pool).await.unwrap();
    assert!(tables.iter().any(|t| t == "sessions"), "{tables:?}");
    let mut values = Vec::new();
    for table in &tables {
        let columns: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(&pool)
            .await
            .unwrap();
        for column in columns {
            let sql = format!("SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\"");
            for row in sqlx::query(&sql).fetch_all(&pool).await.unwrap() {
                if let Some(bytes) = row.get::<Option<Vec<u8>>, _>(0) {
                    values.push((format!("{table}.{column}"), bytes));
                }
            }
        }
    }
    let stored_hashes: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_all(&pool).await.unwrap();
    pool.close().await;

    for token in &tokens {
        for (column, bytes) in &values {
            assert!(!contains(bytes, token.as_bytes()), "the raw token is stored in {column}");
        }
        // What is stored is the SHA-256 of the token, so the scan above looked at the right rows.
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        assert!(stored_hashes.contains(&hash), "no session row holds the token's hash");
    }
    // Nor is it anywhere else on disk (the WAL, logs, anything in the data directory).
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for token in &tokens {
                assert!(!contains(&bytes, token.as_bytes()), "the raw token is written to {}", path.display());
            }
        }
    }
    server.stop().await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_session_ends_after_thirty_idle_minutes() {
    let server = spawn_with_clock(Backend::Sqlite).await.unwrap();
    let person = sign_up(&server, "idle@example.org", "Idle").await;
    let token = sign_in(&server, &person.email, PASSWORD).await;
    let browser = Browser::new(&server);
    browser.sign_in(&person.email, PASSWORD).await;

    // Activity every 29 minutes keeps both alive well past 30 minutes from sign-in.
    for _ in 0..3 {
        advance(&server, minutes(29));
        assert_eq!(me_status(&server, &token).await, StatusCode::OK);
        assert_eq!(browser.get("/home").await.status(), StatusCode::OK);
    }
    advance(&server, minutes(31));
    problem(get_me(&server, &token).await, StatusCode::UNAUTHORIZED).await;
    let home = browser.get("/home").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&home), "/sign-in");
    server.stop().await;
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_however_active() {
    let server = spawn_with_clock(Backend::Sqlite).await.unwrap();
    let person = sign_up(&server, "busy@example.org", "Busy").await;
    let token = sign_in(&server, &person.email, PASSWORD).await;
    // Active every 20 minutes: fine for 11h40m…
    for step in 1..36 {
        advance(&server, minutes(20));
        assert_eq!(me_status(&server, &token).await, StatusCode::OK, "after {} minutes", step * 20);
    }
    // …and over at 12h.
    advance(&server, minutes(20));
    problem(get_me(&server, &token).await, StatusCode::UNAUTHORIZED).await;
    // Signing in again starts a new 12 hours.
    let fresh = sign_in(&server, &person.email, PASSWORD).await;
    assert_eq!(me_status(&server, &fresh).await, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn each_sign_in_is_a_new_session_listed_with_the_current_one_marked() {
    let server = TestServer::spawn().await;
    let person = sign_up(&server, "many@example.org", "Many").await;
    let first = sign_in(&server, &person.email, PASSWORD).await;
    let second = sign_in(&server, &person.email, PASSWORD).await;
    assert_ne!(first, second, "every sign-in gets its own token");
    assert_eq!(me_status(&server, &first).await, StatusCode::OK);
    assert_eq!(me_status(&server, &second).await, StatusCode::OK);

    let seen_by_first = sessions(&server, &first).await;
    let seen_by_second = sessions(&server, &second).await;
    assert_eq!(seen_by_first.len(), 2, "{seen_by_first:?}");
    let first_id = current_id(&seen_by_first);
    let second_id = current_id(&seen_by_second);
    assert_ne!(first_id, second_id);
    for s in &seen_by_first {
        assert_eq!(s["kind"], "api");
        assert_eq!(s["ip"], "127.0.0.1");
        for member in ["created_at", "last_seen_at", "expires_at"] {
            assert!(s[member].as_str().is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()), "{s}");
        }
        assert!(s.get("token").is_none() && s.get("token_hash").is_none(), "a session list never shows secrets: {s}");
    }
    // Newest first.
    assert_eq!(seen_by_first[0]["id"], second_id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn revoking_sessions_ends_only_your_own() {
    let server = TestServer::spawn().await;
    let ana = sign_up(&server, "ana@example.org", "Ana").await;
    let ben = sign_up(&server, "ben@example.org", "Ben").await;
    let ana_phone = sign_in(&server, &ana.email, PASSWORD).await;
    let ana_laptop = sign_in(&server, &ana.email, PASSWORD).await;
    let ben_token = sign_in(&server, &ben.email, PASSWORD).await;
    let ben_session = current_id(&sessions(&server, &ben_token).await);
    let laptop_session = current_id(&sessions(&server, &ana_laptop).await);

    // Ben's session is "not found" to Ana, and keeps working.
    problem(revoke(&server, &ana_phone, &ben_session).await, StatusCode::NOT_FOUND).await;
    assert_eq!(me_status(&server, &ben_token).await, StatusCode::OK);
    // Malformed and unknown ids are not found either.
    for id in ["not-a-uuid", "123", &uuid::Uuid::now_v7().to_string(), "00000000-0000-0000-0000-000000000000"] {
        problem(revoke(&server, &ana_phone, id).await, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(me_status(&server, &ana_laptop).await, StatusCode::OK);

    // Ana ends her laptop session from her phone.
    let response = revoke(&server, &ana_phone, &laptop_session).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(get_me(&server, &ana_laptop).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(me_status(&server, &ana_phone).await, StatusCode::OK);
    assert_eq!(sessions(&server, &ana_phone).await.len(), 1);
    // Twice is not found.
    problem(revoke(&server, &ana_phone, &laptop_session).await, StatusCode::NOT_FOUND).await;
    server.stop().await;
}

async fn a_password_change_ends_the_other_sessions(backend: Backend) {
    let Some(server) = spawn_on(backend, Default::default()).await else { return };
    let lee = sign_up(&server, "lee@example.org", "Lee").await;
    let here = sign_in(&server, &lee.email, PASSWORD).await;
    let elsewhere = sign_in(&server, &lee.email, PASSWORD).await;
    let browser = Browser::new(&server);
    assert_eq!(browser.sign_in(&lee.email, PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let change = |current: &str, new: &str| {
        authed(&server, Method::PUT, "/api/v1/me/password", &here)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };

    // Refusals change nothing.
    let wrong = problem(change("not my password", NEW_PASSWORD).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&wrong), ["current_password"]);
    let weak = problem(change(PASSWORD, "qwerty123456").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&weak), ["new_password"]);
    assert_eq!(me_status(&server, &elsewhere).await, StatusCode::OK);

    let response = change(PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // This session goes on; the others are over.
    assert_eq!(me_status(&server, &here).await, StatusCode::OK);
    problem(get_me(&server, &elsewhere).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(browser.get("/home").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(sessions(&server, &here).await.len(), 1);
    // The old password no longer works; the new one does.
    problem(request_token(&server, &lee.email, PASSWORD, None).await, StatusCode::UNAUTHORIZED).await;
    sign_in(&server, &lee.email, NEW_PASSWORD).await;
    server.stop().await;
}

on_both_backends! {
    a_password_change_ends_the_other_sessions => password_change_on_sqlite, password_change_on_postgres;
}
