//! The platform operator's pages: the institutions with their administrators
//! (and unlocking one who locked themselves out), and registering a new
//! institution with its first administrator. Operators never see patients.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_service::{accounts, institution};

use crate::AppState;
use crate::admin::audit;
use crate::admin::auth;
use crate::common::error::WebError;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{CsrfForm, Staff, gate, no_such_record};
use zaitaku_service::staff::Realm;

mod notices;

/// Every route of the operator's pages (the route tests walk this table and
/// the administration's).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator", get(home))
        .route(
            "/operator/login",
            get(auth::operator_login_page).post(auth::operator_login),
        )
        .route("/operator/logout", post(auth::operator_logout))
        .route(
            "/operator/password",
            get(auth::password_page::<gate::OperatorOwnPassword>)
                .post(auth::change_password::<gate::OperatorOwnPassword>),
        )
        .route("/operator/institutions/new", get(new_page).post(create))
        .route("/operator/accounts/{id}/unlock", post(unlock))
        .route(
            "/operator/audit",
            get(audit::page::<gate::ViewPlatformAudit>),
        )
        .route(
            "/operator/audit.csv",
            get(audit::csv::<gate::ViewPlatformAudit>),
        )
        .route("/operator/audit/verify", post(audit::verify))
        .route("/operator/notices", get(notices::page).post(notices::post))
}

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
    staff: Staff<gate::ManageInstitutions>,
    axum::extract::Query(q): axum::extract::Query<HomeQuery>,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let institutions = institution::list(&state.store)
        .await?
        .into_iter()
        .map(|listed| {
            let i = listed.institution;
            InstitutionLine {
                code: i.institution.code.as_str().to_owned(),
                name: i.institution.name.clone(),
                kind: i.institution.kind.label(),
                function_enabled: i.institution.remote_function_enabled,
                updated: jst_minute(i.updated_at),
                admins: listed
                    .administrators
                    .iter()
                    .map(|a| AdminLine {
                        id: a.id,
                        user_id: a.user_id.clone(),
                        name: a.name.clone(),
                        locked: a.is_locked(now),
                        disabled: a.disabled,
                    })
                    .collect(),
            }
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
    staff: Staff<gate::ManageInstitutions>,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    match accounts::unlock_administrator(&state.store, &staff, id, Utc::now()).await? {
        Ok(_) => Ok(Redirect::to("/operator?done=unlocked").into_response()),
        Err(_) => Ok(no_such_record(&staff, None)),
    }
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
    State(_state): State<AppState>,
    staff: Staff<gate::ManageInstitutions>,
) -> Result<Response, WebError> {
    let page = NewPage {
        form: NewInstitutionForm::default(),
        error: None,
        nav: Nav::new(&staff, Realm::Operator, "/operator"),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff<gate::ManageInstitutions>,
    _headers: HeaderMap,
    Form(form): Form<NewInstitutionForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let typed = institution::RegistrationForm {
        code: &form.code,
        name: &form.name,
        eprescription: form.eprescription.as_deref() == Some("1"),
        admin_user_id: &form.admin_user_id,
        admin_name: &form.admin_name,
        admin_kana: &form.admin_kana,
    };
    let registered = match institution::register(&state.store, &staff, &typed, Utc::now()).await? {
        Ok(r) => r,
        Err(why) => {
            let page = NewPage {
                form,
                error: Some((why.message(), why.code())),
                nav: Nav::new(&staff, Realm::Operator, "/operator"),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    let page = CreatedPage {
        code: registered.institution.institution.code.as_str().to_owned(),
        name: registered.institution.institution.name.clone(),
        user_id: registered.administrator.user_id,
        password: registered.password,
        nav: Nav::new(&staff, Realm::Operator, "/operator"),
    };
    Ok(Html(page.render()?).into_response())
}
