//! The server's cookies: one reader, one builder. Every cookie is HttpOnly,
//! and Secure whenever the public URL is https.

use axum::http::{HeaderMap, HeaderValue, header};

use super::error::WebError;

/// A cookie's value from the request.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub enum SameSite {
    /// Sent on a top-level navigation from another site: the patient's
    /// cookies, because the web service's callback arrives from the
    /// authenticator, which may be another site.
    Lax,
    /// The administration's sessions: no page of another site leads into it.
    Strict,
}

/// The `Set-Cookie` value for `name=value` on `path`, kept `max_age`
/// seconds; `None` keeps it for the browser session, `Some(0)` forgets it.
pub fn set(
    public_url: &str,
    name: &str,
    value: &str,
    path: &str,
    same_site: SameSite,
    max_age: Option<i64>,
) -> Result<HeaderValue, WebError> {
    let same_site = match same_site {
        SameSite::Lax => "Lax",
        SameSite::Strict => "Strict",
    };
    let secure = if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let max_age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}{max_age}{secure}"
    ))
    .map_err(|e| WebError::Internal(e.to_string()))
}
