//! 本人確認のテスト: a small relying party of the authenticator, so that the
//! demo cards can be tried end to end (nonce → authenticator → back channel →
//! verification → person). The consent flows of the web service use the same
//! steps.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::person::{japanese_date, wareki};
use zaitaku_identity::CertificateStatus;
use zaitaku_service::identity_check::{self, CheckRefusal, Checked, Lost, Pending};

use crate::AppState;
use crate::error::{WebError, error_page};
use crate::handoff::{Returned, Shown, authorize_url, returned};
use crate::patient::cookie;

const COOKIE: &str = "zt_sid";
const CALLBACK: &str = "/demo/identity/callback";

#[derive(Template)]
#[template(path = "identity_start.html")]
struct StartPage;

pub async fn start_page() -> Result<Html<String>, WebError> {
    Ok(Html(StartPage.render()?))
}

fn session_cookie(state: &AppState, sid: &str) -> Result<HeaderValue, WebError> {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1800{secure}"
    ))
    .map_err(|e| WebError::Internal(e.to_string()))
}

/// Opens a session and hands the browser to the authenticator.
pub async fn begin(State(state): State<AppState>) -> Result<Response, WebError> {
    let pending = identity_check::open(&state.store, &state.identity, Utc::now()).await?;
    let Pending {
        sid,
        state: oauth_state,
        verifier,
        nonce,
    } = &pending;
    let url = authorize_url(
        oauth_state,
        verifier,
        nonce,
        CALLBACK,
        false,
        &Shown {
            client_name: None,
            purpose: zaitaku_authenticator::Purpose::Identity,
        },
    );
    let mut res = Redirect::to(&url).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, sid)?);
    Ok(res)
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "identity_result.html")]
struct ResultPage<'a> {
    name: &'a str,
    name_kana: &'a str,
    birth: String,
    card_kind: &'a str,
    not_after: String,
    warning: Option<&'a str>,
    medical_allowed: bool,
    cross_device: bool,
}

fn refused(title: &str, message: &str, code: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, title, message, code)
}

/// Back from the authenticator: checks `state`, fetches the token over the
/// back channel, verifies it, and shows who signed in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let Some(sid) = cookie(&headers, COOKIE) else {
        return Ok(refused(
            "セッションの有効期限が切れました",
            "最初からやり直してください。",
            "Z-W-0440",
        ));
    };
    let pending = match identity_check::take(&state.store, sid, q.state.as_deref(), now).await? {
        Ok(p) => p,
        Err(Lost::Expired) => {
            return Ok(refused(
                "セッションの有効期限が切れました",
                "最初からやり直してください。",
                "Z-W-0440",
            ));
        }
        Err(Lost::OtherState) => {
            return Ok(refused(
                "認証できませんでした",
                "画面の操作が正しくありません。最初からやり直してください。",
                "Z-W-0441",
            ));
        }
    };
    let (token, cross_device, redeem) = match returned(
        &state,
        q.error.as_deref(),
        q.code.as_deref(),
        &pending.verifier,
        CALLBACK,
    )
    .await?
    {
        Returned::Token {
            token,
            cross_device,
            redeem,
        } => (token, cross_device, redeem),
        Returned::Refused {
            title,
            message,
            code,
        } => return Ok(refused(title, message, code)),
    };
    let checked = identity_check::finish(
        &state.store,
        &state.identity,
        &pending,
        &token,
        redeem,
        &state.origin(),
        now,
    )
    .await?;
    let Checked {
        who,
        eligibility: e,
    } = match checked {
        Ok(c) => c,
        Err(CheckRefusal::CodeSpent) => {
            return Ok(refused(
                "認証できませんでした",
                "最初からやり直してください。",
                "Z-W-0441",
            ));
        }
        Err(CheckRefusal::Login(e)) => return Ok(refused(e.title(), &e.to_string(), e.code())),
        Err(CheckRefusal::UnknownPerson) => {
            return Ok(refused(
                "認証できませんでした",
                "登録されていないカードです。",
                "Z-C-0105",
            ));
        }
    };
    let card = state
        .identity
        .card_status(who.card_id)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let warning = who.status.warning_ja();
    let page = ResultPage {
        name: &e.person.name,
        name_kana: &e.person.name_kana,
        birth: wareki(e.person.birth_date),
        card_kind: card.kind_label,
        not_after: japanese_date(
            card.not_after
                .with_timezone(&zaitaku_domain::consent::jst())
                .date_naive(),
        ),
        warning,
        medical_allowed: !matches!(who.status, CertificateStatus::Grace { .. }),
        cross_device,
    };
    Ok(Html(page.render()?).into_response())
}
