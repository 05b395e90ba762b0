//! Rotating the master key: data keys are re-wrapped, every record still opens,
//! and an instance started before the rotation keeps reading without a restart.

use rapport_app::{App, AppConfig, Authenticated, RequestContext, SystemClock, Vault, DEMO_PASSWORD};
use rapport_store::SessionKind;
use std::path::Path;
use std::sync::Arc;

async fn instance(dir: &Path, key_file: &Path) -> App {
    let url = format!("sqlite://{}", dir.join("rapport.db").display());
    let store = rapport_store_sql::open(&url, &Default::default()).await.unwrap();
    let app = App::new(store, AppConfig::default(), Arc::new(SystemClock))
        .with_vault(Vault::load_or_create(key_file).unwrap());
    app.prepare_keys().await.unwrap();
    app.start_realtime().await.unwrap();
    app
}

async fn signed_in(app: &App, email: &str) -> Authenticated {
    let signed = app.sign_in(email, DEMO_PASSWORD, SessionKind::Api, &RequestContext::default()).await.unwrap();
    app.authenticate(signed.token.expose()).await.unwrap()
}

async fn couple_room_texts(app: &App, who: &Authenticated) -> Vec<String> {
    let rooms = app.my_rooms(who).await.unwrap();
    let room = rooms.iter().find(|r| r.kind == rapport_domain::room::RoomKind::Couple).expect("the demo couple room");
    let ctx = RequestContext::default();
    app.room_messages(who, room.id, None, None, 50, &ctx).await.unwrap().into_iter().map(|m| m.body).collect()
}

#[tokio::test]
async fn rotation_rewraps_keys_and_every_instance_keeps_reading() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    let first = instance(dir.path(), &key_file).await;
    first.seed_demo().await.unwrap();
    let riley = signed_in(&first, "riley@demo.rapport.test").await;
    let before = couple_room_texts(&first, &riley).await;
    assert!(before.iter().any(|t| t.contains("evening walk")), "{before:?}");

    // A second instance, running since before the rotation, with the old key ring.
    let second = instance(dir.path(), &key_file).await;
    let sam = signed_in(&second, "sam@demo.rapport.test").await;
    assert_eq!(couple_room_texts(&second, &sam).await, before);
    let old_ring = std::fs::read_to_string(&key_file).unwrap();

    let rotation = first.rotate_keys().await.unwrap();
    assert!(rotation.rewrapped >= 1);
    let new_ring = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(new_ring.lines().count(), 2, "the new key first, the earlier one kept");
    assert_eq!(new_ring.lines().nth(1), old_ring.lines().next());

    // New records use the fresh data key, wrapped by the new master key.
    let room = first
        .my_rooms(&riley)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kind == rapport_domain::room::RoomKind::Couple)
        .unwrap();
    let ctx = RequestContext::default();
    first.post_message(&riley, room.id, "after the rotation", None, &ctx).await.unwrap();

    // The instance that did not rotate reads it: it loads the new data key and re-reads the key file.
    let after = couple_room_texts(&second, &sam).await;
    assert_eq!(after.last().map(String::as_str), Some("after the rotation"));
    assert_eq!(&after[..before.len()], &before[..]);

    // A new instance with only the NEW master key reads everything: the data keys were re-wrapped.
    let only_new = dir.path().join("only-new.key");
    std::fs::write(&only_new, new_ring.lines().next().unwrap()).unwrap();
    let third = instance(dir.path(), &only_new).await;
    let riley_elsewhere = signed_in(&third, "riley@demo.rapport.test").await;
    assert_eq!(couple_room_texts(&third, &riley_elsewhere).await, after);

    // With only the OLD master key, nothing written under the rotated keys opens.
    let only_old = dir.path().join("only-old.key");
    std::fs::write(&only_old, old_ring.lines().next().unwrap()).unwrap();
    let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
    let store = rapport_store_sql::open(&url, &Default::default()).await.unwrap();
    let stale = App::new(store, AppConfig::default(), Arc::new(SystemClock))
        .with_vault(Vault::load_or_create(&only_old).unwrap());
    stale.start_realtime().await.unwrap();
    let riley_stale = signed_in(&stale, "riley@demo.rapport.test").await;
    let rooms = stale.my_rooms(&riley_stale).await.unwrap();
    let couple = rooms.iter().find(|r| r.kind == rapport_domain::room::RoomKind::Couple).unwrap();
    assert!(stale.room_messages(&riley_stale, couple.id, None, None, 50, &ctx).await.is_err());
}
