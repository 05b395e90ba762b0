//! A realtime connection ends with the session it was opened with. Every
//! instance looks up the sessions that ended (four times a second, and at once
//! after a sign-out, revocation or password change here) and tells its open
//! connections, which close themselves with code 4001.

use crate::sessions::Authenticated;
use crate::App;
use chrono::{DateTime, Utc};
use rapport_domain::SessionId;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often each instance looks for sessions that ended elsewhere.
const EVERY: Duration = Duration::from_millis(250);
/// Each look reaches this far behind the last one: instances' clocks and commits
/// are not in lockstep. Sessions already announced in that time are not repeated.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(5);

/// When the last look was, and what it announced (kept for the overlap).
#[derive(Default)]
struct Looked {
    at: Option<DateTime<Utc>>,
    announced: HashMap<SessionId, Instant>,
}

/// Sessions that ended, for this instance's connections.
pub(crate) struct SessionEndings {
    tx: broadcast::Sender<SessionId>,
    looked: tokio::sync::Mutex<Looked>,
}

impl Default for SessionEndings {
    fn default() -> Self {
        Self { tx: broadcast::channel(4096).0, looked: Default::default() }
    }
}

impl App {
    /// Sessions that end from now on, for a realtime connection to watch for its own.
    pub fn session_endings(&self) -> broadcast::Receiver<SessionId> {
        self.realtime.endings.tx.subscribe()
    }

    /// Whether the caller's session is still open (for a connection that missed
    /// some announcements because it fell behind).
    pub async fn session_still_open(&self, who: &Authenticated) -> bool {
        match self.store.open_sessions(who.account_id(), self.now()).await {
            Ok(open) => open.iter().any(|s| s.id == who.session_id()),
            // Unsure: keep the connection; the next look will tell.
            Err(_) => true,
        }
    }

    /// Looks up the sessions that ended since the last look and tells this instance's
    /// connections. Failures are logged: the next look catches up.
    pub(crate) async fn announce_session_endings(&self) {
        let endings = &self.realtime.endings;
        let mut looked = endings.looked.lock().await;
        let now = self.now();
        let since = looked.at.unwrap_or(now) - OVERLAP;
        match self.store.sessions_ended_since(since).await {
            Ok(ended) => {
                let keep = OVERLAP.to_std().unwrap_or_default() * 2;
                looked.announced.retain(|_, at| at.elapsed() < keep);
                for id in ended {
                    if looked.announced.insert(id, Instant::now()).is_none() {
                        let _ = endings.tx.send(id);
                    }
                }
                looked.at = Some(now);
            }
            Err(e) => tracing::warn!(error = %e, "could not look up ended sessions"),
        }
    }

    /// Keeps looking for ended sessions while the instance runs.
    pub(crate) fn watch_session_endings(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                app.announce_session_endings().await;
            }
        });
    }
}
