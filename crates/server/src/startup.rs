//! Building the application: open storage, build the router, bind a port.
//! Tests build it on port 0 with a fresh database.

use crate::config::{DataArgs, DatabaseUrl, MasterKey, ServeArgs, SmtpUrl};
use crate::http::{self, HttpConfig};
use anyhow::Context as _;
use rapport_app::{App, AppConfig, Clock, SystemClock, Vault};
use rapport_store_sql::OpenOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything needed to start serving.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: DatabaseUrl,
    pub data_dir: PathBuf,
    pub max_connections: u32,
    pub app: AppConfig,
    pub http: HttpConfig,
    /// Base64 master key for health data; default: `master.key` in the data directory.
    pub master_key: Option<MasterKey>,
    /// Where email goes; without it, to the outbox folder in the data directory.
    pub smtp_url: Option<SmtpUrl>,
    /// How often background jobs (emails) are looked for.
    pub job_interval: std::time::Duration,
    /// A separate address serving `/metrics` only; off when `None`.
    pub metrics_listen: Option<SocketAddr>,
}

impl Settings {
    /// Settings from `rapport serve` flags.
    pub fn from_serve(args: &ServeArgs) -> Self {
        Self {
            listen: args.listen,
            database_url: args.data.database_url(),
            data_dir: args.data.data_dir.clone(),
            max_connections: args.data.db_max_connections,
            app: AppConfig {
                session_idle_timeout: args.session_idle_timeout,
                session_lifetime: args.session_lifetime,
                sign_in_max_failures: args.sign_in_max_failures,
                public_url: args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.listen)),
                mail_from: args.mail_from.clone(),
                ..AppConfig::default()
            },
            http: HttpConfig {
                tls_proxy: args.tls_proxy,
                trusted_proxies: usize::from(args.trusted_proxies),
                body_limit: args.body_limit,
                metrics_token: args.metrics_token.clone(),
            },
            master_key: args.master_key.clone(),
            smtp_url: args.smtp_url.clone(),
            job_interval: std::time::Duration::from_secs(15),
            metrics_listen: args.metrics_listen,
        }
    }

    /// Defaults for a server on `127.0.0.1:0` over the given database.
    pub fn for_database(database_url: DatabaseUrl, data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            data_dir,
            max_connections: 16,
            app: AppConfig::default(),
            http: HttpConfig::default(),
            master_key: None,
            smtp_url: None,
            job_interval: std::time::Duration::from_secs(15),
            metrics_listen: None,
        }
    }
}

/// Opens the database and the master key ring (from `master_key`, or `master.key` in the data directory).
pub async fn open_app_with_keys(data: &DataArgs, master_key: Option<&MasterKey>) -> anyhow::Result<App> {
    let app = open_app(data, AppConfig::default()).await?;
    let vault = match master_key {
        Some(key) => Vault::from_base64(key.expose()).context("RAPPORT_MASTER_KEY is not valid")?,
        None => Vault::load_or_create(&data.data_dir.join("master.key"))?,
    };
    Ok(app.with_vault(vault))
}

/// Opens (and migrates) the database named by the data options.
pub async fn open_app(data: &DataArgs, app_config: AppConfig) -> anyhow::Result<App> {
    prepare_data_dir(&data.data_dir, data.database.is_none())?;
    open_store_app(&data.database_url(), data.db_max_connections, app_config, Arc::new(SystemClock)).await
}

fn prepare_data_dir(dir: &PathBuf, required: bool) -> anyhow::Result<()> {
    if required || dir.exists() {
        create_private_dir(dir)?;
    }
    Ok(())
}

