//! The storage conformance suite: one set of scenarios, run against every
//! backend. SQLite always runs; PostgreSQL runs when
//! `RAPPORT_TEST_POSTGRES_URL` names a server (each test gets a schema of its
//! own there, dropped afterwards).

use chrono::{DateTime, Duration, Utc};
use rapport_domain::{AccountId, AuditAction, AuditEventId, CoupleId, DisplayName, Email, Role, SessionId, TimeZone};
use rapport_store::{Account, AuditEvent, Couple, Session, SessionKind, Store, StoreError};
use rapport_store_sql::{Backend, OpenError, OpenOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;
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
    audit_pages_by_subject => sqlite_audit_pages_by_subject, postgres_audit_pages_by_subject;
    audit_log_is_append_only => sqlite_audit_log_is_append_only, postgres_audit_log_is_append_only;
    sign_in_throttle => sqlite_sign_in_throttle, postgres_sign_in_throttle;
    couples_link_two_partners => sqlite_couples_link_two_partners, postgres_couples_link_two_partners;
    reopening_keeps_data => sqlite_reopening_keeps_data, postgres_reopening_keeps_data;
}

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
