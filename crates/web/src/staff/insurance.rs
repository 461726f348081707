//! 実物のマイナンバーカードを健康保険証として利用する (seed 001 §12): a
//! physical card found unregistered at the read offers
//! 「健康保険証利用登録する」 (R-01-W) → 利用規約 (R-02-W) → 「同意する」 → the
//! card read with its PIN → 完了 (R-03-W) → 「資格確認する」. The
//! registration comes into force after a short delay; a check before then
//! says it is being processed.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::consent::jst_minute;
use zaitaku_service::inquiry::app_check::{self, CheckRefusal, PendingCheck, Registered};
use zaitaku_storage::Write;

use super::session::InApp;
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;

#[derive(Template)]
#[template(path = "app/insurance_choice.html")]
struct ChoicePage;

/// R-01-W, in place of the refusal of an unregistered physical card.
pub fn choice() -> Result<Response, WebError> {
    Ok(form_page(ChoicePage.render()?, true))
}

#[derive(Template)]
#[template(path = "app/insurance_terms.html")]
struct TermsPage {
    csrf: String,
}

/// R-02-W 利用規約.
pub async fn terms(InApp(s): InApp) -> Result<Response, WebError> {
    Ok(form_page(TermsPage { csrf: s.csrf }.render()?, false))
}

#[derive(Deserialize)]
pub struct AgreeForm {
    csrf: Option<String>,
}

/// 「同意する」: the card is read with its PIN next.
pub async fn agree(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<AgreeForm>,
) -> Result<Response, WebError> {
    if !app.csrf_ok(form.csrf.as_deref()) {
        return Ok(Redirect::to("/app/home").into_response());
    }
    let InApp(mut s) = app;
    app_check::begin_registration(&state.store, &state.identity, &mut s, Utc::now()).await?;
    Ok(Redirect::to("/app/check/read").into_response())
}

#[derive(Template)]
#[template(path = "app/insurance_done.html")]
struct DonePage {
    title: &'static str,
    paragraphs: Vec<String>,
    code: Option<&'static str>,
    failed: bool,
    next: &'static str,
}

/// The registration's card is back (from the check's way back).
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    state: &AppState,
    s: &mut zaitaku_service::device::app::AppSession,
    pending: &PendingCheck,
    token: &str,
    redeem: Write,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let done = app_check::finish_registration(
        &state.store,
        &state.identity,
        s,
        pending,
        token,
        redeem,
        &state.origin(),
        state.registration_delay,
        now,
    )
    .await?;
    let page = match done {
        Ok(Registered::Requested { effective_at }) => DonePage {
            title: "保険証利用登録が完了しました",
            paragraphs: vec![
                "マイナンバーカードの健康保険証利用登録を受け付けました。".into(),
                format!(
                    "登録の処理が終わる{}以降に、「資格確認する」から再度資格確認を行ってください。",
                    jst_minute(effective_at)
                ),
            ],
            code: None,
            failed: false,
            next: "資格確認する",
        },
        Ok(Registered::Already) => DonePage {
            title: "保険証利用登録が完了しました",
            paragraphs: vec!["このマイナンバーカードは健康保険証として登録されています。".into()],
            code: None,
            failed: false,
            next: "資格確認する",
        },
        Err(why) => DonePage {
            title: "健康保険証利用登録に失敗しました",
            paragraphs: vec![
                why.message(),
                "同じマイナンバーカードを使用して、再度健康保険証利用登録を行ってください。".into(),
            ],
            code: Some(why.code()),
            failed: true,
            next: "閉じる",
        },
    };
    let failed = page.failed;
    Ok(form_page(page.render()?, failed))
}

/// Whether a refused read is the seed's case for registration: a physical
/// card of a holder not registered for insurance use.
pub fn offers_registration(pending: &PendingCheck, why: &CheckRefusal) -> bool {
    matches!(
        why,
        CheckRefusal::Card(zaitaku_identity::LoginError::NotRegistered)
    ) && pending.method.card_kind() == zaitaku_identity::CardKind::Physical
        && !pending.registration
}
