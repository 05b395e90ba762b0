//! Reading and writing the few cookies Rapport uses.

use axum::http::{header, HeaderMap, HeaderValue};

/// The session cookie: an opaque token, HttpOnly, SameSite=Lax.
pub const SESSION: &str = "rapport_session";
/// A random value that binds anonymous forms (sign in, sign up) to this browser.
pub const PRE_SESSION: &str = "rapport_pre";

/// The value of cookie `name`, if the request carries it.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value for a browser-session cookie.
pub fn set(name: &str, value: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; rapport_session=tok; b=2"));
        assert_eq!(get(&h, SESSION), Some("tok"));
        assert_eq!(get(&h, "missing"), None);
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let v = set(SESSION, "tok", true);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Secure"));
        assert!(!set(SESSION, "tok", false).to_str().unwrap().contains("Secure"));
    }
}
