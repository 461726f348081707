//! The app's screens from 利用規約 to セキュリティ設定: each handler reads the
//! form, calls `zaitaku_service::device::{activation, app}` and renders.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_service::device::activation::{self, ActivationForm};
use zaitaku_service::device::app::{self, AppLoginRefusal, AppStart};
use zaitaku_service::staff::PasswordRefusal;
use zaitaku_storage::AppDevice;

use super::session::{self, InApp, set_device, set_session};
use crate::AppState;
use crate::common::error::WebError;
use crate::common::form_page;

type Shown = Option<(String, &'static str)>;

#[derive(Template)]
#[template(path = "app/terms.html")]
struct TermsPage {
    from_menu: bool,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/register.html")]
struct RegisterPage {
    institution_code: String,
    user_id: String,
    code: String,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/registered.html")]
struct RegisteredPage {
    memo: String,
}

#[derive(Template)]
#[template(path = "app/passcode.html")]
struct PasscodePage {
    csrf: String,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/login.html")]
struct LoginPage {
    institution: String,
    memo: String,
    /// A passkey is enrolled: 生体認証でログイン is offered.
    passkey: bool,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/signin.html")]
struct SigninPage {
    institution: String,
    memo: String,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/menu.html")]
struct MenuPage;

#[derive(Template)]
#[template(path = "app/security_lock.html")]
struct SecurityLockPage {
    csrf: String,
    passkey: bool,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/security.html")]
struct SecurityPage {
    csrf: String,
    visual_check: bool,
    passkey: bool,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/confirm.html")]
struct ConfirmPage {
    title: &'static str,
    question: &'static str,
    go: &'static str,
    action: &'static str,
    csrf: String,
    screen_id: &'static str,
}

#[derive(Template)]
#[template(path = "app/done.html")]
struct DonePage {
    title: &'static str,
    text: &'static str,
    screen_id: &'static str,
}

fn shown(why: AppLoginRefusal) -> Shown {
    Some((why.message(), why.code()))
}

/// The refusal of a form whose CSRF token is not this session's: the form
/// is shown again from the start.
fn stale_form() -> Response {
    Redirect::to("/app").into_response()
}

/// The session behind a セキュリティ設定 form: this session's token and the
/// settings open (the passcode given again); otherwise where the browser
/// goes instead.
fn settings_session(app: InApp, csrf: Option<&str>) -> Result<app::AppSession, Box<Response>> {
    if !app.csrf_ok(csrf) {
        return Err(Box::new(stale_form()));
    }
    let InApp(s) = app;
    if !s.security_open(Utc::now()) {
        return Err(Box::new(Redirect::to("/app/security").into_response()));
    }
    Ok(s)
}

async fn institution_name(state: &AppState, device: &AppDevice) -> Result<String, WebError> {
    Ok(state
        .store
        .institution(device.institution_id)
        .await?
        .map(|i| i.institution.name)
        .unwrap_or_default())
}

async fn login_page(
    state: &AppState,
    device: &AppDevice,
    notice: Option<&'static str>,
    error: Shown,
) -> Result<Response, WebError> {
    let page = LoginPage {
        institution: institution_name(state, device).await?,
        memo: device.memo.clone(),
        passkey: zaitaku_service::device::passkey::enrolled(&state.store, device).await?,
        notice,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

async fn signin_page(
    state: &AppState,
    device: &AppDevice,
    notice: Option<&'static str>,
    error: Shown,
) -> Result<Response, WebError> {
    let page = SigninPage {
        institution: institution_name(state, device).await?,
        memo: device.memo.clone(),
        notice,
        error,
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

fn terms_page(from_menu: bool, notice: Option<&'static str>) -> Result<Response, WebError> {
    let page = TermsPage {
        from_menu,
        notice,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

/// `/app`: what comes first for this browser.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    match session::start(&state, &headers).await? {
        AppStart::NotActivated => terms_page(false, None),
        AppStart::Revoked => {
            let mut res = terms_page(
                false,
                Some(
                    "この端末のデバイス登録は解除されています。利用するには、改めて初期登録を行ってください。",
                ),
            )?;
            res.headers_mut()
                .append(header::SET_COOKIE, set_device(&state, None)?);
            Ok(res)
        }
        AppStart::Passcode { device } => login_page(&state, &device, None, None).await,
        AppStart::Password { device } => signin_page(&state, &device, None, None).await,
        AppStart::SignedIn(s) if s.needs_passcode() => {
            Ok(Redirect::to("/app/passcode").into_response())
        }
        AppStart::SignedIn(_) => Ok(Redirect::to("/app/home").into_response()),
    }
}

#[derive(Deserialize)]
pub struct TermsQuery {
    from: Option<String>,
}

/// 利用規約, from the first start or from the menu.
pub async fn terms(Query(q): Query<TermsQuery>) -> Result<Response, WebError> {
    terms_page(q.from.as_deref() == Some("menu"), None)
}

/// 初期登録.
pub async fn register_page() -> Result<Response, WebError> {
    let page = RegisterPage {
        institution_code: String::new(),
        user_id: String::new(),
        code: String::new(),
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    institution_code: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

/// 「登録する」: the browser becomes an app device and keeps its new token.
pub async fn register(
    State(state): State<AppState>,
    Form(form): Form<RegisterForm>,
) -> Result<Response, WebError> {
    let token = zaitaku_service::random_token()?;
    let activated = activation::activate(
        &state.store,
        &ActivationForm {
            institution_code: &form.institution_code,
            user_id: &form.user_id,
            password: &form.password,
            code: &form.code,
        },
        &token,
        Utc::now(),
    )
    .await?;
    match activated {
        Ok(session) => {
            let mut res = Redirect::to("/app/registered").into_response();
            let h = res.headers_mut();
            h.append(header::SET_COOKIE, set_device(&state, Some(&token))?);
            h.append(header::SET_COOKIE, set_session(&state, Some(&session.sid))?);
            Ok(res)
        }
        Err(why) => {
            let page = RegisterPage {
                institution_code: form.institution_code,
                user_id: form.user_id,
                code: form.code,
                notice: None,
                error: Some((why.message(), why.code())),
            };
            Ok(form_page(page.render()?, true))
        }
    }
}

/// 登録完了 of 初期登録, before the passcode is chosen.
pub async fn registered(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    match session::start(&state, &headers).await? {
        AppStart::SignedIn(s) if s.needs_passcode() => Ok(form_page(
            RegisteredPage {
                memo: s.device.memo.clone(),
            }
            .render()?,
            false,
        )),
        _ => Ok(Redirect::to("/app").into_response()),
    }
}

/// パスコードの登録: right after 初期登録 or a システムログイン.
pub async fn passcode_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    match session::start(&state, &headers).await? {
        AppStart::SignedIn(s) if s.needs_passcode() => {
            let page = PasscodePage {
                csrf: s.csrf.clone(),
                notice: None,
                error: None,
            };
            Ok(form_page(page.render()?, false))
        }
        _ => Ok(Redirect::to("/app").into_response()),
    }
}

#[derive(Deserialize)]
pub struct PasscodeForm {
    csrf: Option<String>,
    #[serde(default)]
    first: String,
    #[serde(default)]
    again: String,
}

pub async fn passcode_register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasscodeForm>,
) -> Result<Response, WebError> {
    let AppStart::SignedIn(s) = session::start(&state, &headers).await? else {
        return Ok(Redirect::to("/app").into_response());
    };
    if !s.needs_passcode() || form.csrf.as_deref() != Some(s.csrf.as_str()) {
        return Ok(stale_form());
    }
    match app::register_passcode(&state.store, &s, &form.first, &form.again, Utc::now()).await? {
        // 初期登録 ends on お知らせ (seed 001 「アプリの初期登録」 05).
        Ok(()) => Ok(Redirect::to("/app/notices?done=passcode").into_response()),
        Err(why) => {
            let page = PasscodePage {
                csrf: s.csrf.clone(),
                notice: None,
                error: shown(why),
            };
            Ok(form_page(page.render()?, true))
        }
    }
}

#[derive(Deserialize)]
pub struct PasscodeLoginForm {
    #[serde(default)]
    passcode: String,
}

/// ログイン with the passcode.
pub async fn passcode_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<PasscodeLoginForm>,
) -> Result<Response, WebError> {
    let device = match session::start(&state, &headers).await? {
        AppStart::Passcode { device } => device,
        _ => return Ok(Redirect::to("/app").into_response()),
    };
    match app::passcode_login(&state.store, &device, &form.passcode, Utc::now()).await? {
        Ok(s) => {
            let next = super::notices::after_login(&state, &s).await?;
            let mut res = Redirect::to(next).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_session(&state, Some(&s.sid))?);
            Ok(res)
        }
        Err(why @ AppLoginRefusal::PasscodeSpent) => {
            signin_page(&state, &device, None, shown(why)).await
        }
        Err(why) => login_page(&state, &device, None, shown(why)).await,
    }
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    password: String,
}

/// システムログイン with the ID and password; the passcode is chosen next.
pub async fn password_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, WebError> {
    let device = match session::start(&state, &headers).await? {
        AppStart::Password { device } => device,
        _ => return Ok(Redirect::to("/app").into_response()),
    };
    match app::password_login(
        &state.store,
        &device,
        &form.user_id,
        &form.password,
        Utc::now(),
    )
    .await?
    {
        Ok(s) => {
            let mut res = Redirect::to("/app/passcode").into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_session(&state, Some(&s.sid))?);
            Ok(res)
        }
        Err(why) => signin_page(&state, &device, None, shown(why)).await,
    }
}

/// ⚙ メニュー.
pub async fn menu(InApp(_s): InApp) -> Result<Response, WebError> {
    Ok(form_page(MenuPage.render()?, false))
}

#[derive(Template)]
#[template(path = "app/reader.html")]
struct ReaderPage {
    virtual_reader: bool,
}

/// カードリーダー選択 (M-03-W): the readers this server offers; the demo's
/// virtual reader is the only one.
pub async fn reader(State(state): State<AppState>, InApp(_s): InApp) -> Result<Response, WebError> {
    let page = ReaderPage {
        virtual_reader: state.stand_in_authenticator,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct SecurityQuery {
    done: Option<String>,
}

/// セキュリティ設定 asks for the passcode first (again after
/// [`app::SECURITY_MINUTES`]).
pub async fn security_lock(
    State(state): State<AppState>,
    InApp(s): InApp,
    Query(q): Query<SecurityQuery>,
) -> Result<Response, WebError> {
    if s.security_open(Utc::now()) {
        let notice = (q.done.as_deref() == Some("passkey")).then_some("生体認証を登録しました。");
        return security_page(&state, &s, s.device.visual_check, notice).await;
    }
    let page = SecurityLockPage {
        passkey: zaitaku_service::device::passkey::enrolled(&state.store, &s.device).await?,
        csrf: s.csrf,
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct SecurityForm {
    csrf: Option<String>,
    #[serde(default)]
    passcode: String,
}

async fn security_page(
    state: &AppState,
    s: &app::AppSession,
    visual_check: bool,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let page = SecurityPage {
        csrf: s.csrf.clone(),
        visual_check,
        passkey: zaitaku_service::device::passkey::enrolled(&state.store, &s.device).await?,
        notice,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

/// The passcode given: the settings are shown.
pub async fn security_open(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<SecurityForm>,
) -> Result<Response, WebError> {
    if !app_session.csrf_ok(form.csrf.as_deref()) {
        return Ok(stale_form());
    }
    let InApp(mut s) = app_session;
    match app::confirm_passcode(&state.store, &mut s, &form.passcode, Utc::now()).await? {
        Ok(()) => security_page(&state, &s, s.device.visual_check, None).await,
        Err(AppLoginRefusal::PasscodeSpent) => {
            // The passcode is forgotten: this session ends with it.
            app::logout(&state.store, &s, Utc::now()).await?;
            let mut res = Redirect::to("/app").into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_session(&state, None)?);
            Ok(res)
        }
        Err(why) => {
            let page = SecurityLockPage {
                passkey: zaitaku_service::device::passkey::enrolled(&state.store, &s.device)
                    .await?,
                csrf: s.csrf.clone(),
                notice: None,
                error: shown(why),
            };
            Ok(form_page(page.render()?, true))
        }
    }
}

#[derive(Deserialize)]
pub struct VisualForm {
    csrf: Option<String>,
    on: Option<String>,
}

/// 目視確認で本人認証 switched.
pub async fn visual_check(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<VisualForm>,
) -> Result<Response, WebError> {
    let s = match settings_session(app_session, form.csrf.as_deref()) {
        Ok(s) => s,
        Err(away) => return Ok(*away),
    };
    let on = form.on.as_deref() == Some("1");
    app::set_visual_check(&state.store, &s, on, Utc::now()).await?;
    security_page(
        &state,
        &s,
        on,
        Some(if on {
            "目視確認で本人認証をオンにしました。"
        } else {
            "目視確認で本人認証をオフにしました。"
        }),
    )
    .await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    confirm: Option<String>,
}

/// ログアウト: asked once more, then the session and the passcode end.
pub async fn logout(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let s = match settings_session(app_session, form.csrf.as_deref()) {
        Ok(s) => s,
        Err(away) => return Ok(*away),
    };
    if form.confirm.as_deref() != Some("1") {
        let page = ConfirmPage {
            title: "ログアウト",
            question: "システムからログアウトしますか。次回アプリ起動時に、ID及びパスワードの入力が必要になります。",
            go: "ログアウトする",
            action: "/app/security/logout",
            csrf: s.csrf.clone(),
            screen_id: "S-03-W",
        };
        return Ok(form_page(page.render()?, false));
    }
    app::logout(&state.store, &s, Utc::now()).await?;
    let mut res = Redirect::to("/app").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, set_session(&state, None)?);
    Ok(res)
}

/// デバイス登録解除: asked once more, then the device is revoked at once and
/// the browser forgets its token.
pub async fn deregister(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let s = match settings_session(app_session, form.csrf.as_deref()) {
        Ok(s) => s,
        Err(away) => return Ok(*away),
    };
    if form.confirm.as_deref() != Some("1") {
        let page = ConfirmPage {
            title: "デバイス登録解除",
            question: "この端末のデバイス登録を解除しますか。解除すると、この端末ではアプリを使用できなくなります。",
            go: "登録解除",
            action: "/app/security/deregister",
            csrf: s.csrf.clone(),
            screen_id: "S-04-W",
        };
        return Ok(form_page(page.render()?, false));
    }
    app::deregister(&state.store, &s, Utc::now()).await?;
    let page = DonePage {
        title: "デバイス登録解除",
        text: "デバイスの登録を解除しました。",
        screen_id: "S-05-W",
    };
    let mut res = form_page(page.render()?, false);
    let h = res.headers_mut();
    h.append(header::SET_COOKIE, set_device(&state, None)?);
    h.append(header::SET_COOKIE, set_session(&state, None)?);
    Ok(res)
}

#[derive(Template)]
#[template(path = "app/security_password.html")]
struct PasswordPage {
    csrf: String,
    notice: Option<&'static str>,
    error: Shown,
}

#[derive(Template)]
#[template(path = "app/security_passcode.html")]
struct PasscodeChangePage {
    csrf: String,
    notice: Option<&'static str>,
    error: Shown,
}

/// アカウントパスワード設定 (セキュリティ設定 open).
pub async fn password_page(InApp(s): InApp) -> Result<Response, WebError> {
    if !s.security_open(Utc::now()) {
        return Ok(Redirect::to("/app/security").into_response());
    }
    let page = PasswordPage {
        csrf: s.csrf,
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn password_change(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let mut s = match settings_session(app_session, form.csrf.as_deref()) {
        Ok(s) => s,
        Err(away) => return Ok(*away),
    };
    let now = Utc::now();
    match app::change_account_password(
        &state.store,
        &mut s,
        &form.current,
        &form.new,
        &form.confirm,
        now,
    )
    .await?
    {
        Ok(()) => {
            security_page(
                &state,
                &s,
                s.device.visual_check,
                Some("パスワードを変更しました。"),
            )
            .await
        }
        Err(why) => {
            let code = match why {
                PasswordRefusal::Rule { code, .. } => code,
                PasswordRefusal::Locked => "Z-P-0002",
                _ => "Z-P-0014",
            };
            let page = PasswordPage {
                csrf: s.csrf.clone(),
                notice: None,
                error: Some((why.message(), code)),
            };
            Ok(form_page(page.render()?, true))
        }
    }
}

/// ログインパスコード設定 (セキュリティ設定 open).
pub async fn passcode_change_page(InApp(s): InApp) -> Result<Response, WebError> {
    if !s.security_open(Utc::now()) {
        return Ok(Redirect::to("/app/security").into_response());
    }
    let page = PasscodeChangePage {
        csrf: s.csrf,
        notice: None,
        error: None,
    };
    Ok(form_page(page.render()?, false))
}

#[derive(Deserialize)]
pub struct PasscodeChangeForm {
    csrf: Option<String>,
    #[serde(default)]
    current: String,
    #[serde(default)]
    first: String,
    #[serde(default)]
    again: String,
}

pub async fn passcode_change(
    State(state): State<AppState>,
    app_session: InApp,
    Form(form): Form<PasscodeChangeForm>,
) -> Result<Response, WebError> {
    let mut s = match settings_session(app_session, form.csrf.as_deref()) {
        Ok(s) => s,
        Err(away) => return Ok(*away),
    };
    let now = Utc::now();
    match app::change_passcode(
        &state.store,
        &mut s,
        &form.current,
        &form.first,
        &form.again,
        now,
    )
    .await?
    {
        Ok(()) => {
            security_page(
                &state,
                &s,
                s.device.visual_check,
                Some("パスコードを変更しました。"),
            )
            .await
        }
        Err(AppLoginRefusal::PasscodeSpent) => {
            app::logout(&state.store, &s, now).await?;
            let mut res = Redirect::to("/app").into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, set_session(&state, None)?);
            Ok(res)
        }
        Err(why) => {
            let page = PasscodeChangePage {
                csrf: s.csrf.clone(),
                notice: None,
                error: shown(why),
            };
            Ok(form_page(page.render()?, true))
        }
    }
}
