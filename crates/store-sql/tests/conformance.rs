//! The storage conformance suite: one set of scenarios, run against every
//! backend. SQLite always runs; PostgreSQL runs when
//! `RAPPORT_TEST_POSTGRES_URL` names a server (each test gets a schema of its
//! own there, dropped afterwards).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rapport_domain::availability::WeeklyWindow;
use rapport_domain::matching::SeekerKind;
use rapport_domain::taxonomy::{Approach, Gender, LicenseType, Modality, Specialty};
use rapport_domain::{
    AccountId, AuditAction, AuditEventId, CoupleId, DisplayName, Email, Jurisdiction, Language, Role, SessionId,
    TimeZone,
};
use rapport_store::{
    Account, ApplicationStatus, AuditEvent, CareTeam, Couple, Intake, License, PasswordReset, Sealed, Session,
    SessionKind, Store, StoreError, TherapistProfile, VerificationDecision,
};
use rapport_store_sql::{Backend, OpenError, OpenOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;
use std::collections::HashMap;
use std::sync::Arc;
use tempfile::TempDir;
use uuid::Uuid;

const POSTGRES_URL_VAR: &str = "RAPPORT_TEST_POSTGRES_URL";

/// Declares each scenario twice: `sqlite_<name>` and `postgres_<name>`.
macro_rules! conformance {
    ($($scenario:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            run(TestDatabase::sqlite().await, |db| async move {
                $scenario(ScenarioInput::from_db(&db)).await
            })
            .await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(db) = TestDatabase::postgres(stringify!($postgres)).await else {
                return;
            };
            run(db, |db| async move { $scenario(ScenarioInput::from_db(&db)).await }).await;
        }
    )*};
}

conformance! {
    account_round_trip => sqlite_account_round_trip, postgres_account_round_trip;
    email_is_unique => sqlite_email_is_unique, postgres_email_is_unique;
    unknown_accounts_are_not_found => sqlite_unknown_accounts_are_not_found, postgres_unknown_accounts_are_not_found;
    profile_and_password_updates => sqlite_profile_and_password_updates, postgres_profile_and_password_updates;
    accounts_are_counted => sqlite_accounts_are_counted, postgres_accounts_are_counted;
    sessions_lifecycle => sqlite_sessions_lifecycle, postgres_sessions_lifecycle;
    revoking_other_sessions => sqlite_revoking_other_sessions, postgres_revoking_other_sessions;
    password_resets_are_single_use => sqlite_password_resets_are_single_use, postgres_password_resets_are_single_use;
    audit_pages_by_subject => sqlite_audit_pages_by_subject, postgres_audit_pages_by_subject;
    audit_log_is_append_only => sqlite_audit_log_is_append_only, postgres_audit_log_is_append_only;
    sign_in_throttle => sqlite_sign_in_throttle, postgres_sign_in_throttle;
    couples_link_two_partners => sqlite_couples_link_two_partners, postgres_couples_link_two_partners;
    reopening_keeps_data => sqlite_reopening_keeps_data, postgres_reopening_keeps_data;
    therapist_application_round_trip => sqlite_therapist_application_round_trip, postgres_therapist_application_round_trip;
    applications_by_status => sqlite_applications_by_status, postgres_applications_by_status;
    deciding_applications => sqlite_deciding_applications, postgres_deciding_applications;
    therapist_photos => sqlite_therapist_photos, postgres_therapist_photos;
    license_expiry_claims => sqlite_license_expiry_claims, postgres_license_expiry_claims;
    intake_round_trip => sqlite_intake_round_trip, postgres_intake_round_trip;
    care_teams_lifecycle => sqlite_care_teams_lifecycle, postgres_care_teams_lifecycle;
}

// Scenarios for couples and invitations, rooms and messages, jobs and preferences.
#[path = "conformance/jobs.rs"]
mod jobs;
#[path = "conformance/keys.rs"]
mod keys;
#[path = "conformance/partners.rs"]
mod partners;
#[path = "conformance/proposals.rs"]
mod proposals;
#[path = "conformance/rooms.rs"]
mod rooms;

// ---------------------------------------------------------------------------
// Accounts

async fn account_round_trip(store: &dyn Store) {
    let mut alex = account("alex@example.org");
    alex.role = Role::Therapist;
    alex.time_zone = TimeZone::parse("America/New_York").unwrap();
    alex.updated_at = alex.created_at + Duration::seconds(5);
    store.insert_account(&alex).await.unwrap();

    assert_same_account(&store.account_by_id(alex.id).await.unwrap(), &alex);
    assert_same_account(&store.account_by_email(&alex.email).await.unwrap(), &alex);

    // Every role survives storage.
    for role in Role::ALL {
        let mut a = account(&format!("{role}@example.org"));
        a.role = role;
        store.insert_account(&a).await.unwrap();
        assert_eq!(store.account_by_id(a.id).await.unwrap().role, role);
    }
}

