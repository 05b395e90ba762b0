//! Test support: a real Rapport server on 127.0.0.1:0 with its own fresh
//! database (SQLite in a temporary directory, or an isolated PostgreSQL
//! schema when `RAPPORT_TEST_POSTGRES_URL` is set and asked for).
#![allow(dead_code)]

use rapport::config::DatabaseUrl;
use rapport::startup::{Application, Settings};
use rapport_app::{App, Clock, ManualClock, SystemClock};
use std::sync::Arc;

pub struct TestServer {
    /// e.g. `http://127.0.0.1:43123`
    pub base: String,
    /// The separate metrics listener's base URL, when one was configured.
    pub metrics_base: Option<String>,
    pub app: App,
    pub clock: Option<Arc<ManualClock>>,
    dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pg_schema: Option<(String, String)>,
}

/// Which database a test server uses.
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct Options {
    pub db: Db,
    pub manual_clock: bool,
    pub adjust: Box<dyn FnOnce(&mut Settings) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Self { db: Db::Sqlite, manual_clock: false, adjust: Box::new(|_| {}) }
    }
}

/// The PostgreSQL URL for tests, if this run has one.
/// In CI (`CI` set) a missing PostgreSQL fails the test instead of skipping it.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("RAPPORT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    assert!(
        url.is_some() || std::env::var_os("CI").is_none(),
        "CI is set but RAPPORT_TEST_POSTGRES_URL is not: tests that need PostgreSQL cannot run"
    );
    url
}

fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

impl TestServer {
    /// A server over a fresh SQLite database.
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await.expect("sqlite test server")
    }

    /// A server over a fresh PostgreSQL schema; `None` when no PostgreSQL is configured.
    pub async fn spawn_postgres() -> Option<Self> {
        if postgres_url().is_none() {
            eprintln!("skipped: set RAPPORT_TEST_POSTGRES_URL to run this against PostgreSQL");
            return None;
        }
        Self::spawn_with(Options { db: Db::Postgres, ..Options::default() }).await
    }

    pub async fn spawn_with(options: Options) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg_schema) = match options.db {
            Db::Sqlite => (format!("sqlite://{}", dir.path().join("rapport.db").display()), None),
            Db::Postgres => {
                let base = postgres_url()?;
                let schema = format!("rapport_http_{}", uuid::Uuid::new_v4().simple());
                let pool = sqlx::PgPool::connect(&base).await.expect("connect to test PostgreSQL");
                sqlx::query(&format!("CREATE SCHEMA \"{schema}\"")).execute(&pool).await.expect("create schema");
                pool.close().await;
                (with_search_path(&base, &schema), Some((base, schema)))
            }
        };
        let database: DatabaseUrl = url.parse().expect("database url");
        let mut settings = Settings::for_database(database, dir.path().to_path_buf());
        (options.adjust)(&mut settings);
        let manual = options.manual_clock.then(|| Arc::new(ManualClock::new(chrono::Utc::now())));
        let clock: Arc<dyn Clock> = match &manual {
            Some(m) => m.clone(),
            None => Arc::new(SystemClock),
        };
        let application = Application::build_with_clock(settings, clock).await.expect("build application");
        let base = format!("http://{}", application.local_addr());
        let metrics_base = application.metrics_addr().map(|a| format!("http://{a}"));
        let app = application.app().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        Some(Self { base, metrics_base, app, clock: manual, dir, stop: Some(stop), task: Some(task), pg_schema })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Stops the server and drops its PostgreSQL schema, if any.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some((base, schema)) = self.pg_schema.take() {
            if let Ok(pool) = sqlx::PgPool::connect(&base).await {
                let _ = sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&pool).await;
                pool.close().await;
            }
        }
    }
}

/// An HTTP client that keeps cookies, like a browser, and never follows redirects.
pub fn browser_like_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A plain API client.
pub fn api_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// Which database a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each scenario twice, as `<sqlite test>` and `<postgres test>`.
/// A scenario is `async fn(Backend)` that returns early when its server is
/// not available (PostgreSQL without `RAPPORT_TEST_POSTGRES_URL`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($scenario:ident => $sqlite:ident, $postgres:ident;)*) => {$(
        #[tokio::test]
        async fn $sqlite() {
            $scenario($crate::common::Backend::Sqlite).await
        }

        #[tokio::test]
        async fn $postgres() {
            $scenario($crate::common::Backend::Postgres).await
        }
    )*};
}

/// A server on `backend` with `options` (its `db` is overridden); `None`,
/// with a note on stderr, when PostgreSQL is asked for but not configured.
pub async fn spawn_on(backend: Backend, mut options: Options) -> Option<TestServer> {
    options.db = match backend {
        Backend::Sqlite => Db::Sqlite,
        Backend::Postgres => {
            if postgres_url().is_none() {
                eprintln!("skipped: set RAPPORT_TEST_POSTGRES_URL to run this scenario against PostgreSQL");
                return None;
            }
            Db::Postgres
        }
    };
    let server = TestServer::spawn_with(options).await;
    assert!(server.is_some(), "the {backend:?} test server did not start");
    server
}

/// Emails in the server's outbox to `to` whose text contains `containing`, oldest first.
pub fn mails_to(server: &TestServer, to: &str, containing: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(server.data_dir().join("outbox")) else { return Vec::new() };
    let mut mails: Vec<(std::path::PathBuf, String)> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .filter(|(_, t)| t.contains(&format!("To: {to}")) && t.contains(containing))
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, t)| t).collect()
}

/// Waits (up to 10 s, polling) until at least `n` such emails are in the outbox:
/// some emails are sent in the background after the request that caused them.
pub async fn wait_for_mails(server: &TestServer, to: &str, containing: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mails = mails_to(server, to, containing);
        if mails.len() >= n || std::time::Instant::now() > deadline {
            return mails;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
