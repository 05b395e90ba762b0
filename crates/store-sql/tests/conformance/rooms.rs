//! Rooms, members, messages (group commit, paging, corrections, tombstones,
//! attachments), read markers, stars, the event log and replies awaited.

use super::*;
use rapport_domain::room::{AttachmentKind, RoomKind};
use rapport_domain::{MessageId, RoomId};
use rapport_store::{AttachmentMeta, NewMessage, NewRoomEvent, Room, RoomWrite, StoredMessage};

conformance! {
    rooms_are_ensured_once => sqlite_rooms_are_ensured_once, postgres_rooms_are_ensured_once;
    room_membership_history => sqlite_room_membership_history, postgres_room_membership_history;
    group_commit_round_trip => sqlite_group_commit_round_trip, postgres_group_commit_round_trip;
    a_failed_batch_leaves_nothing => sqlite_a_failed_batch_leaves_nothing, postgres_a_failed_batch_leaves_nothing;
    event_ids_follow_commit_order => sqlite_event_ids_follow_commit_order, postgres_event_ids_follow_commit_order;
    events_follow_membership => sqlite_events_follow_membership, postgres_events_follow_membership;
    messages_page_both_ways => sqlite_messages_page_both_ways, postgres_messages_page_both_ways;
    correcting_and_deleting_messages => sqlite_correcting_and_deleting_messages,
        postgres_correcting_and_deleting_messages;
    read_markers_and_unread_counts => sqlite_read_markers_and_unread_counts, postgres_read_markers_and_unread_counts;
    stars => sqlite_stars, postgres_stars;
    replies_awaited => sqlite_replies_awaited, postgres_replies_awaited;
    latest_message_per_room => sqlite_latest_message_per_room, postgres_latest_message_per_room;
    members_of_ones_rooms => sqlite_members_of_ones_rooms, postgres_members_of_ones_rooms;
}

