//! A bounded, deterministic fuzz of every API route: malformed bodies of
//! every kind, under random content types, with and without a valid token.
//! Nothing may produce a 5xx, and every error must be a problem document.

use crate::common::{Options, TestServer};
use crate::contract::API_ROUTES;
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Requests per route, for each of "with token" and "without token".
const CASES_PER_ROUTE: usize = 20;

/// xorshift64: tiny, deterministic, good enough to vary inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn uuid(&mut self) -> uuid::Uuid {
        uuid::Uuid::from_u64_pair(self.next(), self.next())
    }

    /// A string mixing ASCII, markup, quotes, control characters and emoji.
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            " ",
            "@",
            ".",
            "example.org",
            "'",
            "\"",
            "\\",
            "<script>",
            "</",
            "%00",
            "\0",
            "\u{7}",
            "\n",
            "\r\n",
            "\t",
            "é",
            "ß",
            "🙂",
            "\u{202e}",
            "\u{feff}",
            "; DROP TABLE accounts;--",
            "${x}",
            "{{x}}",
        ];
        let len = match self.below(10) {
            0 => 0,
            1 => 300 + self.below(5000),
            _ => self.below(40),
        };
        (0..len).map(|_| *self.pick(PIECES)).collect()
    }

    /// A JSON value of a random type.
    fn value(&mut self) -> Value {
        match self.below(9) {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!(self.next() as i64),
            3 => json!(-1.5e300),
            4 => json!([self.text(), 1, null]),
            5 => json!({"nested": self.text()}),
            6 => json!(""),
            7 => json!([]),
            _ => json!(self.text()),
        }
    }
}

/// The JSON fields a route's body has.
fn fields(method: &str, path: &str) -> &'static [&'static str] {
    match (method, path) {
        ("POST", "/api/v1/accounts") => &["email", "password", "display_name", "time_zone"],
        ("POST", "/api/v1/auth/token") => &["email", "password"],
        ("PATCH", "/api/v1/me") => &["display_name", "time_zone"],
        ("PUT", "/api/v1/me/password") => &["current_password", "new_password"],
        ("POST", "/api/v1/therapists/application") => &[
            "professional_name",
            "bio",
            "licenses",
            "specialties",
            "approaches",
            "languages",
            "modalities",
            "works_with_couples",
            "time_zone",
            "weekly_availability",
            "capacity",
            "accepting_new_clients",
        ],
        ("POST", "/api/v1/intake") => {
            &["kind", "jurisdiction", "languages", "concerns", "preferences", "safety", "note"]
        }
        ("POST", "/api/v1/admin/therapist-applications/{id}/approve") => &["notes", "checked"],
        ("POST", "/api/v1/admin/therapist-applications/{id}/reject") => &["reason", "checked"],
        ("POST", "/api/v1/matches/{therapist_id}/choose") => &["sees_history", "reason"],
        _ => &["limit", "before", "id"],
    }
}

fn object(fields: &[&str], mut value: impl FnMut(&str) -> Value) -> Value {
    Value::Object(fields.iter().map(|f| ((*f).to_owned(), value(f))).collect::<Map<_, _>>())
}

/// One malformed (or merely odd) body for a route.
fn body(rng: &mut XorShift, fields: &[&str]) -> (&'static str, Vec<u8>) {
    match rng.below(13) {
        0 => {
            let len = rng.below(300);
            ("random bytes", rng.bytes(len))
        }
        1 => {
            let field = rng.pick(fields);
            let mut b = format!("{{\"{field}\": \"").into_bytes();
            let len = 1 + rng.below(20);
            b.extend(rng.bytes(len).into_iter().map(|x| x | 0x80));
            b.extend_from_slice(b"\"}");
            ("invalid UTF-8", b)
        }
        2 => {
            let full = serde_json::to_vec(&object(fields, |_| json!(rng.text()))).unwrap();
            let cut = 1 + rng.below(full.len() - 1);
            ("truncated JSON", full[..cut].to_vec())
        }
        3 => {
            let depth = 10_000;
            let close = if rng.below(2) == 0 { "]".repeat(depth) } else { String::new() };
            ("deeply nested arrays", format!("{}{close}", "[".repeat(depth)).into_bytes())
        }
        4 => {
            let depth = 5_000;
            ("deeply nested objects", format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)).into_bytes())
        }
        5 => {
            let huge = *rng.pick(&["1e999999", "-1e999999", "123456789012345678901234567890123456789", "1e-999999"]);
            let inner = fields.iter().map(|f| format!("\"{f}\": {huge}")).collect::<Vec<_>>().join(",");
            ("huge numbers", format!("{{{inner}}}").into_bytes())
        }
        6 => {
            let wrong = *rng.pick(fields);
            let v = object(fields, |f| if f == wrong { rng.value() } else { json!(rng.text()) });
            ("a wrong type", serde_json::to_vec(&v).unwrap())
        }
        7 => {
            let v = if rng.below(2) == 0 { object(fields, |_| Value::Null) } else { Value::Null };
            ("nulls", serde_json::to_vec(&v).unwrap())
        }
        8 => ("empty body", Vec::new()),
        9 => {
            let v = match rng.below(4) {
                0 => json!([object(fields, |_| json!("a"))]),
                1 => json!(rng.text()),
                2 => json!(rng.next()),
                _ => json!(true),
            };
            ("not an object", serde_json::to_vec(&v).unwrap())
        }
        10 => {
            let field = rng.pick(fields);
            ("duplicate keys", format!("{{\"{field}\": \"a\", \"{field}\": 1}}").into_bytes())
        }
        11 => {
            let mut v = object(fields, |_| json!(rng.text()));
            v["unexpected"] = rng.value();
            ("extra field", serde_json::to_vec(&v).unwrap())
        }
        _ => ("random strings", serde_json::to_vec(&object(fields, |_| json!(rng.text()))).unwrap()),
    }
}

