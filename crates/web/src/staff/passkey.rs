//! 生体認証 (passkeys) for the app: enrolment in セキュリティ設定 and login
//! instead of the passcode. JSON endpoints for `static/staff_app_passkey.js`,
//! which runs the browser's WebAuthn ceremony; they answer only a request
//! carrying `X-Requested-With: zaitaku`, which another site cannot send
//! without the browser asking this server first (CORS), so no form of
//! another site can start one.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};
use zaitaku_service::device::app::AppStart;
use zaitaku_service::device::passkey::{self, PasskeyRefusal};

use super::session::{self, InApp, set_session};
use crate::AppState;
use crate::common::error::WebError;

fn same_app(headers: &HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .is_some_and(|v| v.as_bytes() == b"zaitaku")
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({"code": "Z-P-0034", "message": "操作を受け付けられませんでした。"})),
    )
        .into_response()
}

/// The signed-in app behind a JSON request: the app's header and this
/// session's CSRF token (`X-CSRF-Token`); otherwise the refusal.
fn signed_in(
    headers: &HeaderMap,
    app: InApp,
) -> Result<zaitaku_service::device::app::AppSession, Box<Response>> {
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if !same_app(headers) || !app.csrf_ok(csrf) {
        return Err(Box::new(forbidden()));
    }
    Ok(app.0)
}

fn refused(why: PasskeyRefusal) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"code": why.code(), "message": why.message()})),
    )
        .into_response()
}

/// The options to create a passkey (セキュリティ設定 open, this session's
/// CSRF token in `X-CSRF-Token`).
pub async fn enrol_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    app: InApp,
) -> Result<Response, WebError> {
    let mut s = match signed_in(&headers, app) {
        Ok(s) => s,
        Err(refused) => return Ok(*refused),
    };
    let now = Utc::now();
    if !s.security_open(now) {
        return Ok(forbidden());
    }
    let options = passkey::enrol_start(&state.store, &state.passkeys, &mut s, now).await?;
    Ok(Json(options).into_response())
}

pub async fn enrol_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    app: InApp,
    Json(answer): Json<RegisterPublicKeyCredential>,
) -> Result<Response, WebError> {
    let mut s = match signed_in(&headers, app) {
        Ok(s) => s,
        Err(refused) => return Ok(*refused),
    };
    let now = Utc::now();
    if !s.security_open(now) {
        return Ok(forbidden());
    }
    match passkey::enrol_finish(&state.store, &state.passkeys, &mut s, &answer, now).await? {
        Ok(()) => Ok(Json(json!({"next": "/app/security?done=passkey"})).into_response()),
        Err(why) => Ok(refused(why)),
    }
}

/// The options to log in with the device's passkey (the login screen).
pub async fn login_start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if !same_app(&headers) {
        return Ok(forbidden());
    }
    let AppStart::Passcode { device } = session::start(&state, &headers).await? else {
        return Ok(refused(PasskeyRefusal::NotEnrolled));
    };
    match passkey::login_start(&state.store, &state.passkeys, &device, Utc::now()).await? {
        Ok(options) => Ok(Json(options).into_response()),
        Err(why) => Ok(refused(why)),
    }
}

pub async fn login_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(answer): Json<PublicKeyCredential>,
) -> Result<Response, WebError> {
    if !same_app(&headers) {
        return Ok(forbidden());
    }
    let AppStart::Passcode { device } = session::start(&state, &headers).await? else {
        return Ok(refused(PasskeyRefusal::NotEnrolled));
    };
    let now = Utc::now();
    match passkey::login_finish(&state.store, &state.passkeys, &device, &answer, now).await? {
        Ok(s) => {
            let next = super::notices::after_login(&state, &s).await?;
            let mut res = Json(json!({"next": next})).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_session(&state, Some(&s.sid))?);
            Ok(res)
        }
        Err(why) => Ok(refused(why)),
    }
}

/// The options to open セキュリティ設定 with the device's passkey.
pub async fn unlock_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    app: InApp,
) -> Result<Response, WebError> {
    let s = match signed_in(&headers, app) {
        Ok(s) => s,
        Err(refused) => return Ok(*refused),
    };
    match passkey::login_start(&state.store, &state.passkeys, &s.device, Utc::now()).await? {
        Ok(options) => Ok(Json(options).into_response()),
        Err(why) => Ok(refused(why)),
    }
}

pub async fn unlock_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    app: InApp,
    Json(answer): Json<PublicKeyCredential>,
) -> Result<Response, WebError> {
    let mut s = match signed_in(&headers, app) {
        Ok(s) => s,
        Err(refused) => return Ok(*refused),
    };
    match passkey::unlock_finish(&state.store, &state.passkeys, &mut s, &answer, Utc::now()).await?
    {
        Ok(()) => Ok(Json(json!({"next": "/app/security"})).into_response()),
        Err(why) => Ok(refused(why)),
    }
}
