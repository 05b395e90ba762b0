//! Email notifications about new messages, run as background jobs: a person
//! who has not read a message a little after it arrived gets an email saying
//! there is something new (never what it says), immediately or in a daily
//! digest, as they chose. Jobs live in the database, so they survive restarts
//! and run once across instances.

use crate::mail::OutgoingMail;
use crate::sessions::Authenticated;
use crate::{App, AppError};
use chrono::{DateTime, Duration, Utc};
use rapport_domain::{AccountId, MessageId, RoomId};
use rapport_store::{EmailMode, Job, NotificationPrefs};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use uuid::Uuid;

/// How long after a message someone must still not have read it to be emailed.
pub const EMAIL_AFTER: Duration = Duration::minutes(2);
/// When the daily digest goes out, in the person's own time zone.
const DIGEST_HOUR: u32 = 18;
const MESSAGE_EMAIL: &str = "message_email";
const MESSAGE_DIGEST: &str = "message_digest";

#[derive(Serialize, Deserialize)]
struct MessageEmailJob {
    account_id: AccountId,
    room_id: RoomId,
    message_id: MessageId,
}

#[derive(Serialize, Deserialize)]
struct DigestJob {
    account_id: AccountId,
}

/// What one run of due jobs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    pub emails_sent: u32,
    pub skipped: u32,
    pub failed: u32,
}

