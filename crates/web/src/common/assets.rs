//! The stylesheets and scripts of the pages, embedded in the binary so that
//! a single file runs the whole service.

use axum::http::header;
use axum::response::IntoResponse;

/// The palette, type and controls shared with the authenticator, then the
/// web service's own rules.
const STYLESHEET: &str = concat!(
    include_str!("../../../../assets/base.css"),
    include_str!("../../static/app.css")
);
const ADMIN_STYLESHEET: &str = include_str!("../../static/admin.css");
const ADMIN_JS: &str = include_str!("../../static/admin.js");
const FRESH_JS: &str = include_str!("../../static/fresh.js");
const CHOOSE_JS: &str = include_str!("../../static/choose.js");
const READER_JS: &str = include_str!("../../static/reader.js");
const MENU_JS: &str = include_str!("../../static/menu.js");

/// An embedded file, cacheable for an hour.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

pub async fn admin_stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", ADMIN_STYLESHEET)
}

pub async fn admin_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", ADMIN_JS)
}

pub async fn fresh_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", FRESH_JS)
}

pub async fn choose_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", CHOOSE_JS)
}

pub async fn menu_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", MENU_JS)
}

pub async fn reader_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", READER_JS)
}

pub async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}
