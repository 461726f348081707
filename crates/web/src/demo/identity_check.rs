//! 本人確認のテスト: a small relying party of the authenticator, so that the
//! demo cards can be tried end to end (nonce → authenticator → back channel →
//! verification → person). The consent flows of the web service use the same
//! steps.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::person::{japanese_date, wareki};
use zaitaku_identity::{CertificateStatus, LoginError};
use zaitaku_service::identity_check::{self, CheckRefusal, Checked, Lost, Pending};

use crate::AppState;
use crate::common::cookies::{self, SameSite};
use crate::common::error::WebError;
use crate::common::handoff::{Returned, Shown, authorize_url, returned};
use crate::common::refusal::Refusal;

const COOKIE: &str = "zt_sid";
const CALLBACK: &str = "/demo/identity/callback";

#[derive(Template)]
#[template(path = "identity_start.html")]
struct StartPage;

pub async fn start_page() -> Result<Html<String>, WebError> {
    Ok(Html(StartPage.render()?))
}

fn session_cookie(state: &AppState, sid: &str) -> Result<HeaderValue, WebError> {
    cookies::set(
        &state.public_url,
        COOKIE,
        sid,
        "/",
        SameSite::Lax,
        Some(1800),
    )
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

/// Back from the authenticator: checks `state`, fetches the token over the
/// back channel, verifies it, and shows who signed in.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let Some(sid) = cookies::read(&headers, COOKIE) else {
        return Ok(Refusal::SessionExpired.into_response());
    };
    let pending = match identity_check::take(&state.store, sid, q.state.as_deref(), now).await? {
        Ok(p) => p,
        Err(Lost::Expired) => {
            return Ok(Refusal::SessionExpired.into_response());
        }
        Err(Lost::OtherState) => {
            return Ok(Refusal::OtherState.into_response());
        }
    };
    let back = returned(
        &state,
        q.error.as_deref(),
        q.code.as_deref(),
        &pending.verifier,
        CALLBACK,
    );
    let Returned {
        token,
        cross_device,
        redeem,
    } = match back.await? {
        Ok(r) => r,
        Err(why) => return Ok(why.into_response()),
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
            return Ok(Refusal::NoCode.into_response());
        }
        Err(CheckRefusal::Login(e)) => return Ok(Refusal::Login(e).into_response()),
        Err(CheckRefusal::UnknownPerson) => {
            return Ok(Refusal::Login(LoginError::UnknownCard).into_response());
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
