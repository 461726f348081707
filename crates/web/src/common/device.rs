//! What the server knows of the browser: the kind of device it runs on
//! (its display form), and the cookie that makes it one of an institution's
//! own devices (医療機関等の端末), set by an administrator's registration and
//! read by the web service. What a device is and when its use is noted is
//! `zaitaku_service::device`.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use zaitaku_domain::display_form::DisplayForm;

use super::cookies::{self, SameSite};
use super::error::WebError;
use super::state::AppState;

/// Phone, tablet or PC, and whether it can have an IC card reader, by the
/// browser's `User-Agent`.
pub fn display_form(headers: &HeaderMap) -> DisplayForm {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    DisplayForm::of_user_agent(ua)
}

/// Sent to every path: the web service (`/w/`) reads it, the
/// administration (`/admin`) sets and shows it.
pub const COOKIE: &str = "zt_device";

/// Browsers keep a cookie for at most 400 days; opening the device list from
/// a registered browser starts the 400 days again.
const MAX_AGE_SECONDS: i64 = 400 * 24 * 60 * 60;

/// The device token this browser keeps, if any.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    cookies::read(headers, COOKIE)
}

/// Whether the visit runs on a registered, unrevoked device of this
/// institution; notes the use on the device when it is one.
pub async fn is_institution_device(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, WebError> {
    Ok(zaitaku_service::device::seen_at(&state.store, token(headers), institution_id, now).await?)
}

/// The `Set-Cookie` that makes this browser a device (`token`), or that
/// forgets it (`None`).
pub fn set_cookie(state: &AppState, token: Option<&str>) -> Result<HeaderValue, WebError> {
    let max_age = if token.is_some() { MAX_AGE_SECONDS } else { 0 };
    cookies::set(
        &state.public_url,
        COOKIE,
        token.unwrap_or_default(),
        "/",
        SameSite::Lax,
        Some(max_age),
    )
}
