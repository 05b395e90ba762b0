//! Static assets, embedded in the binary. Nothing is loaded from elsewhere.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const ASSETS: &[(&str, &str, &[u8])] = &[
    ("style.css", "text/css; charset=utf-8", include_bytes!("../../assets/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/app.js")),
    ("room.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/room.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../assets/favicon.svg")),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            let mut response = (*body).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            response
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
