//! The cookie that makes a browser one of an institution's own devices
//! (医療機関等の端末): set by an administrator's registration, read by the
//! web service. What a device is and when its use is noted is
//! `zaitaku_service::device`.

use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};

use crate::AppState;
use crate::error::WebError;
use crate::patient::cookie;

/// Sent to every path: the web service (`/w/`) reads it, the
/// administration (`/admin`) sets and shows it.
pub const COOKIE: &str = "zt_device";

/// Browsers keep a cookie for at most 400 days; opening the device list from
/// a registered browser starts the 400 days again.
const MAX_AGE_SECONDS: i64 = 400 * 24 * 60 * 60;

/// The device token this browser keeps, if any.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, COOKIE)
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
