//! アカウント管理 (seed 002 事前準備③): list, register (権限区分, ユーザID,
//! ユーザ名, ユーザ名（カナ）, 利用開始年月日), disable and enable, reset the
//! password, unlock. A new or reset account gets a temporary password, shown
//! once, which must be changed at the next login.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_domain::account::Role;
use zaitaku_service::accounts::{self, AccountForm, AccountRefusal};
use zaitaku_storage::StoredAccount;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::refusal::Refusal;
use crate::common::staff::{CsrfForm, Gate, Staff, gate, no_such_record};
use crate::today;
use zaitaku_service::staff::Realm;

pub struct AccountLine {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub name_kana: String,
    pub role: &'static str,
    pub start_date: String,
    pub state: &'static str,
    pub locked: bool,
    pub disabled: bool,
    pub last_login: String,
    pub is_self: bool,
}

fn line(a: &StoredAccount, me: i64) -> AccountLine {
    let now = Utc::now();
    AccountLine {
        id: a.id,
        user_id: a.user_id.clone(),
        name: a.name.clone(),
        name_kana: a.name_kana.clone(),
        role: a.role.label(),
        start_date: a.start_date.format("%Y年%m月%d日").to_string(),
        state: if a.disabled {
            "無効"
        } else if a.is_locked(now) {
            "ロック中"
        } else if a.must_change_password {
            "仮パスワード"
        } else {
            "利用中"
        },
        locked: a.is_locked(now),
        disabled: a.disabled,
        last_login: a.last_login_at.map_or("—".to_owned(), jst_minute),
        is_self: a.id == me,
    }
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct ListPage<'a> {
    nav: Nav<'a>,
    accounts: Vec<AccountLine>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, WebError> {
    let listed = accounts::list(&state.store, &staff).await?;
    let page = ListPage {
        accounts: listed.iter().map(|a| line(a, staff.account.id)).collect(),
        notice: match q.done.as_deref() {
            Some("disabled") => Some("アカウントを無効にしました。"),
            Some("enabled") => Some("アカウントを有効にしました。"),
            Some("unlocked") => Some("ロックを解除しました。"),
            _ => None,
        },
        nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "admin/account_new.html")]
struct NewPage<'a> {
    nav: Nav<'a>,
    form: NewAccountForm,
    roles: Vec<(&'static str, &'static str)>,
    error: Option<(String, &'static str)>,
}

#[derive(Deserialize, Default)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    role: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    name_kana: String,
    #[serde(default)]
    start_date: String,
}

fn roles() -> Vec<(&'static str, &'static str)> {
    Role::INSTITUTION
        .into_iter()
        .map(|r| (r.as_str(), r.label()))
        .collect()
}

pub async fn new_page(
    State(_state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    _headers: HeaderMap,
) -> Result<Response, WebError> {
    let page = NewPage {
        form: NewAccountForm {
            role: Role::General.as_str().into(),
            start_date: today().format("%Y-%m-%d").to_string(),
            ..NewAccountForm::default()
        },
        roles: roles(),
        error: None,
        nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "admin/account_password.html")]
struct TemporaryPasswordPage<'a> {
    nav: Nav<'a>,
    heading: &'static str,
    user_id: String,
    name: String,
    password: String,
}

/// The temporary password is on this one response only; like every page it
/// is sent `no-store` (`security::headers`), so no cache keeps it.
fn show_once(page: &TemporaryPasswordPage<'_>) -> Result<Response, WebError> {
    Ok(Html(page.render()?).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let typed = AccountForm {
        role: &form.role,
        user_id: &form.user_id,
        name: &form.name,
        name_kana: &form.name_kana,
        start_date: &form.start_date,
    };
    match accounts::create(&state.store, &staff, &typed, Utc::now()).await? {
        Ok(created) => show_once(&TemporaryPasswordPage {
            heading: "アカウントを登録しました",
            user_id: created.account.user_id,
            name: created.account.name,
            password: created.password,
            nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
        }),
        // Refusals keep what was typed.
        Err(why) => {
            let page = NewPage {
                form,
                roles: roles(),
                error: Some((why.message(), why.code())),
                nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
    }
}

/// The page for a refused change to an account: the not-found page (for
/// another institution's account as for none at all) or the refusal.
fn refused(staff: &Staff<impl Gate>, why: &AccountRefusal) -> Response {
    match why {
        AccountRefusal::NotFound => {
            no_such_record(staff, Some(("/admin/accounts", "アカウント一覧に戻る")))
        }
        other => Refusal::Account(other.clone()).into_response(),
    }
}

/// One change to the account `id`, then back to the list with `done`.
async fn change(
    state: &AppState,
    staff: Staff<gate::ManageAccounts>,
    id: i64,
    form: &CsrfForm,
    how: Change,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let (store, now) = (&state.store, Utc::now());
    let (changed, done) = match how {
        Change::Disable => (accounts::disable(store, &staff, id, now).await?, "disabled"),
        Change::Enable => (accounts::enable(store, &staff, id, now).await?, "enabled"),
        Change::Unlock => (accounts::unlock(store, &staff, id, now).await?, "unlocked"),
    };
    Ok(match changed {
        Ok(_) => Redirect::to(&format!("/admin/accounts?done={done}")).into_response(),
        Err(why) => refused(&staff, &why),
    })
}

enum Change {
    Disable,
    Enable,
    Unlock,
}

pub async fn disable(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    change(&state, staff, id, &form, Change::Disable).await
}

pub async fn enable(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    change(&state, staff, id, &form, Change::Enable).await
}

pub async fn unlock(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    change(&state, staff, id, &form, Change::Unlock).await
}

pub async fn reset_password(
    State(state): State<AppState>,
    staff: Staff<gate::ManageAccounts>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match accounts::reset_password(&state.store, &staff, id, Utc::now()).await? {
        Ok(reset) => show_once(&TemporaryPasswordPage {
            heading: "パスワードを再設定しました",
            user_id: reset.account.user_id,
            name: reset.account.name,
            password: reset.password,
            nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
        }),
        Err(why) => Ok(refused(&staff, &why)),
    }
}
