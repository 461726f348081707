//! The platform operator's pages: the institutions with their administrators
//! (and unlocking one who locked themselves out), and registering a new
//! institution with its first administrator. Operators never see patients.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::account::{
    Permission, Role, validate_display_name, validate_kana_name, validate_user_id,
};
use zaitaku_domain::institution::{Institution, InstitutionCode};
use zaitaku_storage::{NewAccount, StorageError, new_url_token};

use super::auth::{CsrfForm, Realm, gate, hash_password_off_thread, not_found, temporary_password};
use super::{Nav, jst_minute, today};
use crate::AppState;
use crate::error::WebError;

pub struct AdminLine {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub locked: bool,
    pub disabled: bool,
}

pub struct InstitutionLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub function_enabled: bool,
    pub updated: String,
    pub admins: Vec<AdminLine>,
}

#[derive(Template)]
#[template(path = "operator/home.html")]
struct HomePage<'a> {
    nav: Nav<'a>,
    institutions: Vec<InstitutionLine>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    done: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HomeQuery>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ManageInstitutions
    );
    let now = Utc::now();
    let admins = state.store.institution_admins().await?;
    let institutions = state
        .store
        .list_institutions()
        .await?
        .into_iter()
        .map(|i| InstitutionLine {
            code: i.institution.code.as_str().to_owned(),
            name: i.institution.name.clone(),
            kind: i.institution.kind.label(),
            function_enabled: i.institution.remote_function_enabled,
            updated: jst_minute(i.updated_at),
            admins: admins
                .iter()
                .filter(|a| a.institution_id == Some(i.id))
                .map(|a| AdminLine {
                    id: a.id,
                    user_id: a.user_id.clone(),
                    name: a.name.clone(),
                    locked: a.is_locked(now),
                    disabled: a.disabled,
                })
                .collect(),
        })
        .collect();
    let page = HomePage {
        institutions,
        notice: match q.done.as_deref() {
            Some("unlocked") => Some("管理者アカウントのロックを解除しました。"),
            _ => None,
        },
        nav: Nav::new(&staff, Realm::Operator, "/operator"),
    };
    Ok(Html(page.render()?).into_response())
}

/// An operator may unlock an institution's administrator (the call-centre
/// case: the only administrator locked themselves out).
pub async fn unlock(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ManageInstitutions
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let Some(target) = state
        .store
        .account(id)
        .await?
        .filter(|a| a.role == Role::Admin)
    else {
        return Ok(not_found(&staff, None));
    };
    state.store.reset_login_failures(target.id).await?;
    let mut event = staff.event(
        "account.unlock",
        "ok",
        None,
        json!({"target": target.id, "target_user_id": target.user_id}),
    );
    // Recorded against the institution too, so its own viewer shows it.
    event.institution_id = target.institution_id;
    state.store.audit(&event, Utc::now()).await?;
    Ok(Redirect::to("/operator?done=unlocked").into_response())
}

#[derive(Deserialize, Default)]
pub struct NewInstitutionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    eprescription: Option<String>,
    #[serde(default)]
    admin_user_id: String,
    #[serde(default)]
    admin_name: String,
    #[serde(default)]
    admin_kana: String,
}

#[derive(Template)]
#[template(path = "operator/institution_new.html")]
struct NewPage<'a> {
    nav: Nav<'a>,
    form: NewInstitutionForm,
    error: Option<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "operator/institution_created.html")]
struct CreatedPage<'a> {
    nav: Nav<'a>,
    code: String,
    name: String,
    user_id: String,
    password: String,
}

pub async fn new_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ManageInstitutions
    );
    let page = NewPage {
        form: NewInstitutionForm::default(),
        error: None,
        nav: Nav::new(&staff, Realm::Operator, "/operator"),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewInstitutionForm>,
) -> Result<Response, WebError> {
    let staff = gate!(
        state,
        headers,
        Realm::Operator,
        Permission::ManageInstitutions
    );
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let checked = (|| {
        let e = |e: zaitaku_domain::error::ValidationError| (e.to_string(), e.code());
        let code = InstitutionCode::parse(form.code.trim()).map_err(e)?;
        let institution =
            Institution::new(code, &form.name, form.eprescription.as_deref() == Some("1"))
                .map_err(e)?;
        let user_id = validate_user_id(&form.admin_user_id).map_err(e)?;
        let name = validate_display_name("ユーザ名", &form.admin_name).map_err(e)?;
        let kana = validate_kana_name(&form.admin_kana).map_err(e)?;
        Ok::<_, (String, &'static str)>((institution, user_id, name, kana))
    })();
    let refuse =
        |form: NewInstitutionForm, error: (String, &'static str)| -> Result<Response, WebError> {
            let page = NewPage {
                form,
                error: Some(error),
                nav: Nav::new(&staff, Realm::Operator, "/operator"),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        };
    let (institution, user_id, name, kana) = match checked {
        Ok(v) => v,
        Err(e) => return refuse(form, e),
    };
    let now = Utc::now();
    let stored = match state
        .store
        .insert_institution(&institution, &new_url_token()?, now)
        .await
    {
        Ok(s) => s,
        Err(StorageError::Duplicate(_)) => {
            return refuse(
                form,
                (
                    "この医療機関等コードは既に登録されています。".into(),
                    "Z-W-0650",
                ),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    let account = state
        .store
        .insert_account(
            &NewAccount {
                institution_id: Some(stored.id),
                user_id: &user_id,
                role: Role::Admin,
                name: &name,
                name_kana: &kana,
                start_date: today(),
                password_hash: &hash,
                must_change_password: true,
            },
            now,
        )
        .await?;
    let mut event = staff.event(
        "institution.create",
        "ok",
        None,
        json!({"code": stored.institution.code.as_str(), "admin": account.id, "admin_user_id": account.user_id}),
    );
    event.institution_id = Some(stored.id);
    state.store.audit(&event, now).await?;
    let page = CreatedPage {
        code: stored.institution.code.as_str().to_owned(),
        name: stored.institution.name.clone(),
        user_id: account.user_id,
        password,
        nav: Nav::new(&staff, Realm::Operator, "/operator"),
    };
    let mut res = Html(page.render()?).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