impl App {
    /// Sends an email now, through the configured transport. Failures are logged,
    /// never shown to the person who caused the email.
    pub(crate) async fn send_mail(&self, mail: OutgoingMail) -> bool {
        let Some(mailer) = &self.mailer else {
            tracing::warn!("no mail transport is configured; an email was not sent");
            return false;
        };
        match mailer.send(&self.config.mail_from, &mail).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not send an email");
                false
            }
        }
    }

    /// Sends an email in the background, so the request that caused it neither waits
    /// for the mail server nor reveals by its timing whether an email went out.
    pub(crate) fn send_mail_soon(&self, mail: OutgoingMail) {
        let app = self.clone();
        tokio::spawn(async move { app.send_mail(mail).await });
    }

    /// Queues emails for a new message's other members. Runs off the message's
    /// acknowledgement path; a job per person and room is enough however many
    /// messages arrive meanwhile.
    pub(crate) async fn schedule_message_emails(
        &self,
        room: RoomId,
        sender: AccountId,
        message: MessageId,
    ) -> Result<(), AppError> {
        {
            // A room whose members were considered in the last minute already has its emails
            // queued (one per person, sent only if they have not read by then).
            let mut rooms = self.rooms_recently_queued.lock().expect("lock");
            if rooms.len() > 100_000 {
                rooms.clear();
            }
            if rooms.get(&room).is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(60)) {
                return Ok(());
            }
            rooms.insert(room, Instant::now());
        }
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app.queue_message_emails(room, sender, message).await {
                tracing::warn!(error = %e, "could not queue message emails");
            }
        });
        Ok(())
    }

    async fn queue_message_emails(&self, room: RoomId, sender: AccountId, message: MessageId) -> Result<(), AppError> {
        let now = self.now();
        for member in self.store.room_members(room).await? {
            let who = member.account_id;
            if who == sender {
                continue;
            }
            {
                // Each instance remembers what it queued lately, to spare the database.
                let mut recent = self.recently_queued.lock().expect("lock");
                if recent.len() > 100_000 {
                    recent.clear();
                }
                let key = (who, room);
                if recent.get(&key).is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(60)) {
                    continue;
                }
                recent.insert(key, Instant::now());
            }
            let prefs = self.store.notification_prefs(who).await?;
            let job = match prefs.email_mode {
                EmailMode::Off => continue,
                EmailMode::Immediately => Job {
                    id: Uuid::now_v7(),
                    kind: MESSAGE_EMAIL.into(),
                    payload: serde_json::to_string(&MessageEmailJob {
                        account_id: who,
                        room_id: room,
                        message_id: message,
                    })
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                    run_at: now + EMAIL_AFTER,
                    attempts: 0,
                    dedupe_key: Some(format!("{MESSAGE_EMAIL}:{who}:{room}")),
                    last_error: None,
                },
                EmailMode::Digest => {
                    let zone = self.store.account_by_id(who).await?.time_zone;
                    Job {
                        id: Uuid::now_v7(),
                        kind: MESSAGE_DIGEST.into(),
                        payload: serde_json::to_string(&DigestJob { account_id: who })
                            .map_err(|e| AppError::Internal(e.to_string()))?,
                        run_at: next_digest_time(now, zone),
                        attempts: 0,
                        dedupe_key: Some(format!("{MESSAGE_DIGEST}:{who}")),
                        last_error: None,
                    }
                }
            };
            self.store.enqueue_job(&job).await?;
        }
        Ok(())
    }

    /// Runs the background jobs that are due. Safe on every instance at once.
    pub async fn run_due_jobs(&self) -> Result<JobReport, AppError> {
        let now = self.now();
        let mut report = JobReport::default();
        let jobs = self.store.claim_due_jobs(now, now + Duration::minutes(5), 50).await?;
        for job in jobs {
            let outcome = match job.kind.as_str() {
                MESSAGE_EMAIL => self.run_message_email(&job).await,
                MESSAGE_DIGEST => self.run_digest(&job).await,
                other => Err(AppError::Internal(format!("unknown job kind {other}"))),
            };
            match outcome {
                Ok(true) => {
                    report.emails_sent += 1;
                    self.store.finish_job(job.id, self.now()).await?;
                }
                Ok(false) => {
                    report.skipped += 1;
                    self.store.finish_job(job.id, self.now()).await?;
                }
                Err(e) => {
                    report.failed += 1;
                    let wait = Duration::minutes(2i64.pow(job.attempts.clamp(1, 6) as u32));
                    tracing::warn!(error = %e, kind = %job.kind, attempts = job.attempts, "a background job failed");
                    if job.attempts >= 8 {
                        self.store.finish_job(job.id, self.now()).await?;
                    } else {
                        self.store.retry_job(job.id, self.now() + wait, &e.to_string()).await?;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Emails one person that a room has something new, unless they have read it by now.
    async fn run_message_email(&self, job: &Job) -> Result<bool, AppError> {
        let p: MessageEmailJob = serde_json::from_str(&job.payload).map_err(|e| AppError::Internal(e.to_string()))?;
        let Some(member) = self.store.membership(p.room_id, p.account_id).await? else { return Ok(false) };
        if member.last_read.is_some_and(|r| r >= p.message_id) {
            return Ok(false);
        }
        if self.store.notification_prefs(p.account_id).await?.email_mode != EmailMode::Immediately {
            return Ok(false);
        }
        let account = self.store.account_by_id(p.account_id).await?;
        let link = format!("{}/rooms/{}", self.config.public_url.trim_end_matches('/'), p.room_id);
        let mail = OutgoingMail {
            to: account.email,
            subject: "You have a new message on Rapport".into(),
            text: format!(
                "Hello {},\n\nThere is a new message waiting for you on Rapport. For your privacy, we never put \
                 messages in email.\n\nRead it here: {link}\n\nYou can choose how we tell you about messages \
                 (straight away, a daily summary, or not at all) in your settings.\n\n— Rapport\n",
                account.display_name
            ),
        };
        if self.send_mail(mail).await {
            Ok(true)
        } else {
            Err(AppError::Internal("the email could not be sent".into()))
        }
    }

    /// One daily email listing how many rooms have unread messages.
    async fn run_digest(&self, job: &Job) -> Result<bool, AppError> {
        let p: DigestJob = serde_json::from_str(&job.payload).map_err(|e| AppError::Internal(e.to_string()))?;
        let unread = self.store.unread_counts(p.account_id).await?;
        let rooms = unread.values().filter(|n| **n > 0).count();
        let messages: u32 = unread.values().sum();
        if messages == 0 || self.store.notification_prefs(p.account_id).await?.email_mode != EmailMode::Digest {
            return Ok(false);
        }
        let account = self.store.account_by_id(p.account_id).await?;
        let link = format!("{}/rooms", self.config.public_url.trim_end_matches('/'));
        let mail = OutgoingMail {
            to: account.email,
            subject: "Your Rapport messages today".into(),
            text: format!(
                "Hello {},\n\nYou have {messages} unread message{} in {rooms} room{} on Rapport. For your privacy, \
                 we never put messages in email.\n\nRead them here: {link}\n\n— Rapport\n",
                account.display_name,
                if messages == 1 { "" } else { "s" },
                if rooms == 1 { "" } else { "s" },
            ),
        };
        if self.send_mail(mail).await {
            Ok(true)
        } else {
            Err(AppError::Internal("the email could not be sent".into()))
        }
    }

    /// The caller's notification preferences.
    pub async fn my_notification_prefs(&self, who: &Authenticated) -> Result<NotificationPrefs, AppError> {
        let me = who.account_id();
        Ok(self.store.notification_prefs(me).await?)
    }

    /// Changes how the caller hears about messages (and, for therapists, the reply window).
    pub async fn set_my_notification_prefs(
        &self,
        who: &Authenticated,
        email_mode: EmailMode,
        reply_working_days: Option<u32>,
    ) -> Result<NotificationPrefs, AppError> {
        let me = who.account_id();
        let mut prefs = self.store.notification_prefs(me).await?;
        prefs.email_mode = email_mode;
        if let Some(days) = reply_working_days {
            if !(1..=5).contains(&days) {
                return Err(rapport_domain::FieldErrors::single(
                    "reply_working_days",
                    "Choose between 1 and 5 working days.",
                )
                .into());
            }
            prefs.reply_working_days = days;
        }
        self.store.save_notification_prefs(&prefs).await?;
        Ok(prefs)
    }
}

/// The next digest time (18:00 in the person's zone) after `now`.
fn next_digest_time(now: DateTime<Utc>, zone: rapport_domain::TimeZone) -> DateTime<Utc> {
    use chrono::TimeZone as _;
    let tz = zone.tz();
    let local = now.with_timezone(&tz);
    let mut day = local.date_naive();
    for _ in 0..3 {
        if let Some(at) = day.and_hms_opt(DIGEST_HOUR, 0, 0).and_then(|t| tz.from_local_datetime(&t).earliest()) {
            let at = at.with_timezone(&Utc);
            if at > now {
                return at;
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
    now + Duration::hours(24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn digests_go_out_at_six_in_the_evening_local_time() {
        let paris = rapport_domain::TimeZone::parse("Europe/Paris").unwrap();
        let morning = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
        assert_eq!(next_digest_time(morning, paris), Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 0).unwrap());
        let night = Utc.with_ymd_and_hms(2026, 11, 26, 20, 0, 0).unwrap();
        assert_eq!(next_digest_time(night, paris), Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    }
}
