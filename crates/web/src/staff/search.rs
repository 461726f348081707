//! 資格確認結果検索 (D-10-W), opened from セキュリティ設定: the kept results
//! of this device (or of every device of the institution) in a period,
//! newest first, ten a page, and one of them as it was shown.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::consent::jst;
use zaitaku_domain::person::japanese_date;
use zaitaku_domain::staff_app::SearchPeriod;
use zaitaku_service::inquiry::app_check::{self, SearchAt, SearchQuery};

use super::check::ResultPage;
use super::session::InApp;
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::handoff::urlencode;
use crate::today;

pub struct Line {
    pub id: i64,
    pub at: String,
    pub name: String,
    pub valid: bool,
}

#[derive(Template)]
#[template(path = "app/search.html")]
struct SearchPage {
    lines: Vec<Line>,
    total: i64,
    page: i64,
    pages: i64,
    from: String,
    to: String,
    earliest: String,
    earliest_iso: String,
    today_iso: String,
    period_label: String,
    this_device_only: bool,
    settings_open: bool,
    /// The search's own query, without the position (for the pager).
    base_query: String,
    /// With this page's position (for a row's way back).
    query: String,
    /// `AT.ID` of the page's newest and oldest results (the pager's ‹ and ›).
    newest: String,
    oldest: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

#[derive(Deserialize, Default)]
pub struct SearchForm {
    /// The 詳細設定 form was sent (an unchecked box then means every device).
    set: Option<String>,
    this: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `AT.ID` of the result the page follows or precedes, and its number.
    after: Option<String>,
    before: Option<String>,
    page: Option<i64>,
    last: Option<String>,
}

fn cursor(s: Option<&str>) -> Option<(i64, i64)> {
    let (at, id) = s?.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok()?))
}

impl SearchForm {
    fn this_device_only(&self) -> bool {
        self.set.is_none() || self.this.as_deref() == Some("1")
    }

    fn at(&self) -> SearchAt {
        let page = self.page.unwrap_or(1);
        if self.last.is_some() {
            SearchAt::Last
        } else if let Some((at, id)) = cursor(self.after.as_deref()) {
            SearchAt::Next { at, id, page }
        } else if let Some((at, id)) = cursor(self.before.as_deref()) {
            SearchAt::Previous { at, id, page }
        } else {
            SearchAt::First
        }
    }

    /// The position of this page, for a row's way back to it.
    fn position(&self) -> String {
        let page = self.page.unwrap_or(1);
        match (&self.after, &self.before, &self.last) {
            (_, _, Some(_)) => "last=1".to_owned(),
            (Some(a), _, _) => format!("after={}&page={page}", urlencode(a)),
            (_, Some(b), _) => format!("before={}&page={page}", urlencode(b)),
            _ => "page=1".to_owned(),
        }
    }

    fn query(&self) -> String {
        let mut q = String::new();
        if self.set.is_some() {
            q.push_str("set=1&");
        }
        if self.this_device_only() {
            q.push_str("this=1&");
        }
        q.push_str(&format!(
            "from={}&to={}",
            urlencode(self.from.as_deref().unwrap_or_default()),
            urlencode(self.to.as_deref().unwrap_or_default())
        ));
        q
    }
}

/// セキュリティ設定 must be open (the passcode given again).
fn locked() -> Response {
    Redirect::to("/app/security").into_response()
}

pub async fn page(
    State(state): State<AppState>,
    InApp(s): InApp,
    Query(form): Query<SearchForm>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    if !s.security_open(now) {
        return Ok(locked());
    }
    let today = today();
    let typed = SearchPeriod::chosen(
        form.from.as_deref().unwrap_or_default(),
        form.to.as_deref().unwrap_or_default(),
        today,
    );
    let (period, error) = match typed {
        Ok(p) => (p, None),
        Err(e) => (
            SearchPeriod::default_on(today),
            Some((e.to_string(), e.code())),
        ),
    };
    let q = SearchQuery {
        period,
        this_device_only: form.this_device_only(),
        at: if error.is_some() {
            SearchAt::First
        } else {
            form.at()
        },
    };
    let found = app_check::search(&state.store, &s, &q, now).await?;
    let earliest = SearchPeriod::earliest(today);
    let base_query = form.query();
    let key =
        |l: &zaitaku_storage::AppCheckLine| format!("{}.{}", l.checked_at.timestamp_micros(), l.id);
    let newest = found.lines.first().map(key).unwrap_or_default();
    let oldest = found.lines.last().map(key).unwrap_or_default();
    let page = SearchPage {
        lines: found
            .lines
            .into_iter()
            .map(|l| Line {
                id: l.id,
                at: l
                    .checked_at
                    .with_timezone(&jst())
                    .format("%Y年%m月%d日 %H時%M分")
                    .to_string(),
                name: l.name,
                valid: l.valid,
            })
            .collect(),
        total: found.total,
        page: found.page,
        pages: found.pages,
        from: period.from.to_string(),
        to: period.to.to_string(),
        earliest: japanese_date(earliest),
        earliest_iso: earliest.to_string(),
        today_iso: today.to_string(),
        period_label: format!(
            "{} 〜 {}",
            japanese_date(period.from),
            japanese_date(period.to)
        ),
        this_device_only: q.this_device_only,
        settings_open: form.set.is_some() || error.is_some(),
        query: format!("{base_query}&{}", form.position()),
        base_query,
        newest,
        oldest,
        notice: None,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

/// One kept result, as it was shown at the check.
pub async fn result(
    State(state): State<AppState>,
    InApp(s): InApp,
    Path(id): Path<i64>,
    Query(form): Query<SearchForm>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    if !s.security_open(now) {
        return Ok(locked());
    }
    let Some(r) = app_check::kept(&state.store, &s, id, now).await? else {
        return Ok(Redirect::to("/app/search").into_response());
    };
    let page = ResultPage {
        text: r.as_text(),
        r,
        csrf: s.csrf,
        close_link: Some(format!("/app/search?{}&{}", form.query(), form.position())),
    };
    Ok(form_page(page.render()?, false))
}
