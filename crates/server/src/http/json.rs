//! The JSON body extractor: 415 for the wrong content type, 413 over the
//! size limit, 400 for malformed JSON, 422 (per field) for the wrong shape.

use super::Problem;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A JSON request body of type `T`.
pub struct ApiJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is larger than we accept.")
            } else {
                Problem::new(StatusCode::BAD_REQUEST, "The request body could not be read.")
            }
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("The body is not valid JSON ({e}).")))?;
        if !value.is_object() {
            return Err(Problem::new(StatusCode::BAD_REQUEST, "The body must be a JSON object."));
        }
        let mut unstorable = BTreeMap::new();
        unstorable_text(&value, &mut String::new(), &mut unstorable);
        if !unstorable.is_empty() {
            let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Some fields need attention.");
            problem.kind = "urn:rapport:problem:validation".to_owned();
            problem.title = "Invalid fields".to_owned();
            problem.errors = Some(unstorable);
            return Err(problem);
        }
        serde_path_to_error::deserialize(value).map(ApiJson).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            let field = match message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
                Some(missing) if path == "." => missing.to_owned(),
                _ => path,
            };
            let nice =
                if message.starts_with("missing field") { "This field is required.".to_owned() } else { message };
            let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Some fields need attention.");
            problem.kind = "urn:rapport:problem:validation".to_owned();
            problem.title = "Invalid fields".to_owned();
            problem.errors = Some(BTreeMap::from([(field, vec![nice])]));
            problem
        })
    }
}

/// Finds every string in `value` that cannot be stored (a NUL character, or only
/// invisible characters), keyed by its path as in other 422s (`checkins[0].note`).
fn unstorable_text(value: &serde_json::Value, path: &mut String, out: &mut BTreeMap<String, Vec<String>>) {
    match value {
        serde_json::Value::String(text) => {
            if let Err(e) = rapport_domain::text::check_storable(text) {
                let field = if path.is_empty() { ".".to_owned() } else { path.clone() };
                out.entry(field).or_default().push(e.to_string());
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                unstorable_text(item, path, out);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                unstorable_text(member, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A JSON body that may be left out entirely (then `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req.headers().get(header::CONTENT_TYPE).is_none()
            && req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim() == "0");
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(v)| OptionalJson(v))
    }
}

#[cfg(test)]
mod tests {
    use super::{is_json, unstorable_text};
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn unstorable_strings_are_found_by_their_path() {
        let body = json!({
            "email": "sam@example.org\u{0}",
            "name": "Sam",
            "checkins": [{"note": "fine"}, {"note": "\u{200b}\u{200b}"}],
            "answers": [1, 2],
            "preferences": {"time_zone": ""}
        });
        let mut out = BTreeMap::new();
        unstorable_text(&body, &mut String::new(), &mut out);
        assert_eq!(out.keys().map(String::as_str).collect::<Vec<_>>(), ["checkins[1].note", "email"]);
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json(""));
    }
}
