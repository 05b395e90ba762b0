//! `rapport bench-messages`: rooms of three members over real WebSockets,
//! against a `rapport serve` child process (so its CPU and memory can be read
//! apart from the load generator's), with durable group commits.
//!
//! Phase 1 drives as many messages as the server takes (each member posts over
//! its socket and waits for the acknowledgement, which comes after the commit).
//! Phase 2 sends at half that rate, open loop, and measures send→deliver
//! latency at every member. Then idle sockets are opened to measure memory per
//! connection.

use crate::bench::{ms, Latencies};
use crate::config::{BenchMessagesArgs, DatabaseUrl};
use crate::startup::{Application, Settings};
use anyhow::Context as _;
use futures::{SinkExt, StreamExt};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "benchmark password only";

/// What every member's reader records.
#[derive(Default)]
struct Tally {
    deliveries: AtomicU64,
    /// Send→deliver latencies (µs), only while `recording`.
    latencies: Mutex<Vec<u64>>,
    recording: std::sync::atomic::AtomicBool,
}

struct Member {
    room: String,
    sink: mpsc::UnboundedSender<String>,
    acks: mpsc::UnboundedReceiver<()>,
}

/// Server process readings from /proc.
struct ProcStats {
    cpu_ticks: u64,
    rss_kib: u64,
    hwm_kib: u64,
}

fn proc_stats(pid: u32) -> Option<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cpu_ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(ProcStats { cpu_ticks, rss_kib: kib("VmRSS:")?, hwm_kib: kib("VmHWM:")? })
}

fn now_micros(origin: Instant) -> u64 {
    origin.elapsed().as_micros() as u64
}

struct ServerChild(std::process::Child);

