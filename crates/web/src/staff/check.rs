//! 資格確認 in the app: 認証方法選択 (C-01-W) → the method's confirmation
//! (C-02-W) → マイナンバーカードの読み取り (C-04-02-W; the card and its PIN
//! go to the card component, the authenticator, never to these handlers) →
//! 読み取り完了 (C-04-03-W) → 資格確認結果 (C-04-01-W) → 閉じる.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_identity::CardKind;
use zaitaku_service::inquiry::app_check::{self, CheckRefusal, Method, PendingCheck};

use super::session::InApp;
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::handoff::{Returned, Shown, authorize_url, returned};

/// Where the card component sends the browser back.
const CALLBACK: &str = "/app/check/callback";

#[derive(Template)]
#[template(path = "app/home.html")]
struct HomePage {
    institution: String,
    account: String,
    memo: String,
    visual_check: bool,
    methods: Vec<(&'static str, &'static str)>,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

/// 認証方法選択: the 特定疾病 checkbox and the methods this device offers.
pub async fn home(InApp(s): InApp) -> Result<Response, WebError> {
    let visual_check = s.device.visual_check;
    let page = HomePage {
        institution: s.institution.institution.name.clone(),
        account: s.account.name.clone(),
        memo: s.device.memo.clone(),
        visual_check,
        methods: Method::ALL
            .into_iter()
            .filter(|m| m.offered(visual_check))
            .map(|m| (m.as_str(), m.label()))
            .collect(),
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Template)]
#[template(path = "app/check_confirm.html")]
struct ConfirmPage {
    method: &'static str,
    label: &'static str,
    text: &'static str,
    disease: bool,
    csrf: String,
}

#[derive(Deserialize)]
pub struct MethodQuery {
    method: Option<String>,
    disease: Option<String>,
}

/// The confirmation message of seed 001 for each method.
fn confirmation(method: Method) -> &'static str {
    match method {
        Method::Visual => {
            "実物のマイナンバーカードの券面写真により、本人であることを目視で確認してください。確認できたら、OKをクリックしてマイナンバーカードの読み取りに進みます。"
        }
        Method::Pin => {
            "患者に、実物のマイナンバーカードに搭載されている利用者証明用電子証明書の暗証番号（数字4桁）を入力していただきます。"
        }
        Method::IPhone => {
            "患者にiPhoneのマイナンバーカードの表示と、生体認証の実施をお願いしてください。"
        }
        Method::Android => {
            "患者に、Androidのスマホ用電子証明書の暗証番号（数字4桁）を入力していただきます。"
        }
    }
}

/// The method chosen: its confirmation message.
pub async fn confirm(InApp(s): InApp, Query(q): Query<MethodQuery>) -> Result<Response, WebError> {
    let Some(method) = q
        .method
        .as_deref()
        .and_then(Method::parse)
        .filter(|m| m.offered(s.device.visual_check))
    else {
        return Ok(Redirect::to("/app/home").into_response());
    };
    let page = ConfirmPage {
        method: method.as_str(),
        label: method.label(),
        text: confirmation(method),
        disease: q.disease.as_deref() == Some("1"),
        csrf: s.csrf,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Template)]
#[template(path = "app/check_refused.html")]
struct RefusedPage {
    title: &'static str,
    message: String,
    code: &'static str,
}

fn refused(why: &CheckRefusal) -> Result<Response, WebError> {
    let page = RefusedPage {
        title: why.title(),
        message: why.message(),
        code: why.code(),
    };
    Ok(form_page(page.render()?, true))
}

#[derive(Deserialize)]
pub struct BeginForm {
    csrf: Option<String>,
    method: Option<String>,
    disease: Option<String>,
}

/// OK on the confirmation: the check starts and the reader is shown.
pub async fn begin(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<BeginForm>,
) -> Result<Response, WebError> {
    if !app.csrf_ok(form.csrf.as_deref()) {
        return Ok(Redirect::to("/app/home").into_response());
    }
    let InApp(mut s) = app;
    let Some(method) = form.method.as_deref().and_then(Method::parse) else {
        return Ok(Redirect::to("/app/home").into_response());
    };
    let disease = form.disease.as_deref() == Some("1");
    match app_check::begin(
        &state.store,
        &state.identity,
        &mut s,
        method,
        disease,
        Utc::now(),
    )
    .await?
    {
        Ok(_) => Ok(Redirect::to("/app/check/read").into_response()),
        Err(why) => refused(&why),
    }
}

