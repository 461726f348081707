//! The door of the administration: login with the lockout rule, the session,
//! the permission check every page goes through, password changes, logout.
//!
//! Two realms share this code: institution staff (`/admin`, code + ID +
//! password) and the platform's operators (`/operator`, ID + password). A
//! session belongs to one realm; its cookie is scoped to that realm's path.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use zaitaku_service::staff;
pub use zaitaku_service::staff::{Realm, hash_password, temporary_password};

use crate::AppState;
use crate::common::cookies::{self, SameSite};
use crate::common::error::WebError;
use crate::common::nav::Nav;
use crate::common::refusal::Refusal;
use crate::common::staff::{CsrfForm, Gate, RealmPaths, Staff, csrf_refusal, signed_in};

/// The same words for an unknown ID, a wrong password, a disabled or locked
/// account: a refusal reveals neither which IDs exist nor which are locked.
/// The login page states the lock rule beside every refusal instead
/// (docs/design/administration.md).
const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";
const OPERATOR_LOGIN_FAILED: &str = "ユーザID、またはパスワードが正しくありません。";

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    operator: bool,
    code: &'a str,
    user_id: &'a str,
}

pub async fn login_page() -> Result<Response, WebError> {
    let page = LoginPage {
        error: None,
        operator: false,
        code: "",
        user_id: "",
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn operator_login_page() -> Result<Response, WebError> {
    let page = LoginPage {
        error: None,
        operator: true,
        code: "",
        user_id: "",
    };
    Ok(Html(page.render()?).into_response())
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
    if crate::common::security::same_site_post(headers) {
        return Ok(None);
    }
    staff::refuse_cross_site(&state.store, realm, Utc::now()).await?;
    Ok(Some(Refusal::CrossSiteLogin.into_response()))
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
    let target = if signed_in.must_change_password {
        format!("{}/password", realm.base())
    } else {
        realm.base().to_owned()
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        cookies::set(
            &state.public_url,
            realm.cookie(),
            &signed_in.session.sid,
            realm.base(),
            SameSite::Strict,
            None,
        )?,
    );
    Ok(res)
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
        if let Some(refusal) = csrf_refusal(&s, form.csrf.as_deref()) {
            return Ok(refusal);
        }
        staff::end_session(&state.store, &s, Utc::now()).await?;
    }
    let mut res = Redirect::to(&format!("{}/login", realm.base())).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        cookies::set(
            &state.public_url,
            realm.cookie(),
            "",
            realm.base(),
            SameSite::Strict,
            Some(0),
        )?,
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage<'a> {
    nav: Nav<'a>,
    forced: bool,
    error: Option<String>,
    done: bool,
}

/// 《パスワード変更》 of either realm (`G` says which).
pub async fn password_page<G: Gate>(staff: Staff<G>) -> Result<Response, WebError> {
    let page = PasswordPage {
        nav: Nav::new(&staff, G::REALM, ""),
        forced: staff.account.must_change_password,
        error: None,
        done: false,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current: String,
    new: String,
    confirm: String,
}

pub async fn change_password<G: Gate>(
    State(state): State<AppState>,
    staff: Staff<G>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let realm = G::REALM;
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
                nav: Nav::new(&staff, realm, ""),
                forced: staff.account.must_change_password,
                error: Some(refusal.message()),
                done: false,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
        Ok(session) => session,
    };
    // The menu comes back now that the temporary password is gone.
    let staff = staff.replaced(session);
    let page = PasswordPage {
        nav: Nav::new(&staff, realm, ""),
        forced: false,
        error: None,
        done: true,
    };
    Ok(Html(page.render()?).into_response())
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