async fn rooms_are_ensured_once(store: &dyn Store) {
    let now = now();
    let client = insert_person(store, "client@example.org", Role::Client).await;
    let key = format!("individual:{client}");
    assert_eq!(store.room_by_key(&key).await.unwrap(), None);

    let room = new_room(RoomKind::Individual, &key, None, now);
    assert_eq!(store.ensure_room(&room).await.unwrap(), room);
    // A second attempt (say, from another instance) gets the first room back.
    let late = new_room(RoomKind::Individual, &key, None, now + Duration::seconds(1));
    assert_eq!(store.ensure_room(&late).await.unwrap(), room);
    assert!(matches!(store.room(late.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.room(room.id).await.unwrap(), room);
    assert_eq!(store.room_by_key(&key).await.unwrap(), Some(room.clone()));

    // Every kind, with and without a couple.
    let alex = insert_person(store, "alex@example.org", Role::Client).await;
    let couple = Couple { id: CoupleId::new(), partner_a: client, partner_b: alex, linked_at: now };
    store.insert_couple(&couple).await.unwrap();
    let joint = new_room(RoomKind::Couple, &format!("couple:{}", couple.id), Some(couple.id), now);
    let private = new_room(RoomKind::PrivateChannel, &format!("private:{}:{alex}", couple.id), Some(couple.id), now);
    for r in [&joint, &private] {
        assert_eq!(store.ensure_room(r).await.unwrap(), *r);
        assert_eq!(store.room(r.id).await.unwrap(), *r);
    }
    assert!(matches!(store.room(RoomId::new()).await, Err(StoreError::NotFound)));
}

async fn room_membership_history(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let client = insert_person(store, "client@example.org", Role::Client).await;
    let therapist = insert_person(store, "therapist@example.org", Role::Therapist).await;
    let second = store.ensure_room(&new_room(RoomKind::Individual, "individual:b", None, now)).await.unwrap();
    let first = store
        .ensure_room(&new_room(RoomKind::Individual, "individual:a", None, now - Duration::days(1)))
        .await
        .unwrap();

    assert!(store.add_room_member(first.id, client, now, None).await.unwrap());
    let from = now - Duration::hours(5);
    assert!(store.add_room_member(first.id, therapist, now + Duration::seconds(1), Some(from)).await.unwrap());
    // Already a member: nothing changes.
    assert!(!store.add_room_member(first.id, client, now + Duration::hours(1), Some(now)).await.unwrap());
    assert!(store.add_room_member(second.id, therapist, now, None).await.unwrap());

    let members = store.room_members(first.id).await.unwrap();
    assert_eq!(members.iter().map(|m| m.account_id).collect::<Vec<_>>(), vec![client, therapist]);
    let theirs = store.membership(first.id, therapist).await.unwrap().unwrap();
    assert_eq!((theirs.room_id, theirs.joined_at, theirs.left_at), (first.id, now + Duration::seconds(1), None));
    assert_eq!((theirs.visible_from, theirs.last_read), (Some(from), None));
    assert_eq!(store.membership(first.id, client).await.unwrap().unwrap().joined_at, now);
    assert_eq!(store.membership(second.id, client).await.unwrap(), None);
    // Oldest room first.
    let rooms: Vec<_> = store.rooms_of(therapist).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(rooms, vec![first.id, second.id]);

    // Leaving ends the membership; only once.
    let left = now + Duration::days(1);
    assert!(store.remove_room_member(first.id, therapist, left).await.unwrap());
    assert!(!store.remove_room_member(first.id, therapist, left).await.unwrap());
    assert!(!store.remove_room_member(second.id, client, left).await.unwrap());
    assert_eq!(store.membership(first.id, therapist).await.unwrap(), None);
    assert_eq!(store.room_members(first.id).await.unwrap().len(), 1);
    let rooms: Vec<_> = store.rooms_of(therapist).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(rooms, vec![second.id]);

    // Rejoining starts a new stay; the old one is kept.
    let back = left + Duration::hours(2);
    assert!(store.add_room_member(first.id, therapist, back, Some(back)).await.unwrap());
    let again = store.membership(first.id, therapist).await.unwrap().unwrap();
    assert_eq!((again.joined_at, again.visible_from, again.last_read), (back, Some(back), None));
    assert_eq!(db.count_rows("room_members").await, 4);
}

async fn group_commit_round_trip(db: &TestDatabase) {
    let store = db.store();
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:round-trip", start).await;
    assert_eq!(store.latest_event_id().await.unwrap(), 0);

    // Enough writes to need several statements per table (and an odd remainder).
    let mut writes = Vec::new();
    for n in 0..301 {
        let sender = if n % 3 == 0 { therapist } else { client };
        let mut m = message(room.id, sender, start + Duration::milliseconds(n), &format!("message {n}"));
        if n % 50 == 7 {
            m.attachment = Some(attachment_meta(n as u64));
        }
        writes.push(message_write(m));
    }
    // A plain event with neither message nor audit entry.
    writes.insert(
        150,
        RoomWrite {
            message: None,
            event: NewRoomEvent {
                room_id: room.id,
                kind: "read".to_owned(),
                actor_id: client,
                message_id: None,
                payload: r#"{"up_to":"x"}"#.to_owned(),
                created_at: start,
            },
            audit: None,
        },
    );
    let ids = store.commit_room_writes(&writes).await.unwrap();
    assert_eq!(ids, (1..=302).collect::<Vec<i64>>());
    // SQLite's group commits leave syncing the WAL to a separate step (run beside the next
    // batch); PostgreSQL's are durable on return. Either way the sync succeeds.
    assert_eq!(store.room_writes_need_sync(), store.backend() == "sqlite");
    store.sync_room_writes().await.unwrap();
    assert_eq!(store.latest_event_id().await.unwrap(), 302);
    assert_eq!(db.count_rows("messages").await, 301);
    assert_eq!(db.count_rows("message_attachments").await, 6);
    assert_eq!(db.count_rows("audit_events").await, 301);

    // Messages come back exactly as written, attachments described and their bytes apart.
    for w in writes.iter().filter_map(|w| w.message.as_ref()) {
        assert_eq!(store.message(w.message.id).await.unwrap(), w.message);
        match &w.attachment_bytes {
            Some(bytes) => assert_eq!(&store.attachment_bytes(w.message.id).await.unwrap(), bytes),
            None => assert!(matches!(store.attachment_bytes(w.message.id).await, Err(StoreError::NotFound))),
        }
    }
    assert!(matches!(store.message(MessageId::new()).await, Err(StoreError::NotFound)));

    // The log has every event, in order, with the ids handed out.
    let events = store.events_after(client, 0, 1000).await.unwrap();
    assert_eq!(events.len(), 302);
    for ((event, id), write) in events.iter().zip(&ids).zip(&writes) {
        assert_eq!(event.id, *id);
        assert_eq!(
            NewRoomEvent {
                room_id: event.room_id,
                kind: event.kind.clone(),
                actor_id: event.actor_id,
                message_id: event.message_id,
                payload: event.payload.clone(),
                created_at: event.created_at,
            },
            write.event
        );
    }
    let page = store.events_after(therapist, 100, 5).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![101, 102, 103, 104, 105]);
    assert!(store.events_after(therapist, 302, 10).await.unwrap().is_empty());

    // The next batch carries on; an empty batch is nothing.
    assert!(store.commit_room_writes(&[]).await.unwrap().is_empty());
    let next = message_write(message(room.id, client, start + Duration::seconds(5), "later"));
    assert_eq!(store.commit_room_writes(&[next]).await.unwrap(), vec![303]);
    assert_eq!(store.latest_event_id().await.unwrap(), 303);
}

async fn a_failed_batch_leaves_nothing(db: &TestDatabase) {
    let store = db.store();
    let start = now();
    let (room, [client, _]) = room_with_two(store, "individual:failing", start).await;
    let first = message_write(message(room.id, client, start, "hello"));
    assert_eq!(store.commit_room_writes(std::slice::from_ref(&first)).await.unwrap(), vec![1]);

    // The second batch repeats a message id: none of it may land, and no id is used up.
    let fresh = message_write(message(room.id, client, start + Duration::seconds(1), "fresh"));
    let mut repeated = first.clone();
    repeated.event.created_at = start + Duration::seconds(2);
    assert!(store.commit_room_writes(&[fresh.clone(), repeated]).await.is_err());
    assert_eq!(store.latest_event_id().await.unwrap(), 1);
    assert_eq!(db.count_rows("messages").await, 1);
    assert_eq!(db.count_rows("room_events").await, 1);
    assert_eq!(db.count_rows("audit_events").await, 1);
    assert!(matches!(store.message(fresh.message.as_ref().unwrap().message.id).await, Err(StoreError::NotFound)));

    // An attachment described without its bytes is refused before anything is written.
    let mut half = message(room.id, client, start + Duration::seconds(3), "see attached");
    half.attachment = Some(attachment_meta(10));
    let write = RoomWrite { message: Some(NewMessage { message: half, attachment_bytes: None }), ..fresh.clone() };
    assert!(store.commit_room_writes(&[write]).await.is_err());

    assert_eq!(store.commit_room_writes(&[fresh]).await.unwrap(), vec![2]);
}

async fn event_ids_follow_commit_order(db: &TestDatabase) {
    let store: Arc<dyn Store> = Arc::clone(&db.store);
    let start = now();
    let (room, [client, therapist]) = room_with_two(&*store, "individual:concurrent", start).await;
    const WRITERS: usize = 4;
    const BATCHES: usize = 25;
    const BATCH: usize = 20;
    const TOTAL: i64 = (WRITERS * BATCHES * BATCH) as i64;

    // Writers commit batches at the same time...
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for b in 0..BATCHES {
                let writes: Vec<_> = (0..BATCH)
                    .map(|i| {
                        let at = start + Duration::microseconds((w * 10_000 + b * 100 + i) as i64);
                        message_write(message(room.id, client, at, "concurrent"))
                    })
                    .collect();
                let ids = store.commit_room_writes(&writes).await.unwrap();
                // A batch's ids are consecutive.
                assert!(ids.windows(2).all(|p| p[1] == p[0] + 1), "{ids:?}");
                mine.extend(ids);
            }
            mine
        }));
    }
    // ...while a reader follows the log. If an id could become visible before a smaller
    // one, the reader would see a gap: it must only ever see the very next ids.
    let reader = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut seen = 0_i64;
            while seen < TOTAL {
                let latest = store.latest_event_id().await.unwrap();
                assert!(latest >= seen);
                for e in store.events_after(therapist, seen, 500).await.unwrap() {
                    assert_eq!(e.id, seen + 1, "a gap in the event log");
                    seen = e.id;
                }
                tokio::task::yield_now().await;
            }
            seen
        })
    };
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(reader.await.unwrap(), TOTAL);
    all.sort_unstable();
    assert_eq!(all, (1..=TOTAL).collect::<Vec<_>>());
    assert_eq!(store.latest_event_id().await.unwrap(), TOTAL);
    assert_eq!(db.count_rows("messages").await, TOTAL);
}

