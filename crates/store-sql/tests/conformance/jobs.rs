//! The background job queue (leases, retries, de-duplication) and notification preferences.

use super::*;
use rapport_store::{EmailMode, Job, NotificationPrefs};

conformance! {
    jobs_lifecycle => sqlite_jobs_lifecycle, postgres_jobs_lifecycle;
    jobs_are_deduplicated_while_unfinished => sqlite_jobs_are_deduplicated_while_unfinished,
        postgres_jobs_are_deduplicated_while_unfinished;
    concurrent_claimers_never_share_a_job => sqlite_concurrent_claimers_never_share_a_job,
        postgres_concurrent_claimers_never_share_a_job;
    notification_prefs_default_and_save => sqlite_notification_prefs_default_and_save,
        postgres_notification_prefs_default_and_save;
}

async fn jobs_lifecycle(store: &dyn Store) {
    let now = now();
    let later = job("message_email", now + Duration::minutes(10), None);
    let due_second = job("message_email", now - Duration::minutes(1), None);
    let mut due_first = job("message_digest", now - Duration::minutes(5), Some("digest:alex"));
    due_first.payload = r#"{"account":"alex"}"#.to_owned();
    for j in [&later, &due_second, &due_first] {
        assert!(store.enqueue_job(j).await.unwrap());
    }
    assert_eq!(store.pending_jobs("message_email").await.unwrap(), vec![later.clone(), due_second.clone()]);
    assert_eq!(store.pending_jobs("message_digest").await.unwrap(), vec![due_first.clone()]);
    assert!(store.pending_jobs("nothing").await.unwrap().is_empty());

    // Due jobs, oldest run_at first, each claim counted; not-yet-due ones wait.
    let lease = now + Duration::minutes(2);
    let claimed = store.claim_due_jobs(now, lease, 10).await.unwrap();
    assert_eq!(claimed, vec![Job { attempts: 1, ..due_first.clone() }, Job { attempts: 1, ..due_second.clone() }]);
    // A live lease keeps them from anyone else.
    assert!(store.claim_due_jobs(now + Duration::minutes(1), lease, 10).await.unwrap().is_empty());

    // A failure is noted and the job released to run later.
    let retry_at = now + Duration::minutes(3);
    store.retry_job(due_second.id, retry_at, "smtp: 451 try later").await.unwrap();
    let noted =
        Job { attempts: 1, run_at: retry_at, last_error: Some("smtp: 451 try later".to_owned()), ..due_second.clone() };
    assert_eq!(store.pending_jobs("message_email").await.unwrap(), vec![later.clone(), noted.clone()]);
    assert!(store.claim_due_jobs(now + Duration::minutes(1), lease, 10).await.unwrap().is_empty());

    // The finished one is gone; the crashed one (lease lapsed) runs again.
    store.finish_job(due_first.id, now + Duration::seconds(5)).await.unwrap();
    assert!(store.pending_jobs("message_digest").await.unwrap().is_empty());
    let at = now + Duration::minutes(4);
    let again = store.claim_due_jobs(at, at + Duration::minutes(2), 10).await.unwrap();
    assert_eq!(again, vec![Job { attempts: 2, ..noted.clone() }]);

    // The limit is respected, earliest run_at first, and later jobs come due in time
    // (the retried job's second lease has lapsed again by now).
    let at = now + Duration::minutes(11);
    let one = store.claim_due_jobs(at, at + Duration::minutes(2), 1).await.unwrap();
    assert_eq!(one, vec![Job { attempts: 3, ..noted.clone() }]);
    let next = store.claim_due_jobs(at, at + Duration::minutes(2), 1).await.unwrap();
    assert_eq!(next, vec![Job { attempts: 1, ..later.clone() }]);

    // A finished job cannot be retried; unknown jobs are not found.
    assert!(matches!(store.retry_job(due_first.id, at, "late").await, Err(StoreError::NotFound)));
    assert!(matches!(store.finish_job(Uuid::now_v7(), at).await, Err(StoreError::NotFound)));
    assert!(matches!(store.retry_job(Uuid::now_v7(), at, "x").await, Err(StoreError::NotFound)));
    // Finishing twice is harmless.
    store.finish_job(due_first.id, at).await.unwrap();
}

