//! Configuration: command-line flags, each also readable from a `RAPPORT_*`
//! environment variable. `rapport default-config` prints them all.

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "rapport", version, about = "Rapport: therapy and tools for people and couples feeling distant.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server.
    Serve(ServeArgs),
    /// Apply database migrations, then exit.
    Migrate(DataArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print every configuration option with its default.
    DefaultConfig,
    /// Measure sign-in throughput and page render latency on this machine.
    Bench(BenchArgs),
    /// Measure realtime messaging: rooms of three over real WebSockets against a `rapport serve`
    /// child process, durable commits; throughput, send-to-deliver latency, CPU and memory.
    BenchMessages(BenchMessagesArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new master key current and re-wrap every data key under it, while instances keep serving.
    /// With a key file (the default), the file is updated; with RAPPORT_MASTER_KEY, the new value is printed.
    Rotate(KeysArgs),
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The master key ring (current first, comma-separated). Default: master.key in the data directory.
    #[arg(long, env = "RAPPORT_MASTER_KEY", value_name = "BASE64", hide_env_values = true)]
    pub master_key: Option<MasterKey>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create(UserCreateArgs),
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    /// client, therapist or admin.
    #[arg(long, env = "RAPPORT_USER_ROLE")]
    pub role: String,
    /// The account's email address.
    #[arg(long, env = "RAPPORT_USER_EMAIL")]
    pub email: String,
    /// The name shown to others; defaults to the part of the email before the @.
    #[arg(long, env = "RAPPORT_USER_DISPLAY_NAME")]
    pub display_name: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Where the data lives; shared by every command that touches it.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: rapport.db in the data directory.
    #[arg(long, env = "RAPPORT_DATABASE_URL", value_name = "URL")]
    pub database: Option<DatabaseUrl>,
    /// Directory for Rapport's files (the default SQLite database among them).
    #[arg(long, env = "RAPPORT_DATA_DIR", value_name = "DIR", default_value = "rapport-data")]
    pub data_dir: PathBuf,
    /// Most open database connections per instance.
    #[arg(long, env = "RAPPORT_DB_MAX_CONNECTIONS", value_name = "N", default_value_t = 16)]
    pub db_max_connections: u32,
}

impl DataArgs {
    /// The database to open: the given URL, or the SQLite file in the data directory.
    pub fn database_url(&self) -> DatabaseUrl {
        self.database
            .clone()
            .unwrap_or_else(|| DatabaseUrl(format!("sqlite://{}", self.data_dir.join("rapport.db").display())))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "RAPPORT_LISTEN", value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataArgs,
    /// Add a clearly labelled demo world (only to an empty database) and print its logins.
    #[arg(long, env = "RAPPORT_DEMO")]
    pub demo: bool,
    /// Served behind a TLS-terminating proxy: mark cookies Secure, send HSTS, trust X-Forwarded-For.
    #[arg(long, env = "RAPPORT_TLS_PROXY")]
    pub tls_proxy: bool,
    /// With --tls-proxy: how many proxies append to X-Forwarded-For; the client's address is that
    /// many entries from the right, so a client cannot choose its own.
    #[arg(long, env = "RAPPORT_TRUSTED_PROXIES", value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=10))]
    pub trusted_proxies: u16,
    /// A session ends after this long without activity (e.g. 30m, 1h, 90s).
    #[arg(long, env = "RAPPORT_SESSION_IDLE_TIMEOUT", value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in, however active.
    #[arg(long, env = "RAPPORT_SESSION_LIFETIME", value_name = "DURATION", default_value = "12h", value_parser = parse_duration)]
    pub session_lifetime: Duration,
    /// Serve Prometheus metrics at /metrics on this separate address (e.g. 127.0.0.1:9090), for
    /// the monitoring network only. Off by default.
    #[arg(long, env = "RAPPORT_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve /metrics on the main address too, to requests with `Authorization: Bearer TOKEN`
    /// (at least 32 characters). Without it, /metrics is not served there.
    #[arg(long, env = "RAPPORT_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub metrics_token: Option<MetricsToken>,
    /// Failed sign-ins allowed per account in 15 minutes; the next is refused (429) for that account only.
    #[arg(long, env = "RAPPORT_SIGN_IN_MAX_FAILURES", value_name = "N", default_value_t = 10)]
    pub sign_in_max_failures: u32,
    /// Largest accepted request body, in bytes (JSON and forms).
    #[arg(long, env = "RAPPORT_BODY_LIMIT", value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Master key (32 bytes, base64) that encrypts health data at rest. Default: master.key in the data directory, created on first start.
    #[arg(long, env = "RAPPORT_MASTER_KEY", value_name = "BASE64", hide_env_values = true)]
    pub master_key: Option<MasterKey>,
    /// Log format: text or json.
    #[arg(long, env = "RAPPORT_LOG_FORMAT", value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// The address people use to reach Rapport, for links in emails. Default: http://LISTEN.
    #[arg(long, env = "RAPPORT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// SMTP server for email, e.g. smtp://user:pass@mail.example.com:587 (STARTTLS), smtps://… (TLS) or
    /// smtp://localhost:25?tls=none. Without it, emails are written to the outbox folder in the data directory.
    #[arg(long, env = "RAPPORT_SMTP_URL", value_name = "URL", hide_env_values = true)]
    pub smtp_url: Option<SmtpUrl>,
    /// The sender of Rapport's emails.
    #[arg(
        long,
        env = "RAPPORT_MAIL_FROM",
        value_name = "ADDRESS",
        default_value = "Rapport <no-reply@rapport.invalid>"
    )]
    pub mail_from: String,
}

