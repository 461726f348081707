//! アカウント管理 (seed 002 事前準備③): list, register (権限区分, ユーザID,
//! ユーザ名, ユーザ名（カナ）, 利用開始年月日), disable and enable, reset the
//! password, unlock. A new or reset account gets a temporary password, shown
//! once, which must be changed at the next login.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::account::{
    Permission, Role, validate_display_name, validate_kana_name, validate_user_id,
};
use zaitaku_storage::{NewAccount, StorageError, StoredAccount};

use super::auth::{
    CsrfForm, Realm, Staff, gate, hash_password_off_thread, not_found, temporary_password,
};
use super::{Nav, jst_minute, today};
use crate::AppState;
use crate::error::WebError;

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
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    let inst = staff.institution()?;
    let accounts = state.store.accounts_of(inst.id).await?;
    let page = ListPage {
        accounts: accounts.iter().map(|a| line(a, staff.account.id)).collect(),
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
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
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

/// The temporary password is on this one response only; it must not be cached.
fn show_once(page: &TemporaryPasswordPage<'_>) -> Result<Response, WebError> {
    let mut res = Html(page.render()?).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewAccountForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let inst = staff.institution()?;
    let checked = (|| {
        let role = Role::parse(&form.role)
            .ok()
            .filter(|r| Role::INSTITUTION.contains(r))
            .ok_or(("権限区分を選択してください。".to_owned(), "Z-W-0620"))?;
        let user_id = validate_user_id(&form.user_id).map_err(|e| (e.to_string(), e.code()))?;
        let name =
            validate_display_name("ユーザ名", &form.name).map_err(|e| (e.to_string(), e.code()))?;
        let kana = validate_kana_name(&form.name_kana).map_err(|e| (e.to_string(), e.code()))?;
        let start =
            NaiveDate::parse_from_str(form.start_date.trim(), "%Y-%m-%d").map_err(|_| {
                (
                    "利用開始年月日を正しく入力してください（例: 2026-04-01）。".to_owned(),
                    "Z-W-0621",
                )
            })?;
        Ok::<_, (String, &'static str)>((role, user_id, name, kana, start))
    })();
    let refuse =
        |form: NewAccountForm, error: (String, &'static str)| -> Result<Response, WebError> {
            let page = NewPage {
                form,
                roles: roles(),
                error: Some(error),
                nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        };
    let (role, user_id, name, kana, start) = match checked {
        Ok(v) => v,
        Err(e) => return refuse(form, e),
    };
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    let now = Utc::now();
    let created = state
        .store
        .insert_account(
            &NewAccount {
                institution_id: Some(inst.id),
                user_id: &user_id,
                role,
                name: &name,
                name_kana: &kana,
                start_date: start,
                password_hash: &hash,
                must_change_password: true,
            },
            now,
        )
        .await;
    let account = match created {
        Ok(a) => a,
        Err(StorageError::Duplicate(_)) => {
            return refuse(
                form,
                (
                    format!(
                        "ユーザID「{user_id}」は既に登録されています。別のユーザIDを入力してください。"
                    ),
                    "Z-W-0622",
                ),
            );
        }
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .audit(
            &staff.event(
                "account.create",
                "ok",
                None,
                json!({"target": account.id, "target_user_id": account.user_id, "target_role": role.as_str()}),
            ),
            now,
        )
        .await?;
    show_once(&TemporaryPasswordPage {
        heading: "アカウントを登録しました",
        user_id: account.user_id,
        name: account.name,
        password,
        nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
    })
}

/// The account `id` of the signed-in administrator's institution, or the
/// not-found page (for another institution's account as for none at all).
async fn own_account(
    state: &AppState,
    staff: &Staff,
    id: i64,
    action: &str,
) -> Result<Result<StoredAccount, Response>, WebError> {
    let inst = staff.institution()?;
    match state.store.account_of(inst.id, id).await? {
        Some(a) => Ok(Ok(a)),
        None => {
            state
                .store
                .audit(
                    &staff.event(
                        "access.denied",
                        "not_found",
                        None,
                        json!({"requested_account": id, "attempted": action}),
                    ),
                    Utc::now(),
                )
                .await?;
            Ok(Err(not_found(
                staff,
                Some(("/admin/accounts", "アカウント一覧に戻る")),
            )))
        }
    }
}

macro_rules! target {
    ($state:expr, $staff:expr, $id:expr, $action:expr) => {
        match own_account(&$state, &$staff, $id, $action).await? {
            Ok(a) => a,
            Err(r) => return Ok(r),
        }
    };
}

fn refuse_self_change() -> Response {
    crate::error::error_page(
        StatusCode::CONFLICT,
        "ご自身のアカウントは変更できません",
        "ログイン中のアカウントを無効にすると、管理者がいなくなるおそれがあります。別の管理者アカウントから操作してください。",
        "Z-W-0623",
    )
}

pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let target = target!(state, staff, id, "disable");
    if target.id == staff.account.id {
        return Ok(refuse_self_change());
    }
    state.store.set_account_disabled(target.id, true).await?;
    state
        .store
        .audit(
            &staff.event(
                "account.disable",
                "ok",
                None,
                json!({"target": target.id, "target_user_id": target.user_id}),
            ),
            Utc::now(),
        )
        .await?;
    Ok(Redirect::to("/admin/accounts?done=disabled").into_response())
}

pub async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let target = target!(state, staff, id, "enable");
    state.store.set_account_disabled(target.id, false).await?;
    state
        .store
        .audit(
            &staff.event(
                "account.enable",
                "ok",
                None,
                json!({"target": target.id, "target_user_id": target.user_id}),
            ),
            Utc::now(),
        )
        .await?;
    Ok(Redirect::to("/admin/accounts?done=enabled").into_response())
}

pub async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let target = target!(state, staff, id, "unlock");
    state.store.reset_login_failures(target.id).await?;
    state
        .store
        .audit(
            &staff.event(
                "account.unlock",
                "ok",
                None,
                json!({"target": target.id, "target_user_id": target.user_id}),
            ),
            Utc::now(),
        )
        .await?;
    Ok(Redirect::to("/admin/accounts?done=unlocked").into_response())
}

pub async fn reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Institution,
        Permission::ManageAccounts
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let target = target!(state, staff, id, "reset_password");
    if target.id == staff.account.id {
        return Ok(refuse_self_change());
    }
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    state.store.set_password(target.id, &hash, true).await?;
    state
        .store
        .audit(
            &staff.event(
                "account.password_reset",
                "ok",
                None,
                json!({"target": target.id, "target_user_id": target.user_id}),
            ),
            Utc::now(),
        )
        .await?;
    show_once(&TemporaryPasswordPage {
        heading: "パスワードを再設定しました",
        user_id: target.user_id,
        name: target.name,
        password,
        nav: Nav::new(&staff, Realm::Institution, "/admin/accounts"),
    })
}
