//! RFC 9457 problem details: every API error, in one shape.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rapport_app::AppError;
use rapport_domain::FieldErrors;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An error response (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, in plain words.
    pub detail: String,
    /// For 422: messages per field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after: Option<u64>,
    #[serde(skip)]
    #[schema(ignore)]
    www_authenticate: bool,
}

impl Problem {
    /// A problem of a plain HTTP status.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            retry_after: None,
            www_authenticate: false,
        }
    }

    fn typed(mut self, kind: &str, title: &str) -> Self {
        self.kind = format!("urn:rapport:problem:{kind}");
        self.title = title.to_owned();
        self
    }

    /// 422 with messages per field.
    pub fn validation(errors: &FieldErrors) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Some fields need attention.")
            .typed("validation", "Invalid fields");
        p.errors = Some(errors.iter().map(|(k, v)| (k.to_owned(), v.to_vec())).collect());
        p
    }

    /// 401 asking for a bearer token.
    pub fn unauthenticated() -> Self {
        let mut p = Self::new(StatusCode::UNAUTHORIZED, "Sign in first: send a valid bearer token.");
        p.www_authenticate = true;
        p
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(errors) => Problem::validation(&errors),
            AppError::Conflict { field, message } => {
                let mut p = Problem::new(StatusCode::CONFLICT, message).typed("conflict", "Conflict");
                if !field.is_empty() {
                    p.errors = Some(BTreeMap::from([(field.to_owned(), vec![message.to_owned()])]));
                }
                p
            }
            AppError::Gone(message) => Problem::new(StatusCode::GONE, message).typed("gone", "No longer available"),
            AppError::InvalidCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "That email and password don't match an account.")
                    .typed("invalid-credentials", "Invalid credentials")
            }
            AppError::Unauthenticated => Problem::unauthenticated(),
            AppError::Forbidden => Problem::new(StatusCode::FORBIDDEN, "You don't have access to this."),
            AppError::NotFound => Problem::new(StatusCode::NOT_FOUND, "There is nothing here, or you can't see it."),
            AppError::TooManyAttempts { retry_after } => {
                let mut p = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts. Please wait a little and try again.",
                )
                .typed("too-many-attempts", "Too many attempts");
                p.retry_after = Some(retry_after.as_secs().max(1));
                p
            }
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, cause = ?std::error::Error::source(&source), "storage unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "We can't reach our database right now. Please try again shortly.",
                )
            }
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.")
            }
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(e: QueryRejection) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, format!("The query string is not valid: {}", e.body_text()))
    }
}

impl From<PathRejection> for Problem {
    fn from(_: PathRejection) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "There is nothing at this address.")
    }
}
