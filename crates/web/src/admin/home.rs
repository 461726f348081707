//! The menu after login: the pages this role may open, and what needs doing
//! (function switched off, patients awaiting a photo-ID check).

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use zaitaku_domain::account::Permission;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::nav::Nav;
use crate::common::staff::{Staff, gate};
use zaitaku_service::staff::Realm;

#[derive(Template)]
#[template(path = "admin/menu.html")]
struct MenuPage<'a> {
    nav: Nav<'a>,
    function_enabled: bool,
    is_admin: bool,
    photo_checks: Option<usize>,
}

/// Every institution role may see the URL; it is the weakest permission.
pub async fn menu(
    State(state): State<AppState>,
    staff: Staff<gate::ViewUrl>,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let photo_checks =
        zaitaku_service::patients::photo_checks_pending(&state.store, &staff).await?;
    let page = MenuPage {
        function_enabled: inst.institution.remote_function_enabled,
        is_admin: staff.may(Permission::ManageSettings),
        photo_checks,
        nav: Nav::new(&staff, Realm::Institution, "/admin"),
    };
    Ok(Html(page.render()?).into_response())
}
