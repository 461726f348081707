//! 《レセコン連携》: an administrator issues a link credential for the
//! institution's receipt computer (名称, 文字コード), sees the links
//! (発行日時, 最終利用, 状態), and after a confirmation rotates (再発行) or
//! revokes (無効化) one. A credential is shown once, on the page that answers
//! the issue or the rotation (`no-store`), with the command that starts the
//! folder agent (docs/reference/oqs.md, "The link credential").

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_service::oqs_link::{self, Issued, LinkChangeRefusal};
use zaitaku_service::staff::Realm;
use zaitaku_storage::StoredOqsLink;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{CsrfForm, Staff, gate, no_such_record};

const LIST: &str = "/admin/oqs-links";
const BACK: (&str, &str) = (LIST, "レセコン連携に戻る");

pub struct LinkLine {
    pub id: i64,
    pub label: String,
    pub character_code: &'static str,
    pub created: String,
    pub rotated: Option<String>,
    pub last_used: String,
    pub revoked: Option<String>,
}

fn code_label(identifier: &str) -> &'static str {
    CharacterCode::from_identifier(identifier).map_or("—", oqs_link::character_code_label)
}

fn line(l: &StoredOqsLink) -> LinkLine {
    LinkLine {
        id: l.id,
        label: l.label.clone(),
        character_code: code_label(&l.character_code),
        created: format!(
            "{}（{}）",
            jst_minute(l.created_at),
            l.created_by.as_deref().unwrap_or("—")
        ),
        rotated: l.rotated_at.map(jst_minute),
        last_used: l.last_used_at.map_or_else(|| "—".to_owned(), jst_minute),
        revoked: l.revoked_at.map(jst_minute),
    }
}

#[derive(Template)]
#[template(path = "admin/oqs_links.html")]
struct LinksPage<'a> {
    nav: Nav<'a>,
    links: Vec<LinkLine>,
    label: String,
    /// The chosen 文字コード (`"0"` or `"1"`).
    character_code: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

async fn render(
    state: &AppState,
    staff: &Staff<gate::ManageDevices>,
    label: String,
    character_code: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
) -> Result<Response, WebError> {
    let links = oqs_link::list(&state.store, staff).await?;
    let page = LinksPage {
        nav: Nav::new(staff, Realm::Institution, LIST),
        links: links.iter().map(line).collect(),
        label,
        character_code,
        notice,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let notice = (q.done.as_deref() == Some("revoked"))
        .then_some("レセコン連携を無効化しました。この認証情報による接続はできなくなりました。");
    render(&state, &staff, String::new(), String::new(), notice, None).await
}

/// The page that shows a credential this once.
#[derive(Template)]
#[template(path = "admin/oqs_link_issued.html")]
struct IssuedPage<'a> {
    nav: Nav<'a>,
    rotated: bool,
    link: LinkLine,
    credential: String,
    /// `zaitaku oqs-link --server … --folder … --credential …`.
    command: String,
}

fn issued_page(
    state: &AppState,
    staff: &Staff<gate::ManageDevices>,
    issued: Issued,
    rotated: bool,
) -> Result<Response, WebError> {
    let server = state.public_url.trim_end_matches('/');
    let command = format!(
        "zaitaku oqs-link --server {server} --folder 連携フォルダ --credential {}",
        issued.credential
    );
    let page = IssuedPage {
        nav: Nav::new(staff, Realm::Institution, LIST),
        rotated,
        link: line(&issued.link),
        credential: issued.credential,
        command,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct IssueForm {
    csrf: Option<String>,
    #[serde(default)]
    label: String,
    #[serde(default)]
    character_code: String,
}

/// 《発行》: answered directly (not redirected), so the credential is in
/// this one response and nowhere else.
pub async fn issue(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Form(form): Form<IssueForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match oqs_link::issue(
        &state.store,
        &staff,
        &form.label,
        &form.character_code,
        Utc::now(),
    )
    .await?
    {
        Ok(issued) => issued_page(&state, &staff, issued, false),
        Err(e) => {
            let error = Some((e.to_string(), e.code()));
            render(&state, &staff, form.label, form.character_code, None, error).await
        }
    }
}

/// What the confirmation page asks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Rotate,
    Revoke,
}

#[derive(Template)]
#[template(path = "admin/oqs_link_confirm.html")]
struct ConfirmPage<'a> {
    nav: Nav<'a>,
    link: LinkLine,
    rotate: bool,
}

async fn confirm(
    state: &AppState,
    staff: &Staff<gate::ManageDevices>,
    id: i64,
    what: Confirm,
) -> Result<Response, WebError> {
    let Some(link) = oqs_link::find(&state.store, staff, id, Utc::now()).await? else {
        return Ok(no_such_record(staff, Some(BACK)));
    };
    if !link.is_active() {
        // Nothing to confirm: the list says it is 無効.
        return Ok(Redirect::to(LIST).into_response());
    }
    let page = ConfirmPage {
        nav: Nav::new(staff, Realm::Institution, LIST),
        link: line(&link),
        rotate: what == Confirm::Rotate,
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn rotate_page(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    confirm(&state, &staff, id, Confirm::Rotate).await
}

pub async fn revoke_page(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    confirm(&state, &staff, id, Confirm::Revoke).await
}

/// 再発行 (after the confirmation): the new credential, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match oqs_link::rotate(&state.store, &state.oqs_links, &staff, id, Utc::now()).await? {
        Ok(issued) => issued_page(&state, &staff, issued, true),
        Err(LinkChangeRefusal::NotFound) => Ok(no_such_record(&staff, Some(BACK))),
        Err(why) => {
            let error = Some((why.message().to_owned(), why.code()));
            render(&state, &staff, String::new(), String::new(), None, error).await
        }
    }
}

/// 無効化 (after the confirmation).
pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match oqs_link::revoke(&state.store, &state.oqs_links, &staff, id, Utc::now()).await? {
        Ok(_) => Ok(Redirect::to("/admin/oqs-links?done=revoked").into_response()),
        Err(LinkChangeRefusal::NotFound) => Ok(no_such_record(&staff, Some(BACK))),
        Err(why) => {
            let error = Some((why.message().to_owned(), why.code()));
            render(&state, &staff, String::new(), String::new(), None, error).await
        }
    }
}