/// An SMTP server URL, which may hold a password. `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for SmtpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !(s.starts_with("smtp://") || s.starts_with("smtps://")) {
            return Err("use smtp://HOST:PORT or smtps://HOST:PORT".into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("?", ""));
        let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
        let host = host.split('?').next().unwrap_or_default();
        write!(f, "SmtpUrl({scheme}://{host})")
    }
}

#[derive(Debug, Clone, Args)]
pub struct BenchMessagesArgs {
    /// Rooms of three members (two partners and a therapist), each member on its own WebSocket.
    #[arg(long, default_value_t = 100)]
    pub rooms: usize,
    /// Seconds per measured phase (full load, then half load).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Extra idle WebSockets opened to measure memory per connection.
    #[arg(long, default_value_t = 5000)]
    pub idle_sockets: usize,
    /// Messages each member keeps waiting for their acknowledgement at full load (a
    /// client may send its next messages before the first is acknowledged).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub in_flight: u32,
    /// Messages a second offered in the latency phase (default: half the full-load rate).
    #[arg(long, value_name = "MESSAGES_PER_SECOND")]
    pub half_load_rate: Option<f64>,
    /// Database for the server (default: a fresh SQLite file). A PostgreSQL database must be empty.
    #[arg(long, env = "RAPPORT_BENCH_DATABASE_URL", value_name = "URL")]
    pub database: Option<DatabaseUrl>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// How many sign-ins to time.
    #[arg(long, env = "RAPPORT_BENCH_SIGN_INS", default_value_t = 200)]
    pub sign_ins: usize,
    /// How many authenticated page loads to time.
    #[arg(long, env = "RAPPORT_BENCH_PAGE_LOADS", default_value_t = 5000)]
    pub page_loads: usize,
    /// Concurrent clients.
    #[arg(long, env = "RAPPORT_BENCH_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,
    /// Database to benchmark against (default: a fresh SQLite file in a temporary directory).
    #[arg(long, env = "RAPPORT_BENCH_DATABASE_URL", value_name = "URL")]
    pub database: Option<DatabaseUrl>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL. It may hold a password, so `Debug` shows only where it points.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        rapport_store_sql::Backend::from_url(s).map_err(|e| e.to_string())?;
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keep the scheme and host; drop credentials.
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("?", ""));
        let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
        write!(f, "DatabaseUrl({scheme}://{host})")
    }
}

/// A bearer token that unlocks `/metrics` on the public listener. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for MetricsToken {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() < 32 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("use at least 32 characters without spaces, e.g. from `openssl rand -hex 32`".into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(redacted)")
    }
}

/// The master encryption key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(String);

impl MasterKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for MasterKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        rapport_app::Vault::from_base64(s).map_err(|e| e.to_string())?;
        Ok(Self(s.trim().to_owned()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

/// Parses `90s`, `30m`, `12h`, `2d` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().map_err(|_| format!("{s:?} is not a duration like 30m or 12h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("{s:?}: use s, m, h or d")),
    };
    if secs == 0 {
        return Err("a duration must be longer than zero".into());
    }
    Ok(Duration::from_secs(secs))
}

/// The text of `rapport default-config`: every option of `serve`, its
/// environment variable and default, generated from the definitions above.
pub fn default_config_text() -> String {
    use clap::CommandFactory;
    let cli = Cli::command();
    let serve = cli.find_subcommand("serve").expect("serve subcommand exists");
    let mut out = String::from(
        "# Rapport configuration: every option of `rapport serve`.\n\
         # Set it as an environment variable (shown) or as the flag named in the comment.\n\
         # Save as a file and load it with `set -a; . ./rapport.env; set +a` if you prefer.\n\n",
    );
    for arg in serve.get_arguments() {
        let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else { continue };
        if let Some(help) = arg.get_help() {
            out.push_str(&format!("# {help}\n"));
        }
        let default =
            arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
        let default = if default.is_empty() && arg.get_action().takes_values() {
            String::new()
        } else if default.is_empty() {
            "false".to_owned()
        } else {
            default
        };
        out.push_str(&format!("# --{long}\n{}={default}\n\n", env.to_string_lossy()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43200));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn database_urls_hide_credentials_and_reject_unknown_schemes() {
        let url: DatabaseUrl = "postgres://rapport:hunter2@db.internal/rapport".parse().unwrap();
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"));
        assert!("mysql://x/y".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn default_config_lists_every_serve_option_with_its_default() {
        let text = default_config_text();
        for line in [
            "RAPPORT_LISTEN=127.0.0.1:8080",
            "RAPPORT_DATA_DIR=rapport-data",
            "RAPPORT_DATABASE_URL=",
            "RAPPORT_DEMO=false",
            "RAPPORT_SESSION_IDLE_TIMEOUT=30m",
            "RAPPORT_SESSION_LIFETIME=12h",
            "RAPPORT_SIGN_IN_MAX_FAILURES=10",
            "RAPPORT_BODY_LIMIT=1048576",
            "RAPPORT_TLS_PROXY=false",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in:\n{text}");
        }
    }
}
