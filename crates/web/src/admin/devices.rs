//! 医療機関等の端末登録: an administrator makes the browser in front of them
//! one of the institution's own devices, sees the list and revokes one
//! (登録解除). A registration in the web service that ran on such a device,
//! with the card read on it, was made in front of staff and needs no photo-ID
//! check afterwards (`zaitaku_domain::photo_id`).

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use zaitaku_service::device::{self as devices, DeviceRefusal};
use zaitaku_storage::{DeviceSighting, StoredDevice};

use crate::AppState;
use crate::common::device;
use crate::common::error::WebError;
use crate::common::form_page;
use crate::common::jst_minute;
use crate::common::nav::Nav;
use crate::common::staff::{Gate, Staff, gate, no_such_record};
use zaitaku_service::staff::Realm;

pub struct DeviceLine {
    pub id: i64,
    pub kind: &'static str,
    pub memo: String,
    pub registered: String,
    pub last_seen: String,
    pub revoked: Option<String>,
    /// The browser this page is open in.
    pub this_browser: bool,
}

pub(super) fn line(d: &StoredDevice, here: Option<&DeviceSighting>) -> DeviceLine {
    DeviceLine {
        id: d.id,
        kind: d.kind.label(),
        memo: d.memo.clone(),
        registered: format!(
            "{}（{}）",
            jst_minute(d.registered_at),
            d.registered_by.as_deref().unwrap_or("—")
        ),
        last_seen: d.last_seen_at.map_or_else(|| "—".to_owned(), jst_minute),
        revoked: d.revoked_at.map(jst_minute),
        this_browser: here.is_some_and(|h| h.id == d.id),
    }
}

#[derive(Template)]
#[template(path = "admin/devices.html")]
struct DevicesPage<'a> {
    nav: Nav<'a>,
    /// This browser is an active device of this institution.
    registered_here: bool,
    devices: Vec<DeviceLine>,
    memo: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
}

/// This browser's device, if it is an active one of the staff's institution.
async fn here(
    state: &AppState,
    headers: &HeaderMap,
    staff: &Staff<impl Gate>,
) -> Result<Option<DeviceSighting>, WebError> {
    Ok(devices::this_browser(&state.store, staff, device::token(headers)).await?)
}

async fn render(
    state: &AppState,
    staff: &Staff<impl Gate>,
    here: Option<DeviceSighting>,
    memo: String,
    notice: Option<&'static str>,
    error: Option<(String, &'static str)>,
) -> Result<Response, WebError> {
    let listed = devices::list(&state.store, staff).await?;
    let page = DevicesPage {
        registered_here: here.is_some(),
        devices: listed.iter().map(|d| line(d, here.as_ref())).collect(),
        memo,
        notice,
        error,
        nav: Nav::new(staff, Realm::Institution, "/admin/devices"),
    };
    Ok(form_page(page.render()?, page.error.is_some()))
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let here = here(&state, &headers, &staff).await?;
    let notice = match q.done.as_deref() {
        Some("registered") => Some("この端末を医療機関等の端末として登録しました。"),
        Some("revoked") => Some("端末の登録を解除しました。"),
        _ => None,
    };
    let mut res = render(&state, &staff, here, String::new(), notice, None).await?;
    if here.is_some() {
        // The cookie's lifetime starts again, so a device in use stays one
        // (browsers keep a cookie for at most 400 days).
        if let Some(token) = device::token(&headers) {
            res.headers_mut()
                .insert(header::SET_COOKIE, device::set_cookie(&state, Some(token))?);
        }
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct RegisterForm {
    csrf: Option<String>,
    #[serde(default)]
    memo: String,
}

pub async fn register(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let registered = devices::register(
        &state.store,
        &staff,
        device::token(&headers),
        &form.memo,
        zaitaku_service::random_token()?,
        Utc::now(),
    )
    .await?;
    let registered = match registered {
        Ok(r) => r,
        Err(why) => {
            // Shown again with what was typed, unless it was this browser
            // that is registered already.
            let (here, memo) = match why {
                DeviceRefusal::AlreadyRegistered => {
                    (here(&state, &headers, &staff).await?, String::new())
                }
                DeviceRefusal::Memo(_) => (None, form.memo),
            };
            let error = Some((why.message(), why.code()));
            return render(&state, &staff, here, memo, None, error).await;
        }
    };
    let mut res = Redirect::to("/admin/devices?done=registered").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        device::set_cookie(&state, Some(&registered.token))?,
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: Option<String>,
    /// `app`: the request came from アクティベーションコード管理.
    back: Option<String>,
}

pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff<gate::ManageDevices>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    let revoked = devices::revoke(
        &state.store,
        &staff,
        id,
        device::token(&headers),
        Utc::now(),
    )
    .await?;
    let Some(revoked) = revoked else {
        return Ok(no_such_record(
            &staff,
            Some(("/admin/devices", "医療機関等の端末登録に戻る")),
        ));
    };
    let back = if form.back.as_deref() == Some("app") {
        "/admin/app?done=revoked"
    } else {
        "/admin/devices?done=revoked"
    };
    let mut res = Redirect::to(back).into_response();
    // This browser's own registration ends: its cookie is forgotten too.
    if revoked.this_browser {
        res.headers_mut()
            .insert(header::SET_COOKIE, device::set_cookie(&state, None)?);
    }
    Ok(res)
}
