//! `rapport bench`: sign-in throughput and authenticated page latency,
//! measured over real HTTP against a server in this process.

use crate::config::{BenchArgs, DatabaseUrl};
use crate::startup::{Application, Settings};
use rapport_app::{RequestContext, SignUp};
use rapport_store::SessionKind;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Latencies(pub(crate) Vec<Duration>);

impl Latencies {
    pub(crate) fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `total` requests from `concurrency` workers; returns wall time and latencies.
async fn drive<F, Fut>(total: usize, concurrency: usize, request: F) -> anyhow::Result<(Duration, Latencies)>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (request, next) = (request.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let t = Instant::now();
                request().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for w in workers {
        all.extend(w.await??);
    }
    Ok((started.elapsed(), Latencies(all)))
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let url = match &args.database {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display())
            .parse::<DatabaseUrl>()
            .map_err(anyhow::Error::msg)?,
    };
    let cold = Instant::now();
    let application = Application::build(Settings::for_database(url, dir.path().to_path_buf())).await?;
    let cold_start = cold.elapsed();
    let base = format!("http://{}", application.local_addr());
    let app = application.app().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));

    let email = "bench@example.org";
    let password = "benchmark password only";
    let signup = SignUp {
        email: email.into(),
        password: password.into(),
        display_name: "Bench".into(),
        time_zone: "Europe/Paris".into(),
    };
    app.sign_up(signup, &RequestContext::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;

    println!("Rapport benchmark ({} backend, {} concurrent clients)", app.backend(), args.concurrency);
    println!("  cold start to ready (open + migrate + bind): {}", ms(cold_start));

    let (c, u) = (client.clone(), format!("{base}/api/v1/auth/token"));
    let (wall, mut lat) = drive(args.sign_ins, args.concurrency, move || {
        let (c, u) = (c.clone(), u.clone());
        async move {
            let r = c.post(&u).json(&serde_json::json!({"email": email, "password": password})).send().await?;
            anyhow::ensure!(r.status().is_success(), "sign-in answered {}", r.status());
            Ok(())
        }
    })
    .await?;
    println!(
        "  sign-in (argon2id m=19MiB t=2 p=1): {:.1}/s over {} sign-ins; p50 {}, p99 {}",
        args.sign_ins as f64 / wall.as_secs_f64(),
        args.sign_ins,
        ms(lat.percentile(50.0)),
        ms(lat.percentile(99.0))
    );

    let token = app
        .sign_in(email, password, SessionKind::Browser, &RequestContext::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let cookie = format!("rapport_session={}", token.expose());
    for (label, concurrency) in [("1 client", 1), ("concurrent", args.concurrency)] {
        let (c, u, k) = (client.clone(), format!("{base}/home"), cookie.clone());
        let (wall, mut lat) = drive(args.page_loads, concurrency, move || {
            let (c, u, k) = (c.clone(), u.clone(), k.clone());
            async move {
                let r = c.get(&u).header("cookie", k).send().await?;
                anyhow::ensure!(r.status().is_success(), "home page answered {}", r.status());
                r.bytes().await?;
                Ok(())
            }
        })
        .await?;
        println!(
            "  authenticated page /home ({label}): {:.0}/s; round trip p50 {}, p99 {}, max {}",
            args.page_loads as f64 / wall.as_secs_f64(),
            ms(lat.percentile(50.0)),
            ms(lat.percentile(99.0)),
            ms(lat.percentile(100.0))
        );
    }
    let _ = stop.send(());
    server.await??;
    bench_matching(10_000, 2_000);
    Ok(ExitCode::SUCCESS)
}

/// Times the matching rules against `therapists` synthetic candidates.
fn bench_matching(therapists: usize, runs: usize) {
    use chrono::NaiveDate;
    use rapport_domain::availability::{to_utc_week, WeeklyWindow};
    use rapport_domain::matching::{find_matches, Candidate, LicenseSummary, MatchDay, Seeker, SeekerKind};
    use rapport_domain::taxonomy::{Approach, Concern, Gender, Modality, Specialty};
    use rapport_domain::{AccountId, Jurisdiction, Language, TimeZone};

    let today = NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date");
    let places: Vec<Jurisdiction> = ["US-CA", "US-NY", "US-TX", "US-WA", "GB", "US-NV"]
        .iter()
        .filter_map(|p| Jurisdiction::parse(p).ok())
        .collect();
    let languages: Vec<Language> = ["en", "es", "fr"].iter().filter_map(|l| Language::parse(l).ok()).collect();
    let zones: Vec<TimeZone> = ["America/Los_Angeles", "America/New_York", "Europe/London"]
        .iter()
        .filter_map(|z| TimeZone::parse(z).ok())
        .collect();
    let days = ["mon", "tue", "wed", "thu", "fri", "sat"];
    // A small deterministic generator keeps runs comparable.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let candidates: Vec<Candidate> = (0..therapists)
        .map(|_| {
            let tz = zones[next(zones.len())];
            let start = 8 + next(10);
            let window =
                WeeklyWindow::parse(days[next(days.len())], &format!("{start:02}:00"), &format!("{:02}:00", start + 3))
                    .expect("valid window");
            Candidate {
                id: AccountId::new(),
                professional_name: "Synthetic therapist".into(),
                approved: true,
                licenses: vec![LicenseSummary {
                    jurisdiction: places[next(places.len())].clone(),
                    expires_on: today + chrono::Duration::days(next(700) as i64 - 30),
                    verified: true,
                }],
                specialties: (0..4).map(|_| Specialty::ALL[next(Specialty::ALL.len())]).collect(),
                approaches: vec![Approach::ALL[next(Approach::ALL.len())]],
                languages: vec![languages[next(languages.len())].clone()],
                modalities: vec![Modality::ALL[next(Modality::ALL.len())], Modality::Messaging],
                works_with_couples: next(2) == 0,
                gender: Some(Gender::ALL[next(Gender::ALL.len())]),
                availability_utc: to_utc_week(&[window], tz, today),
                capacity: 20,
                active_clients: next(21) as u32,
                accepting: next(10) != 0,
                has_photo: false,
            }
        })
        .collect();
    let client_tz = zones[0];
    let seeker = Seeker {
        kind: SeekerKind::Couple,
        jurisdictions: vec![places[0].clone()],
        languages: vec![languages[0].clone()],
        concerns: vec![Concern::LessCommunication, Concern::LessAffection, Concern::SameFight],
        modalities: vec![Modality::Video],
        approaches: vec![Approach::GottmanMethod],
        gender: None,
        windows_utc: to_utc_week(
            &[WeeklyWindow::parse("tue", "17:00", "21:00").expect("valid window")],
            client_tz,
            today,
        ),
        time_zone: client_tz,
        exclude: vec![],
    };
    let day = MatchDay { today };
    let mut lat = Latencies(Vec::with_capacity(runs));
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        found = find_matches(&seeker, &candidates, day, 3).len();
        lat.0.push(t.elapsed());
    }
    println!(
        "  matching against {therapists} therapists (in memory, {runs} runs, {found} shown): p50 {}, p99 {}",
        ms(lat.percentile(50.0)),
        ms(lat.percentile(99.0))
    );
}
