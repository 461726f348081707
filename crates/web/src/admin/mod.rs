//! The administration of an institution (seed 002, the 資格確認端末 side of
//! the web service) under `/admin`. Every handler names the one permission
//! it needs in its `Staff<gate::…>` argument
//! ([`zaitaku_domain::account::Permission`], docs/permissions.md) and every
//! query is scoped to the signed-in account's institution.

mod accounts;
mod app;
pub(crate) mod audit;
mod audit_labels;
pub mod auth;
mod devices;
mod home;
mod medical;
mod oqs_links;
mod patients;
mod settings;
mod url;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::common::staff::gate;

pub use auth::hash_password;

/// Every route of the administration. The permission each needs is its
/// handler's `Staff<gate::…>`; docs/permissions.md lists them and the route
/// tests walk this table and the operator's.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::menu))
        .route("/admin/login", get(auth::login_page).post(auth::login))
        .route("/admin/logout", post(auth::logout))
        .route(
            "/admin/password",
            get(auth::password_page::<gate::OwnPassword>)
                .post(auth::change_password::<gate::OwnPassword>),
        )
        .route("/admin/url", get(url::page))
        .route("/admin/url/qr.png", get(url::qr_png))
        .route("/admin/url/qr.svg", get(url::qr_svg))
        .route("/admin/url/poster", get(url::poster))
        .route("/admin/url/rotate", get(url::rotate_page).post(url::rotate))
        .route("/admin/settings", get(settings::page).post(settings::save))
        .route("/admin/accounts", get(accounts::list))
        .route(
            "/admin/accounts/new",
            get(accounts::new_page).post(accounts::create),
        )
        .route("/admin/accounts/{id}/disable", post(accounts::disable))
        .route("/admin/accounts/{id}/enable", post(accounts::enable))
        .route("/admin/accounts/{id}/unlock", post(accounts::unlock))
        .route(
            "/admin/accounts/{id}/reset-password",
            post(accounts::reset_password),
        )
        .route("/admin/patients", get(patients::list))
        .route("/admin/patients/{id}", get(patients::detail))
        .route("/admin/patients/{id}/requery", post(patients::requery))
        .route(
            "/admin/patients/{id}/reference",
            post(patients::set_reference),
        )
        .route(
            "/admin/patients/{id}/photo-id",
            post(patients::photo_id_checked),
        )
        .route("/admin/patients/{id}/medical", get(medical::page))
        .route("/admin/app", get(app::page).post(app::issue))
        .route("/admin/devices", get(devices::list).post(devices::register))
        .route("/admin/devices/{id}/revoke", post(devices::revoke))
        .route(
            "/admin/oqs-links",
            get(oqs_links::list).post(oqs_links::issue),
        )
        .route(
            "/admin/oqs-links/{id}/rotate",
            get(oqs_links::rotate_page).post(oqs_links::rotate),
        )
        .route(
            "/admin/oqs-links/{id}/revoke",
            get(oqs_links::revoke_page).post(oqs_links::revoke),
        )
        .route(
            "/admin/audit",
            get(audit::page::<gate::ViewInstitutionAudit>),
        )
        .route(
            "/admin/audit.csv",
            get(audit::csv::<gate::ViewInstitutionAudit>),
        )
}
