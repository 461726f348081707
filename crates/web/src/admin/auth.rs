//! The door of the administration: login with the lockout rule, the session,
//! the permission check every page goes through, password changes, logout.
//!
//! Two realms share this code: institution staff (`/admin`, code + ID +
//! password) and the platform's operators (`/operator`, ID + password). A
//! session belongs to one realm; its cookie is scoped to that realm's path.

use std::ops::{Deref, DerefMut};

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use zaitaku_domain::account::Permission;
use zaitaku_service::staff::{self, Session};
pub use zaitaku_service::staff::{Realm, hash_password, temporary_password};
use zaitaku_storage::{AuditEvent, StoredInstitution};

use crate::AppState;
use crate::error::{WebError, error_page};
use crate::patient::cookie;

/// The same words for an unknown ID, a wrong password, a disabled or locked
/// account: a refusal reveals neither which IDs exist nor which are locked.
/// The login page states the lock rule beside every refusal instead
/// (docs/design/administration.md).
const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";
const OPERATOR_LOGIN_FAILED: &str = "ユーザID、またはパスワードが正しくありません。";

/// Where each realm lives on the web: its path and its session cookie.
pub trait RealmPaths {
    fn cookie(self) -> &'static str;
    fn base(self) -> &'static str;
}

impl RealmPaths for Realm {
    fn cookie(self) -> &'static str {
        match self {
            Self::Institution => "zt_admin",
            Self::Operator => "zt_operator",
        }
    }

    fn base(self) -> &'static str {
        match self {
            Self::Institution => "/admin",
            Self::Operator => "/operator",
        }
    }
}

/// A signed-in member of staff (or operator): the service's session, re-read
/// from the database on every request so that a disabled account or a
/// changed role takes effect at once.
pub struct Staff(Session);

impl Deref for Staff {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl DerefMut for Staff {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.0
    }
}

impl Staff {
    /// The institution of institution staff. Operators never reach a handler
    /// that calls this: their role has none of the institution permissions.
    pub fn institution(&self) -> Result<&StoredInstitution, WebError> {
        self.institution
            .as_ref()
            .ok_or_else(|| WebError::Internal("operator reached an institution page".into()))
    }

    pub fn may(&self, p: Permission) -> bool {
        self.account.role.may(p)
    }

    /// The realm this account signs in to.
    pub fn realm(&self) -> Realm {
        self.0.realm
    }

    /// An audit record made by this member of staff.
    pub fn event<'a>(
        &self,
        action: &'a str,
        outcome: &'a str,
        person_id: Option<i64>,
        detail: serde_json::Value,
    ) -> AuditEvent<'a> {
        self.actor().event(action, outcome, person_id, detail)
    }

    /// The refusal to send when a form's CSRF token is not this session's.
    pub fn csrf_refusal(&self, token: Option<&str>) -> Option<Response> {
        if token == Some(self.csrf.as_str()) {
            None
        } else {
            // 画面番号 K-E-03.
            Some(refusal(
                self,
                &Refusal {
                    status: StatusCode::FORBIDDEN,
                    title: "操作を受け付けられませんでした",
                    message: "画面の有効期限が切れたか、別の画面からの送信です。もう一度画面を開き直してから操作してください。",
                    code: "Z-W-0604",
                    screen_id: "K-E-03",
                },
                None,
            ))
        }
    }
}

/// Who is signed in on this realm, if anyone (no permission check).
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
) -> Result<Option<Staff>, WebError> {
    let Some(sid) = cookie(headers, realm.cookie()) else {
        return Ok(None);
    };
    Ok(staff::resume_session(&state.store, sid, realm, Utc::now())
        .await?
        .map(Staff))
}

/// The check in front of every administration page and action: signed in on
/// this realm, password not awaiting change, and the role holds `permission`.
/// `Err` is the response to send instead (login redirect or a refusal page).
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
    permission: Permission,
) -> Result<Result<Staff, Response>, WebError> {
    let Some(staff) = signed_in(state, headers, realm).await? else {
        return Ok(Err(
            Redirect::to(&format!("{}/login", realm.base())).into_response()
        ));
    };
    if staff.account.must_change_password && permission != Permission::ChangeOwnPassword {
        return Ok(Err(
            Redirect::to(&format!("{}/password", realm.base())).into_response()
        ));
    }
    if !staff.may(permission) {
        staff::access_denied(&state.store, &staff, permission, Utc::now()).await?;
        return Ok(Err(forbidden(&staff)));
    }
    Ok(Ok(staff))
}

