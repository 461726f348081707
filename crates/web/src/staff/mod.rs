//! マイナ資格確認アプリ under `/app` (seed 001; seed 002 居宅同意取得型): an
//! installable web app a nurse opens on a phone, an iPad or a laptop.
//! A browser becomes an app device by 初期登録 with an activation code; it
//! keeps the device token in an HttpOnly cookie and opens with its
//! four-digit passcode. The rules are `zaitaku_service::device::{activation,
//! app}`; the screens and their 画面番号 are listed in docs/screens/README.md.

mod check;
mod consent;
mod insurance;
mod notices;
mod pages;
mod passkey;
mod pwa;
mod search;
mod session;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(pages::start))
        .route("/app/terms", get(pages::terms))
        .route(
            "/app/register",
            get(pages::register_page).post(pages::register),
        )
        .route("/app/registered", get(pages::registered))
        .route(
            "/app/passcode",
            get(pages::passcode_page).post(pages::passcode_register),
        )
        .route("/app/login", post(pages::passcode_login))
        .route("/app/signin", post(pages::password_login))
        .route("/app/home", get(check::home))
        .route("/app/check", get(check::confirm).post(check::begin))
        .route(
            "/app/check/read",
            get(check::read_page).post(check::read_visual),
        )
        .route("/app/check/callback", get(check::callback))
        .route("/app/check/done", get(check::done))
        .route("/app/result", get(check::result))
        .route("/app/result/close", post(check::close))
        .route("/app/insurance/terms", get(insurance::terms))
        .route("/app/insurance", post(insurance::agree))
        .route("/app/consent", get(consent::choose).post(consent::review))
        .route("/app/consent/confirm", post(consent::confirm))
        .route("/app/search", get(search::page))
        .route("/app/search/{id}", get(search::result))
        .route("/app/menu", get(pages::menu))
        .route("/app/reader", get(pages::reader))
        .route("/app/privacy", get(pwa::privacy_page))
        .route("/app/licenses", get(pwa::licenses_page))
        .route("/app/notices", get(notices::page).post(notices::close))
        .route(
            "/app/security",
            get(pages::security_lock).post(pages::security_open),
        )
        .route("/app/security/visual-check", post(pages::visual_check))
        .route(
            "/app/security/password",
            get(pages::password_page).post(pages::password_change),
        )
        .route(
            "/app/security/passcode",
            get(pages::passcode_change_page).post(pages::passcode_change),
        )
        .route("/app/security/logout", post(pages::logout))
        .route("/app/security/deregister", post(pages::deregister))
        .route("/app/offline", get(pwa::offline))
        .route("/app/manifest.webmanifest", get(pwa::manifest))
        .route("/app/sw.js", get(pwa::service_worker))
        .route("/app/icon.svg", get(pwa::icon))
        .route("/app/static/app.css", get(pwa::stylesheet))
        .route("/app/static/app.js", get(pwa::script))
        .route("/app/static/passkey.js", get(pwa::passkey_script))
        .route("/app/passkey/enrol/start", post(passkey::enrol_start))
        .route("/app/passkey/enrol/finish", post(passkey::enrol_finish))
        .route("/app/passkey/login/start", post(passkey::login_start))
        .route("/app/passkey/login/finish", post(passkey::login_finish))
        .route("/app/passkey/unlock/start", post(passkey::unlock_start))
        .route("/app/passkey/unlock/finish", post(passkey::unlock_finish))
}
