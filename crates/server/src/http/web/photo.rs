//! Therapists' profile photos: uploading one (a multipart form, checked
//! for CSRF like every form) and showing one with its sniffed type only.

use super::{app_error_page, not_found_page};
use crate::http::auth::WebUser;
use crate::http::csrf;
use crate::http::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, MAX_PHOTO_BYTES};
use rapport_domain::AccountId;

fn back(problem: &str) -> Response {
    Redirect::to(&format!("/therapist/apply?photo_error={problem}#photo-heading")).into_response()
}

/// `POST /therapist/photo`.
pub async fn upload(State(state): State<AppState>, user: WebUser, headers: HeaderMap, mut form: Multipart) -> Response {
    let mut token = String::new();
    let mut photo: Option<Vec<u8>> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            // Over the body limit, or not a multipart body at all.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return back("size"),
            Err(_) => return back("missing"),
        };
        match field.name() {
            Some("csrf") => token = field.text().await.unwrap_or_default(),
            Some("photo") => {
                let mut bytes = Vec::new();
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_PHOTO_BYTES => {
                            bytes.extend_from_slice(&chunk)
                        }
                        Ok(Some(_)) => return back("size"),
                        Ok(None) => break,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return back("size"),
                        Err(_) => return back("missing"),
                    }
                }
                photo = Some(bytes);
            }
            _ => {}
        }
    }
    if !csrf::verify(&headers, &token) {
        return super::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety we couldn't accept that form. Please go back, reload the page and try again.",
        );
    }
    let Some(bytes) = photo.filter(|b| !b.is_empty()) else { return back("missing") };
    match state.app.set_my_photo(&user.auth, &bytes).await {
        Ok(()) => Redirect::to("/therapist/apply?saved=photo").into_response(),
        Err(AppError::Invalid(errors)) if errors.get("photo").iter().any(|m| m.contains("smaller")) => back("size"),
        Err(AppError::Invalid(_)) => back("type"),
        Err(e) => app_error_page(e),
    }
}

/// `GET /therapists/{id}/photo`.
pub async fn show(State(state): State<AppState>, user: WebUser, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<AccountId>() else { return not_found_page() };
    match state.app.therapist_photo(&user.auth, id).await {
        Ok((content_type, bytes)) => crate::http::api::photo_response(&content_type, bytes),
        Err(AppError::NotFound) => not_found_page(),
        Err(e) => app_error_page(e),
    }
}
