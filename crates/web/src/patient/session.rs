//! The visit's cookie: the browser holds only the id of the visit that
//! `zaitaku_service::visit` keeps server-side.

use askama::Template;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use zaitaku_service::visit::{IDLE_MINUTES, Visit};
use zaitaku_storage::StoredInstitution;

use crate::AppState;
use crate::common::cookies::{self, SameSite};
use crate::common::error::WebError;
use crate::common::refusal::Refusal;
use crate::pages::{open_institution, unavailable_url};

pub const COOKIE: &str = "zt_flow";

/// The visit behind the request's cookie, if it is alive and belongs to this
/// institution.
pub async fn load_visit(
    state: &AppState,
    headers: &HeaderMap,
    institution_id: i64,
) -> Result<Option<Visit>, WebError> {
    let Some(sid) = cookies::read(headers, COOKIE) else {
        return Ok(None);
    };
    Ok(Visit::load(&state.store, sid, institution_id, Utc::now()).await?)
}

pub fn cookie_header(visit: &Visit, state: &AppState) -> Result<HeaderValue, WebError> {
    cookies::set(
        &state.public_url,
        COOKIE,
        &visit.sid,
        "/w/",
        SameSite::Lax,
        Some(IDLE_MINUTES * 60),
    )
}

/// A request within a live visit: the institution of the URL's `{token}`
/// and the visit behind the cookie. Its rejection is the page that says why
/// not: one page for every unusable URL, or the expired visit's page.
pub struct InVisit {
    pub token: String,
    pub inst: StoredInstitution,
    pub visit: Visit,
}

impl FromRequestParts<AppState> for InVisit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(token) = params
            .iter()
            .find_map(|(k, v)| (k == "token").then(|| v.to_owned()))
        else {
            return Err(unavailable_url());
        };
        let found = async {
            let Some(inst) = open_institution(state, &token).await? else {
                return Ok(Err(unavailable_url()));
            };
            Ok::<_, WebError>(match load_visit(state, &parts.headers, inst.id).await? {
                Some(visit) => Ok((inst, visit)),
                None => Err(session_expired(&inst, &token)),
            })
        };
        match found.await {
            Ok(Ok((inst, visit))) => Ok(Self { token, inst, visit }),
            Ok(Err(page)) => Err(page),
            Err(e) => Err(e.into_response()),
        }
    }
}

pub fn session_expired(inst: &StoredInstitution, token: &str) -> Response {
    let page = ExpiredPage {
        token,
        institution_name: &inst.institution.name,
    };
    match page.render() {
        Ok(html) => (StatusCode::GONE, Html(html)).into_response(),
        Err(_) => Refusal::SessionExpired.into_response(),
    }
}

#[derive(Template)]
#[template(path = "flow/expired.html")]
struct ExpiredPage<'a> {
    token: &'a str,
    institution_name: &'a str,
}
