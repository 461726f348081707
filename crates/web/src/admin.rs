//! The institution administrator's entry: login with the lockout rule, the
//! 医療機関等別URL with its QR code, logout. (Accounts, roles, settings and the
//! patient list are the administration issue's; this is the door.)

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use serde_json::json;
use zaitaku_identity::random_bytes;
use zaitaku_storage::AuditEvent;

use crate::AppState;
use crate::error::WebError;
use crate::flow::cookie;

const COOKIE: &str = "zt_admin";
/// An administrator's session ends after this long without a request.
const IDLE_MINUTES: i64 = 30;
/// Same words for an unknown ID and a wrong password: nothing is revealed.
const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";

/// Argon2id PHC string for a password (already checked against the rules).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    code: &'a str,
    user_id: &'a str,
}

pub async fn login_page() -> Result<Html<String>, WebError> {
    Ok(Html(
        LoginPage {
            error: None,
            code: "",
            user_id: "",
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    institution_code: String,
    user_id: String,
    password: String,
}

fn login_again(form: &LoginForm, message: &str) -> Result<Response, WebError> {
    let page = LoginPage {
        error: Some(message),
        code: &form.institution_code,
        user_id: &form.user_id,
    };
    Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
}

pub async fn login(
    State(state): State<AppState>,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let account = state
        .store
        .account_for_login(form.institution_code.trim(), form.user_id.trim())
        .await?;
    let audit = |outcome: &'static str, institution: Option<i64>| AuditEvent {
        actor: "staff",
        action: "account.login",
        outcome,
        institution_id: institution,
        person_id: None,
        detail: json!({"user_id": form.user_id.trim(), "institution_code": form.institution_code.trim()}),
    };
    let Some(account) = account else {
        state.store.audit(&audit("unknown_user", None), now).await?;
        return login_again(&form, LOGIN_FAILED);
    };
    if account.locked_until.is_some_and(|t| t > now) {
        state
            .store
            .audit(&audit("locked", Some(account.institution_id)), now)
            .await?;
        return login_again(
            &form,
            "パスワードを5回続けて間違えたため、このアカウントは30分間ロックされています。時間をおいてお試しいただくか、管理者に解除を依頼してください。",
        );
    }
    if account.disabled || !password_matches(&form.password, &account.password_hash) {
        let (count, locked) = state.store.record_login_failure(account.id, now).await?;
        let outcome = if locked.is_some_and(|t| t > now) {
            "locked_now"
        } else {
            "wrong_password"
        };
        state
            .store
            .audit(&audit(outcome, Some(account.institution_id)), now)
            .await?;
        tracing::info!(failures = count, "administrator login refused");
        return login_again(&form, LOGIN_FAILED);
    }
    state.store.reset_login_failures(account.id).await?;
    state
        .store
        .audit(&audit("ok", Some(account.institution_id)), now)
        .await?;
    let mut sid = [0u8; 32];
    random_bytes(&mut sid).map_err(|e| WebError::Internal(e.to_string()))?;
    let sid = zaitaku_authenticator::b64url(&sid);
    let mut csrf = [0u8; 32];
    random_bytes(&mut csrf).map_err(|e| WebError::Internal(e.to_string()))?;
    state
        .store
        .put_session(
            &sid,
            &json!({"account": account.id, "institution": account.institution_id, "csrf": zaitaku_authenticator::b64url(&csrf)}),
            now,
            now + Duration::minutes(IDLE_MINUTES),
        )
        .await?;
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let mut res = Redirect::to("/admin").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{COOKIE}={sid}; Path=/admin; HttpOnly; SameSite=Strict{secure}"
        ))
        .map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(res)
}

struct Signed {
    sid: String,
    account: i64,
    institution: i64,
    csrf: String,
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<Signed>, WebError> {
    let Some(sid) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let now = Utc::now();
    let Some(data) = state.store.session(sid, now).await? else {
        return Ok(None);
    };
    let (Some(account), Some(institution), Some(csrf)) = (
        data.get("account").and_then(serde_json::Value::as_i64),
        data.get("institution").and_then(serde_json::Value::as_i64),
        data.get("csrf").and_then(serde_json::Value::as_str),
    ) else {
        return Ok(None);
    };
    // Sliding expiry: each request keeps the session alive for another 30 minutes.
    state
        .store
        .put_session(sid, &data, now, now + Duration::minutes(IDLE_MINUTES))
        .await?;
    Ok(Some(Signed {
        sid: sid.to_owned(),
        account,
        institution,
        csrf: csrf.to_owned(),
    }))
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage<'a> {
    institution_name: &'a str,
    institution_code: &'a str,
    staff_name: &'a str,
    role: &'a str,
    url: String,
    qr_svg: String,
    function_enabled: bool,
    csrf: &'a str,
}

/// 医療機関等別URL: the institution's own URL and its QR code.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some(s) = signed_in(&state, &headers).await? else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    let (Some(account), Some(inst)) = (
        state.store.account(s.account).await?,
        state
            .store
            .list_institutions()
            .await?
            .into_iter()
            .find(|i| i.id == s.institution),
    ) else {
        return Ok(Redirect::to("/admin/login").into_response());
    };
    let url = state.institution_url(&inst.url_token);
    let qr_svg = QrCode::new(url.as_bytes())
        .map(|c| c.render::<svg::Color>().min_dimensions(200, 200).build())
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let page = HomePage {
        institution_name: &inst.institution.name,
        institution_code: inst.institution.code.as_str(),
        staff_name: &account.name,
        role: account.role.label(),
        url,
        qr_svg,
        function_enabled: inst.institution.remote_function_enabled,
        csrf: &s.csrf,
    };
    let mut res = Html(page.render()?).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    if let Some(s) = signed_in(&state, &headers).await?
        && form.csrf.as_deref() == Some(s.csrf.as_str())
    {
        state.store.delete_session(&s.sid).await?;
        state
            .store
            .audit(
                &AuditEvent {
                    actor: "staff",
                    action: "account.logout",
                    outcome: "ok",
                    institution_id: Some(s.institution),
                    person_id: None,
                    detail: json!({"account": s.account}),
                },
                Utc::now(),
            )
            .await?;
    }
    let mut res = Redirect::to("/admin/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("zt_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(res)
}