async fn events_follow_membership(store: &dyn Store) {
    let start = now();
    let (room, [client, therapist]) = room_with_two(store, "individual:members", start).await;
    let other = store.ensure_room(&new_room(RoomKind::Individual, "individual:other", None, start)).await.unwrap();
    let stranger = insert_person(store, "stranger@example.org", Role::Client).await;
    store.add_room_member(other.id, stranger, start, None).await.unwrap();

    let ids = store
        .commit_room_writes(&[
            message_write(message(room.id, client, start, "one")),
            message_write(message(other.id, stranger, start, "elsewhere")),
            message_write(message(room.id, therapist, start, "two")),
        ])
        .await
        .unwrap();
    let ids_of = |events: Vec<rapport_store::RoomEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids_of(store.events_after(client, 0, 10).await.unwrap()), vec![ids[0], ids[2]]);
    assert_eq!(ids_of(store.events_after(stranger, 0, 10).await.unwrap()), vec![ids[1]]);
    assert_eq!(ids_of(store.events_after(client, ids[0], 10).await.unwrap()), vec![ids[2]]);
    assert_eq!(ids_of(store.events_after(client, 0, 1).await.unwrap()), vec![ids[0]]);

    // After leaving, nothing of the room reaches them.
    store.remove_room_member(room.id, client, start + Duration::seconds(1)).await.unwrap();
    assert!(store.events_after(client, 0, 10).await.unwrap().is_empty());
    assert_eq!(store.latest_event_id().await.unwrap(), ids[2]);
}