async fn jobs_are_deduplicated_while_unfinished(store: &dyn Store) {
    let now = now();
    let first = job("message_digest", now, Some("digest:sam"));
    assert!(store.enqueue_job(&first).await.unwrap());
    let duplicate = job("message_digest", now + Duration::hours(1), Some("digest:sam"));
    assert!(!store.enqueue_job(&duplicate).await.unwrap());
    // Other keys, and jobs without a key, are not affected.
    assert!(store.enqueue_job(&job("message_digest", now, Some("digest:alex"))).await.unwrap());
    assert!(store.enqueue_job(&job("message_email", now, None)).await.unwrap());
    assert!(store.enqueue_job(&job("message_email", now, None)).await.unwrap());
    assert_eq!(store.pending_jobs("message_digest").await.unwrap().len(), 2);

    // A claimed job still holds its key; a finished one frees it.
    store.claim_due_jobs(now, now + Duration::minutes(1), 10).await.unwrap();
    assert!(!store.enqueue_job(&duplicate).await.unwrap());
    store.finish_job(first.id, now).await.unwrap();
    assert!(store.enqueue_job(&duplicate).await.unwrap());
    let pending: Vec<Uuid> = store.pending_jobs("message_digest").await.unwrap().iter().map(|j| j.id).collect();
    assert!(pending.contains(&duplicate.id) && !pending.contains(&first.id));
}

async fn concurrent_claimers_never_share_a_job(db: &TestDatabase) {
    let store: Arc<dyn Store> = Arc::clone(&db.store);
    let now = now();
    const JOBS: usize = 200;
    for n in 0..JOBS {
        store.enqueue_job(&job("message_email", now - Duration::milliseconds(n as i64), None)).await.unwrap();
    }
    // Four claimers (as if four instances) take small bites until every job is taken.
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut claimers = Vec::new();
    for _ in 0..4 {
        let store = Arc::clone(&store);
        let taken = Arc::clone(&taken);
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            // Bounded, so a bug that loses jobs fails the count below instead of hanging.
            for _ in 0..10_000 {
                if taken.load(std::sync::atomic::Ordering::SeqCst) >= JOBS {
                    break;
                }
                let got = store.claim_due_jobs(now, now + Duration::hours(1), 7).await.unwrap();
                taken.fetch_add(got.len(), std::sync::atomic::Ordering::SeqCst);
                for j in got {
                    assert_eq!(j.attempts, 1, "job {} was claimed twice", j.id);
                    mine.push(j.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: std::collections::HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a job was claimed by two claimers");
    assert_eq!(all.len(), JOBS);
}

async fn notification_prefs_default_and_save(store: &dyn Store) {
    let alex = insert_person(store, "alex@example.org", Role::Therapist).await;
    let sam = insert_person(store, "sam@example.org", Role::Client).await;
    assert_eq!(store.notification_prefs(alex).await.unwrap(), NotificationPrefs::defaults(alex));

    let chosen = NotificationPrefs { account_id: alex, email_mode: EmailMode::Digest, reply_working_days: 3 };
    store.save_notification_prefs(&chosen).await.unwrap();
    assert_eq!(store.notification_prefs(alex).await.unwrap(), chosen);
    let changed = NotificationPrefs { email_mode: EmailMode::Off, reply_working_days: 2, ..chosen };
    store.save_notification_prefs(&changed).await.unwrap();
    assert_eq!(store.notification_prefs(alex).await.unwrap(), changed);
    assert_eq!(store.notification_prefs(sam).await.unwrap(), NotificationPrefs::defaults(sam));
}

fn job(kind: &str, run_at: DateTime<Utc>, dedupe_key: Option<&str>) -> Job {
    Job {
        id: Uuid::now_v7(),
        kind: kind.to_owned(),
        payload: "{}".to_owned(),
        run_at,
        attempts: 0,
        dedupe_key: dedupe_key.map(str::to_owned),
        last_error: None,
    }
}
