//! Prometheus metrics: requests by route and status, and latency.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use subtle::ConstantTimeEq as _;

const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Counters kept in memory by each instance.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let h = latency.entry(route.to_owned()).or_default();
            for (i, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP rapport_http_requests_total HTTP requests by method, matched route and status.\n");
        out.push_str("# TYPE rapport_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "rapport_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP rapport_http_request_duration_seconds Time to answer, by matched route.\n");
        out.push_str("# TYPE rapport_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, h) in latency.iter() {
                for (i, le) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "rapport_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "rapport_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "rapport_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(out, "rapport_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
            }
        }
        out
    }
}

/// Middleware: times each request and counts it under its matched route.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state.metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

fn exposition_response(metrics: &Metrics) -> Response {
    let mut response = metrics.exposition().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// `GET /metrics` on the public listener: only with the configured bearer
/// token; to everyone else it does not exist.
pub async fn render_for_bearer(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let presented = super::auth::bearer(&headers).unwrap_or_default().as_bytes();
    match &state.http.metrics_token {
        Some(token) if bool::from(presented.ct_eq(token.expose().as_bytes())) => exposition_response(&state.metrics),
        _ => super::Problem::new(StatusCode::NOT_FOUND, "There is nothing at this address.").into_response(),
    }
}

/// The router of the separate metrics listener (`--metrics-listen`): `/metrics` only.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(|State(m): State<Arc<Metrics>>| async move { exposition_response(&m) }))
        .with_state(metrics)
}
