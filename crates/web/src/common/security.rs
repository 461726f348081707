//! Response headers every page carries.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Institution URLs carry their token in the path: never leak it to other sites.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages show personal data and the state of a visit: never keep a copy
    // (a shared tablet's history, the back button showing a stale step).
    // Static files set their own caching.
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    res
}

/// Whether a form post comes from one of this site's own pages. Browsers
/// name the sending site in `Sec-Fetch-Site`, or at least in `Origin`; a
/// post that carries neither comes from a program, not from a page another
/// site showed someone, so it cannot be a cross-site forgery. Used where no
/// session exists yet to hold a CSRF token (the login forms).
pub fn same_site_post(headers: &axum::http::HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (text("origin"), text("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_site_post;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_post_from_another_site_is_told_apart() {
        assert!(same_site_post(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!same_site_post(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!same_site_post(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(same_site_post(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!same_site_post(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!same_site_post(&headers(&[
            ("origin", "null"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(same_site_post(&headers(&[("host", "127.0.0.1:8080")])));
    }
}
