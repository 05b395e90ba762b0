//! Wrapped data keys: stored as given, re-wrapped and rotated in one transaction.

use super::*;
use rapport_store::DataKey;

conformance! {
    data_keys_rotate_atomically => sqlite_data_keys_rotate_atomically, postgres_data_keys_rotate_atomically;
}

fn key(id: &str, master: &str, at: DateTime<Utc>) -> DataKey {
    DataKey {
        id: id.to_owned(),
        wrapped: id.bytes().chain(0..40u8).collect(),
        master_key_id: master.to_owned(),
        created_at: at,
        retired_at: None,
    }
}

async fn data_keys_rotate_atomically(store: &dyn Store) {
    let t0 = now();
    assert!(store.data_keys().await.unwrap().is_empty());
    let first = key("d1", "m1", t0);
    store.insert_data_key(&first).await.unwrap();
    assert!(matches!(store.insert_data_key(&first).await, Err(StoreError::Conflict(_))));
    let second = key("d2", "m1", t0 + Duration::seconds(1));
    store.insert_data_key(&second).await.unwrap();
    assert_eq!(store.data_keys().await.unwrap(), vec![first.clone(), second.clone()]);

    // Rotation: both re-wrapped under m2, both retired, a fresh active key added, in one go.
    let rewrapped: Vec<DataKey> = [&first, &second]
        .iter()
        .map(|k| DataKey { wrapped: vec![9; 48], master_key_id: "m2".to_owned(), ..(*k).clone() })
        .collect();
    let fresh = key("d3", "m2", t0 + Duration::seconds(2));
    let at = t0 + Duration::seconds(3);
    store.rewrap_data_keys(&rewrapped, Some(&fresh), at).await.unwrap();
    let stored = store.data_keys().await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored[..2]
        .iter()
        .all(|k| k.master_key_id == "m2" && k.wrapped == vec![9; 48] && k.retired_at == Some(at)));
    assert_eq!(stored[2], fresh, "the new key is the one not retired");

    // A re-wrap naming an unknown key changes nothing at all.
    let ghost = key("nope", "m3", t0);
    let bad = vec![DataKey { master_key_id: "m3".to_owned(), ..stored[0].clone() }, ghost];
    assert!(matches!(store.rewrap_data_keys(&bad, Some(&key("d4", "m3", at)), at).await, Err(StoreError::NotFound)));
    assert_eq!(store.data_keys().await.unwrap(), stored);
}