async fn messages_page_both_ways(store: &dyn Store) {
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:paging", start).await;
    let other = store.ensure_room(&new_room(RoomKind::Individual, "individual:noise", None, start)).await.unwrap();
    let mut writes = Vec::new();
    for n in 0..10 {
        let sender = if n % 2 == 0 { client } else { therapist };
        writes.push(message_write(message(room.id, sender, start + Duration::minutes(n), &format!("m{n}"))));
        writes.push(message_write(message(other.id, client, start + Duration::minutes(n), "noise")));
    }
    store.commit_room_writes(&writes).await.unwrap();
    let ids: Vec<MessageId> = writes
        .iter()
        .filter_map(|w| w.message.as_ref())
        .filter(|m| m.message.room_id == room.id)
        .map(|m| m.message.id)
        .collect();
    let page_ids = |page: Vec<StoredMessage>| page.into_iter().map(|m| m.id).collect::<Vec<_>>();

    // Newest first in the query, oldest first in the answer.
    assert_eq!(page_ids(store.messages_page(room.id, None, None, 3).await.unwrap()), ids[7..].to_vec());
    assert_eq!(page_ids(store.messages_page(room.id, None, None, 50).await.unwrap()), ids);
    assert_eq!(page_ids(store.messages_page(room.id, None, Some(ids[2]), 3).await.unwrap()), ids[3..6].to_vec());
    assert!(store.messages_page(room.id, None, Some(ids[9]), 3).await.unwrap().is_empty());
    assert_eq!(page_ids(store.messages_before(room.id, None, ids[6], 4).await.unwrap()), ids[2..6].to_vec());
    assert_eq!(page_ids(store.messages_before(room.id, None, ids[2], 10).await.unwrap()), ids[..2].to_vec());
    assert!(store.messages_before(room.id, None, ids[0], 10).await.unwrap().is_empty());

    // Someone who sees the room from minute 4 on never gets the earlier messages.
    let from = Some(start + Duration::minutes(4));
    assert_eq!(page_ids(store.messages_page(room.id, from, None, 50).await.unwrap()), ids[4..].to_vec());
    assert_eq!(page_ids(store.messages_page(room.id, from, Some(ids[1]), 2).await.unwrap()), ids[4..6].to_vec());
    assert_eq!(page_ids(store.messages_before(room.id, from, ids[7], 10).await.unwrap()), ids[4..7].to_vec());
    assert!(store.messages_page(RoomId::new(), None, None, 10).await.unwrap().is_empty());
}

