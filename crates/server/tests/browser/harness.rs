//! A real headless Chromium for one test: its own ChromeDriver on a free
//! port, its own fresh profile directory, and helpers that act the way a
//! person does (open a page, fill a field, press a button, wait for what
//! the next page shows).

use base64::Engine as _;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// How long to wait for something to appear on a page. Generous, because
/// the machine may be busy compiling; a wait ends as soon as it succeeds.
const WAIT: Duration = Duration::from_secs(30);
/// ChromeDriver readiness: polled at most this many times, this far apart.
const READY_POLLS: u32 = 300;
const READY_POLL_EVERY: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str = "run `bash scripts/test.sh` once: it installs Chromium, ChromeDriver and axe-core";

/// How the browser for a test is set up.
#[derive(Clone, Copy)]
pub struct BrowserOptions {
    pub width: u32,
    pub height: u32,
    /// Lay the page out as a phone does (its viewport is exactly `width`,
    /// and the page's `<meta name=viewport>` is honoured). A desktop window
    /// cannot be narrower than 500 px.
    pub phone: bool,
    pub javascript: bool,
    /// The `TZ` the browser runs in, so time-zone detection is deterministic.
    pub time_zone: &'static str,
    /// Give pages a fake microphone and camera (a beep and a test pattern),
    /// allowed without asking, for recording voice and video messages.
    pub fake_media: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 900,
            phone: false,
            javascript: true,
            time_zone: "America/New_York",
            fake_media: false,
        }
    }
}

impl BrowserOptions {
    pub fn phone() -> Self {
        Self { width: 360, height: 800, phone: true, ..Self::default() }
    }

    pub fn without_javascript() -> Self {
        Self { javascript: false, ..Self::default() }
    }

    pub fn with_fake_media() -> Self {
        Self { fake_media: true, ..Self::default() }
    }
}

/// One axe-core finding.
#[derive(Debug)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

impl Violation {
    pub fn is_blocking(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {} (at {})", self.impact, self.id, self.help, self.targets.join(", "))
    }
}

/// How wide the page is compared with the window.
#[derive(Debug)]
pub struct Width {
    pub inner_width: f64,
    pub client_width: f64,
    pub scroll_width: f64,
    /// Elements that stick out past the right edge, for the failure message.
    pub overflowing: Vec<String>,
}

impl Width {
    pub fn scrolls_sideways(&self) -> bool {
        self.scroll_width > self.client_width || self.scroll_width > self.inner_width
    }
}

/// A headless Chromium session driven through its own ChromeDriver.
pub struct Browser {
    pub client: Client,
    /// The Rapport server under test, e.g. `http://127.0.0.1:43123`.
    pub base: String,
    driver: ChromeDriver,
    /// Chromium's profile and ChromeDriver's log; removed after both have ended.
    _profile: tempfile::TempDir,
}

/// The ChromeDriver process; ends the browser session and the process on drop,
/// also when a test panics.
struct ChromeDriver {
    child: Child,
    port: u16,
    session: Option<String>,
    log: PathBuf,
}

impl ChromeDriver {
    /// Starts ChromeDriver on a free port; Chromium inherits its `TZ`.
    fn spawn(program: &Path, log: &Path, time_zone: &str) -> Self {
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .env("TZ", time_zone)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}. {INSTALL_HINT}", program.display()));
        Self { child, port, session: None, log: log.to_owned() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Ending the session makes ChromeDriver quit Chromium; killing only
        // ChromeDriver would leave Chromium running.
        if let Some(id) = self.session.take() {
            end_session(self.port, &id);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `DELETE /session/{id}` with a plain blocking socket, so it works from `Drop`.
fn end_session(port: u16, id: &str) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

fn program(env: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(env).filter(|p| !p.is_empty()).map(PathBuf::from).unwrap_or_else(|| default.into());
    assert!(
        path.exists(),
        "{what} is not installed at {} (set {env} to use another path). To install it, {INSTALL_HINT}.",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Only one test at a time picks a port and starts ChromeDriver on it, so
/// two tests in this binary never race for the same port.
static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// axe-core's source, read once.
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("axe-core is missing at {} ({e}). To install it, {INSTALL_HINT}.", path.display())
        })
    })
}

/// Builds an XPath string literal for `text`.
pub fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