#[derive(Template)]
#[template(path = "app/check_read.html")]
struct ReadPage {
    instruction: &'static str,
    /// The card component's page for a signed read.
    reader_url: Option<String>,
    asks_pin: bool,
    /// 目視: the cards the virtual reader can have set on it.
    cards: Vec<(i64, String)>,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

/// マイナンバーカードの読み取り for the waiting check.
pub async fn read_page(
    State(state): State<AppState>,
    InApp(s): InApp,
) -> Result<Response, WebError> {
    let Some(pending) = PendingCheck::of(&s) else {
        return Ok(Redirect::to("/app/home").into_response());
    };
    let instruction = match pending.method {
        Method::Visual | Method::Pin => {
            "カードリーダーに実物のマイナンバーカードをセットし、読み取り開始をクリックします。"
        }
        Method::IPhone => {
            "患者のiPhone上部をカードリーダーの中央に近づけてもらい、読み取り開始をクリックします。"
        }
        Method::Android => {
            "患者のスマートフォンのNFC読み取り位置をカードリーダーの中央に近づけてもらい、読み取り開始をクリックします。"
        }
    };
    let reader_url = match (&pending.state, &pending.verifier, &pending.nonce) {
        (Some(st), Some(verifier), Some(nonce)) => Some(authorize_url(
            st,
            verifier,
            nonce,
            CALLBACK,
            false,
            &Shown {
                client_name: Some(&s.institution.institution.name),
                purpose: zaitaku_authenticator::Purpose::Check,
            },
        )),
        _ => None,
    };
    let cards = if reader_url.is_none() && state.stand_in_authenticator {
        state
            .identity
            .wallet()
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
            .into_iter()
            .filter(|c| c.kind == CardKind::Physical)
            .map(|c| {
                let label = match &c.label {
                    Some(l) => format!("{}（{}）", c.holder, l),
                    None => c.holder.clone(),
                };
                (c.id, label)
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = ReadPage {
        instruction,
        asks_pin: matches!(pending.method, Method::Pin | Method::Android),
        reader_url,
        cards,
        csrf: s.csrf,
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct ReadForm {
    csrf: Option<String>,
    card: Option<i64>,
}

/// 目視: 読み取り開始 with a card set on the virtual reader.
pub async fn read_visual(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<ReadForm>,
) -> Result<Response, WebError> {
    if !app.csrf_ok(form.csrf.as_deref()) {
        return Ok(Redirect::to("/app/home").into_response());
    }
    let InApp(mut s) = app;
    let pending = PendingCheck::of(&s);
    let certificate = match form.card {
        Some(card) if state.stand_in_authenticator => state
            .identity
            .virtual_reader(card)
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?,
        _ => None,
    };
    let kept = app_check::finish_visual(
        &state.store,
        &state.identity,
        &mut s,
        certificate.as_deref(),
        Utc::now(),
    )
    .await?;
    match kept {
        Ok(_) => Ok(Redirect::to("/app/check/done").into_response()),
        Err(why) if pending.is_some_and(|p| super::insurance::offers_registration(&p, &why)) => {
            super::insurance::choice()
        }
        Err(why) => refused(&why),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Back from the card component with the card's token.
pub async fn callback(
    State(state): State<AppState>,
    InApp(mut s): InApp,
    Query(q): Query<Callback>,
) -> Result<Response, WebError> {
    let pending = match app_check::waiting(&s, q.state.as_deref()) {
        Ok(p) => p,
        Err(why) => return refused(&why),
    };
    let verifier = pending.verifier.clone().unwrap_or_default();
    let back = returned(
        &state,
        q.error.as_deref(),
        q.code.as_deref(),
        &verifier,
        CALLBACK,
    )
    .await?;
    let Returned { token, redeem, .. } = match back {
        Ok(r) => r,
        Err(why) => return Ok(why.into_response()),
    };
    if pending.registration {
        return super::insurance::finish(&state, &mut s, &pending, &token, redeem).await;
    }
    let kept = app_check::finish_signed(
        &state.store,
        &state.identity,
        &mut s,
        &pending,
        &token,
        redeem,
        &state.origin(),
        Utc::now(),
    )
    .await?;
    match kept {
        Ok(_) => Ok(Redirect::to("/app/check/done").into_response()),
        Err(why) if super::insurance::offers_registration(&pending, &why) => {
            super::insurance::choice()
        }
        Err(why) => refused(&why),
    }
}

#[derive(Template)]
#[template(path = "app/check_done.html")]
struct DonePage;

/// 読み取り完了 → 次へ.
pub async fn done(InApp(s): InApp) -> Result<Response, WebError> {
    if s.result.is_none() {
        return Ok(Redirect::to("/app/home").into_response());
    }
    Ok(form_page(DonePage.render()?, false))
}

#[derive(Template)]
#[template(path = "app/result.html")]
pub(super) struct ResultPage {
    pub r: zaitaku_domain::check_result::CheckResult,
    pub text: String,
    pub csrf: String,
    /// From the search: 閉じる goes back to it.
    pub close_link: Option<String>,
}

/// 資格確認結果 (C-04-01-W) of the check just made.
pub async fn result(State(state): State<AppState>, InApp(s): InApp) -> Result<Response, WebError> {
    let Some(r) = app_check::on_screen(&state.store, &s).await? else {
        return Ok(Redirect::to("/app/home").into_response());
    };
    let page = ResultPage {
        text: r.as_text(),
        r,
        csrf: s.csrf,
        close_link: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: Option<String>,
}

/// 閉じる: back to 認証方法選択; the result is not shown again without the
/// card (or the result search).
pub async fn close(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<CloseForm>,
) -> Result<Response, WebError> {
    if app.csrf_ok(form.csrf.as_deref()) {
        let InApp(mut s) = app;
        app_check::close(&state.store, &mut s, Utc::now()).await?;
    }
    Ok(Redirect::to("/app/home").into_response())
}
