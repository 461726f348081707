//! What makes `/app` an installable web app: the manifest, the icon, a
//! service worker that keeps only the offline screen (every other answer
//! holds personal data or a session and is never cached), and the app's
//! stylesheet and script.

use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::common::error::WebError;
use crate::common::form_page;

const STYLESHEET: &str = concat!(
    include_str!("../../../../assets/base.css"),
    include_str!("../../static/app.css"),
    include_str!("../../static/staff_app.css")
);
const SCRIPT: &str = include_str!("../../static/staff_app.js");
const SERVICE_WORKER: &str = include_str!("../../static/staff_app_sw.js");
const ICON: &str = include_str!("../../static/staff_app_icon.svg");
const MANIFEST: &str = r##"{
  "name": "マイナ資格確認アプリ",
  "short_name": "資格確認",
  "lang": "ja",
  "start_url": "/app",
  "scope": "/app",
  "display": "standalone",
  "background_color": "#ffffff",
  "theme_color": "#0b4f8a",
  "icons": [{"src": "/app/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}]
}
"##;

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub async fn manifest() -> Response {
    asset("application/manifest+json", MANIFEST)
}

pub async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// Served from `/app` so that its scope is the app; not cached, so a new
/// version is picked up at the next start.
pub async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "app/offline.html")]
struct OfflinePage;

/// 通信できません: what the service worker shows when the server cannot be
/// reached.
pub async fn offline() -> Result<Response, WebError> {
    Ok(form_page(OfflinePage.render()?, false))
}