async fn correcting_and_deleting_messages(db: &TestDatabase) {
    let store = db.store();
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:corrections", start).await;
    let original = message(room.id, client, start, "I feel beter");
    let mut with_file = message(room.id, client, start + Duration::seconds(1), "my notes");
    with_file.attachment = Some(attachment_meta(3));
    store.commit_room_writes(&[message_write(original.clone()), message_write(with_file.clone())]).await.unwrap();

    let fixed_at = start + Duration::minutes(2);
    let fixed = sealed("I feel better");
    let event = update_event(&original, fixed_at);
    let audit = audit_entry(client, AuditAction::MessageEdited, fixed_at, original.id);
    // The wrong version is refused, and nothing is appended.
    assert!(matches!(
        store.correct_message(original.id, 2, &fixed, fixed_at, &event, &audit).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.latest_event_id().await.unwrap(), 2);
    assert_eq!(db.count_rows("audit_events").await, 2);

    assert_eq!(store.correct_message(original.id, 1, &fixed, fixed_at, &event, &audit).await.unwrap(), 3);
    let read = store.message(original.id).await.unwrap();
    assert_eq!(read, StoredMessage { body: fixed.clone(), version: 2, edited_at: Some(fixed_at), ..original.clone() });
    let versions = store.message_versions(original.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!((versions[0].message_id, versions[0].version), (original.id, 1));
    assert_eq!((&versions[0].body, versions[0].replaced_at), (&original.body, fixed_at));
    let logged = store.events_after(therapist, 2, 10).await.unwrap();
    assert_eq!((logged.len(), logged[0].id, logged[0].kind.as_str()), (1, 3, "message_updated"));
    assert_eq!(logged[0].message_id, Some(original.id));
    assert_eq!(db.count_rows("audit_events").await, 3);
    // A stale correction (still expecting version 1) is refused.
    let again = audit_entry(client, AuditAction::MessageEdited, fixed_at, original.id);
    assert!(matches!(
        store.correct_message(original.id, 1, &sealed("x"), fixed_at, &event, &again).await,
        Err(StoreError::NotFound)
    ));

    // Deleting leaves a tombstone: empty body, no attachment, earlier text kept for the record.
    let gone_at = start + Duration::minutes(5);
    let empty = Sealed { key_id: "k1".to_owned(), bytes: Vec::new() };
    let del = audit_entry(client, AuditAction::MessageDeleted, gone_at, with_file.id);
    let id =
        store.delete_message(with_file.id, gone_at, &empty, &update_event(&with_file, gone_at), &del).await.unwrap();
    assert_eq!(id, 4);
    let tomb = store.message(with_file.id).await.unwrap();
    assert_eq!(
        tomb,
        StoredMessage { body: empty.clone(), deleted_at: Some(gone_at), attachment: None, ..with_file.clone() }
    );
    assert!(matches!(store.attachment_bytes(with_file.id).await, Err(StoreError::NotFound)));
    let versions = store.message_versions(with_file.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!((versions[0].version, &versions[0].body), (1, &with_file.body));
    // Pages show the tombstone in its place.
    let page = store.messages_page(room.id, None, None, 10).await.unwrap();
    assert_eq!(page[1], tomb);

    // Deleted is final: neither deleted again nor corrected.
    let del2 = audit_entry(client, AuditAction::MessageDeleted, gone_at, with_file.id);
    let upd = update_event(&with_file, gone_at);
    assert!(matches!(
        store.delete_message(with_file.id, gone_at, &empty, &upd, &del2).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.correct_message(with_file.id, 1, &fixed, gone_at, &upd, &del2).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_message(MessageId::new(), gone_at, &empty, &upd, &del2).await,
        Err(StoreError::NotFound)
    ));

    // The corrected message can be deleted too; both versions stay.
    let del3 = audit_entry(client, AuditAction::MessageDeleted, gone_at, original.id);
    assert_eq!(
        store.delete_message(original.id, gone_at, &empty, &update_event(&original, gone_at), &del3).await.unwrap(),
        5
    );
    let versions = store.message_versions(original.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(versions[1].body, fixed);
    assert_eq!(store.latest_event_id().await.unwrap(), 5);
    assert_eq!(db.count_rows("audit_events").await, 5);
}

async fn read_markers_and_unread_counts(store: &dyn Store) {
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:unread", start).await;
    let quiet = store.ensure_room(&new_room(RoomKind::Individual, "individual:quiet", None, start)).await.unwrap();
    store.add_room_member(quiet.id, client, start, None).await.unwrap();
    let elsewhere = store.ensure_room(&new_room(RoomKind::Individual, "individual:else", None, start)).await.unwrap();
    store.add_room_member(elsewhere.id, therapist, start, None).await.unwrap();

    let from_therapist: Vec<StoredMessage> =
        (0..4).map(|n| message(room.id, therapist, start + Duration::minutes(n), "t")).collect();
    let own = message(room.id, client, start + Duration::minutes(5), "mine");
    let stray = message(elsewhere.id, therapist, start, "elsewhere");
    let mut writes: Vec<_> = from_therapist.iter().cloned().map(message_write).collect();
    writes.push(message_write(own.clone()));
    writes.push(message_write(stray.clone()));
    store.commit_room_writes(&writes).await.unwrap();

    // Rooms with nothing unread are listed too; one's own messages never count.
    let counts = store.unread_counts(client).await.unwrap();
    assert_eq!(counts, HashMap::from([(room.id, 4), (quiet.id, 0)]));
    assert_eq!(store.unread_counts(therapist).await.unwrap(), HashMap::from([(room.id, 1), (elsewhere.id, 0)]));
    assert_eq!(store.first_unread(room.id, client).await.unwrap(), Some(from_therapist[0].id));

    // The marker moves forward only, and only to a message of that room.
    assert!(store.mark_read(room.id, client, from_therapist[2].id).await.unwrap());
    assert!(!store.mark_read(room.id, client, from_therapist[1].id).await.unwrap());
    assert!(!store.mark_read(room.id, client, from_therapist[2].id).await.unwrap());
    assert!(!store.mark_read(room.id, client, stray.id).await.unwrap());
    assert!(!store.mark_read(quiet.id, client, from_therapist[3].id).await.unwrap());
    assert_eq!(store.membership(room.id, client).await.unwrap().unwrap().last_read, Some(from_therapist[2].id));
    assert_eq!(store.unread_counts(client).await.unwrap()[&room.id], 1);
    assert_eq!(store.first_unread(room.id, client).await.unwrap(), Some(from_therapist[3].id));

    // A deleted message is no longer unread.
    let at = start + Duration::minutes(30);
    let empty = Sealed { key_id: "k1".to_owned(), bytes: Vec::new() };
    let audit = audit_entry(therapist, AuditAction::MessageDeleted, at, from_therapist[3].id);
    store
        .delete_message(from_therapist[3].id, at, &empty, &update_event(&from_therapist[3], at), &audit)
        .await
        .unwrap();
    assert_eq!(store.unread_counts(client).await.unwrap()[&room.id], 0);
    assert_eq!(store.first_unread(room.id, client).await.unwrap(), None);
    // Marking one's own (newer) message read is fine.
    assert!(store.mark_read(room.id, client, own.id).await.unwrap());

    // Someone who joins seeing only from minute 2 on counts only those.
    let partner = insert_person(store, "partner@example.org", Role::Client).await;
    store.add_room_member(room.id, partner, start, Some(start + Duration::minutes(2))).await.unwrap();
    assert_eq!(store.unread_counts(partner).await.unwrap(), HashMap::from([(room.id, 2)]));
    assert_eq!(store.first_unread(room.id, partner).await.unwrap(), Some(from_therapist[2].id));
    // Not a member, nothing to count.
    assert_eq!(store.first_unread(quiet.id, therapist).await.unwrap(), None);
    store.remove_room_member(room.id, partner, at).await.unwrap();
    assert!(store.unread_counts(partner).await.unwrap().is_empty());
    assert!(!store.mark_read(room.id, partner, own.id).await.unwrap());
}

async fn stars(store: &dyn Store) {
    let start = now();
    let (room, [client, therapist]) = room_with_two(store, "individual:stars", start).await;
    let messages: Vec<StoredMessage> =
        (0..5).map(|n| message(room.id, therapist, start + Duration::seconds(n), "s")).collect();
    store.commit_room_writes(&messages.iter().cloned().map(message_write).collect::<Vec<_>>()).await.unwrap();
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();

    assert!(store.starred_among(client, &[]).await.unwrap().is_empty());
    assert!(store.starred_among(client, &ids).await.unwrap().is_empty());
    store.star_message(client, ids[3], start).await.unwrap();
    store.star_message(client, ids[1], start).await.unwrap();
    store.star_message(client, ids[1], start + Duration::seconds(9)).await.unwrap();
    store.star_message(therapist, ids[0], start).await.unwrap();
    assert_eq!(store.starred_among(client, &ids).await.unwrap(), vec![ids[1], ids[3]]);
    assert_eq!(store.starred_among(client, &[ids[3], ids[0]]).await.unwrap(), vec![ids[3]]);
    assert_eq!(store.starred_among(therapist, &ids).await.unwrap(), vec![ids[0]]);

    store.unstar_message(client, ids[1]).await.unwrap();
    store.unstar_message(client, ids[1]).await.unwrap();
    store.unstar_message(client, ids[4]).await.unwrap();
    assert_eq!(store.starred_among(client, &ids).await.unwrap(), vec![ids[3]]);

    // More ids than one statement may bind.
    let mut many: Vec<MessageId> = (0..2500).map(|_| MessageId::new()).collect();
    many.push(ids[3]);
    assert_eq!(store.starred_among(client, &many).await.unwrap(), vec![ids[3]]);
}

async fn replies_awaited(store: &dyn Store) {
    let start = now() - Duration::days(1);
    let therapist = insert_person(store, "therapist@example.org", Role::Therapist).await;
    let [a, b] = [
        insert_person(store, "a@example.org", Role::Client).await,
        insert_person(store, "b@example.org", Role::Client).await,
    ];
    let mut rooms = Vec::new();
    for key in ["never-answered", "answered", "answered-then-more", "quiet", "left"] {
        let r = store.ensure_room(&new_room(RoomKind::Couple, key, None, start)).await.unwrap();
        for who in [therapist, a, b] {
            store.add_room_member(r.id, who, start, None).await.unwrap();
        }
        rooms.push(r.id);
    }
    let at = |m: i64| start + Duration::minutes(m);
    let plan: Vec<(usize, AccountId, i64)> = vec![
        (0, a, 1),
        (0, b, 2),
        (1, a, 1),
        (1, therapist, 2),
        (2, b, 1),
        (2, therapist, 2),
        (2, a, 3),
        (2, b, 4),
        (3, therapist, 1),
        (4, a, 1),
    ];
    let mut writes = Vec::new();
    for (room, who, minute) in plan {
        writes.push(message_write(message(rooms[room], who, at(minute), "hi")));
    }
    store.commit_room_writes(&writes).await.unwrap();
    store.remove_room_member(rooms[4], therapist, at(10)).await.unwrap();

    let waiting = store.awaiting_reply(therapist).await.unwrap();
    assert_eq!(waiting, HashMap::from([(rooms[0], at(1)), (rooms[2], at(3))]));

    // A deleted message waits for nothing.
    let gone = writes[6].message.as_ref().unwrap().message.clone();
    let empty = Sealed { key_id: "k1".to_owned(), bytes: Vec::new() };
    let audit = audit_entry(a, AuditAction::MessageDeleted, at(20), gone.id);
    store.delete_message(gone.id, at(20), &empty, &update_event(&gone, at(20)), &audit).await.unwrap();
    assert_eq!(store.awaiting_reply(therapist).await.unwrap()[&rooms[2]], at(4));

    // Replying clears the room.
    let reply = message_write(message(rooms[0], therapist, at(30), "thanks"));
    store.commit_room_writes(&[reply]).await.unwrap();
    assert_eq!(store.awaiting_reply(therapist).await.unwrap(), HashMap::from([(rooms[2], at(4))]));
    assert!(store.awaiting_reply(AccountId::new()).await.unwrap().is_empty());
}

async fn latest_message_per_room(store: &dyn Store) {
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:latest", start).await;
    let quiet =
        store.ensure_room(&new_room(RoomKind::Individual, "individual:latest-quiet", None, start)).await.unwrap();
    store.add_room_member(quiet.id, client, start, None).await.unwrap();
    let elsewhere =
        store.ensure_room(&new_room(RoomKind::Individual, "individual:latest-else", None, start)).await.unwrap();
    store.add_room_member(elsewhere.id, therapist, start, None).await.unwrap();

    let first = message(room.id, client, start + Duration::minutes(1), "first");
    let mut last = message(room.id, therapist, start + Duration::minutes(2), "last");
    last.attachment = Some(attachment_meta(2));
    let stray = message(elsewhere.id, therapist, start + Duration::minutes(3), "not the client's");
    let writes: Vec<_> = [&first, &last, &stray].into_iter().cloned().map(message_write).collect();
    store.commit_room_writes(&writes).await.unwrap();

    // Only rooms one is in, only rooms with a message, the newest one with its attachment.
    let latest = store.latest_messages(client).await.unwrap();
    assert_eq!(latest.keys().copied().collect::<Vec<_>>(), vec![room.id]);
    assert_eq!(latest[&room.id], last);
    let theirs = store.latest_messages(therapist).await.unwrap();
    assert_eq!((theirs[&room.id].id, theirs[&elsewhere.id].id, theirs.len()), (last.id, stray.id, 2));

    // A tombstone is still the newest message.
    let at = start + Duration::minutes(10);
    let empty = Sealed { key_id: "k1".to_owned(), bytes: Vec::new() };
    let audit = audit_entry(therapist, AuditAction::MessageDeleted, at, last.id);
    store.delete_message(last.id, at, &empty, &update_event(&last, at), &audit).await.unwrap();
    let deleted = &store.latest_messages(client).await.unwrap()[&room.id];
    assert_eq!((deleted.id, deleted.deleted_at, &deleted.attachment), (last.id, Some(at), &None));

    // Someone who sees the room only from after its messages has none yet; then the next one.
    let partner = insert_person(store, "latest.partner@example.org", Role::Client).await;
    store.add_room_member(room.id, partner, at, Some(at)).await.unwrap();
    assert!(store.latest_messages(partner).await.unwrap().is_empty());
    let later = message(room.id, client, at + Duration::minutes(1), "later");
    store.commit_room_writes(&[message_write(later.clone())]).await.unwrap();
    assert_eq!(store.latest_messages(partner).await.unwrap()[&room.id].id, later.id);
    // After leaving, nothing.
    store.remove_room_member(room.id, partner, at + Duration::minutes(2)).await.unwrap();
    assert!(store.latest_messages(partner).await.unwrap().is_empty());
    assert!(store
        .latest_messages(insert_person(store, "nobody@example.org", Role::Client).await)
        .await
        .unwrap()
        .is_empty());
}

async fn members_of_ones_rooms(store: &dyn Store) {
    let start = now() - Duration::hours(1);
    let (room, [client, therapist]) = room_with_two(store, "individual:fellows", start).await;
    // Another room (with its own client and therapist) that the therapist joins too.
    let (other, [other_client, _]) = room_with_two(store, "individual:fellows-other", start).await;
    store.add_room_member(other.id, therapist, start + Duration::minutes(1), None).await.unwrap();
    let gone = insert_person(store, "fellows.gone@example.org", Role::Client).await;
    store.add_room_member(room.id, gone, start, None).await.unwrap();
    store.remove_room_member(room.id, gone, start + Duration::minutes(2)).await.unwrap();

    let pairs = |members: Vec<rapport_store::RoomMember>| {
        let mut pairs: Vec<_> = members.into_iter().map(|m| (m.room_id, m.account_id)).collect();
        pairs.sort();
        pairs
    };
    let mut expected = vec![(room.id, client), (room.id, therapist)];
    expected.sort();
    assert_eq!(pairs(store.members_of_rooms_of(client).await.unwrap()), expected);
    let theirs = pairs(store.members_of_rooms_of(therapist).await.unwrap());
    assert_eq!(theirs.len(), 5);
    assert!(theirs.contains(&(other.id, other_client)) && !theirs.iter().any(|(_, a)| *a == gone));
    assert!(store.members_of_rooms_of(gone).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Room test data

fn new_room(kind: RoomKind, key: &str, couple_id: Option<CoupleId>, created_at: DateTime<Utc>) -> Room {
    Room { id: RoomId::new(), kind, key: key.to_owned(), couple_id, created_at }
}

/// A room with a client and a therapist in it.
async fn room_with_two(store: &dyn Store, key: &str, at: DateTime<Utc>) -> (Room, [AccountId; 2]) {
    let client = insert_person(store, &format!("client.{}@example.org", Uuid::now_v7().simple()), Role::Client).await;
    let therapist =
        insert_person(store, &format!("therapist.{}@example.org", Uuid::now_v7().simple()), Role::Therapist).await;
    let room = store.ensure_room(&new_room(RoomKind::Individual, key, None, at)).await.unwrap();
    for who in [client, therapist] {
        assert!(store.add_room_member(room.id, who, at, None).await.unwrap());
    }
    (room, [client, therapist])
}

fn sealed(text: &str) -> Sealed {
    Sealed { key_id: "k1".to_owned(), bytes: text.as_bytes().to_vec() }
}

fn message(room_id: RoomId, sender_id: AccountId, created_at: DateTime<Utc>, text: &str) -> StoredMessage {
    StoredMessage {
        id: MessageId::new(),
        room_id,
        sender_id,
        created_at,
        body: sealed(text),
        version: 1,
        edited_at: None,
        deleted_at: None,
        attachment: None,
    }
}

fn attachment_meta(n: u64) -> AttachmentMeta {
    AttachmentMeta {
        kind: if n.is_multiple_of(2) { AttachmentKind::Image } else { AttachmentKind::Pdf },
        content_type: if n.is_multiple_of(2) { "image/png" } else { "application/pdf" }.to_owned(),
        file_name: format!("notes-{n}.bin"),
        size: 1000 + n,
    }
}

fn audit_entry(actor: AccountId, action: AuditAction, at: DateTime<Utc>, message: MessageId) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::new(),
        at,
        actor_id: Some(actor),
        action,
        subject_id: Some(actor),
        record_kind: "message".to_owned(),
        record_id: Some(message.to_string()),
        ip: None,
    }
}

/// A posted message as one write: the message (with attachment bytes when described),
/// its event and its audit entry.
fn message_write(m: StoredMessage) -> RoomWrite {
    let attachment_bytes = m.attachment.as_ref().map(|a| Sealed {
        key_id: "k-files".to_owned(),
        bytes: a.file_name.as_bytes().iter().copied().cycle().take(64).collect(),
    });
    RoomWrite {
        event: NewRoomEvent {
            room_id: m.room_id,
            kind: "message".to_owned(),
            actor_id: m.sender_id,
            message_id: Some(m.id),
            payload: format!(r#"{{"sender":"{}"}}"#, m.sender_id),
            created_at: m.created_at,
        },
        audit: Some(audit_entry(m.sender_id, AuditAction::MessagePosted, m.created_at, m.id)),
        message: Some(NewMessage { message: m, attachment_bytes }),
    }
}

fn update_event(m: &StoredMessage, at: DateTime<Utc>) -> NewRoomEvent {
    NewRoomEvent {
        room_id: m.room_id,
        kind: "message_updated".to_owned(),
        actor_id: m.sender_id,
        message_id: Some(m.id),
        payload: "{}".to_owned(),
        created_at: at,
    }
}
