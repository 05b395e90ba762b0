//! Authentication as extractors, so a handler cannot forget it: `ApiUser`
//! (bearer token) and `WebUser` (session cookie). Both come only from
//! `App::authenticate`.

use super::{cookies, AppState, Problem};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use rapport_app::{AppError, Authenticated, RequestContext};
use rapport_store::Account;
use std::net::{IpAddr, SocketAddr};

/// Where the request came from.
pub struct ClientContext(pub RequestContext);

fn client_ip(parts: &Parts, trust_proxy: bool, trusted_proxies: usize) -> Option<IpAddr> {
    if trust_proxy {
        let header = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if let Some(ip) = forwarded_client(header, trusted_proxies) {
            return Some(ip);
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The client's address in an `X-Forwarded-For` that `trusted_proxies` proxies appended
/// to: each appends the address it saw, so the client is that many entries from the
/// right. Entries further left are whatever the client claimed, and never trusted.
fn forwarded_client(header: &str, trusted_proxies: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = header.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
    let at = entries.len().checked_sub(trusted_proxies.max(1))?;
    entries[at].parse().ok()
}

impl FromRequestParts<AppState> for ClientContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientContext(RequestContext {
            ip: client_ip(parts, state.http.tls_proxy, state.http.trusted_proxies),
            user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        }))
    }
}

/// The bearer token of an API request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// An API caller with a valid bearer token.
pub struct ApiUser(pub Authenticated);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or_else(Problem::unauthenticated)?;
        Ok(ApiUser(state.app.authenticate(token).await?))
    }
}

/// A signed-in browser: the session, the account, and the cookie's token
/// (the secret its forms are bound to).
pub struct WebUser {
    pub auth: Authenticated,
    pub account: Account,
    pub csrf: String,
}

/// Sends the browser to sign in, dropping a dead session cookie.
pub struct SignInRedirect {
    secure: bool,
    unavailable: bool,
}

impl IntoResponse for SignInRedirect {
    fn into_response(self) -> Response {
        if self.unavailable {
            return super::web::error_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "We'll be right back",
                "We can't reach our database right now. Please try again in a moment.",
            );
        }
        let mut response = Redirect::to("/sign-in").into_response();
        response.headers_mut().insert(header::SET_COOKIE, cookies::clear(cookies::SESSION, self.secure));
        response
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = SignInRedirect;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let secure = state.http.tls_proxy;
        let token =
            cookies::get(&parts.headers, cookies::SESSION).ok_or(SignInRedirect { secure, unavailable: false })?;
        let fail = |e: AppError| SignInRedirect { secure, unavailable: matches!(e, AppError::Unavailable(_)) };
        let auth = state.app.authenticate(token).await.map_err(fail)?;
        let account = auth.account().clone();
        Ok(WebUser { auth, account, csrf: super::csrf::token_for(token) })
    }
}

/// A browser that may or may not be signed in.
pub struct MaybeWebUser(pub Option<WebUser>);

impl FromRequestParts<AppState> for MaybeWebUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeWebUser(WebUser::from_request_parts(parts, state).await.ok()))
    }
}

/// Why a role-only page refused: not signed in, or not the role the page is for.
pub enum RoleRejection {
    SignIn(SignInRedirect),
    /// Signed in with another role: the page does not exist for them.
    NotFound(Box<WebUser>),
}

impl IntoResponse for RoleRejection {
    fn into_response(self) -> Response {
        match self {
            RoleRejection::SignIn(r) => r.into_response(),
            RoleRejection::NotFound(user) => super::web::not_found_page_for(Some(&user)),
        }
    }
}

macro_rules! role_user {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub WebUser);

        impl FromRequestParts<AppState> for $name {
            type Rejection = RoleRejection;

            async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
                let user = WebUser::from_request_parts(parts, state).await.map_err(RoleRejection::SignIn)?;
                if user.account.role == $role {
                    Ok($name(user))
                } else {
                    Err(RoleRejection::NotFound(Box::new(user)))
                }
            }
        }
    };
}

role_user!(
    /// A signed-in client, for pages that only clients have.
    ClientUser,
    rapport_domain::Role::Client
);
role_user!(
    /// A signed-in therapist, for pages that only therapists have.
    TherapistUser,
    rapport_domain::Role::Therapist
);

#[cfg(test)]
mod tests {
    use super::forwarded_client;

    #[test]
    fn the_client_is_as_many_entries_from_the_right_as_there_are_proxies() {
        assert_eq!(forwarded_client("203.0.113.9", 1), "203.0.113.9".parse().ok());
        assert_eq!(forwarded_client("6.6.6.6, 203.0.113.9", 1), "203.0.113.9".parse().ok());
        assert_eq!(forwarded_client("6.6.6.6, 203.0.113.9, 10.0.0.2", 2), "203.0.113.9".parse().ok());
        // Fewer entries than proxies: the request did not come through them all.
        assert_eq!(forwarded_client("203.0.113.9", 2), None);
        assert_eq!(forwarded_client("", 1), None);
        assert_eq!(forwarded_client("not an address", 1), None);
    }
}
