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
const PASSKEY_SCRIPT: &str = include_str!("../../static/staff_app_passkey.js");
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

pub async fn passkey_script() -> Response {
    asset("text/javascript; charset=utf-8", PASSKEY_SCRIPT)
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

/// Every third-party crate of Cargo.lock, its version and licence
/// (`scripts/licenses` writes the file).
const LICENSES: &str = include_str!("../../static/licenses.tsv");

fn licenses() -> Vec<(&'static str, &'static str, &'static str)> {
    LICENSES
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, f.next()?, f.next()?))
        })
        .collect()
}

#[derive(Template)]
#[template(path = "app/licenses.html")]
struct LicensesPage {
    crates: Vec<(&'static str, &'static str, &'static str)>,
}

/// ライセンス (M-04-W): the open-source software the server ships.
pub async fn licenses_page() -> Result<Response, WebError> {
    Ok(form_page(
        LicensesPage { crates: licenses() }.render()?,
        false,
    ))
}

#[derive(Template)]
#[template(path = "app/privacy.html")]
struct PrivacyPage;

/// 個人情報の取扱い (M-02-W).
pub async fn privacy_page() -> Result<Response, WebError> {
    Ok(form_page(PrivacyPage.render()?, false))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The licence list names exactly the third-party crates of Cargo.lock,
    /// at their versions (run `scripts/licenses` after changing them).
    #[test]
    fn the_licence_list_is_in_step_with_cargo_lock() {
        let lock = include_str!("../../../../Cargo.lock");
        let mut locked = BTreeSet::new();
        let mut name = None;
        let mut from_registry = false;
        for line in lock.lines().chain(["[[package]]"]) {
            if line == "[[package]]" {
                if let (Some(n), true) = (name.take(), from_registry) {
                    locked.insert(n);
                }
                from_registry = false;
            } else if let Some(n) = line.strip_prefix("name = ") {
                name = Some((n.trim_matches('"').to_owned(), String::new()));
            } else if let Some(v) = line.strip_prefix("version = ") {
                if let Some((_, version)) = name.as_mut() {
                    *version = v.trim_matches('"').to_owned();
                }
            } else if line.starts_with("source = ") {
                from_registry = true;
            }
        }
        let listed: BTreeSet<(String, String)> = super::licenses()
            .into_iter()
            .map(|(n, v, _)| (n.to_owned(), v.to_owned()))
            .collect();
        let missing: Vec<_> = locked.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&locked).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "run scripts/licenses: not listed {missing:?}, not in Cargo.lock {extra:?}"
        );
        assert!(super::licenses().iter().all(|(_, _, l)| !l.is_empty()));
    }
}
