//! The app's two cookies and the signed-in extractor. The device token lives
//! for 400 days (the browsers' limit) and makes the browser an app device;
//! the session id lives for the browser session. Both are HttpOnly,
//! `SameSite=Lax` (the way back from the card component is a top-level
//! navigation, which may come from another site) and sent only under `/app`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use zaitaku_service::device::app::{self, AppSession, AppStart};

use crate::AppState;
use crate::common::cookies::{self, SameSite};
use crate::common::error::WebError;

const DEVICE_COOKIE: &str = "zt_app_device";
const SESSION_COOKIE: &str = "zt_app_session";
const DEVICE_MAX_AGE: i64 = 400 * 24 * 60 * 60;

pub fn device_token(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, DEVICE_COOKIE)
}

pub fn session_id(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, SESSION_COOKIE)
}

/// `Set-Cookie` for the device token, or forgetting it (`None`).
pub fn set_device(state: &AppState, token: Option<&str>) -> Result<HeaderValue, WebError> {
    let max_age = if token.is_some() { DEVICE_MAX_AGE } else { 0 };
    cookies::set(
        &state.public_url,
        DEVICE_COOKIE,
        token.unwrap_or_default(),
        "/app",
        SameSite::Lax,
        Some(max_age),
    )
}

/// `Set-Cookie` for the session id, or forgetting it (`None`).
pub fn set_session(state: &AppState, sid: Option<&str>) -> Result<HeaderValue, WebError> {
    cookies::set(
        &state.public_url,
        SESSION_COOKIE,
        sid.unwrap_or_default(),
        "/app",
        SameSite::Lax,
        sid.is_none().then_some(0),
    )
}

/// Where this browser stands.
pub async fn start(state: &AppState, headers: &HeaderMap) -> Result<AppStart, WebError> {
    Ok(app::start(
        &state.store,
        device_token(headers),
        session_id(headers),
        Utc::now(),
    )
    .await?)
}

/// A signed-in app whose passcode is set; anyone else is sent to `/app`,
/// which says what comes first (初期登録, ログイン, パスコード登録).
pub struct InApp(pub AppSession);

impl FromRequestParts<AppState> for InApp {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match start(state, &parts.headers).await {
            Ok(AppStart::SignedIn(s)) if !s.needs_passcode() => Ok(Self(*s)),
            Ok(_) => Err(Redirect::to("/app").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl InApp {
    /// Whether a form carries this session's CSRF token.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        token == Some(self.0.csrf.as_str())
    }
}
