//! お知らせ管理: the operator posts the notices the staff app shows, with
//! the days they are shown, and sees each one's state.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use zaitaku_domain::consent::jst;
use zaitaku_domain::notice::NoticeDraft;
use zaitaku_domain::person::japanese_date;
use zaitaku_service::notices;
use zaitaku_service::staff::Realm;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::nav::Nav;
use crate::common::staff::{Staff, gate};

pub struct NoticeLine {
    pub title: String,
    pub period: String,
    pub state: &'static str,
}

#[derive(Deserialize, Default)]
pub struct NoticeForm {
    csrf: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

#[derive(Template)]
#[template(path = "operator/notices.html")]
struct NoticesPage<'a> {
    nav: Nav<'a>,
    form: NoticeForm,
    notices: Vec<NoticeLine>,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

async fn render(
    state: &AppState,
    staff: &Staff<gate::PostNotices>,
    form: NoticeForm,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let day = |t: chrono::DateTime<Utc>| japanese_date(t.with_timezone(&jst()).date_naive());
    let lines = notices::list(&state.store, now)
        .await?
        .into_iter()
        .map(|(n, s)| NoticeLine {
            period: format!(
                "{} 〜 {}",
                day(n.published_from),
                n.published_until
                    .map(|u| day(u - Duration::days(1)))
                    .unwrap_or_default()
            ),
            title: n.title,
            state: s.label(),
        })
        .collect();
    let page = NoticesPage {
        nav: Nav::new(staff, Realm::Operator, "/operator/notices"),
        form,
        notices: lines,
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
    staff: Staff<gate::PostNotices>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let form = NoticeForm {
        from: crate::today().to_string(),
        ..NoticeForm::default()
    };
    let done = (q.done.as_deref() == Some("posted")).then_some("お知らせを掲載しました。");
    render(&state, &staff, form, done, None).await
}

pub async fn post(
    State(state): State<AppState>,
    staff: Staff<gate::PostNotices>,
    Form(form): Form<NoticeForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match NoticeDraft::parse(&form.title, &form.body, &form.link, &form.from, &form.until) {
        Ok(draft) => {
            notices::post(&state.store, &staff, &draft, Utc::now()).await?;
            Ok(Redirect::to("/operator/notices?done=posted").into_response())
        }
        Err(e) => {
            let error = Some((e.to_string(), e.code()));
            render(&state, &staff, form, None, error).await
        }
    }
}