/// Creates the data directory if missing, private to the service user (0700).
fn create_private_dir(dir: &PathBuf) -> anyhow::Result<()> {
    let existed = dir.exists();
    std::fs::create_dir_all(dir).with_context(|| format!("could not create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    if !existed {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("could not make {} private", dir.display()))?;
    }
    Ok(())
}

async fn open_store_app(
    url: &DatabaseUrl,
    max_connections: u32,
    app_config: AppConfig,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<App> {
    let options = OpenOptions { max_connections, ..OpenOptions::default() };
    let store = rapport_store_sql::open(url.expose(), &options)
        .await
        .with_context(|| format!("could not open the database {url:?}"))?;
    Ok(App::new(store, app_config, clock))
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// The separate metrics listener and its router, when configured.
    metrics: Option<(TcpListener, axum::Router)>,
    app: App,
    job_interval: std::time::Duration,
}

impl Application {
    /// Opens storage and binds the listening socket.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As [`Application::build`], with a clock of the caller's choosing (tests).
    pub async fn build_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let default_db = settings.database_url.expose().starts_with("sqlite://")
            && settings.database_url.expose().ends_with("/rapport.db");
        prepare_data_dir(&settings.data_dir, default_db)?;
        create_private_dir(&settings.data_dir)?;
        let vault = match &settings.master_key {
            Some(key) => Vault::from_base64(key.expose()).context("RAPPORT_MASTER_KEY is not valid")?,
            None => Vault::load_or_create(&settings.data_dir.join("master.key"))?,
        };
        let mailer = crate::mail::transport(settings.smtp_url.as_ref(), &settings.data_dir)?;
        tracing::info!(to = %mailer.describe(), "email delivery");
        let app = open_store_app(&settings.database_url, settings.max_connections, settings.app.clone(), clock)
            .await?
            .with_vault(vault)
            .with_mailer(mailer);
        app.prepare_keys().await.map_err(|e| anyhow::anyhow!("could not load the data keys: {e}"))?;
        app.start_realtime().await.map_err(|e| anyhow::anyhow!("could not start realtime delivery: {e}"))?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("could not listen on {}", settings.listen))?;
        let metrics = Arc::new(http::Metrics::default());
        let router = http::router(app.clone(), settings.http.clone(), metrics.clone());
        let metrics = match settings.metrics_listen {
            Some(addr) => {
                let listener =
                    TcpListener::bind(addr).await.with_context(|| format!("could not listen for metrics on {addr}"))?;
                Some((listener, http::metrics_router(metrics)))
            }
            None => None,
        };
        Ok(Self { listener, router, metrics, app, job_interval: settings.job_interval })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The address of the separate metrics listener, if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// The use cases, e.g. to seed demo data before serving.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let app = self.app.clone();
        let maintenance = tokio::spawn(maintenance(app.clone()));
        let jobs = tokio::spawn(run_jobs(app.clone(), self.job_interval));
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        // Realtime frames are small and must leave at once: no Nagle delay.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let result = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
        maintenance.abort();
        jobs.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        app.close().await;
        result
    }
}

/// Housekeeping that runs while serving, every five minutes: prunes old
/// sign-in failures and runs the licence checks (each warning is claimed
/// in the database, so several instances never send it twice).
async fn maintenance(app: App) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(e) = app.prune_sign_in_failures().await {
            tracing::warn!(error = %e, "pruning sign-in failures failed");
        }
        match app.run_license_checks().await {
            Ok(report) if report.therapists_warned + report.clients_told > 0 => {
                tracing::info!(
                    warned = report.therapists_warned,
                    told = report.clients_told,
                    "licence checks sent notices"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "licence checks failed"),
        }
    }
}

/// Runs due background jobs (emails about unread messages, digests) every
/// `interval`. Jobs are claimed in the database, so every instance can run this.
async fn run_jobs(app: App, interval: std::time::Duration) {
    let mut every = tokio::time::interval(interval);
    loop {
        every.tick().await;
        match app.run_due_jobs().await {
            Ok(r) if r.emails_sent + r.failed > 0 => {
                tracing::info!(sent = r.emails_sent, skipped = r.skipped, failed = r.failed, "background jobs ran")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background jobs failed"),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