async fn email_is_unique(store: &dyn Store) {
    let first = account("alex.rivera@example.org");
    store.insert_account(&first).await.unwrap();

    // The same person typing their address differently is still the same address.
    let mut second = account("  Alex.Rivera@Example.ORG ");
    second.display_name = DisplayName::parse("Impostor").unwrap();
    second.password_hash = "$argon2id$other".to_owned();
    assert_eq!(second.email, first.email);
    match store.insert_account(&second).await {
        Err(StoreError::Conflict("accounts_email")) => {}
        other => panic!("expected Conflict(\"accounts_email\"), got {other:?}"),
    }

    assert_same_account(&store.account_by_email(&first.email).await.unwrap(), &first);
    assert!(matches!(store.account_by_id(second.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.count_accounts().await.unwrap(), 1);
}

async fn unknown_accounts_are_not_found(store: &dyn Store) {
    store.insert_account(&account("known@example.org")).await.unwrap();

    assert!(matches!(store.account_by_id(AccountId::new()).await, Err(StoreError::NotFound)));
    let nobody = Email::parse("nobody@example.org").unwrap();
    assert!(matches!(store.account_by_email(&nobody).await, Err(StoreError::NotFound)));
}

async fn profile_and_password_updates(store: &dyn Store) {
    let sam = account("sam@example.org");
    let other = account("other@example.org");
    store.insert_account(&sam).await.unwrap();
    store.insert_account(&other).await.unwrap();

    let later = sam.created_at + Duration::minutes(3);
    let name = DisplayName::parse("Sam Okafor").unwrap();
    let paris = TimeZone::parse("Europe/Paris").unwrap();
    store.update_profile(sam.id, &name, paris, later).await.unwrap();
    let expected = Account { display_name: name.clone(), time_zone: paris, updated_at: later, ..sam.clone() };
    assert_same_account(&store.account_by_id(sam.id).await.unwrap(), &expected);

    let even_later = later + Duration::minutes(1);
    store.update_password_hash(sam.id, "$argon2id$v=19$new", even_later).await.unwrap();
    let expected = Account { password_hash: "$argon2id$v=19$new".to_owned(), updated_at: even_later, ..expected };
    assert_same_account(&store.account_by_id(sam.id).await.unwrap(), &expected);

    // Nobody else changed.
    assert_same_account(&store.account_by_id(other.id).await.unwrap(), &other);

    let unknown = AccountId::new();
    assert!(matches!(store.update_profile(unknown, &name, paris, later).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_password_hash(unknown, "$argon2id$x", later).await, Err(StoreError::NotFound)));
}

async fn accounts_are_counted(store: &dyn Store) {
    assert_eq!(store.count_accounts().await.unwrap(), 0);
    for n in 1..=3 {
        store.insert_account(&account(&format!("person{n}@example.org"))).await.unwrap();
        assert_eq!(store.count_accounts().await.unwrap(), n);
    }
    // A refused insert is not counted.
    assert!(store.insert_account(&account("person1@example.org")).await.is_err());
    assert_eq!(store.count_accounts().await.unwrap(), 3);
}

// ---------------------------------------------------------------------------
// Sessions

async fn sessions_lifecycle(store: &dyn Store) {
    let now = now();
    let alex = account("alex@example.org");
    let blake = account("blake@example.org");
    store.insert_account(&alex).await.unwrap();
    store.insert_account(&blake).await.unwrap();

    // Ids are made in an order unlike creation times, so "newest first" must
    // follow `created_at`, not the id.
    let mut newest = session(alex.id, now - Duration::hours(1));
    let mut oldest = session(alex.id, now - Duration::hours(3));
    let middle = session(alex.id, now - Duration::hours(2));
    let mut expired = session(alex.id, now - Duration::days(40));
    expired.expires_at = now - Duration::seconds(1);
    newest.kind = SessionKind::Api;
    newest.ip = None;
    newest.user_agent = None;
    oldest.last_seen_at = oldest.created_at + Duration::minutes(10);
    let blakes = session(blake.id, now - Duration::minutes(30));
    for s in [&newest, &oldest, &middle, &expired, &blakes] {
        store.insert_session(s).await.unwrap();
    }

    // Round trip by token hash, every field.
    for s in [&newest, &oldest, &middle, &blakes] {
        assert_same_session(&store.session_by_token_hash(&s.token_hash).await.unwrap(), s);
    }
    assert!(matches!(store.session_by_token_hash(&[0_u8; 32]).await, Err(StoreError::NotFound)));

    // A token hash names one session.
    let mut copy = session(blake.id, now);
    copy.token_hash = oldest.token_hash.clone();
    assert!(store.insert_session(&copy).await.is_err());

    // Touching records activity, and never moves it backwards.
    let seen = now - Duration::seconds(7);
    store.touch_session(oldest.id, seen).await.unwrap();
    let read = store.session_by_token_hash(&oldest.token_hash).await.unwrap();
    assert_eq!(read.last_seen_at, seen);
    store.touch_session(oldest.id, seen - Duration::minutes(5)).await.unwrap();
    let read = store.session_by_token_hash(&oldest.token_hash).await.unwrap();
    assert_eq!(read.last_seen_at, seen);
    // Only that session moved.
    let read = store.session_by_token_hash(&middle.token_hash).await.unwrap();
    assert_eq!(read.last_seen_at, middle.last_seen_at);

    // Nobody can end someone else's session; it stays valid.
    assert!(matches!(store.revoke_session(blake.id, middle.id, now).await, Err(StoreError::NotFound)));
    store.session_by_token_hash(&middle.token_hash).await.unwrap();
    assert!(matches!(store.revoke_session(alex.id, SessionId::new(), now).await, Err(StoreError::NotFound)));

    // Ending a session makes its token useless; ending it again finds nothing.
    store.revoke_session(alex.id, middle.id, now).await.unwrap();
    assert!(matches!(store.session_by_token_hash(&middle.token_hash).await, Err(StoreError::NotFound)));
    assert!(matches!(store.revoke_session(alex.id, middle.id, now).await, Err(StoreError::NotFound)));

    // Open sessions: not revoked, not past their absolute end, newest first.
    let open = store.open_sessions(alex.id, now).await.unwrap();
    assert_eq!(ids(&open), vec![newest.id, oldest.id]);
    assert_same_session(&open[0], &newest);
    assert_eq!(open[1].last_seen_at, seen);
    assert_eq!(ids(&store.open_sessions(blake.id, now).await.unwrap()), vec![blakes.id]);
    // Seen from before the expired one ended, it is open again.
    let then = expired.expires_at - Duration::seconds(1);
    assert_eq!(ids(&store.open_sessions(alex.id, then).await.unwrap()), vec![newest.id, oldest.id, expired.id]);
    assert!(store.open_sessions(AccountId::new(), now).await.unwrap().is_empty());
}

async fn password_resets_are_single_use(store: &dyn Store) {
    let now = now();
    let erin = account("erin@example.org");
    let finn = account("finn@example.org");
    store.insert_account(&erin).await.unwrap();
    store.insert_account(&finn).await.unwrap();
    let link = |account_id, created_at: DateTime<Utc>| PasswordReset {
        token_hash: Uuid::now_v7().as_bytes().repeat(2),
        account_id,
        created_at,
        expires_at: created_at + Duration::hours(1),
        used_at: None,
    };
    let first = link(erin.id, now - Duration::minutes(10));
    let second = link(erin.id, now - Duration::minutes(5));
    let expired = link(erin.id, now - Duration::hours(2));
    let finns = link(finn.id, now);
    for r in [&first, &second, &expired, &finns] {
        store.insert_password_reset(r).await.unwrap();
    }
    assert!(matches!(store.insert_password_reset(&first).await, Err(StoreError::Conflict(_))));
    let erins_sessions = [session(erin.id, now), session(erin.id, now)];
    for s in &erins_sessions {
        store.insert_session(s).await.unwrap();
    }
    let finns_session = session(finn.id, now);
    store.insert_session(&finns_session).await.unwrap();

    assert_eq!(store.usable_password_reset(&first.token_hash, now).await.unwrap(), erin.id);
    assert!(matches!(store.usable_password_reset(&expired.token_hash, now).await, Err(StoreError::NotFound)));
    assert!(matches!(store.usable_password_reset(&[7; 32], now).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.complete_password_reset(&expired.token_hash, "$argon2id$expired", now).await,
        Err(StoreError::NotFound)
    ));

    let at = now + Duration::seconds(1);
    assert_eq!(store.complete_password_reset(&first.token_hash, "$argon2id$new", at).await.unwrap(), erin.id);
    assert_eq!(store.account_by_id(erin.id).await.unwrap().password_hash, "$argon2id$new");
    assert!(store.open_sessions(erin.id, at).await.unwrap().is_empty(), "every session of the account ends");
    // Used once; the other open link of the same account is used up with it.
    for used in [&first, &second] {
        assert!(matches!(store.usable_password_reset(&used.token_hash, at).await, Err(StoreError::NotFound)));
        assert!(matches!(
            store.complete_password_reset(&used.token_hash, "$argon2id$again", at).await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(store.account_by_id(erin.id).await.unwrap().password_hash, "$argon2id$new");
    // Someone else's account, sessions and link are untouched.
    assert_eq!(store.account_by_id(finn.id).await.unwrap().password_hash, finn.password_hash);
    assert_eq!(ids(&store.open_sessions(finn.id, at).await.unwrap()), vec![finns_session.id]);
    assert_eq!(store.usable_password_reset(&finns.token_hash, at).await.unwrap(), finn.id);
}

async fn revoking_other_sessions(store: &dyn Store) {
    let now = now();
    let casey = account("casey@example.org");
    let drew = account("drew@example.org");
    store.insert_account(&casey).await.unwrap();
    store.insert_account(&drew).await.unwrap();

    let kept = session(casey.id, now - Duration::minutes(1));
    let other1 = session(casey.id, now - Duration::minutes(2));
    let other2 = session(casey.id, now - Duration::minutes(3));
    let already_ended = session(casey.id, now - Duration::minutes(4));
    let drews = session(drew.id, now - Duration::minutes(5));
    for s in [&kept, &other1, &other2, &already_ended, &drews] {
        store.insert_session(s).await.unwrap();
    }
    store.revoke_session(casey.id, already_ended.id, now).await.unwrap();

    let ended = store.revoke_other_sessions(casey.id, Some(kept.id), now).await.unwrap();
    assert_eq!(ended, 2, "only the two open other sessions end");
    assert_eq!(ids(&store.open_sessions(casey.id, now).await.unwrap()), vec![kept.id]);
    store.session_by_token_hash(&kept.token_hash).await.unwrap();
    for s in [&other1, &other2] {
        assert!(matches!(store.session_by_token_hash(&s.token_hash).await, Err(StoreError::NotFound)));
    }
    // Someone else's sessions are untouched.
    assert_eq!(ids(&store.open_sessions(drew.id, now).await.unwrap()), vec![drews.id]);

    // Every instance can see which sessions ended, and since when.
    let ended = store.sessions_ended_since(now - Duration::seconds(1)).await.unwrap();
    assert_eq!(ended.len(), 3, "the one ended earlier and the two just now: {ended:?}");
    assert!(!ended.contains(&kept.id) && !ended.contains(&drews.id));
    assert!(store.sessions_ended_since(now).await.unwrap().is_empty(), "nothing ended after `now`");

    // Keeping nothing ends everything; a second time there is nothing left.
    assert_eq!(store.revoke_other_sessions(casey.id, None, now).await.unwrap(), 1);
    assert!(store.open_sessions(casey.id, now).await.unwrap().is_empty());
    assert_eq!(store.revoke_other_sessions(casey.id, None, now).await.unwrap(), 0);
    assert_eq!(ids(&store.open_sessions(drew.id, now).await.unwrap()), vec![drews.id]);
}

// ---------------------------------------------------------------------------
// Audit log

async fn audit_pages_by_subject(store: &dyn Store) {
    let start = now() - Duration::hours(1);
    let x = AccountId::new();
    let y = AccountId::new();

    // Interleaved events about two people, and one about nobody.
    let mut about_x = Vec::new();
    let mut about_y = Vec::new();
    for i in 0..10_i64 {
        let subject = if i % 3 == 1 { y } else { x };
        let event = AuditEvent {
            id: AuditEventId::new(),
            at: start + Duration::seconds(i),
            actor_id: (i % 2 == 0).then_some(subject),
            action: AuditAction::ALL[i as usize % AuditAction::ALL.len()],
            subject_id: Some(subject),
            record_kind: "session".to_owned(),
            record_id: (i % 4 != 0).then(|| format!("record-{i}")),
            ip: (i % 2 == 1).then(|| "2001:db8::1".to_owned()),
        };
        store.append_audit(&event).await.unwrap();
        if subject == x {
            about_x.push(event);
        } else {
            about_y.push(event);
        }
    }
    store
        .append_audit(&AuditEvent {
            id: AuditEventId::new(),
            at: start,
            actor_id: None,
            action: AuditAction::SignInFailed,
            subject_id: None,
            record_kind: "account".to_owned(),
            record_id: None,
            ip: Some("203.0.113.9".to_owned()),
        })
        .await
        .unwrap();
    about_x.reverse();
    about_y.reverse();
    assert_eq!((about_x.len(), about_y.len()), (7, 3));

    // Everything about one person, newest first, and nothing else.
    let all_x = store.audit_for_subject(x, None, 100).await.unwrap();
    assert_eq!(all_x.len(), about_x.len());
    for (read, written) in all_x.iter().zip(&about_x) {
        assert_same_event(read, written);
    }
    let all_y = store.audit_for_subject(y, None, 100).await.unwrap();
    assert_eq!(event_ids(&all_y), event_ids(&about_y));
    assert!(store.audit_for_subject(AccountId::new(), None, 100).await.unwrap().is_empty());

    // The limit is honoured.
    assert_eq!(event_ids(&store.audit_for_subject(x, None, 3).await.unwrap()), event_ids(&about_x[..3]));
    assert!(store.audit_for_subject(x, None, 0).await.unwrap().is_empty());

    // Walking pages by cursor visits every event exactly once, in order.
    let mut walked = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = store.audit_for_subject(x, before, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        walked.extend(event_ids(&page));
        pages += 1;
        assert!(pages <= 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, event_ids(&about_x));

    // A cursor in the middle starts just after it.
    let from_middle = store.audit_for_subject(x, Some(about_x[2].id), 100).await.unwrap();
    assert_eq!(event_ids(&from_middle), event_ids(&about_x[3..]));
}

async fn audit_log_is_append_only(db: &TestDatabase) {
    let store = db.store();
    let subject = AccountId::new();
    let event = AuditEvent {
        id: AuditEventId::new(),
        at: now(),
        actor_id: Some(subject),
        action: AuditAction::SignedIn,
        subject_id: Some(subject),
        record_kind: "session".to_owned(),
        record_id: Some("s-1".to_owned()),
        ip: Some("198.51.100.4".to_owned()),
    };
    store.append_audit(&event).await.unwrap();

    // The raw connection sees the table, so a failure below is the guard, not a typo.
    assert_eq!(db.count_rows("audit_events").await, 1);

    for sql in [
        "UPDATE audit_events SET record_kind = 'tampered'",
        "UPDATE audit_events SET at = 0 WHERE record_kind = 'session'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE record_kind = 'session'",
    ] {
        match db.execute_raw(sql).await {
            Err(sqlx::Error::Database(e)) => {
                assert!(e.message().contains("append-only"), "{sql:?} failed for another reason: {}", e.message())
            }
            other => panic!("{sql:?} should be refused by the database, got {other:?}"),
        }
    }

    assert_eq!(db.count_rows("audit_events").await, 1);
    let read = store.audit_for_subject(subject, None, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_same_event(&read[0], &event);
}

// ---------------------------------------------------------------------------
// Sign-in throttle

async fn sign_in_throttle(store: &dyn Store) {
    let now = now();
    let ago = |minutes: i64| now - Duration::minutes(minutes);
    let by_ip = "ip:203.0.113.7";
    let by_account = "account:alex@example.org";

    for at in [ago(20), ago(10), ago(5), ago(1)] {
        store.record_sign_in_failure(by_ip, at).await.unwrap();
    }
    store.record_sign_in_failure(by_account, ago(2)).await.unwrap();

    // Counts only failures since the time asked, and says when the oldest was.
    assert_eq!(store.sign_in_failures_since(by_ip, ago(15)).await.unwrap(), (3, Some(ago(10))));
    assert_eq!(store.sign_in_failures_since(by_ip, ago(30)).await.unwrap(), (4, Some(ago(20))));
    assert_eq!(store.sign_in_failures_since(by_ip, now).await.unwrap(), (0, None));
    assert_eq!(store.sign_in_failures_since("ip:192.0.2.1", ago(60)).await.unwrap(), (0, None));

    // Clearing one key leaves the others.
    store.clear_sign_in_failures(by_ip).await.unwrap();
    assert_eq!(store.sign_in_failures_since(by_ip, ago(60)).await.unwrap(), (0, None));
    assert_eq!(store.sign_in_failures_since(by_account, ago(60)).await.unwrap(), (1, Some(ago(2))));

    // Pruning drops only the old failures, whatever their key.
    store.record_sign_in_failure(by_ip, ago(90)).await.unwrap();
    store.record_sign_in_failure(by_ip, ago(1)).await.unwrap();
    store.record_sign_in_failure(by_account, ago(120)).await.unwrap();
    assert_eq!(store.prune_sign_in_failures(ago(30)).await.unwrap(), 2);
    assert_eq!(store.sign_in_failures_since(by_ip, ago(600)).await.unwrap(), (1, Some(ago(1))));
    assert_eq!(store.sign_in_failures_since(by_account, ago(600)).await.unwrap(), (1, Some(ago(2))));
    assert_eq!(store.prune_sign_in_failures(ago(30)).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------
// Couples

async fn couples_link_two_partners(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let [a, b, c, d] = ["a", "b", "c", "d"].map(|n| account(&format!("{n}@example.org")));
    for person in [&a, &b, &c, &d] {
        store.insert_account(person).await.unwrap();
    }

    // b's id sorts after a's, so the partners' order must come from the couple, not the ids.
    let couple = Couple { id: CoupleId::new(), partner_a: b.id, partner_b: a.id, linked_at: now };
    store.insert_couple(&couple).await.unwrap();
    for partner in [a.id, b.id] {
        let read = store.couple_of(partner).await.unwrap().expect("linked");
        assert_same_couple(&read, &couple);
    }
    assert!(store.couple_of(c.id).await.unwrap().is_none());

    // Someone already linked cannot join another couple, whichever side they are on,
    // and nothing of the refused couple is left behind.
    for (partner_a, partner_b) in [(c.id, a.id), (b.id, d.id)] {
        let refused = Couple { id: CoupleId::new(), partner_a, partner_b, linked_at: now + Duration::minutes(1) };
        match store.insert_couple(&refused).await {
            Err(StoreError::Conflict("couples_partner")) => {}
            other => panic!("expected Conflict(\"couples_partner\"), got {other:?}"),
        }
        assert!(store.couple_of(c.id).await.unwrap().is_none());
        assert!(store.couple_of(d.id).await.unwrap().is_none());
        assert_same_couple(&store.couple_of(a.id).await.unwrap().unwrap(), &couple);
        assert_same_couple(&store.couple_of(b.id).await.unwrap().unwrap(), &couple);
    }
    assert_eq!(db.count_rows("couples").await, 1);
    assert_eq!(db.count_rows("couple_members").await, 2);

    // The two left out are free to link with each other.
    let second =
        Couple { id: CoupleId::new(), partner_a: c.id, partner_b: d.id, linked_at: now + Duration::minutes(2) };
    store.insert_couple(&second).await.unwrap();
    assert_same_couple(&store.couple_of(d.id).await.unwrap().unwrap(), &second);
    assert_same_couple(&store.couple_of(a.id).await.unwrap().unwrap(), &couple);
}

// ---------------------------------------------------------------------------
// Therapists

async fn therapist_application_round_trip(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let jordan = insert_person(store, "jordan@example.org", Role::Client).await;
    let quinn = insert_person(store, "quinn@example.org", Role::Client).await;

    // Every field set, licences in an order unlike their ids, one of them
    // already verified and with both expiry timestamps.
    let mut first = application(jordan, now - Duration::days(2));
    let mut kept = license(LicenseType::Lpc, "LPC 0042", "US-NY", (2028, 1, 15));
    kept.verified = true;
    kept.expiry_warned_at = Some(now - Duration::hours(5));
    kept.expiry_handled_at = Some(now - Duration::hours(4));
    let removed = license(LicenseType::Psyd, "PSY 7781", "GB", (2026, 12, 31));
    let moved = license(LicenseType::Lmft, "LMFT 123456", "US-CA", (2027, 6, 30));
    first.licenses = vec![moved.clone(), kept.clone(), removed.clone()];
    store.save_application(&first).await.unwrap();
    assert_eq!(store.therapist(jordan).await.unwrap(), first);

    // The bare minimum: no gender, no pronouns, empty lists, the other flag values.
    let bare = TherapistProfile {
        pronouns: None,
        gender: None,
        licenses: Vec::new(),
        specialties: Vec::new(),
        approaches: Vec::new(),
        languages: Vec::new(),
        modalities: Vec::new(),
        weekly_availability: Vec::new(),
        works_with_couples: false,
        accepting_new_clients: false,
        capacity: 0,
        time_zone: TimeZone::parse("Asia/Kolkata").unwrap(),
        ..application(quinn, now - Duration::days(1))
    };
    store.save_application(&bare).await.unwrap();
    assert_eq!(store.therapist(quinn).await.unwrap(), bare);
    assert_eq!(store.therapist(jordan).await.unwrap(), first, "saving another application changed this one");

    // A second save replaces every field and the licences, in the new order,
    // and keeps the photo uploaded in between.
    let photo = b"\x89PNG\r\n\x1a\n\0\xff".to_vec();
    store.set_photo(jordan, "image/png", &photo).await.unwrap();
    let mut kept_changed = kept.clone();
    kept_changed.number = "LPC 0042-R".to_owned();
    kept_changed.expires_on = NaiveDate::from_ymd_opt(2030, 2, 28).unwrap();
    let added = license(LicenseType::Lcsw, "LCSW 9", "US-TX", (2029, 9, 1));
    let second = TherapistProfile {
        status: ApplicationStatus::Rejected,
        professional_name: "Dr. Jordan Lee-Park".to_owned(),
        pronouns: Some("she/her".to_owned()),
        gender: Some(Gender::Woman),
        bio: "Changed bio, with commas, and \"quotes\".".to_owned(),
        licenses: vec![kept_changed, added, moved],
        specialties: vec![Specialty::Grief],
        approaches: vec![Approach::Narrative, Approach::Cbt, Approach::SolutionFocused],
        languages: languages(&["fr"]),
        modalities: vec![Modality::Audio],
        works_with_couples: false,
        time_zone: TimeZone::parse("Europe/Berlin").unwrap(),
        weekly_availability: vec![window("wed", "00:00", "24:00")],
        capacity: 3,
        accepting_new_clients: false,
        has_photo: true,
        submitted_at: now - Duration::hours(6),
        updated_at: now - Duration::hours(1),
        ..first.clone()
    };
    store.save_application(&second).await.unwrap();
    assert_eq!(store.therapist(jordan).await.unwrap(), second);
    assert_eq!(store.photo(jordan).await.unwrap(), Some(("image/png".to_owned(), photo)));
    assert_eq!(store.therapist(quinn).await.unwrap(), bare);

    // The dropped licence is gone, not just hidden.
    assert_eq!(db.count_rows("therapist_licenses").await, 3);
    assert!(matches!(store.mark_license_warned(removed.id, now).await, Err(StoreError::NotFound)));

    // Nobody, and an account that never applied, have no application.
    assert!(matches!(store.therapist(AccountId::new()).await, Err(StoreError::NotFound)));
    let client = insert_person(store, "client@example.org", Role::Client).await;
    assert!(matches!(store.therapist(client).await, Err(StoreError::NotFound)));
}

async fn applications_by_status(store: &dyn Store) {
    let now = now();
    let hours_ago = |h: i64| now - Duration::hours(h);

    // Accounts (and so ids) are made in an order unlike the submission times,
    // and every therapist has licences of their own.
    let plan = [
        ("e", ApplicationStatus::Pending, 1),
        ("b", ApplicationStatus::Approved, 2),
        ("a", ApplicationStatus::Pending, 3),
        ("d", ApplicationStatus::Approved, 4),
        ("c", ApplicationStatus::Pending, 5),
        ("f", ApplicationStatus::Rejected, 6),
        ("g", ApplicationStatus::Approved, 7),
    ];
    let mut by_name = HashMap::new();
    for (i, (name, status, age)) in plan.into_iter().enumerate() {
        let id = insert_person(store, &format!("{name}@example.org"), Role::Client).await;
        let mut p = application(id, hours_ago(age));
        p.status = status;
        p.professional_name = format!("Therapist {name}");
        p.licenses = (0..=i % 3)
            .map(|n| {
                let mut l = license(LicenseType::ALL[n], &format!("{name}-{n}"), "US-CA", (2027, 1, 1 + n as u32));
                l.verified = status == ApplicationStatus::Approved;
                l
            })
            .collect();
        // Listed in the opposite order to their ids, so only the stored position orders them.
        p.licenses.reverse();
        store.save_application(&p).await.unwrap();
        by_name.insert(name, p);
    }
    let profiles = |names: &[&str]| names.iter().map(|n| by_name[n].clone()).collect::<Vec<_>>();

    // Only that status, oldest submission first, each with its own licences.
    assert_eq!(store.applications(ApplicationStatus::Pending).await.unwrap(), profiles(&["c", "a", "e"]));
    assert_eq!(store.applications(ApplicationStatus::Approved).await.unwrap(), profiles(&["g", "d", "b"]));
    assert_eq!(store.applications(ApplicationStatus::Rejected).await.unwrap(), profiles(&["f"]));

    // Approved therapists, whatever the order, with their licences.
    let mut approved = store.approved_therapists().await.unwrap();
    approved.sort_by_key(|p| p.account_id);
    let mut expected = profiles(&["b", "d", "g"]);
    expected.sort_by_key(|p| p.account_id);
    assert_eq!(approved, expected);
    assert!(approved.iter().all(|p| !p.licenses.is_empty()));
}

async fn deciding_applications(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let admin = insert_person(store, "admin@example.org", Role::Admin).await;
    let client_applicant = insert_person(store, "client-applicant@example.org", Role::Client).await;
    let admin_applicant = insert_person(store, "admin-applicant@example.org", Role::Admin).await;
    let rejected = insert_person(store, "rejected@example.org", Role::Client).await;
    let never_applied = insert_person(store, "never@example.org", Role::Client).await;

    let mut pending = HashMap::new();
    for (i, id) in [client_applicant, admin_applicant, rejected].into_iter().enumerate() {
        let mut p = application(id, now - Duration::days(3) + Duration::minutes(i as i64));
        p.licenses = vec![
            license(LicenseType::Lmft, &format!("LMFT {i}"), "US-CA", (2027, 6, 30)),
            license(LicenseType::Lpc, &format!("LPC {i}"), "US-NY", (2028, 1, 31)),
        ];
        store.save_application(&p).await.unwrap();
        pending.insert(id, p);
    }
    let approved = |id: AccountId, at: DateTime<Utc>| {
        let mut p: TherapistProfile = pending[&id].clone();
        p.status = ApplicationStatus::Approved;
        p.updated_at = at;
        p.licenses.iter_mut().for_each(|l| l.verified = true);
        p
    };

    // Approving a client's application: approved, licences verified, now a therapist.
    let yes = decision(client_applicant, admin, now - Duration::hours(2), true);
    store.decide_application(&yes).await.unwrap();
    assert_eq!(store.therapist(client_applicant).await.unwrap(), approved(client_applicant, yes.decided_at));
    let account = store.account_by_id(client_applicant).await.unwrap();
    assert_eq!(account.role, Role::Therapist);
    assert_eq!(account.updated_at, yes.decided_at);
    assert_eq!(store.decisions_for(client_applicant).await.unwrap(), vec![yes.clone()]);

    // An admin who applies is approved but stays an admin.
    let admin_yes = decision(admin_applicant, admin, now - Duration::hours(1), true);
    store.decide_application(&admin_yes).await.unwrap();
    assert_eq!(store.therapist(admin_applicant).await.unwrap(), approved(admin_applicant, admin_yes.decided_at));
    assert_eq!(store.account_by_id(admin_applicant).await.unwrap().role, Role::Admin);

    // Rejecting: rejected, licences still unverified, role unchanged.
    let no = decision(rejected, admin, now - Duration::minutes(30), false);
    store.decide_application(&no).await.unwrap();
    let expected = TherapistProfile {
        status: ApplicationStatus::Rejected,
        updated_at: no.decided_at,
        ..pending[&rejected].clone()
    };
    assert_eq!(store.therapist(rejected).await.unwrap(), expected);
    assert!(expected.licenses.iter().all(|l| !l.verified));
    assert_eq!(store.account_by_id(rejected).await.unwrap().role, Role::Client);
    assert_eq!(store.decisions_for(rejected).await.unwrap(), vec![no.clone()]);

    // Re-applying and being approved later: both decisions, oldest first.
    store.save_application(&pending[&rejected]).await.unwrap();
    let later = decision(rejected, admin, now - Duration::minutes(5), true);
    store.decide_application(&later).await.unwrap();
    assert_eq!(store.decisions_for(rejected).await.unwrap(), vec![no, later.clone()]);
    assert_eq!(store.therapist(rejected).await.unwrap(), approved(rejected, later.decided_at));
    assert_eq!(store.account_by_id(rejected).await.unwrap().role, Role::Therapist);
    assert_eq!(store.decisions_for(client_applicant).await.unwrap(), vec![yes]);
    assert_eq!(db.count_rows("verification_decisions").await, 4);

    // Nobody to decide on: not found, and nothing is recorded.
    for therapist in [AccountId::new(), never_applied] {
        for approve in [true, false] {
            match store.decide_application(&decision(therapist, admin, now, approve)).await {
                Err(StoreError::NotFound) => {}
                other => panic!("deciding on {therapist} should be NotFound, got {other:?}"),
            }
        }
        assert!(store.decisions_for(therapist).await.unwrap().is_empty());
    }
    assert_eq!(store.account_by_id(never_applied).await.unwrap().role, Role::Client);
    assert_eq!(db.count_rows("verification_decisions").await, 4);

    // A decision that cannot be recorded (no such admin) changes nothing at all.
    let waiting = insert_person(store, "waiting@example.org", Role::Client).await;
    let application = application(waiting, now - Duration::days(1));
    store.save_application(&application).await.unwrap();
    assert!(store.decide_application(&decision(waiting, AccountId::new(), now, true)).await.is_err());
    assert_eq!(store.therapist(waiting).await.unwrap(), application);
    assert_eq!(store.account_by_id(waiting).await.unwrap().role, Role::Client);
    assert!(store.decisions_for(waiting).await.unwrap().is_empty());
    assert_eq!(db.count_rows("verification_decisions").await, 4);
}

async fn therapist_photos(store: &dyn Store) {
    let now = now();
    let sam = insert_person(store, "sam@example.org", Role::Client).await;
    let other = insert_person(store, "other@example.org", Role::Client).await;
    let profile = application(sam, now);
    store.save_application(&profile).await.unwrap();
    store.save_application(&application(other, now)).await.unwrap();
    assert_eq!(store.photo(sam).await.unwrap(), None);
    assert!(!store.therapist(sam).await.unwrap().has_photo);

    // Every byte value survives, exactly.
    let png: Vec<u8> = (0..=255_u8).chain((0..=255_u8).rev()).collect();
    store.set_photo(sam, "image/png", &png).await.unwrap();
    assert_eq!(store.photo(sam).await.unwrap(), Some(("image/png".to_owned(), png)));
    assert_eq!(store.therapist(sam).await.unwrap(), TherapistProfile { has_photo: true, ..profile.clone() });

    // A new photo replaces the old one; nobody else's changes.
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00];
    store.set_photo(sam, "image/jpeg", &jpeg).await.unwrap();
    assert_eq!(store.photo(sam).await.unwrap(), Some(("image/jpeg".to_owned(), jpeg)));
    assert_eq!(store.photo(other).await.unwrap(), None);
    assert!(!store.therapist(other).await.unwrap().has_photo);

    // No application, no photo.
    let unknown = AccountId::new();
    assert_eq!(store.photo(unknown).await.unwrap(), None);
    assert!(matches!(store.set_photo(unknown, "image/png", b"x").await, Err(StoreError::NotFound)));
    let client = insert_person(store, "client@example.org", Role::Client).await;
    assert!(matches!(store.set_photo(client, "image/png", b"x").await, Err(StoreError::NotFound)));
    assert_eq!(store.photo(client).await.unwrap(), None);
}

async fn license_expiry_claims(store: &dyn Store) {
    let now = now();
    let robin = insert_person(store, "robin@example.org", Role::Client).await;
    let mut profile = application(robin, now - Duration::days(30));
    let expiring = license(LicenseType::Lmft, "LMFT 1", "US-CA", (2026, 12, 1));
    let other = license(LicenseType::Lcsw, "LCSW 2", "US-OR", (2029, 1, 1));
    profile.licenses = vec![expiring.clone(), other.clone()];
    store.save_application(&profile).await.unwrap();

    let warned_at = now - Duration::hours(2);
    store.mark_license_warned(expiring.id, warned_at).await.unwrap();
    profile.licenses[0].expiry_warned_at = Some(warned_at);
    assert_eq!(store.therapist(robin).await.unwrap(), profile);

    let handled_at = now - Duration::hours(1);
    store.mark_license_expiry_handled(expiring.id, handled_at).await.unwrap();
    profile.licenses[0].expiry_handled_at = Some(handled_at);
    assert_eq!(store.therapist(robin).await.unwrap(), profile);

    // Each is claimed once: a second claim is refused and keeps the first time.
    assert!(matches!(store.mark_license_warned(expiring.id, now).await, Err(StoreError::NotFound)));
    assert!(matches!(store.mark_license_expiry_handled(expiring.id, now).await, Err(StoreError::NotFound)));
    assert_eq!(store.therapist(robin).await.unwrap(), profile);

    // The two claims are independent of each other and of other licences.
    store.mark_license_expiry_handled(other.id, now).await.unwrap();
    profile.licenses[1].expiry_handled_at = Some(now);
    assert_eq!(store.therapist(robin).await.unwrap(), profile);
    store.mark_license_warned(other.id, now).await.unwrap();
    profile.licenses[1].expiry_warned_at = Some(now);
    assert_eq!(store.therapist(robin).await.unwrap(), profile);

    let unknown = Uuid::now_v7();
    assert!(matches!(store.mark_license_warned(unknown, now).await, Err(StoreError::NotFound)));
    assert!(matches!(store.mark_license_expiry_handled(unknown, now).await, Err(StoreError::NotFound)));
}

// ---------------------------------------------------------------------------
// Intakes

async fn intake_round_trip(db: &TestDatabase) {
    let store = db.store();
    let now = now();
    let solo = insert_person(store, "solo@example.org", Role::Client).await;
    let partner = insert_person(store, "partner@example.org", Role::Client).await;
    let other_partner = insert_person(store, "other-partner@example.org", Role::Client).await;
    let couple = Couple { id: CoupleId::new(), partner_a: partner, partner_b: other_partner, linked_at: now };
    store.insert_couple(&couple).await.unwrap();

    let first = intake(solo, now - Duration::days(2));
    let couples = Intake {
        kind: SeekerKind::Couple,
        couple_id: Some(couple.id),
        jurisdiction: Jurisdiction::parse("GB").unwrap(),
        languages: languages(&["en", "pl", "cy"]),
        modalities: Vec::new(),
        approaches: vec![Approach::EmotionallyFocused, Approach::GottmanMethod],
        therapist_gender: Some(Gender::Woman),
        time_zone: TimeZone::parse("Europe/London").unwrap(),
        time_windows: vec![window("fri", "12:00", "13:00")],
        sensitive: Sealed { key_id: "k2".to_owned(), bytes: vec![0] },
        ..intake(partner, now - Duration::days(1))
    };
    store.save_intake(&first).await.unwrap();
    store.save_intake(&couples).await.unwrap();
    assert_eq!(store.intake_of(solo).await.unwrap(), Some(first.clone()));
    assert_eq!(store.intake_of(partner).await.unwrap(), Some(couples.clone()));
    assert_eq!(store.intake_of(other_partner).await.unwrap(), None);
    assert_eq!(store.intake_of(AccountId::new()).await.unwrap(), None);

    // Saving again updates everything but when the intake was first made,
    // whatever the caller says.
    let changed = Intake {
        account_id: solo,
        kind: SeekerKind::Couple,
        couple_id: Some(CoupleId::new()),
        consented_at: now - Duration::hours(3),
        consent_version: "2027-01".to_owned(),
        jurisdiction: Jurisdiction::parse("us-ny").unwrap(),
        languages: languages(&["es"]),
        modalities: vec![Modality::Messaging],
        approaches: Vec::new(),
        therapist_gender: Some(Gender::NonBinary),
        time_zone: TimeZone::parse("America/New_York").unwrap(),
        time_windows: Vec::new(),
        sensitive: Sealed { key_id: "intake-key-2027-01".to_owned(), bytes: b"\0re-sealed\xff".to_vec() },
        created_at: now - Duration::hours(3),
        updated_at: now - Duration::hours(2),
    };
    store.save_intake(&changed).await.unwrap();
    let expected = Intake { created_at: first.created_at, ..changed.clone() };
    assert_eq!(store.intake_of(solo).await.unwrap(), Some(expected.clone()));
    assert_eq!(store.intake_of(partner).await.unwrap(), Some(couples));
    assert_eq!(db.count_rows("intakes").await, 2);

    // And back to no couple, no preferred gender.
    let single_again =
        Intake { couple_id: None, therapist_gender: None, updated_at: now, kind: SeekerKind::Individual, ..changed };
    store.save_intake(&single_again).await.unwrap();
    let expected = Intake { created_at: first.created_at, ..single_again };
    assert_eq!(store.intake_of(solo).await.unwrap(), Some(expected));
}

// ---------------------------------------------------------------------------
// Care teams

async fn care_teams_lifecycle(db: &TestDatabase) {
    let store = db.store();
    let t0 = now() - Duration::days(10);
    let at = |hours: i64| t0 + Duration::hours(hours);
    let [river, sky] = ["river", "sky"].map(|n| account(&format!("{n}@example.org")));
    let [first, second, third] = ["t1", "t2", "t3"].map(|n| account(&format!("{n}@example.org")));
    for person in [&river, &sky, &first, &second, &third] {
        store.insert_account(person).await.unwrap();
    }
    let (river, sky) = (river.id, sky.id);
    let (first, second, third) = (first.id, second.id, third.id);
    // Approved therapists with room for everyone below.
    for therapist in [first, second, third] {
        let profile =
            TherapistProfile { status: ApplicationStatus::Approved, capacity: 5, ..application(therapist, t0) };
        store.save_application(&profile).await.unwrap();
    }
    let counts = || async { store.active_client_counts().await.unwrap() };
    let count = |counts: &HashMap<AccountId, u32>, t: AccountId| counts.get(&t).copied().unwrap_or(0);

    assert!(counts().await.is_empty());
    assert_eq!(store.active_care_of_client(river).await.unwrap(), None);

    // One client, one therapist.
    let river_first = care_team(river, first, at(0));
    store.start_care(&river_first, None).await.unwrap();
    assert_eq!(store.active_care_of_client(river).await.unwrap(), Some(river_first.clone()));
    assert_eq!(store.active_clients_of(first).await.unwrap(), vec![river_first.clone()]);
    assert!(store.active_clients_of(second).await.unwrap().is_empty());
    assert_eq!(counts().await, HashMap::from([(first, 1)]));

    // A second client of the same therapist, as a couple, seeing history.
    let sky_first = CareTeam { couple_id: Some(CoupleId::new()), sees_history: true, ..care_team(sky, first, at(1)) };
    store.start_care(&sky_first, Some("ignored: nothing to end")).await.unwrap();
    assert_eq!(store.active_care_of_client(sky).await.unwrap(), Some(sky_first.clone()));
    assert_eq!(
        sorted(store.active_clients_of(first).await.unwrap()),
        sorted(vec![river_first.clone(), sky_first.clone()])
    );
    assert_eq!(counts().await, HashMap::from([(first, 2)]));
    assert_eq!(
        store.active_care_of_client(river).await.unwrap(),
        Some(river_first.clone()),
        "sky's start ended river's"
    );

    // Switching therapist ends the current team when the new one starts.
    let river_second = care_team(river, second, at(24));
    store.start_care(&river_second, None).await.unwrap();
    assert_eq!(store.active_care_of_client(river).await.unwrap(), Some(river_second.clone()));
    assert_eq!(db.care_team_ending(river_first.id).await, (Some(at(24)), Some("switched therapist".to_owned())));
    assert_eq!(store.active_clients_of(first).await.unwrap(), vec![sky_first.clone()]);
    assert_eq!(store.active_clients_of(second).await.unwrap(), vec![river_second.clone()]);
    let c = counts().await;
    assert_eq!((count(&c, first), count(&c, second), count(&c, third)), (1, 1, 0));

    // With a reason given, that reason is kept; earlier endings are left alone.
    let river_third = care_team(river, third, at(48));
    store.start_care(&river_third, Some("therapist stopped taking clients")).await.unwrap();
    assert_eq!(
        db.care_team_ending(river_second.id).await,
        (Some(at(48)), Some("therapist stopped taking clients".to_owned()))
    );
    assert_eq!(db.care_team_ending(river_first.id).await, (Some(at(24)), Some("switched therapist".to_owned())));
    assert_eq!(db.care_team_ending(river_third.id).await, (None, None));
    assert_eq!(db.care_team_ending(sky_first.id).await, (None, None));
    assert_eq!(store.active_care_of_client(river).await.unwrap(), Some(river_third.clone()));
    assert!(store.active_clients_of(second).await.unwrap().is_empty());
    let c = counts().await;
    assert_eq!((count(&c, first), count(&c, second), count(&c, third)), (1, 0, 1));

    // A start that fails (no such therapist) leaves the current team running.
    assert!(store.start_care(&care_team(river, AccountId::new(), at(50)), None).await.is_err());
    assert_eq!(store.active_care_of_client(river).await.unwrap(), Some(river_third.clone()));
    assert_eq!(db.care_team_ending(river_third.id).await, (None, None));

    // Ending care: no active team left; ending it again, or a team that never was, is not found.
    store.end_care(river_third.id, at(60), "client finished therapy").await.unwrap();
    assert_eq!(store.active_care_of_client(river).await.unwrap(), None);
    assert_eq!(db.care_team_ending(river_third.id).await, (Some(at(60)), Some("client finished therapy".to_owned())));
    assert!(matches!(store.end_care(river_third.id, at(61), "again").await, Err(StoreError::NotFound)));
    assert_eq!(db.care_team_ending(river_third.id).await, (Some(at(60)), Some("client finished therapy".to_owned())));
    assert!(matches!(store.end_care(Uuid::now_v7(), at(61), "never was").await, Err(StoreError::NotFound)));
    assert!(store.active_clients_of(third).await.unwrap().is_empty());
    let c = counts().await;
    assert_eq!((count(&c, first), count(&c, second), count(&c, third)), (1, 0, 0));

    // After ending, the client may start again; two clients of one therapist count 2.
    let river_back = care_team(river, first, at(72));
    store.start_care(&river_back, None).await.unwrap();
    assert_eq!(store.active_care_of_client(river).await.unwrap(), Some(river_back.clone()));
    assert_eq!(db.care_team_ending(river_third.id).await, (Some(at(60)), Some("client finished therapy".to_owned())));
    assert_eq!(sorted(store.active_clients_of(first).await.unwrap()), sorted(vec![sky_first, river_back]));
    let c = counts().await;
    assert_eq!((count(&c, first), count(&c, second), count(&c, third)), (2, 0, 0));
    assert_eq!(db.count_rows("care_teams").await, 5);
}

// ---------------------------------------------------------------------------
// Opening

async fn reopening_keeps_data(db: &TestDatabase) {
    let alex = account("alex@example.org");
    db.store().insert_account(&alex).await.unwrap();

    // Opening an existing database runs the migrations again: they must be no-ops.
    let again = open(&db.url).await;
    assert_eq!(again.backend(), db.store().backend());
    assert_eq!(again.count_accounts().await.unwrap(), 1);
    assert_same_account(&again.account_by_id(alex.id).await.unwrap(), &alex);
    let blake = account("blake@example.org");
    again.insert_account(&blake).await.unwrap();
    again.close().await;

    assert_same_account(&db.store().account_by_id(blake.id).await.unwrap(), &blake);
    db.store().ping().await.unwrap();
}

#[test]
fn backend_comes_from_the_url_scheme() {
    assert_eq!(Backend::from_url("sqlite://rapport.db").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::from_url("sqlite::memory:").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
    assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
    for url in ["mysql://x", "rapport.db", "", "https://example.org"] {
        match Backend::from_url(url) {
            Err(OpenError::UnknownScheme(_)) => {}
            other => panic!("{url:?} should be an unknown scheme, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn opening_an_unknown_scheme_fails() {
    match rapport_store_sql::open("mysql://x", &OpenOptions::default()).await {
        Err(OpenError::UnknownScheme(scheme)) => assert_eq!(scheme, "mysql"),
        Err(other) => panic!("expected UnknownScheme, got {other:?}"),
        Ok(_) => panic!("a mysql:// URL was accepted"),
    }
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_is_refused() {
    let url = "sqlite:///nonexistent-dir-xyz/rapport.db";
    match rapport_store_sql::open(url, &OpenOptions::default()).await {
        Err(OpenError::MissingDirectory(dir)) => {
            assert_eq!(dir, std::path::Path::new("/nonexistent-dir-xyz"))
        }
        Err(other) => panic!("expected MissingDirectory, got {other:?}"),
        Ok(_) => panic!("a database was opened in a directory that does not exist"),
    }
    assert!(!std::path::Path::new("/nonexistent-dir-xyz").exists());
}

#[tokio::test]
async fn sqlite_missing_file_is_not_created_when_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let options = OpenOptions { create_missing_sqlite: false, ..OpenOptions::default() };
    match rapport_store_sql::open(&url, &options).await {
        Err(OpenError::MissingSqliteFile(missing)) => assert_eq!(missing, path),
        Err(other) => panic!("expected MissingSqliteFile, got {other:?}"),
        Ok(_) => panic!("an empty database was invented for a mistyped path"),
    }
    assert!(!path.exists());
}

// ---------------------------------------------------------------------------
// The harness

/// A fresh, empty, migrated database for one test.
struct TestDatabase {
    url: String,
    store: Arc<dyn Store>,
    place: Place,
}

enum Place {
    Sqlite { _dir: TempDir },
    Postgres { admin: PgPool, schema: String },
}

impl TestDatabase {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
        let store = open(&url).await;
        assert_eq!(store.backend(), "sqlite");
        Self { url, store, place: Place::Sqlite { _dir: dir } }
    }

    /// `None` (and a note on stderr) when no PostgreSQL server is configured.
    async fn postgres(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
            // In CI a missing PostgreSQL is a broken run, not a skipped test.
            assert!(std::env::var_os("CI").is_none(), "CI is set but {POSTGRES_URL_VAR} is not: {test} cannot run");
            eprintln!("skipped {test}: set {POSTGRES_URL_VAR} to run it against PostgreSQL");
            return None;
        };
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
        let schema = format!("rapport_test_{}", Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(&admin)
            .await
            .expect("create a schema for the test");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let db = Self {
            store: open_or_drop_schema(&url, &admin, &schema).await,
            url,
            place: Place::Postgres { admin, schema },
        };
        assert_eq!(db.store.backend(), "postgres");
        Some(db)
    }

    fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Runs one statement on a connection of its own, going around the store.
    async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.place {
            Place::Sqlite { .. } => {
                let pool = SqlitePool::connect(&self.url).await?;
                let done = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(done?.rows_affected())
            }
            Place::Postgres { .. } => {
                let pool = PgPool::connect(&self.url).await?;
                let done = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(done?.rows_affected())
            }
        }
    }

    /// Rows in `table`, read around the store.
    async fn count_rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let counted = match &self.place {
            Place::Sqlite { .. } => {
                let pool = SqlitePool::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(&sql).fetch_one(&pool).await;
                pool.close().await;
                n
            }
            Place::Postgres { .. } => {
                let pool = PgPool::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(&sql).fetch_one(&pool).await;
                pool.close().await;
                n
            }
        };
        counted.unwrap_or_else(|e| panic!("count {table}: {e}"))
    }

    /// How a care team ended (`ended_at`, `end_reason`), read around the store:
    /// the store only ever returns active teams.
    async fn care_team_ending(&self, id: Uuid) -> (Option<DateTime<Utc>>, Option<String>) {
        let sql = "SELECT ended_at, end_reason FROM care_teams WHERE id = $1";
        let row: Result<(Option<i64>, Option<String>), sqlx::Error> = match &self.place {
            Place::Sqlite { .. } => {
                let pool = SqlitePool::connect(&self.url).await.unwrap();
                let row = sqlx::query_as(sql).bind(id).fetch_one(&pool).await;
                pool.close().await;
                row
            }
            Place::Postgres { .. } => {
                let pool = PgPool::connect(&self.url).await.unwrap();
                let row = sqlx::query_as(sql).bind(id).fetch_one(&pool).await;
                pool.close().await;
                row
            }
        };
        let (ended_at, reason) = row.unwrap_or_else(|e| panic!("read care team {id}: {e}"));
        (ended_at.map(|v| DateTime::from_timestamp_micros(v).unwrap()), reason)
    }

    /// Closes the store and, on PostgreSQL, drops the test's schema (best effort).
    async fn clean_up(&self) {
        self.store.close().await;
        if let Place::Postgres { admin, schema } = &self.place {
            drop_schema(admin, schema).await;
            admin.close().await;
        }
    }
}

async fn open_or_drop_schema(url: &str, admin: &PgPool, schema: &str) -> Arc<dyn Store> {
    match rapport_store_sql::open(url, &OpenOptions::default()).await {
        Ok(store) => store,
        Err(e) => {
            drop_schema(admin, schema).await;
            panic!("cannot open the PostgreSQL store: {e:?}");
        }
    }
}

async fn drop_schema(admin: &PgPool, schema: &str) {
    let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(admin).await;
    if let Err(e) = dropped {
        eprintln!("could not drop test schema {schema}: {e}");
    }
}

/// Runs a scenario, cleans up whether or not it passed, then reports.
async fn run<F, Fut>(db: TestDatabase, scenario: F)
where
    F: FnOnce(Arc<TestDatabase>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let db = Arc::new(db);
    // A spawned task turns a failed assertion into a value, so the clean-up still runs.
    let outcome = tokio::spawn(scenario(Arc::clone(&db))).await;
    db.clean_up().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("scenario did not finish: {e}"),
        }
    }
}

/// What a scenario asks for: the store alone, or the whole test database.
trait ScenarioInput<'a> {
    fn from_db(db: &'a TestDatabase) -> Self;
}

impl<'a> ScenarioInput<'a> for &'a dyn Store {
    fn from_db(db: &'a TestDatabase) -> Self {
        db.store()
    }
}

impl<'a> ScenarioInput<'a> for &'a TestDatabase {
    fn from_db(db: &'a TestDatabase) -> Self {
        db
    }
}

async fn open(url: &str) -> Arc<dyn Store> {
    match rapport_store_sql::open(url, &OpenOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open {url}: {e:?}"),
    }
}

// ---------------------------------------------------------------------------
// Test data

/// Now, at the precision the database keeps (microseconds).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn account(email: &str) -> Account {
    let at = now() - Duration::days(1);
    Account {
        id: AccountId::new(),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Alex Rivera").unwrap(),
        role: Role::Client,
        time_zone: TimeZone::parse("Europe/London").unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        created_at: at,
        updated_at: at,
    }
}

fn session(account_id: AccountId, created_at: DateTime<Utc>) -> Session {
    // Two random UUIDs make a unique 32-byte stand-in for a SHA-256 token hash.
    let mut token_hash = Uuid::now_v7().as_bytes().to_vec();
    token_hash.extend_from_slice(Uuid::now_v7().as_bytes());
    Session {
        id: SessionId::new(),
        account_id,
        token_hash,
        kind: SessionKind::Browser,
        created_at,
        last_seen_at: created_at,
        expires_at: created_at + Duration::days(30),
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned()),
        revoked_at: None,
    }
}

fn ids(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id).collect()
}

fn event_ids(events: &[AuditEvent]) -> Vec<AuditEventId> {
    events.iter().map(|e| e.id).collect()
}

fn assert_same_account(read: &Account, written: &Account) {
    assert_eq!(read.id, written.id);
    assert_eq!(read.email, written.email);
    assert_eq!(read.email.as_str(), written.email.as_str());
    assert_eq!(read.display_name, written.display_name);
    assert_eq!(read.role, written.role);
    assert_eq!(read.time_zone, written.time_zone);
    assert_eq!(read.password_hash, written.password_hash);
    assert_eq!(read.created_at, written.created_at);
    assert_eq!(read.updated_at, written.updated_at);
}

fn assert_same_session(read: &Session, written: &Session) {
    assert_eq!(read.id, written.id);
    assert_eq!(read.account_id, written.account_id);
    assert_eq!(read.token_hash, written.token_hash);
    assert_eq!(read.kind, written.kind);
    assert_eq!(read.created_at, written.created_at);
    assert_eq!(read.last_seen_at, written.last_seen_at);
    assert_eq!(read.expires_at, written.expires_at);
    assert_eq!(read.ip, written.ip);
    assert_eq!(read.user_agent, written.user_agent);
    assert_eq!(read.revoked_at, written.revoked_at);
}

fn assert_same_event(read: &AuditEvent, written: &AuditEvent) {
    assert_eq!(read.id, written.id);
    assert_eq!(read.at, written.at);
    assert_eq!(read.actor_id, written.actor_id);
    assert_eq!(read.action, written.action);
    assert_eq!(read.subject_id, written.subject_id);
    assert_eq!(read.record_kind, written.record_kind);
    assert_eq!(read.record_id, written.record_id);
    assert_eq!(read.ip, written.ip);
}

fn assert_same_couple(read: &Couple, written: &Couple) {
    assert_eq!(read.id, written.id);
    assert_eq!(read.partner_a, written.partner_a);
    assert_eq!(read.partner_b, written.partner_b);
    assert_eq!(read.linked_at, written.linked_at);
}

async fn insert_person(store: &dyn Store, email: &str, role: Role) -> AccountId {
    let person = Account { role, ..account(email) };
    store.insert_account(&person).await.unwrap();
    person.id
}

fn window(weekday: &str, start: &str, end: &str) -> WeeklyWindow {
    WeeklyWindow::parse(weekday, start, end).unwrap()
}

fn languages(codes: &[&str]) -> Vec<Language> {
    codes.iter().map(|c| Language::parse(c).unwrap()).collect()
}

fn license(license_type: LicenseType, number: &str, jurisdiction: &str, (y, m, d): (i32, u32, u32)) -> License {
    License {
        id: Uuid::now_v7(),
        license_type,
        number: number.to_owned(),
        jurisdiction: Jurisdiction::parse(jurisdiction).unwrap(),
        expires_on: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        verified: false,
        expiry_warned_at: None,
        expiry_handled_at: None,
    }
}

/// A pending application with every field set (lists in an order unlike their sorted one).
fn application(account_id: AccountId, submitted_at: DateTime<Utc>) -> TherapistProfile {
    TherapistProfile {
        account_id,
        status: ApplicationStatus::Pending,
        professional_name: "Jordan Lee, LMFT".to_owned(),
        pronouns: Some("they/them".to_owned()),
        gender: Some(Gender::NonBinary),
        bio: "I help couples, families and individuals.\nTwenty years' practice; \u{e9}t\u{e9} \u{1f331}".to_owned(),
        licenses: vec![
            license(LicenseType::Lmft, "LMFT 123456", "US-CA", (2027, 6, 30)),
            license(LicenseType::Phd, "PSY-0099", "US-WA", (2026, 12, 31)),
        ],
        specialties: vec![Specialty::TrustInfidelity, Specialty::Couples, Specialty::Communication],
        approaches: vec![Approach::GottmanMethod, Approach::EmotionallyFocused],
        languages: languages(&["es", "en"]),
        modalities: vec![Modality::Video, Modality::Messaging, Modality::Chat],
        works_with_couples: true,
        time_zone: TimeZone::parse("America/Los_Angeles").unwrap(),
        weekly_availability: vec![
            window("mon", "17:00", "21:00"),
            window("sat", "09:30", "12:15"),
            window("sun", "20:00", "24:00"),
        ],
        capacity: 12,
        accepting_new_clients: true,
        has_photo: false,
        submitted_at,
        updated_at: submitted_at + Duration::minutes(2),
    }
}

fn decision(
    therapist_id: AccountId,
    admin_id: AccountId,
    decided_at: DateTime<Utc>,
    approved: bool,
) -> VerificationDecision {
    VerificationDecision {
        id: Uuid::now_v7(),
        therapist_id,
        admin_id,
        decided_at,
        approved,
        checked: "CA BBS licence lookup: number, name and expiry match".to_owned(),
        notes: if approved { "All licences current." } else { "Licence number not found at the board." }.to_owned(),
    }
}

/// An individual's intake with every field set.
fn intake(account_id: AccountId, created_at: DateTime<Utc>) -> Intake {
    Intake {
        account_id,
        kind: SeekerKind::Individual,
        couple_id: None,
        consented_at: created_at - Duration::minutes(1),
        consent_version: "2026-11".to_owned(),
        jurisdiction: Jurisdiction::parse("US-CA").unwrap(),
        languages: languages(&["en", "es"]),
        modalities: vec![Modality::Video, Modality::Audio],
        approaches: vec![Approach::Cbt, Approach::AcceptanceCommitment],
        therapist_gender: None,
        time_zone: TimeZone::parse("America/Los_Angeles").unwrap(),
        time_windows: vec![window("tue", "18:00", "24:00"), window("thu", "07:15", "08:45")],
        sensitive: Sealed { key_id: "intake-key-2026-11".to_owned(), bytes: (0..=255_u8).rev().collect() },
        created_at,
        updated_at: created_at + Duration::seconds(30),
    }
}

fn care_team(client_id: AccountId, therapist_id: AccountId, started_at: DateTime<Utc>) -> CareTeam {
    CareTeam {
        id: Uuid::now_v7(),
        client_id,
        couple_id: None,
        therapist_id,
        started_at,
        ended_at: None,
        end_reason: None,
        sees_history: false,
    }
}

fn sorted(mut teams: Vec<CareTeam>) -> Vec<CareTeam> {
    teams.sort_by_key(|t| t.id);
    teams
}
