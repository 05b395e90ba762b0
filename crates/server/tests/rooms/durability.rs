//! A message acknowledged with 201 survives the process being killed at once
//! (SIGKILL, no shutdown): the real binary, restarted on the same data.

use crate::common::api_client;
use crate::kit::PATIENCE;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `rapport serve` on a free port over `data_dir`, with no `RAPPORT_*` settings
/// inherited from the test's environment; returns the child and its address.
async fn serve(data_dir: &Path, demo: bool) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RAPPORT_") {
            command.env_remove(name);
        }
    }
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if demo {
        command.arg("--demo");
    }
    let mut child = command.spawn().expect("start rapport serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = tokio::time::timeout(PATIENCE * 3, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("Rapport is serving at ") {
                return rest.trim().to_owned();
            }
        }
        panic!("rapport serve exited before serving");
    })
    .await
    .expect("rapport serve did not start in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

async fn token(base: &str, email: &str) -> String {
    let response = api_client()
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": email, "password": rapport_app::DEMO_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn get_json(base: &str, path: &str, token: &str) -> Value {
    let response = api_client().get(format!("{base}{path}")).bearer_auth(token).send().await.expect(path);
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn couple_room(base: &str, token: &str) -> String {
    let rooms = get_json(base, "/api/v1/rooms", token).await;
    let room = rooms["rooms"].as_array().unwrap().iter().find(|r| r["kind"] == "couple").cloned();
    room.unwrap_or_else(|| panic!("the demo couple has a couple room: {rooms}"))["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_acknowledged_message_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = serve(dir.path(), true).await;
    let riley = token(&base, "riley@demo.rapport.test").await;
    let room = couple_room(&base, &riley).await;

    let text = format!("Written just before the crash {}", uuid::Uuid::new_v4());
    let response = api_client()
        .post(format!("{base}/api/v1/rooms/{room}/messages"))
        .bearer_auth(&riley)
        .json(&json!({"body": text}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::CREATED);
    // Killed the moment the acknowledgement arrives, before even reading its body.
    child.kill().await.expect("SIGKILL");
    let posted: Value = response.json().await.unwrap_or(Value::Null);

    let (mut child, base) = serve(dir.path(), false).await;
    let sam = token(&base, "sam@demo.rapport.test").await;
    let history = get_json(&base, &format!("/api/v1/rooms/{room}/messages"), &sam).await;
    let messages = history["messages"].as_array().unwrap();
    let last = messages.last().expect("messages");
    assert_eq!(last["body"], text.as_str(), "the acknowledged message is there: {history}");
    if !posted.is_null() {
        assert_eq!(last["id"], posted["id"]);
    }
    // The demo's earlier messages are intact too.
    assert!(messages.len() >= 3, "{history}");
    child.kill().await.expect("stop");
}
