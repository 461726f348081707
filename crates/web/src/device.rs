//! Whether this browser is one of an institution's own devices (医療機関等の
//! 端末): the cookie an administrator's registration leaves, and the one
//! read that checks it.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use zaitaku_storage::DeviceSighting;

use crate::AppState;
use crate::error::WebError;
use crate::flow::cookie;

/// Sent to every path: the web service (`/w/`) reads it, the
/// administration (`/admin`) sets and shows it.
pub const COOKIE: &str = "zt_device";

/// Browsers keep a cookie for at most 400 days; opening the device list from
/// a registered browser starts the 400 days again.
const MAX_AGE_SECONDS: i64 = 400 * 24 * 60 * 60;

/// `last_seen_at` is written at most this often per device, so a busy
/// device costs one write per interval, not one per registration.
const SEEN_INTERVAL_MINUTES: i64 = 10;

/// The device this browser's cookie names, if it has one: one read by the
/// token's unique index, none without the cookie.
pub async fn sighting(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<DeviceSighting>, WebError> {
    match cookie(headers, COOKIE) {
        Some(token) if !token.is_empty() => Ok(state.store.device_by_token(token).await?),
        _ => Ok(None),
    }
}

/// Whether the visit runs on a registered, unrevoked device of this
/// institution; notes the use on the device when it is one.
pub async fn is_institution_device(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, WebError> {
    let Some(device) = sighting(state, headers).await? else {
        return Ok(false);
    };
    let ours = device.active && device.institution_id == institution_id;
    if ours
        && device
            .last_seen_at
            .is_none_or(|t| now - t >= Duration::minutes(SEEN_INTERVAL_MINUTES))
    {
        state.store.touch_device(device.id, now).await?;
    }
    Ok(ours)
}

/// The `Set-Cookie` that makes this browser a device (`token`), or that
/// forgets it (`None`).
pub fn set_cookie(state: &AppState, token: Option<&str>) -> Result<HeaderValue, WebError> {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // Lax, not Strict: the web service's callback arrives as a top-level
    // navigation from the authenticator, which may be another site.
    let value = match token {
        Some(t) => {
            format!(
                "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={MAX_AGE_SECONDS}{secure}"
            )
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).map_err(|e| WebError::Internal(e.to_string()))
}
