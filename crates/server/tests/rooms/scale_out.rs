//! Two instances over one PostgreSQL database: a message posted on one reaches
//! WebSocket subscribers connected to the other, in order, and can be resumed
//! from there. Skipped (with a note) without `RAPPORT_TEST_POSTGRES_URL`.

use crate::common::{Db, Options, TestServer};
use crate::kit::*;
use crate::support::*;
use rapport::config::DatabaseUrl;
use rapport::startup::{Application, Settings};
use std::sync::{Arc, Mutex};

/// A second instance of a test server: the same database and master key, its own port.
struct Instance {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// A PostgreSQL test server and a second instance beside it; `None` without PostgreSQL.
async fn two_instances() -> Option<(TestServer, Instance)> {
    if crate::common::postgres_url().is_none() {
        eprintln!("skipped: set RAPPORT_TEST_POSTGRES_URL to run the scale-out test against PostgreSQL");
        return None;
    }
    let url: Arc<Mutex<Option<DatabaseUrl>>> = Arc::default();
    let captured = url.clone();
    let first = TestServer::spawn_with(Options {
        db: Db::Postgres,
        adjust: Box::new(move |settings| *captured.lock().unwrap() = Some(settings.database_url.clone())),
        ..Options::default()
    })
    .await
    .expect("the first instance");
    let database = url.lock().unwrap().clone().expect("the first instance's database");
    // The same data directory, so the second instance loads the same master key.
    let settings = Settings::for_database(database, first.data_dir().to_path_buf());
    let application = Application::build(settings).await.expect("the second instance");
    let base = format!("http://{}", application.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    Some((first, Instance { base, stop, task }))
}

#[tokio::test]
async fn a_message_posted_on_one_instance_reaches_sockets_on_the_other() {
    let Some((a, b)) = two_instances().await else { return };
    let CoupleInCare { a: riley, b: sam, therapist, couple_room, .. } = couple_in_care(&a, true).await;

    // Sam listens on instance B, the therapist on A; Riley posts on A.
    let mut sam_on_b = Socket::with_ticket(&b.base, &sam.token, None).await;
    let mut therapist_on_a = Socket::with_bearer(&a.base, &therapist.token, None).await;
    let first = say(&a, &riley, &couple_room, "Posted on instance A").await;
    assert_message_event(&sam_on_b.next().await, &first);
    assert_message_event(&therapist_on_a.next().await, &first);

    // And the other way round: posted on B (over HTTP and over the socket), heard on A.
    let response = crate::common::api_client()
        .post(format!("{}/api/v1/rooms/{couple_room}/messages", b.base))
        .bearer_auth(&sam.token)
        .json(&serde_json::json!({"body": "Posted on instance B"}))
        .send()
        .await
        .unwrap();
    let second = json_with_status(response, reqwest::StatusCode::CREATED).await;
    assert_message_event(&therapist_on_a.next().await, &second);
    assert_message_event(&sam_on_b.next().await, &second);
    sam_on_b
        .send(serde_json::json!({"type": "message", "room_id": couple_room, "body": "Over B's socket", "ref": 7}))
        .await;
    let third = sam_on_b.next_of("ack").await["message"].clone();
    let event = therapist_on_a.next().await;
    assert_message_event(&event, &third);

    // Events keep one order across instances: resuming on B from A's ids misses nothing.
    let first_id = {
        let mut replay = Socket::with_bearer(&b.base, &therapist.token, Some(0)).await;
        let all = replay.take_pending();
        let messages: Vec<_> = all.iter().filter(|e| e["type"] == "message").collect();
        assert_eq!(messages.len(), 3, "{all:#?}");
        assert_eq!(messages[0]["message"], first);
        assert_eq!(messages[1]["message"], second);
        assert_eq!(messages[2]["message"], third);
        let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        messages[0]["id"].as_i64().unwrap()
    };
    let mut resumed = Socket::with_bearer(&b.base, &therapist.token, Some(first_id)).await;
    let rest: Vec<_> = resumed.take_pending().into_iter().filter(|e| e["type"] == "message").collect();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0]["message"], second);
    assert_eq!(rest[1]["message"], third);

    for s in [sam_on_b, therapist_on_a, resumed] {
        s.close().await;
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn signing_out_on_one_instance_closes_the_session_s_socket_on_the_other() {
    let Some((a, b)) = two_instances().await else { return };
    let Individual { client, .. } = individual(&a).await;
    let mut on_b = Socket::with_bearer(&b.base, &client.token, None).await;
    let started = std::time::Instant::now();
    let response = send_empty(&a, reqwest::Method::DELETE, "/api/v1/auth/token", &client.token).await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    let (code, reason, _) = on_b.closed().await;
    assert_eq!((code, reason.as_str()), (4001, "session ended"));
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "closed after {:?}", started.elapsed());
    b.stop().await;
    a.stop().await;
}