impl Browser {
    /// Starts ChromeDriver and a fresh headless Chromium pointed at `base`.
    pub async fn start(base: &str, options: BrowserOptions) -> Self {
        let chromium = program("RAPPORT_CHROMIUM", "/usr/bin/chromium", "Chromium");
        let chromedriver = program("RAPPORT_CHROMEDRIVER", "/usr/bin/chromedriver", "ChromeDriver");
        let profile = tempfile::Builder::new().prefix("rapport-browser-").tempdir().expect("profile directory");

        let mut driver = {
            let _one_at_a_time = STARTING.lock().await;
            let log = profile.path().join("chromedriver.log");
            let mut attempt = 1;
            loop {
                let mut driver = ChromeDriver::spawn(&chromedriver, &log, options.time_zone);
                match wait_until_ready(&mut driver).await {
                    Ready::Yes => break driver,
                    // Another process took the port between our check and ChromeDriver's bind.
                    Ready::Exited(_) if attempt < 3 => attempt += 1,
                    Ready::Exited(exit) => panic!("ChromeDriver exited early ({exit}). Its log:\n{}", driver.log()),
                }
            }
        };

        let user_data_dir = profile.path().join("chromium");
        let mut chrome_options = json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                format!("--user-data-dir={}", user_data_dir.display()),
                format!("--window-size={},{}", options.width, options.height),
            ],
        });
        if options.fake_media {
            let args = chrome_options["args"].as_array_mut().expect("args");
            args.push(json!("--use-fake-ui-for-media-stream"));
            args.push(json!("--use-fake-device-for-media-stream"));
            args.push(json!("--autoplay-policy=no-user-gesture-required"));
        }
        if options.phone {
            chrome_options["mobileEmulation"] =
                json!({ "deviceMetrics": { "width": options.width, "height": options.height, "pixelRatio": 1.0 } });
        }
        if !options.javascript {
            chrome_options["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let capabilities = json!({ "browserName": "chrome", "goog:chromeOptions": chrome_options });
        let Value::Object(capabilities) = capabilities else { unreachable!("an object") };

        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(client) => client,
            Err(e) => panic!("Chromium did not start ({e}). ChromeDriver's log:\n{}", driver.log()),
        };
        driver.session = client.session_id().await.expect("session id");
        Self { client, base: base.trim_end_matches('/').to_owned(), driver, _profile: profile }
    }

    /// Ends the browser session and ChromeDriver.
    pub async fn close(self) {
        let Browser { client, mut driver, _profile: profile, .. } = self;
        if client.close().await.is_ok() {
            driver.session = None;
        }
        drop(driver);
        drop(profile);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Goes to a page of the server under test and waits for it to load.
    pub async fn open(&self, path: &str) {
        self.client.goto(&self.url(path)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path (and query) of the page the browser shows.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits for an element, like a person waiting for the next page.
    /// On timeout, the panic says what the browser shows instead.
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let wanted = format!("{locator:?}");
        match self.client.wait().at_most(WAIT).for_element(locator).await {
            Ok(element) => element,
            Err(e) => panic!("waited for {wanted} but it did not appear ({e}).\n{}", self.describe_page().await),
        }
    }

    /// Waits for the page's main heading to read exactly `text`.
    pub async fn wait_for_heading(&self, text: &str) -> Element {
        self.wait_for(Locator::XPath(&format!("//h1[normalize-space()={}]", xpath_literal(text)))).await
    }

    /// Waits for the confirmation notice at the top of the page to contain `text`.
    pub async fn wait_for_notice(&self, text: &str) -> Element {
        let xpath =
            format!("//main//p[contains(@class, 'notice') and contains(normalize-space(), {})]", xpath_literal(text));
        self.wait_for(Locator::XPath(&xpath)).await
    }

    /// Finds an element that must be on the page now.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("expected {css} on the page ({e}).\n{}", self.describe_page().await),
        }
    }

    /// Types into a form field, replacing what was there.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field.send_keys(value).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Presses the button in the page's main content with this visible label.
    pub async fn press(&self, label: &str) {
        let xpath = format!("//main//button[normalize-space()={}]", xpath_literal(label));
        let button = match self.client.find(Locator::XPath(&xpath)).await {
            Ok(b) => b,
            Err(e) => panic!("no button labelled {label:?} ({e}).\n{}", self.describe_page().await),
        };
        button.click().await.unwrap_or_else(|e| panic!("press {label:?}: {e}"));
    }

    /// Follows the link with this visible text inside `within` (a CSS selector).
    pub async fn follow_link(&self, within: &str, text: &str) {
        let link = self.find_link(within, text).await;
        link.click().await.unwrap_or_else(|e| panic!("follow link {text:?}: {e}"));
    }

    pub async fn find_link(&self, within: &str, text: &str) -> Element {
        let scope = self.find(within).await;
        let xpath = format!(".//a[normalize-space()={}]", xpath_literal(text));
        match scope.find(Locator::XPath(&xpath)).await {
            Ok(link) => link,
            Err(e) => panic!("no link {text:?} in {within} ({e}).\n{}", self.describe_page().await),
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// The visible text of the main content.
    pub async fn main_text(&self) -> String {
        self.text("main").await
    }

    /// Signs out with the button in the page header.
    pub async fn sign_out(&self) {
        let button = self.find("header form[action='/sign-out'] button").await;
        button.click().await.expect("press Sign out");
        self.wait_for_notice("You're signed out.").await;
        self.wait_for_heading("Sign in").await;
    }

    /// Signs in with the form on the sign-in page and waits for the home page's
    /// greeting: a client's first name, a therapist's professional name.
    pub async fn sign_in(&self, email: &str, password: &str, greeting_name: &str) {
        self.open("/sign-in").await;
        self.wait_for_heading("Sign in").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.press("Sign in").await;
        self.wait_for_heading(&format!("Hello, {greeting_name}")).await;
    }

    /// Runs JavaScript through WebDriver (not subject to the page's CSP).
    pub async fn run_script(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("run script: {e}\n{script}"))
    }

    /// Runs axe-core on `page` and returns its serious and critical violations,
    /// ready to report; lesser ones are printed as notes.
    pub async fn blocking_axe(&self, page: &str) -> Vec<String> {
        let mut blocking = Vec::new();
        for v in self.axe().await {
            if v.is_blocking() {
                blocking.push(format!("{page}: {v}"));
            } else {
                eprintln!("note, {page}: {v}");
            }
        }
        blocking
    }

    /// Runs axe-core on the page and returns every violation it finds.
    pub async fn axe(&self) -> Vec<Violation> {
        let loaded = self.run_script("return typeof window.axe === 'object';").await;
        if loaded != Value::Bool(true) {
            self.client.execute(axe_source(), vec![]).await.unwrap_or_else(|e| panic!("inject axe-core: {e}"));
            let loaded = self.run_script("return typeof window.axe === 'object' && window.axe.version;").await;
            assert!(loaded.is_string(), "axe-core did not load into the page: {loaded}");
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done({ violations: r.violations }))
                   .catch(e => done({ error: String(e && e.stack || e) }));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("run axe-core: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe-core failed: {error}");
        }
        let violations = result["violations"].as_array().expect("axe violations");
        violations
            .iter()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or("unknown").to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                targets: v["nodes"].as_array().into_iter().flatten().map(|n| n["target"].to_string()).collect(),
            })
            .collect()
    }

    /// Measures whether the page is wider than the window.
    pub async fn width(&self) -> Width {
        let m = self
            .run_script(
                "const root = document.documentElement;
                 const edge = root.clientWidth;
                 const overflowing = [];
                 for (const el of document.body.querySelectorAll('*')) {
                   const r = el.getBoundingClientRect();
                   if (r.width > 0 && r.right > edge + 0.5 && overflowing.length < 8) {
                     overflowing.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                       (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                       ' (right edge ' + Math.round(r.right) + 'px)');
                   }
                 }
                 return { inner: window.innerWidth, client: edge, scroll: root.scrollWidth, overflowing };",
            )
            .await;
        Width {
            inner_width: m["inner"].as_f64().expect("innerWidth"),
            client_width: m["client"].as_f64().expect("clientWidth"),
            scroll_width: m["scroll"].as_f64().expect("scrollWidth"),
            overflowing: m["overflowing"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }
    }

    /// Saves a PNG of the whole page when `RAPPORT_SCREENSHOTS` names a directory.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("RAPPORT_SCREENSHOTS").filter(|d| !d.is_empty()) else { return };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let shot =
            self.devtools("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }

    /// Sends a Chrome DevTools Protocol command through ChromeDriver.
    async fn devtools(&self, command: &str, params: Value) -> Value {
        let session = self.driver.session.as_deref().expect("a browser session");
        let url = format!("http://127.0.0.1:{}/session/{session}/goog/cdp/execute", self.driver.port);
        let answer: Value = reqwest::Client::new()
            .post(url)
            .json(&json!({ "cmd": command, "params": params }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("DevTools {command}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("DevTools {command} answer: {e}"));
        answer["value"].clone()
    }

    /// What the browser is showing, for failure messages.
    pub async fn describe_page(&self) -> String {
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("(no url: {e})"));
        let mut out = format!("The browser is at {url}");
        if let Ok(h1) = self.client.find(Locator::Css("h1")).await {
            if let Ok(text) = h1.text().await {
                out.push_str(&format!("\n  heading: {text:?}"));
            }
        }
        if let Ok(messages) = self.client.find_all(Locator::Css(".notice, .form-error, .field-error")).await {
            for m in messages {
                if let Ok(text) = m.text().await {
                    out.push_str(&format!("\n  message: {text:?}"));
                }
            }
        }
        out
    }
}

enum Ready {
    Yes,
    Exited(std::process::ExitStatus),
}

async fn wait_until_ready(driver: &mut ChromeDriver) -> Ready {
    let status = format!("http://127.0.0.1:{}/status", driver.port);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
    for _ in 0..READY_POLLS {
        if let Some(exit) = driver.child.try_wait().expect("chromedriver status") {
            return Ready::Exited(exit);
        }
        if let Ok(response) = http.get(&status).send().await {
            if let Ok(body) = response.json::<Value>().await {
                if body["value"]["ready"] == Value::Bool(true) {
                    return Ready::Yes;
                }
            }
        }
        tokio::time::sleep(READY_POLL_EVERY).await;
    }
    panic!(
        "ChromeDriver did not become ready on port {} within {:?}. Its log:\n{}",
        driver.port,
        READY_POLL_EVERY * READY_POLLS,
        driver.log()
    );
}
