//! お知らせ (B-01-W): the unread notices after login (closing marks them
//! read on this device), and from the menu every notice in force.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::consent::jst;
use zaitaku_domain::person::japanese_date;
use zaitaku_service::notices;
use zaitaku_storage::StoredNotice;

use super::session::InApp;
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;

pub struct NoticeView {
    pub title: String,
    pub date: String,
    pub link: Option<String>,
    pub body: Vec<String>,
}

fn view(n: StoredNotice) -> NoticeView {
    NoticeView {
        date: japanese_date(n.published_from.with_timezone(&jst()).date_naive()),
        body: n
            .body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        title: n.title,
        link: n.link,
    }
}

#[derive(Template)]
#[template(path = "app/notices.html")]
struct NoticesPage {
    notices: Vec<NoticeView>,
    /// Right after パスコードの登録 (the end of 初期登録).
    passcode_registered: bool,
    from_menu: bool,
    csrf: String,
}

#[derive(Deserialize)]
pub struct NoticesQuery {
    all: Option<String>,
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    InApp(s): InApp,
    Query(q): Query<NoticesQuery>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let from_menu = q.all.is_some();
    let list = if from_menu {
        notices::shown(&state.store, now).await?
    } else {
        notices::unread(&state.store, &s, now).await?
    };
    let page = NoticesPage {
        notices: list.into_iter().map(view).collect(),
        passcode_registered: q.done.as_deref() == Some("passcode"),
        from_menu,
        csrf: s.csrf,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: Option<String>,
}

/// 閉じる: what was listed counts as read on this device.
pub async fn close(
    State(state): State<AppState>,
    app: InApp,
    Form(form): Form<CloseForm>,
) -> Result<Response, WebError> {
    if app.csrf_ok(form.csrf.as_deref()) {
        let InApp(s) = app;
        let now = Utc::now();
        let unread = notices::unread(&state.store, &s, now).await?;
        notices::mark_read(&state.store, &s, &unread, now).await?;
    }
    Ok(Redirect::to("/app/home").into_response())
}

/// Where a login goes: the unread notices first, if there are any.
pub async fn after_login(
    state: &AppState,
    s: &zaitaku_service::device::app::AppSession,
) -> Result<&'static str, WebError> {
    Ok(
        if notices::unread(&state.store, s, Utc::now())
            .await?
            .is_empty()
        {
            "/app/home"
        } else {
            "/app/notices"
        },
    )
}
