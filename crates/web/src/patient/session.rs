//! The visit's cookie: the browser holds only the id of the visit that
//! `zaitaku_service::visit` keeps server-side.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::Utc;
use zaitaku_service::visit::{IDLE_MINUTES, Visit};

use crate::AppState;
use crate::error::WebError;

pub const COOKIE: &str = "zt_flow";

pub fn random_token() -> Result<String, WebError> {
    Ok(zaitaku_service::random_token()?)
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The visit behind the request's cookie, if it is alive and belongs to this
/// institution.
pub async fn load_visit(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
) -> Result<Option<Visit>, WebError> {
    let Some(sid) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    Ok(Visit::load(&state.store, sid, institution_id, Utc::now()).await?)
}

pub fn cookie_header(visit: &Visit, state: &AppState) -> Result<HeaderValue, WebError> {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/w/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        visit.sid,
        IDLE_MINUTES * 60
    ))
    .map_err(|e| WebError::Internal(e.to_string()))
}
