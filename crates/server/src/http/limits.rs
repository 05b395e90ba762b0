//! Request bodies declared too large are refused at once (413), before a byte of
//! them is read, so a client cannot hold a connection open by announcing a huge
//! body and sending it slowly. Bodies without a declared length are still cut
//! off at the same limits while they are read (`DefaultBodyLimit`).

use super::{wants_api, web, AppState, Problem};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Headroom over a file's own limit for the rest of a multipart form.
const FORM_HEADROOM: usize = 64 * 1024;
/// The largest body of an attachment upload (API or web form).
pub const ATTACHMENT_BODY_LIMIT: usize = rapport_domain::room::MAX_ATTACHMENT_BYTES + FORM_HEADROOM;
/// The largest body of a therapist's photo upload.
pub const PHOTO_BODY_LIMIT: usize = rapport_app::MAX_PHOTO_BYTES + FORM_HEADROOM;

/// The largest body a route accepts: files for attachments and photos, the
/// configured limit for everything else.
pub fn body_limit_for(path: &str, default: usize) -> usize {
    let attachments =
        (path.starts_with("/rooms/") || path.starts_with("/api/v1/rooms/")) && path.ends_with("/attachments");
    if attachments {
        ATTACHMENT_BODY_LIMIT
    } else if path == "/therapist/photo" || path == "/api/v1/therapists/application/photo" {
        PHOTO_BODY_LIMIT
    } else {
        default
    }
}

/// Middleware: 413 for a declared `Content-Length` over the route's limit.
pub async fn refuse_oversized(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = body_limit_for(request.uri().path(), state.http.body_limit) as u64;
    if declared.is_some_and(|length| length > limit) {
        return if wants_api(request.uri(), request.headers()) {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is larger than we accept.").into_response()
        } else {
            web::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "That was too much",
                "What you sent is larger than we accept. Please shorten it and try again.",
            )
        };
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::body_limit_for;

    #[test]
    fn files_have_their_own_limits() {
        let default = 1024 * 1024;
        assert_eq!(body_limit_for("/api/v1/accounts", default), default);
        assert!(body_limit_for("/api/v1/rooms/x/attachments", default) > 25 * 1024 * 1024);
        assert!(body_limit_for("/rooms/x/attachments", default) > 25 * 1024 * 1024);
        assert!(body_limit_for("/therapist/photo", default) > 2 * 1024 * 1024);
        assert_eq!(body_limit_for("/rooms/x/messages", default), default);
    }
}