fn query(rng: &mut XorShift) -> String {
    const JUNK: &[&str] =
        &["-1", "0", "1", "201", "99999999999999999999", "abc", "%FF", "", "1e3", "null", "%00", "..%2F"];
    match rng.below(4) {
        0 => String::new(),
        1 => format!("?limit={}", rng.pick(JUNK)),
        2 => format!("?before={}", rng.pick(JUNK)),
        _ => format!("?before={}&limit={}&limit=2", rng.uuid(), rng.pick(JUNK)),
    }
}

#[tokio::test]
async fn malformed_requests_never_cause_a_server_error() {
    let server = TestServer::spawn_with(Options {
        // Failed sign-ins are part of the fuzz; keep the throttle from hiding later cases.
        adjust: Box::new(|settings| settings.app.sign_in_max_failures = 1_000_000),
        ..Default::default()
    })
    .await
    .unwrap();
    let person = sign_up(&server, "fuzz@example.org", "Fuzz").await;
    let mut token = sign_in(&server, &person.email, PASSWORD).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    const CONTENT_TYPES: &[Option<&str>] = &[
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("application/merge-patch+json"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=xyz"),
        None,
    ];

    let mut rng = XorShift(0x5eed_1234_abcd_9876);
    let mut failures = Vec::new();
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    let mut sent = 0;
    for (method, path) in API_ROUTES {
        for with_token in [true, false] {
            for _ in 0..CASES_PER_ROUTE {
                let concrete = concrete_path(path, &rng.uuid().to_string());
                let url = format!("{}{}", server.url(&concrete), query(&mut rng));
                let (kind, bytes) = body(&mut rng, fields(method, path));
                let content_type = *rng.pick(CONTENT_TYPES);
                let mut request = client.request(method.parse::<Method>().unwrap(), &url).body(bytes);
                if let Some(ct) = content_type {
                    request = request.header("content-type", ct);
                }
                if with_token {
                    request = request.bearer_auth(&token);
                }
                let response = request.send().await.unwrap_or_else(|e| panic!("{method} {url} ({kind}): {e}"));
                sent += 1;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await.unwrap_or_default();
                *seen.entry(status.as_u16()).or_default() += 1;
                let case = format!("{method} {url} with {kind} as {content_type:?}, token: {with_token}");
                if status.is_server_error() {
                    failures.push(format!("{case}: {status} {}", String::from_utf8_lossy(&body)));
                } else if status.is_client_error() {
                    if let Err(e) = check_problem(status, &headers, &body) {
                        failures.push(format!("{case}: {e}"));
                    }
                }
                // Signing out with a valid token succeeds; take a new one for the next cases.
                if with_token
                    && *path == "/api/v1/auth/token"
                    && *method == "DELETE"
                    && status == StatusCode::NO_CONTENT
                {
                    token = sign_in(&server, &person.email, PASSWORD).await;
                }
            }
        }
    }
    eprintln!("fuzz: {sent} requests, statuses {seen:?}");
    assert!(failures.is_empty(), "{} of {sent} requests went wrong:\n{}", failures.len(), failures.join("\n"));
    // The fuzz reached every layer: content-type checks, the parser, field validation, authentication.
    for status in [400, 401, 415, 422] {
        assert!(seen.contains_key(&status), "no {status} among {seen:?}: the inputs are not varied enough");
    }
    // And the server is still well.
    assert_eq!(me_status(&server, &token).await, StatusCode::OK);
    server.stop().await;
}