/// A refusal page inside the administration: the role's menu, logout and a
/// way back stay, and the page carries its own 画面番号 (docs/decisions.md).
#[derive(Template)]
#[template(path = "admin/refusal.html")]
struct RefusalPage<'a> {
    nav: crate::admin::Nav<'a>,
    title: &'a str,
    message: &'a str,
    code: &'a str,
    screen_id: &'a str,
    back: Option<(&'a str, &'a str)>,
}

/// What a refusal page says.
struct Refusal<'a> {
    status: StatusCode,
    title: &'a str,
    message: &'a str,
    code: &'a str,
    screen_id: &'a str,
}

fn refusal(staff: &Staff, r: &Refusal<'_>, back: Option<(&str, &str)>) -> Response {
    let page = RefusalPage {
        nav: crate::admin::Nav::new(staff, staff.realm(), ""),
        title: r.title,
        message: r.message,
        code: r.code,
        screen_id: r.screen_id,
        back,
    };
    match page.render() {
        Ok(html) => (r.status, Html(html)).into_response(),
        Err(_) => error_page(r.status, r.title, r.message, r.code),
    }
}

/// 画面番号 K-E-01: the role may not open this page.
pub fn forbidden(staff: &Staff) -> Response {
    refusal(
        staff,
        &Refusal {
            status: StatusCode::FORBIDDEN,
            title: "この画面を利用する権限がありません",
            message: "ご利用のアカウントの権限区分では、この画面は利用できません。必要な場合は医療機関等の管理者にご相談ください。",
            code: "Z-W-0603",
            screen_id: "K-E-01",
        },
        None,
    )
}

/// 画面番号 K-E-02: the answer for an ID that is not this institution's (or
/// does not exist), the same page either way, so nothing about other
/// institutions leaks. `back` is the list to choose again from.
pub fn not_found(staff: &Staff, back: Option<(&str, &str)>) -> Response {
    refusal(
        staff,
        &Refusal {
            status: StatusCode::NOT_FOUND,
            title: "該当する情報がありません",
            message: "指定された情報は見つかりませんでした。一覧から選び直してください。",
            code: "Z-W-0605",
            screen_id: "K-E-02",
        },
        back,
    )
}

/// `let staff = gate!(state, headers, Realm::Institution, Permission::X);`
macro_rules! gate {
    ($state:expr, $headers:expr, $realm:expr, $perm:expr) => {
        match $crate::admin::auth::require(&$state, &$headers, $realm, $perm).await? {
            Ok(staff) => staff,
            Err(response) => return Ok(response),
        }
    };
}
pub(crate) use gate;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    operator: bool,
    code: &'a str,
    user_id: &'a str,
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn login_page() -> Result<Response, WebError> {
    let page = LoginPage {
        error: None,
        operator: false,
        code: "",
        user_id: "",
    };
    Ok(no_store(Html(page.render()?).into_response()))
}

pub async fn operator_login_page() -> Result<Response, WebError> {
    let page = LoginPage {
        error: None,
        operator: true,
        code: "",
        user_id: "",
    };
    Ok(no_store(Html(page.render()?).into_response()))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    institution_code: String,
    user_id: String,
    password: String,
}

/// A login posted from another site's page (login CSRF: being signed in to
/// someone else's account) is refused before anything is checked.
async fn cross_site_login(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
) -> Result<Option<Response>, WebError> {
    if crate::security::same_site_post(headers) {
        return Ok(None);
    }
    staff::refuse_cross_site(&state.store, realm, Utc::now()).await?;
    Ok(Some(error_page(
        StatusCode::FORBIDDEN,
        "操作を受け付けられませんでした",
        "別のサイトの画面からのログインは受け付けていません。ログイン画面を開き直してから操作してください。",
        "Z-W-0606",
    )))
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if let Some(refusal) = cross_site_login(&state, &headers, Realm::Institution).await? {
        return Ok(refusal);
    }
    attempt(&state, Realm::Institution, &form).await
}