impl Drop for ServerChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn run(args: BenchMessagesArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let url = match &args.database {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display())
            .parse::<DatabaseUrl>()
            .map_err(anyhow::Error::msg)?,
    };
    println!("Rapport messaging benchmark: {} rooms x 3 members, {} s per phase", args.rooms, args.seconds);
    // Seed the rooms in this process, then hand the database to a server process.
    let seeded = Application::build(Settings::for_database(url.clone(), dir.path().to_path_buf())).await?;
    let rooms = seeded.app().seed_bench_rooms(args.rooms, PASSWORD).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    seeded.app().close().await;
    drop(seeded);

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .args(["--database", url.expose()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null());
    let child = ServerChild(command.spawn().context("could not start the server process")?);
    let pid = child.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Sign every member in (argon2id: a few seconds for a few hundred people).
    let emails: Vec<(String, String)> =
        rooms.iter().flat_map(|r| r.member_emails.iter().map(move |e| (r.room_id.to_string(), e.clone()))).collect();
    let tokens = Arc::new(Mutex::new(vec![String::new(); emails.len()]));
    let next = Arc::new(AtomicU64::new(0));
    let mut signers = Vec::new();
    for _ in 0..4 {
        let (http, base, emails, tokens, next) =
            (http.clone(), base.clone(), emails.clone(), tokens.clone(), next.clone());
        signers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((_, email)) = emails.get(i) else { return anyhow::Ok(()) };
                let r = http
                    .post(format!("{base}/api/v1/auth/token"))
                    .json(&serde_json::json!({"email": email, "password": PASSWORD}))
                    .send()
                    .await?;
                let body: serde_json::Value = r.error_for_status()?.json().await?;
                tokens.lock().expect("lock")[i] = body["token"].as_str().unwrap_or_default().to_owned();
            }
        }));
    }
    for s in signers {
        s.await??;
    }
    let tokens = tokens.lock().expect("lock").clone();

    let origin = Instant::now();
    let tally = Arc::new(Tally::default());
    let ws_base = format!("ws://127.0.0.1:{port}/api/v1/events");
    let mut members = Vec::new();
    for ((room, _), token) in emails.iter().zip(&tokens) {
        members.push(connect_member(&ws_base, token, room.clone(), tally.clone(), origin).await?);
    }
    println!("  {} members connected", members.len());

    // Phase 1: as fast as acknowledgements come back.
    let me = std::process::id();
    let client_before = proc_stats(me);
    let before = proc_stats(pid);
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(args.seconds);
    let delivered_before = tally.deliveries.load(Ordering::Relaxed);
    let mut senders = Vec::new();
    for member in members.drain(..) {
        senders.push(tokio::spawn(closed_loop(member, stop_at, origin, args.in_flight)));
    }
    let mut sent = 0u64;
    let mut back = Vec::new();
    for s in senders {
        let (member, n) = s.await??;
        sent += n;
        back.push(member);
    }
    let members = back;
    let wall = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await; // let the last deliveries land before reading totals
    let delivered = tally.deliveries.load(Ordering::Relaxed) - delivered_before;
    let after = proc_stats(pid);
    let full_rate = sent as f64 / wall.as_secs_f64();
    println!(
        "  full load ({} unacknowledged per member at most): {:.0} messages/s committed and acknowledged; \
         {:.0} deliveries/s ({} messages, {} deliveries in {:.1} s)",
        args.in_flight,
        full_rate,
        delivered as f64 / wall.as_secs_f64(),
        sent,
        delivered,
        wall.as_secs_f64()
    );
    if let (Some(b), Some(a), Some(cb), Some(ca)) = (&before, &after, &client_before, &proc_stats(me)) {
        println!(
            "  CPU at full load: server {:.0}%, load generator {:.0}% (of 100% per core, 2 cores)",
            (a.cpu_ticks - b.cpu_ticks) as f64 / 100.0 / wall.as_secs_f64() * 100.0,
            (ca.cpu_ticks - cb.cpu_ticks) as f64 / 100.0 / wall.as_secs_f64() * 100.0
        );
    }

    // Phase 2: half that rate, open loop; latency at every member.
    let target = args.half_load_rate.unwrap_or(full_rate / 2.0).max(1.0);
    tally.recording.store(true, Ordering::Relaxed);
    let per_sender = target / members.len() as f64;
    let interval = Duration::from_secs_f64(1.0 / per_sender.max(0.001));
    let started = Instant::now();
    let stop_at = started + Duration::from_secs(args.seconds);
    let before = proc_stats(pid);
    let mut senders = Vec::new();
    let count = members.len().max(1) as f64;
    for (i, member) in members.into_iter().enumerate() {
        // Spread the senders' first messages evenly over one interval (no synchronised bursts).
        let offset = interval.mul_f64(i as f64 / count);
        senders.push(tokio::spawn(open_loop(member, stop_at, interval, offset, origin)));
    }
    let mut sent = 0u64;
    let mut keep = Vec::new();
    for s in senders {
        let (member, n) = s.await??;
        sent += n;
        keep.push(member);
    }
    let wall = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    tally.recording.store(false, Ordering::Relaxed);
    let after = proc_stats(pid);
    let mut lat = Latencies(
        tally.latencies.lock().expect("lock").iter().map(|us| Duration::from_micros(*us)).collect::<Vec<_>>(),
    );
    println!(
        "  half load ({:.0} messages/s offered, {:.0} sent): send→deliver p50 {}, p99 {}, max {} over {} deliveries",
        target,
        sent as f64 / wall.as_secs_f64(),
        ms(lat.percentile(50.0)),
        ms(lat.percentile(99.0)),
        ms(lat.percentile(100.0)),
        lat.0.len()
    );
    if let (Some(b), Some(a)) = (&before, &after) {
        println!(
            "  server CPU at half load: {:.0}% of one core",
            (a.cpu_ticks - b.cpu_ticks) as f64 / 100.0 / wall.as_secs_f64() * 100.0
        );
    }

    // Idle sockets: memory per connection.
    let token = tokens.first().cloned().unwrap_or_default();
    let before = proc_stats(pid);
    let mut idle = Vec::with_capacity(args.idle_sockets);
    for _ in 0..args.idle_sockets {
        let mut request = ws_base.as_str().into_client_request()?;
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => idle.push(socket),
            Err(e) => {
                println!("  stopped opening idle sockets at {}: {e}", idle.len());
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = proc_stats(pid);
    if let (Some(b), Some(a)) = (&before, &after) {
        if !idle.is_empty() {
            println!(
                "  idle WebSockets: {} held; server memory {:.1} KiB each (RSS {} → {} MiB)",
                idle.len(),
                (a.rss_kib.saturating_sub(b.rss_kib)) as f64 / idle.len() as f64,
                b.rss_kib / 1024,
                a.rss_kib / 1024
            );
        }
        println!("  server peak memory (VmHWM): {} MiB", a.hwm_kib / 1024);
    }
    drop(idle);
    drop(keep);
    drop(child);
    Ok(ExitCode::SUCCESS)
}

async fn connect_member(
    ws_base: &str,
    token: &str,
    room: String,
    tally: Arc<Tally>,
    origin: Instant,
) -> anyhow::Result<Member> {
    let mut request = ws_base.into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(request, None, true).await.context("WebSocket connect")?;
    let (mut write, mut read) = socket.split();
    let (sink, mut outgoing) = mpsc::unbounded_channel::<String>();
    let (ack_tx, acks) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if write.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(Ok(frame)) = read.next().await {
            let Message::Text(text) = frame else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(text.as_str()) else { continue };
            match v["type"].as_str() {
                Some("message") => {
                    tally.deliveries.fetch_add(1, Ordering::Relaxed);
                    if tally.recording.load(Ordering::Relaxed) {
                        if let Some(sent) = v["message"]["body"].as_str().and_then(|b| b.strip_prefix("t ")) {
                            if let Ok(sent) = sent.parse::<u64>() {
                                let lat = now_micros(origin).saturating_sub(sent);
                                tally.latencies.lock().expect("lock").push(lat);
                            }
                        }
                    }
                }
                Some("ack") | Some("error") => {
                    let _ = ack_tx.send(());
                }
                _ => {}
            }
        }
    });
    Ok(Member { room, sink, acks })
}

