//! The real `rapport` binary, as an operator runs it.

use crate::common::{Options, TestServer};
use crate::support::*;
use reqwest::StatusCode;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// Long enough for a cold start on a busy 2-core machine, short enough to fail a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// `rapport` in `dir`, with no `RAPPORT_*` settings inherited from the test's environment.
fn rapport(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.current_dir(dir).kill_on_drop(true).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RAPPORT_") {
            command.env_remove(name);
        }
    }
    command
}

async fn run(mut command: Command, stdin: Option<&str>) -> Output {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start rapport");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    timeout(PATIENCE, child.wait_with_output()).await.expect("rapport did not finish in time").unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn default_config_lists_every_option_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = rapport(dir.path());
    command.arg("default-config");
    let out = run(command, None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for line in [
        "RAPPORT_LISTEN=127.0.0.1:8080",
        "RAPPORT_DATA_DIR=rapport-data",
        "RAPPORT_DATABASE_URL=",
        "RAPPORT_SESSION_IDLE_TIMEOUT=30m",
        "RAPPORT_SESSION_LIFETIME=12h",
        "RAPPORT_SIGN_IN_MAX_FAILURES=10",
        "RAPPORT_BODY_LIMIT=1048576",
        "RAPPORT_TLS_PROXY=false",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line} missing from:\n{stdout}");
    }
}

#[tokio::test]
async fn user_create_makes_an_admin_who_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let mut command = rapport(dir.path());
    command.args(["user", "create", "--role", "admin", "--email", "Root@Example.org", "--database", &url]);
    let out = run(command, Some("operator chosen passphrase\n")).await;
    assert!(out.status.success(), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("root@example.org"), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("operator chosen passphrase") && !text(&out.stderr).contains("passphrase"));

    // A weak password is refused with a reason, and creates nobody.
    let mut command = rapport(dir.path());
    command.args(["user", "create", "--role", "admin", "--email", "weak@example.org", "--database", &url]);
    let out = run(command, Some("qwerty123456\n")).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("common"), "the reason is given: {}", text(&out.stderr));

    let url_for_server = url.clone();
    let server = TestServer::spawn_with(Options {
        adjust: Box::new(move |settings| settings.database_url = url_for_server.parse().unwrap()),
        ..Default::default()
    })
    .await
    .unwrap();
    let token = sign_in(&server, "root@example.org", "operator chosen passphrase").await;
    let me = json_with_status(get_me(&server, &token).await, StatusCode::OK).await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["display_name"], "Root");
    let weak = request_token(&server, "weak@example.org", "qwerty123456", None).await;
    assert_eq!(weak.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn migrate_prepares_the_database_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command = rapport(dir.path());
    command.args(["migrate", "--data-dir"]).arg(&data);
    let out = run(command, None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("up to date"), "{}", text(&out.stdout));
    assert!(data.join("rapport.db").is_file());
    // Running it again is harmless.
    let mut command = rapport(dir.path());
    command.args(["migrate", "--data-dir"]).arg(&data);
    assert!(run(command, None).await.status.success());
}

#[tokio::test]
async fn serve_refuses_an_unknown_database_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = rapport(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", "mysql://x"]);
    let out = run(command, None).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("mysql"), "names the scheme: {stderr}");
    assert!(stderr.contains("sqlite://") && stderr.contains("postgres://"), "says what works: {stderr}");
}

#[tokio::test]
async fn serve_refuses_a_database_in_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent-dir");
    let url = format!("sqlite://{}", missing.join("x.db").display());
    let mut command = rapport(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", &url]);
    let out = run(command, None).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("does not exist") && stderr.contains("nonexistent-dir"), "{stderr}");
    assert!(!missing.exists(), "nothing was created where the path was mistyped");
    assert!(!stderr.contains("Rapport is serving"));
}

/// Reads the child's stdout up to the "serving" line; returns what it read and the port.
async fn wait_until_serving(child: &mut Child) -> (Vec<String>, u16) {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let port = timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Some(addr) = line.strip_prefix("Rapport is serving at http://127.0.0.1:") {
                return addr.trim().parse::<u16>().expect("a port");
            }
        }
        panic!("rapport exited without serving; it said:\n{}", seen.join("\n"));
    })
    .await
    .expect("rapport did not start serving in time");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (seen, port)
}

#[tokio::test]
async fn serve_demo_prints_logins_that_work_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = rapport(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--demo", "--data-dir"]).arg(dir.path().join("data"));
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().expect("start rapport serve");
    let (said, port) = wait_until_serving(&mut child).await;
    let said = said.join("\n");

    // The demo password is printed in quotes; the logins are listed one per line.
    let password = said.split('"').nth(1).unwrap_or_else(|| panic!("no quoted demo password in:\n{said}")).to_owned();
    let client_email = said
        .lines()
        .map(str::trim)
        .filter(|l| l.split_whitespace().nth(1) == Some("client"))
        .find_map(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no demo client login in:\n{said}"))
        .to_owned();
    assert!(said.contains("admin") && said.contains("therapist"), "{said}");

    let base = format!("http://127.0.0.1:{port}");
    let client = crate::common::api_client();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let response = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"email": client_email, "password": password}))
        .send()
        .await
        .unwrap();
    let issued = json_with_status(response, StatusCode::OK).await;
    let me = client.get(format!("{base}/api/v1/me")).bearer_auth(issued["token"].as_str().unwrap()).send().await;
    let me = json_with_status(me.unwrap(), StatusCode::OK).await;
    assert_eq!(me["email"], client_email.as_str());
    assert_eq!(me["role"], "client");

    // SIGTERM: the server finishes and exits successfully.
    let pid = child.id().expect("the server is running").to_string();
    let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(kill.success());
    let status = timeout(PATIENCE, child.wait()).await.expect("rapport did not stop after SIGTERM").unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "nothing is listening any more");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_database_are_private_to_the_service_user() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("rapport-data");
    let database: rapport::config::DatabaseUrl =
        format!("sqlite://{}", data_dir.join("rapport.db").display()).parse().unwrap();
    let settings = rapport::startup::Settings::for_database(database, data_dir.clone());
    let application = rapport::startup::Application::build(settings).await.expect("build");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data_dir), 0o700, "the data directory");
    assert_eq!(mode(&data_dir.join("rapport.db")), 0o600, "the database");
    let wal = data_dir.join("rapport.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "the write-ahead log");
    }
    assert_eq!(mode(&data_dir.join("master.key")), 0o600, "the master key");
    application.app().close().await;
}
