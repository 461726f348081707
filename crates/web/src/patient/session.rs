//! The visit's cookie: the browser holds only the id of the visit that
//! `zaitaku_service::visit` keeps server-side.

use axum::http::{HeaderMap, HeaderValue};
use chrono::Utc;
use zaitaku_service::visit::{IDLE_MINUTES, Visit};

use crate::AppState;
use crate::common::cookies::{self, SameSite};
use crate::common::error::WebError;

pub const COOKIE: &str = "zt_flow";

/// The visit behind the request's cookie, if it is alive and belongs to this
/// institution.
pub async fn load_visit(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
) -> Result<Option<Visit>, WebError> {
    let Some(sid) = cookies::read(headers, COOKIE) else {
        return Ok(None);
    };
    Ok(Visit::load(&state.store, sid, institution_id, Utc::now()).await?)
}

pub fn cookie_header(visit: &Visit, state: &AppState) -> Result<HeaderValue, WebError> {
    cookies::set(
        &state.public_url,
        COOKIE,
        &visit.sid,
        "/w/",
        SameSite::Lax,
        Some(IDLE_MINUTES * 60),
    )
}
