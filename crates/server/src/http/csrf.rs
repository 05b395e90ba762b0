//! CSRF protection for every browser form.
//!
//! A form token is an HMAC keyed by a secret only this browser holds: the
//! session cookie when signed in, otherwise a random pre-session cookie. A
//! page on another site can neither read those cookies nor compute the token.
//! Cross-site requests are also refused by `Sec-Fetch-Site` and `Origin`.

use super::{cookies, web, AppState};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The form token for a browser secret.
pub fn token_for(secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"rapport csrf v1");
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The token for an anonymous page, and the cookie to set if the browser
/// has no pre-session secret yet.
pub fn anonymous_token(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    match cookies::get(headers, cookies::PRE_SESSION) {
        Some(secret) => (token_for(secret), None),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
            let secret = URL_SAFE_NO_PAD.encode(bytes);
            (token_for(&secret), Some(cookies::set(cookies::PRE_SESSION, &secret, secure)))
        }
    }
}

fn same_origin(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site == Some("cross-site") || site == Some("same-site") {
        return false;
    }
    match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST)) {
        // Under a `no-referrer` policy (ours was one, and a page or extension can
        // impose it) browsers send `Origin: null` even on same-origin posts;
        // `Sec-Fetch-Site` (which pages cannot set) then says where it came from.
        (Some("null"), _) => site == Some("same-origin"),
        (Some(origin), Some(host)) => {
            let host = host.to_str().unwrap_or_default();
            origin.split_once("://").map(|(_, h)| h) == Some(host)
        }
        _ => true,
    }
}

/// Checks a token taken from a form the extractor can't read (multipart uploads).
pub fn verify(headers: &HeaderMap, presented: &str) -> bool {
    same_origin(headers) && token_matches(headers, presented)
}

fn token_matches(headers: &HeaderMap, presented: &str) -> bool {
    [cookies::SESSION, cookies::PRE_SESSION]
        .into_iter()
        .filter_map(|name| cookies::get(headers, name))
        .any(|secret| token_for(secret).as_bytes().ct_eq(presented.as_bytes()).into())
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form body of type `T` whose CSRF token has been checked.
pub struct CsrfForm<T>(pub T);

/// Why a form was refused before reaching its handler.
pub struct FormRejection(Response);

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = FormRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            FormRejection(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                web::error_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "That was too much",
                    "What you sent is larger than we accept. Please shorten it and try again.",
                )
            } else {
                web::error_page(
                    StatusCode::BAD_REQUEST,
                    "That didn't work",
                    "We couldn't read what you sent. Please try again.",
                )
            })
        })?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: String::new() });
        if !same_origin(&headers) || !token_matches(&headers, &field.csrf) {
            return Err(FormRejection(web::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety we couldn't accept that form. Please go back, reload the page and try again.",
            )));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if pairs.iter().any(|(_, v)| rapport_domain::text::check_storable(v).is_err()) {
            return Err(FormRejection(web::error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "That didn't work",
                "Something in the form has characters we can't keep: a NUL character, or only invisible characters. Please check what you wrote and try again.",
            )));
        }
        serde_urlencoded::from_bytes(&bytes).map(CsrfForm).map_err(|_| {
            FormRejection(web::error_page(
                StatusCode::BAD_REQUEST,
                "That didn't work",
                "Some of the form was missing. Please reload the page and try again.",
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_the_secret() {
        assert_eq!(token_for("a"), token_for("a"));
        assert_ne!(token_for("a"), token_for("b"));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("rapport.example"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://rapport.example"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn own_form_posts_with_a_null_origin_are_accepted() {
        // What Chromium sends for a same-origin form post under `Referrer-Policy: no-referrer`.
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("rapport.example"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h), "a null origin alone proves nothing");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h));
    }
}