pub async fn operator_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if let Some(refusal) = cross_site_login(&state, &headers, Realm::Operator).await? {
        return Ok(refusal);
    }
    attempt(&state, Realm::Operator, &form).await
}

/// One attempt (`zaitaku_service::staff::login`): the login page again with
/// the same words for every refusal, or the session's cookie.
async fn attempt(state: &AppState, realm: Realm, form: &LoginForm) -> Result<Response, WebError> {
    let signed_in = staff::login(
        &state.store,
        realm,
        &form.institution_code,
        &form.user_id,
        &form.password,
        Utc::now(),
    )
    .await?;
    let Ok(signed_in) = signed_in else {
        let page = LoginPage {
            error: Some(match realm {
                Realm::Institution => LOGIN_FAILED,
                Realm::Operator => OPERATOR_LOGIN_FAILED,
            }),
            operator: realm == Realm::Operator,
            code: &form.institution_code,
            user_id: &form.user_id,
        };
        return Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response());
    };
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let target = if signed_in.must_change_password {
        format!("{}/password", realm.base())
    } else {
        realm.base().to_owned()
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}={}; Path={}; HttpOnly; SameSite=Strict{secure}",
            realm.cookie(),
            signed_in.session.sid,
            realm.base()
        ))
        .map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    end_session(&state, &headers, Realm::Institution, form).await
}

pub async fn operator_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    end_session(&state, &headers, Realm::Operator, form).await
}

async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
    form: CsrfForm,
) -> Result<Response, WebError> {
    if let Some(s) = signed_in(state, headers, realm).await? {
        // A logout from another site must not end the session.
        if let Some(refusal) = s.csrf_refusal(form.csrf.as_deref()) {
            return Ok(refusal);
        }
        staff::end_session(&state.store, &s, Utc::now()).await?;
    }
    let mut res = Redirect::to(&format!("{}/login", realm.base())).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0",
            realm.cookie(),
            realm.base()
        ))
        .map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage<'a> {
    nav: crate::admin::Nav<'a>,
    forced: bool,
    error: Option<String>,
    done: bool,
}

async fn password_page_for(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
) -> Result<Response, WebError> {
    let staff = gate!(state, headers, realm, Permission::ChangeOwnPassword);
    let page = PasswordPage {
        nav: crate::admin::Nav::new(&staff, realm, ""),
        forced: staff.account.must_change_password,
        error: None,
        done: false,
    };
    Ok(no_store(Html(page.render()?).into_response()))
}

pub async fn password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    password_page_for(&state, &headers, Realm::Institution).await
}

pub async fn operator_password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    password_page_for(&state, &headers, Realm::Operator).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current: String,
    new: String,
    confirm: String,
}

async fn change_password_for(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
    form: PasswordForm,
) -> Result<Response, WebError> {
    let staff = gate!(state, headers, realm, Permission::ChangeOwnPassword);
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let changed = staff::change_password(
        &state.store,
        &staff,
        &form.current,
        &form.new,
        &form.confirm,
        Utc::now(),
    )
    .await?;
    let session = match changed {
        Err(refusal) => {
            let page = PasswordPage {
                nav: crate::admin::Nav::new(&staff, realm, ""),
                forced: staff.account.must_change_password,
                error: Some(refusal.message()),
                done: false,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
        Ok(session) => session,
    };
    // The menu comes back now that the temporary password is gone.
    let staff = Staff(session);
    let page = PasswordPage {
        nav: crate::admin::Nav::new(&staff, realm, ""),
        forced: false,
        error: None,
        done: true,
    };
    Ok(no_store(Html(page.render()?).into_response()))
}

pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    change_password_for(&state, &headers, Realm::Institution, form).await
}

pub async fn operator_change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    change_password_for(&state, &headers, Realm::Operator, form).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use zaitaku_domain::account::validate_password;

    #[test]
    fn temporary_passwords_meet_the_rules_and_differ() {
        let a = temporary_password().unwrap();
        let b = temporary_password().unwrap();
        assert!(validate_password(&a).is_ok(), "{a}");
        assert_ne!(a, b);
    }
}
