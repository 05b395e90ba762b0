//! The one error type of the use cases; the web and API layers turn it
//! into a response in exactly one place each.

use rapport_domain::FieldErrors;
use rapport_store::StoreError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input failed validation; messages per field.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The change clashes with existing data (e.g. an email already in use).
    #[error("conflict")]
    Conflict { field: &'static str, message: &'static str },
    /// Wrong email or password; deliberately says no more.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No valid session.
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but the policy refuses.
    #[error("forbidden")]
    Forbidden,
    /// Nothing there, or nothing the caller may know about.
    #[error("not found")]
    NotFound,
    /// It existed but can no longer be used (an expired or used invitation); says why.
    #[error("gone")]
    Gone(&'static str),
    /// Too many failed sign-ins; try again later.
    #[error("too many attempts")]
    TooManyAttempts { retry_after: Duration },
    /// The database is unreachable.
    #[error("service unavailable")]
    Unavailable(#[source] StoreError),
    /// A bug or corrupt data; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(_) => {
                AppError::Conflict { field: "", message: "That conflicts with something that already exists." }
            }
            e @ StoreError::Unavailable(_) => AppError::Unavailable(e),
            StoreError::Corrupt(what) => AppError::Internal(what),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}
