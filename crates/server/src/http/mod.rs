//! HTTP: the router, shared middleware, and the three faces of the app —
//! web pages (`web`), the JSON API (`api`) and operations endpoints.

pub mod api;
mod assets;
mod auth;
mod cookies;
mod csrf;
mod json;
mod limits;
mod metrics;
mod problem;
mod security;
mod web;

pub use metrics::{metrics_router, Metrics};
pub use problem::Problem;

use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use rapport_app::App;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Behind a TLS-terminating proxy: Secure cookies, HSTS, trust X-Forwarded-For.
    pub tls_proxy: bool,
    /// How many proxies in front of Rapport append to X-Forwarded-For: the client's
    /// address is that many entries from the right; anything further left is the client's own claim.
    pub trusted_proxies: usize,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// With a token, `/metrics` is served on the main listener to that bearer only; without, not at all.
    pub metrics_token: Option<crate::config::MetricsToken>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { tls_proxy: false, trusted_proxies: 1, body_limit: 1024 * 1024, metrics_token: None }
    }
}

/// What every handler can reach. Handlers reach data only through `app`,
/// whose use cases check the access policy.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub http: Arc<HttpConfig>,
    pub metrics: Arc<Metrics>,
}

/// The whole HTTP surface, counting requests into `metrics`.
pub fn router(app: App, http: HttpConfig, metrics: Arc<Metrics>) -> Router {
    let state = AppState { app, http: Arc::new(http.clone()), metrics };
    let (api, _) = api::router().split_for_parts();
    Router::new()
        .merge(web::router())
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render_for_bearer))
        .route("/assets/{file}", get(assets::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(http.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), limits::refuse_oversized))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            // The matched route, never the raw URI: paths and queries can hold tokens.
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "unmatched".to_owned());
            tracing::info_span!("request", method = %req.method(), route)
        }))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").into_response()
        }))
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .with_state(state)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can reach its database.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.app.ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

fn wants_api(uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> bool {
    uri.path().starts_with("/api/")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("json") && !a.contains("html"))
}

async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    auth::MaybeWebUser(user): auth::MaybeWebUser,
) -> Response {
    if wants_api(&uri, &headers) {
        Problem::new(StatusCode::NOT_FOUND, "There is nothing at this address.").into_response()
    } else {
        web::not_found_page_for(user.as_ref())
    }
}

async fn method_not_allowed(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    if wants_api(&uri, &headers) {
        Problem::new(StatusCode::METHOD_NOT_ALLOWED, "This address does not accept that method.").into_response()
    } else {
        web::error_page(StatusCode::METHOD_NOT_ALLOWED, "That didn't work", "This page can't be used that way.")
    }
}
