//! The JSON API under `/api/v1`, documented by an OpenAPI 3.1 document
//! generated from these handlers. Every route is registered through
//! `routes!`, so a route cannot exist without its documentation.

mod accounts;
mod auth;
mod care;
mod clients;
mod couple;
mod events;
mod me;
mod rooms;
mod therapists;

pub use rooms::attachment_response;
pub use therapists::photo_response;

use super::{AppState, Problem};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport API",
        version = "1",
        description = "Accounts, sessions and the audit trail of Rapport. Errors are RFC 9457 problem documents (application/problem+json)."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem)),
    tags(
        (name = "accounts", description = "Signing up"),
        (name = "auth", description = "API tokens and password resets"),
        (name = "me", description = "Your own account, sessions and who accessed your data"),
        (name = "therapists", description = "Applying to practise on Rapport"),
        (name = "admin", description = "Verification of therapists (admins)"),
        (name = "care", description = "Intake, matching and choosing a therapist"),
        (name = "couple", description = "Linking partners and the confidentiality policy"),
        (name = "rooms", description = "Message rooms, messages and realtime events"),
        (name = "meta", description = "This document")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::create_account))
        .routes(routes!(auth::create_token, auth::delete_token))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::reset_password))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_sessions, me::revoke_other_sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::audit_events))
        .routes(routes!(me::notices))
        .routes(routes!(me::dismiss_notice))
        .routes(routes!(therapists::upload_photo))
        .routes(routes!(therapists::photo))
        .routes(routes!(therapists::apply, therapists::my_application))
        .routes(routes!(therapists::queue))
        .routes(routes!(therapists::approve))
        .routes(routes!(therapists::reject))
        .routes(routes!(care::submit_intake))
        .routes(routes!(care::matches))
        .routes(routes!(care::choose))
        .routes(routes!(clients::intake))
        .routes(routes!(couple::invite, couple::list_invitations))
        .routes(routes!(couple::revoke_invitation))
        .routes(routes!(couple::resend_invitation))
        .routes(routes!(couple::accept))
        .routes(routes!(couple::consent))
        .routes(routes!(couple::get_couple, couple::unlink))
        .routes(routes!(rooms::list_rooms))
        .routes(routes!(rooms::list_messages, rooms::post_message))
        .routes(routes!(rooms::mark_read))
        .routes(routes!(rooms::attachment))
        .routes(routes!(rooms::correct_message, rooms::delete_message))
        .routes(routes!(rooms::versions))
        .routes(routes!(rooms::star, rooms::unstar))
        .routes(routes!(events::ticket))
        .routes(routes!(events::events))
        .routes(routes!(me::notification_prefs, me::set_notification_prefs))
        .routes(routes!(couple::accept_care_proposal))
        .routes(routes!(couple::decline_care_proposal))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(rooms::post_attachment))
                .layer(axum::extract::DefaultBodyLimit::max(super::limits::ATTACHMENT_BODY_LIMIT)),
        )
        .routes(routes!(openapi_json))
}

/// The generated OpenAPI document.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| router().split_for_parts().1)
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> Response {
    let body = openapi().to_json().unwrap_or_default();
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A role, as the API names it.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Client,
    Therapist,
    Admin,
}

impl From<rapport_domain::Role> for RoleName {
    fn from(r: rapport_domain::Role) -> Self {
        match r {
            rapport_domain::Role::Client => RoleName::Client,
            rapport_domain::Role::Therapist => RoleName::Therapist,
            rapport_domain::Role::Admin => RoleName::Admin,
        }
    }
}
