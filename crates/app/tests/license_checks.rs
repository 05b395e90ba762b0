//! Licence expiry: therapists are warned 30 days ahead, once; after expiry
//! they are not matched there, and their clients there are told, once.

use chrono::{Duration, Utc};
use rapport_app::{
    App, AppConfig, Authenticated, IntakeInput, LicenseInput, ManualClock, RequestContext, SignUp,
    TherapistApplication, Vault, WindowInput,
};
use rapport_domain::Role;
use rapport_store::SessionKind;
use std::sync::Arc;

struct World {
    app: App,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
    let store = rapport_store_sql::open(&url, &Default::default()).await.unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = App::new(store, AppConfig::default(), clock.clone()).with_vault(Vault::from_key(&[3u8; 32]));
    app.start_realtime().await.unwrap();
    World { app, clock, _dir: dir }
}

async fn person(w: &World, email: &str, role: Role) -> Authenticated {
    let ctx = RequestContext::default();
    let password = "a long enough password";
    let signup =
        SignUp { email: email.into(), password: password.into(), display_name: email.into(), time_zone: String::new() };
    w.app.create_account(signup, role, &ctx).await.unwrap();
    sign_in(w, email).await
}

async fn sign_in(w: &World, email: &str) -> Authenticated {
    let signed =
        w.app.sign_in(email, "a long enough password", SessionKind::Api, &RequestContext::default()).await.unwrap();
    w.app.authenticate(signed.token.expose()).await.unwrap()
}

fn application(expires_in_days: i64, today: chrono::NaiveDate) -> TherapistApplication {
    TherapistApplication {
        professional_name: "Dana Reyes, LMFT".into(),
        bio: "Couples work.".into(),
        licenses: vec![
            LicenseInput {
                license_type: "lmft".into(),
                number: "CA-1".into(),
                jurisdiction: "US-CA".into(),
                expires_on: (today + Duration::days(expires_in_days)).format("%Y-%m-%d").to_string(),
            },
            LicenseInput {
                license_type: "lmft".into(),
                number: "NV-1".into(),
                jurisdiction: "US-NV".into(),
                expires_on: (today + Duration::days(400)).format("%Y-%m-%d").to_string(),
            },
        ],
        specialties: vec!["couples".into(), "emotional_distance".into()],
        languages: vec!["en".into()],
        modalities: vec!["video".into()],
        works_with_couples: true,
        time_zone: "America/Los_Angeles".into(),
        weekly_availability: vec![WindowInput { weekday: "mon".into(), start: "17:00".into(), end: "21:00".into() }],
        capacity: 5,
        accepting_new_clients: true,
        ..Default::default()
    }
}

fn intake(place: &str) -> IntakeInput {
    IntakeInput {
        kind: "individual".into(),
        jurisdiction: place.into(),
        languages: vec!["en".into()],
        concerns: vec!["less_communication".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn expiring_licences_warn_once_then_move_clients_on() {
    let w = world().await;
    let ctx = RequestContext::default();
    let today = w.clock.now_date();
    let admin = person(&w, "admin@example.org", Role::Admin).await;
    let therapist = person(&w, "dana@example.org", Role::Client).await;
    w.app.apply_as_therapist(&therapist, application(40, today), &ctx).await.unwrap();
    w.app.decide_therapist_application(&admin, therapist.account_id(), true, "", "ok", &ctx).await.unwrap();

    let in_ca = person(&w, "ca@example.org", Role::Client).await;
    let in_nv = person(&w, "nv@example.org", Role::Client).await;
    for (client, place) in [(&in_ca, "US-CA"), (&in_nv, "US-NV")] {
        w.app.submit_intake(client, intake(place), &ctx).await.unwrap();
        w.app.choose_therapist(client, therapist.account_id(), false, None, &ctx).await.unwrap();
    }

    // 40 days out: nothing yet.
    assert_eq!(w.app.run_license_checks().await.unwrap().therapists_warned, 0);
    // 30 days out: one warning, and only one however often the check runs.
    w.clock.advance(std::time::Duration::from_secs(10 * 86400));
    assert_eq!(w.app.run_license_checks().await.unwrap().therapists_warned, 1);
    assert_eq!(w.app.run_license_checks().await.unwrap().therapists_warned, 0);
    let therapist = sign_in(&w, "dana@example.org").await;
    let notices = w.app.my_notices(&therapist).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].message.contains("licence in California expires on"), "{}", notices[0].message);

    // The day after expiry: the Californian client is told, the Nevadan one is not.
    w.clock.advance(std::time::Duration::from_secs(31 * 86400));
    let report = w.app.run_license_checks().await.unwrap();
    assert_eq!(report.clients_told, 1);
    assert_eq!(w.app.run_license_checks().await.unwrap().clients_told, 0);
    let in_ca = sign_in(&w, "ca@example.org").await;
    let in_nv = sign_in(&w, "nv@example.org").await;
    let told = w.app.my_notices(&in_ca).await.unwrap();
    assert_eq!(told.len(), 1);
    assert!(told[0].message.contains("need") || told[0].message.contains("new therapist"), "{}", told[0].message);
    assert!(w.app.my_notices(&in_nv).await.unwrap().is_empty());

    // Dismissing clears it; someone else's notice can't be dismissed.
    assert!(w.app.dismiss_notice(&in_nv, told[0].id).await.is_err());
    w.app.dismiss_notice(&in_ca, told[0].id).await.unwrap();
    assert!(w.app.my_notices(&in_ca).await.unwrap().is_empty());

    // And the therapist is no longer matched in California, still in Nevada.
    let newcomer_ca = person(&w, "new-ca@example.org", Role::Client).await;
    w.app.submit_intake(&newcomer_ca, intake("US-CA"), &ctx).await.unwrap();
    assert!(w.app.my_matches(&newcomer_ca, &ctx).await.unwrap().unwrap().matches.is_empty());
    let newcomer_nv = person(&w, "new-nv@example.org", Role::Client).await;
    w.app.submit_intake(&newcomer_nv, intake("US-NV"), &ctx).await.unwrap();
    assert_eq!(w.app.my_matches(&newcomer_nv, &ctx).await.unwrap().unwrap().matches.len(), 1);
}
