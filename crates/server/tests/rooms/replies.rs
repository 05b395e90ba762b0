//! Reply expectations: a therapist's room list puts whoever has waited longest
//! for a reply first, with when they started waiting and when the reply is due
//! (17:00 in the therapist's zone at the end of the next working day, or as many
//! working days as the therapist chose); the client sees the same expectation;
//! replying clears it.

use crate::kit::*;
use crate::support::*;
use chrono::{DateTime, Datelike, Duration as Days, NaiveTime, TimeZone as _, Utc, Weekday};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The therapists in these tests work in Los Angeles (see the default application).
fn los_angeles() -> impl chrono::TimeZone {
    rapport_domain::TimeZone::parse("America/Los_Angeles").unwrap().tz()
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|s| s.parse().expect("an RFC 3339 time"))
}

/// 17:00 in Los Angeles on the `n`th working day after the day `sent` fell on there.
fn due(sent: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    let tz = los_angeles();
    let mut day = sent.with_timezone(&tz).date_naive();
    let mut left = n;
    while left > 0 {
        day += Days::days(1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(17, 0, 0).unwrap()))
        .single()
        .expect("17:00 exists")
        .with_timezone(&Utc)
}

fn waiting(list: &[Value], room: &str) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let r = list.iter().find(|r| r["id"] == room).unwrap_or_else(|| panic!("room {room} in {list:?}"));
    (time(&r["waiting_since"]), time(&r["reply_due"]))
}

fn order(list: &[Value]) -> Vec<String> {
    list.iter().map(|r| s(r, "id")).collect()
}

#[tokio::test]
async fn whoever_has_waited_longest_comes_first_until_answered() {
    let server = spawn_manual().await;
    let Individual { client: jordan, therapist, room: jordans, .. } = individual(&server).await;
    let (blair, blairs) = another_client(&server, &therapist, "Blair").await;
    let (_casey, caseys) = another_client(&server, &therapist, "Casey").await;
    for r in rooms(&server, &therapist).await {
        assert_eq!((r["waiting_since"].clone(), r["reply_due"].clone()), (Value::Null, Value::Null), "{r}");
    }

    // Blair writes, then Jordan (twice) a little later.
    let b1 = say(&server, &blair, &blairs, "Can we move our session?").await;
    advance(&server, Duration::from_secs(10 * 60));
    let j1 = say(&server, &jordan, &jordans, "Something happened last night").await;
    advance(&server, Duration::from_secs(5 * 60));
    say(&server, &jordan, &jordans, "I'm okay, but I'd like to talk").await;

    let list = rooms(&server, &therapist).await;
    assert_eq!(order(&list), [blairs.clone(), jordans.clone(), caseys.clone()], "longest wait first");
    let b1_at = time(&b1["created_at"]).unwrap();
    let j1_at = time(&j1["created_at"]).unwrap();
    assert_eq!(waiting(&list, &blairs), (Some(b1_at), Some(due(b1_at, 1))));
    assert_eq!(waiting(&list, &jordans), (Some(j1_at), Some(due(j1_at, 1))), "from the first unanswered message");
    assert_eq!(waiting(&list, &caseys), (None, None));
    // The client sees the same expectation in their own list.
    assert_eq!(waiting(&rooms(&server, &blair).await, &blairs), (Some(b1_at), Some(due(b1_at, 1))));

    // The therapist answers Blair: that room no longer waits, Jordan's comes first.
    advance(&server, Duration::from_secs(60));
    say(&server, &therapist, &blairs, "Of course, Thursday works").await;
    let list = rooms(&server, &therapist).await;
    assert_eq!(order(&list)[0], jordans);
    assert_eq!(waiting(&list, &blairs), (None, None));
    assert_eq!(waiting(&list, &jordans), (Some(j1_at), Some(due(j1_at, 1))));
    assert_eq!(waiting(&rooms(&server, &blair).await, &blairs), (None, None), "answered");

    // Blair writes again: waiting starts over from the new message, behind Jordan.
    advance(&server, Duration::from_secs(60));
    let b2 = say(&server, &blair, &blairs, "Thank you!").await;
    let b2_at = time(&b2["created_at"]).unwrap();
    let list = rooms(&server, &therapist).await;
    assert_eq!(order(&list), [jordans.clone(), blairs.clone(), caseys.clone()]);
    assert_eq!(waiting(&list, &blairs), (Some(b2_at), Some(due(b2_at, 1))));
    // Answering Jordan clears Jordan's room too.
    say(&server, &therapist, &jordans, "I'm here. Tell me more.").await;
    assert_eq!(waiting(&rooms(&server, &therapist).await, &jordans), (None, None));
    server.stop().await;
}

/// How long until the next Friday at 18:00 in Los Angeles, from `now`.
fn until_friday_evening(now: DateTime<Utc>) -> Duration {
    let tz = los_angeles();
    let mut day = now.with_timezone(&tz).date_naive() + Days::days(1);
    while day.weekday() != Weekday::Fri {
        day += Days::days(1);
    }
    let at = tz.from_local_datetime(&day.and_hms_opt(18, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc);
    (at - now).to_std().unwrap()
}

#[tokio::test]
async fn a_message_on_friday_evening_is_due_on_monday_or_later_as_the_therapist_chose() {
    let server = spawn_manual().await;
    let Individual { mut client, mut therapist, room, .. } = individual(&server).await;
    let (mut other, other_room) = another_client(&server, &therapist, "Blair").await;
    let now = rapport_app::Clock::now(server.clock.as_deref().unwrap());
    advance(&server, until_friday_evening(now));
    // Days passed: everyone signs in again.
    for p in [&mut client, &mut therapist, &mut other] {
        p.token = sign_in(&server, &p.email).await;
    }
    let friday = say(&server, &client, &room, "Writing on Friday evening").await;
    let sent = time(&friday["created_at"]).unwrap();
    assert_eq!(sent.with_timezone(&los_angeles()).weekday(), Weekday::Fri);
    let monday = due(sent, 1);
    assert_eq!(monday.with_timezone(&los_angeles()).weekday(), Weekday::Mon);
    assert_eq!(monday.with_timezone(&los_angeles()).time(), NaiveTime::from_hms_opt(17, 0, 0).unwrap());
    assert_eq!(waiting(&rooms(&server, &therapist).await, &room), (Some(sent), Some(monday)));
    assert_eq!(waiting(&rooms(&server, &client).await, &room), (Some(sent), Some(monday)));

    // A therapist who promises two working days: Tuesday.
    let prefs = json!({"email": "immediately", "reply_working_days": 2});
    let set = send_json(&server, Method::PUT, "/api/v1/me/notifications", &therapist.token, &prefs).await;
    assert_eq!(json_with_status(set, StatusCode::OK).await, prefs);
    let list = rooms(&server, &therapist).await;
    let tuesday = due(sent, 2);
    assert_eq!(tuesday.with_timezone(&los_angeles()).weekday(), Weekday::Tue);
    assert_eq!(waiting(&list, &room), (Some(sent), Some(tuesday)));
    assert_eq!(waiting(&rooms(&server, &client).await, &room), (Some(sent), Some(tuesday)), "the client is told");
    for bad in [0, 6] {
        let body = json!({"email": "immediately", "reply_working_days": bad});
        let response = send_json(&server, Method::PUT, "/api/v1/me/notifications", &therapist.token, &body).await;
        field_error(response, "reply_working_days", &format!("{bad} days")).await;
    }
    // Another client's room, where nobody wrote, is not waiting.
    assert_eq!(waiting(&list, &other_room), (None, None));
    server.stop().await;
}