fn frame(room: &str, origin: Instant) -> String {
    serde_json::json!({"type": "message", "room_id": room, "body": format!("t {}", now_micros(origin))}).to_string()
}

/// Sends as fast as acknowledgements come back, keeping up to `in_flight` messages
/// unacknowledged; counts the acknowledged ones.
async fn closed_loop(
    mut m: Member,
    stop_at: Instant,
    origin: Instant,
    in_flight: u32,
) -> anyhow::Result<(Member, u64)> {
    let (mut n, mut waiting) = (0, 0);
    loop {
        let sending = Instant::now() < stop_at;
        while sending && waiting < in_flight {
            m.sink.send(frame(&m.room, origin)).map_err(|_| anyhow::anyhow!("connection closed"))?;
            waiting += 1;
        }
        if waiting == 0 {
            return Ok((m, n));
        }
        m.acks.recv().await.context("connection closed")?;
        waiting -= 1;
        if sending {
            n += 1;
        }
    }
}

async fn open_loop(
    mut m: Member,
    stop_at: Instant,
    interval: Duration,
    offset: Duration,
    origin: Instant,
) -> anyhow::Result<(Member, u64)> {
    tokio::time::sleep(offset).await;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    while Instant::now() < stop_at {
        tick.tick().await;
        m.sink.send(frame(&m.room, origin)).map_err(|_| anyhow::anyhow!("connection closed"))?;
        n += 1;
    }
    // Collect the acknowledgements, so nothing is left in flight.
    for _ in 0..n {
        if tokio::time::timeout(Duration::from_secs(10), m.acks.recv()).await.is_err() {
            break;
        }
    }
    Ok((m, n))
}
