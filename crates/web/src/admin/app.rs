//! 《マイナ資格確認アプリ管理》 → アクティベーションコード管理 (seed 002):
//! an administrator enters a 端末識別メモ and issues a code, which this page
//! shows once; the codes issued (未使用 / 使用済み / 期限切れ) and the app
//! devices activated with them, each with 登録解除.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use zaitaku_domain::staff_app::CodeState;
use zaitaku_service::device::{self as devices, activation};
use zaitaku_service::staff::Realm;
use zaitaku_storage::DeviceKind;

use super::devices::{DeviceLine, line};
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{Staff, gate};

pub struct CodeLine {
    pub memo: String,
    pub issued: String,
    pub usable_from: String,
    pub expires_at: String,
    pub state: &'static str,
    /// 使用済み: the time it was used.
    pub used_at: Option<String>,
}

/// The code just issued, shown this once.
pub struct Shown {
    pub code: String,
    pub memo: String,
    pub usable_from: String,
    pub expires_at: String,
    /// It opens only after a waiting time.
    pub waits: bool,
}

#[derive(Template)]
#[template(path = "admin/app.html")]
struct AppPage<'a> {
    nav: Nav<'a>,
    issued: Option<Shown>,
    codes: Vec<CodeLine>,
    devices: Vec<DeviceLine>,
    memo: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

async fn render(
    state: &AppState,
    staff: &Staff<gate::ManageDevices>,
    issued: Option<Shown>,
    memo: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
    now: DateTime<Utc>,
) -> Result<Response, WebError> {
    let codes = activation::codes(&state.store, staff, now)
        .await?
        .into_iter()
        .map(|(c, s)| CodeLine {
            memo: c.memo,
            issued: format!(
                "{}（{}）",
                jst_minute(c.issued_at),
                c.issued_by.as_deref().unwrap_or("—")
            ),
            usable_from: jst_minute(c.usable_from),
            expires_at: jst_minute(c.expires_at),
            state: s.label(),
            used_at: (s == CodeState::Used)
                .then_some(c.used_at)
                .flatten()
                .map(jst_minute),
        })
        .collect();
    let devices = devices::list(&state.store, staff)
        .await?
        .iter()
        .filter(|d| d.kind == DeviceKind::App)
        .map(|d| line(d, None))
        .collect();
    let page = AppPage {
        nav: Nav::new(staff, Realm::Institution, "/admin/app"),
        issued,
        codes,
        devices,
        memo,
        notice,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let notice = (q.done.as_deref() == Some("revoked")).then_some("端末の登録を解除しました。");
    render(
        &state,
        &staff,
        None,
        String::new(),
        notice,
        None,
        Utc::now(),
    )
    .await
}

#[derive(Deserialize)]
pub struct IssueForm {
    csrf: Option<String>,
    #[serde(default)]
    memo: String,
}

/// 《発行》: the page is answered directly (not redirected), so the code is
/// in this one response and nowhere else (`no-store`).
pub async fn issue(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Form(form): Form<IssueForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let now = Utc::now();
    match activation::issue_code(&state.store, &staff, &form.memo, state.code_terms, now).await? {
        Ok(issued) => {
            let shown = Shown {
                code: issued.code.as_str().to_owned(),
                memo: issued.stored.memo,
                usable_from: jst_minute(issued.stored.usable_from),
                expires_at: jst_minute(issued.stored.expires_at),
                waits: issued.stored.usable_from > now,
            };
            render(&state, &staff, Some(shown), String::new(), None, None, now).await
        }
        Err(e) => {
            let error = Some((e.to_string(), e.code()));
            render(&state, &staff, None, form.memo, None, error, now).await
        }
    }
}
