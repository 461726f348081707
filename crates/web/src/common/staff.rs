//! The signed-in member of staff (or operator) as an extractor: a handler
//! that takes `Staff<gate::ViewPatients>` runs only for a live session of
//! the gate's realm whose role holds its permission; anyone else gets the
//! login page, the forced password change or the refusal page K-E-01 (with
//! an audit record), never the handler. The permission each route needs is
//! therefore read off its handler's signature (docs/permissions.md).

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use zaitaku_domain::account::Permission;
use zaitaku_service::staff::{self, Realm, Session};
use zaitaku_storage::{AuditEvent, StoredInstitution};

use super::cookies;
use super::error::WebError;
use super::nav::Nav;
use super::refusal::Refusal;
use super::state::AppState;

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

/// What a route demands: a realm and one permission.
pub trait Gate: Send + Sync + 'static {
    const REALM: Realm;
    const PERMISSION: Permission;
}

/// The gates, one per permission (and the own-password change once per
/// realm). They are types only: `Staff<gate::ViewUrl>`.
pub mod gate {
    use super::{Gate, Permission, Realm};

    macro_rules! gates {
        ($($name:ident: $realm:ident, $permission:ident;)*) => {$(
            pub enum $name {}
            impl Gate for $name {
                const REALM: Realm = Realm::$realm;
                const PERMISSION: Permission = Permission::$permission;
            }
        )*};
    }

    gates! {
        ViewUrl: Institution, ViewUrl;
        RotateUrl: Institution, RotateUrl;
        ManageSettings: Institution, ManageSettings;
        ManageAccounts: Institution, ManageAccounts;
        ViewPatients: Institution, ViewPatients;
        RecordPatientNotes: Institution, RecordPatientNotes;
        ManageDevices: Institution, ManageDevices;
        ViewInstitutionAudit: Institution, ViewInstitutionAudit;
        OwnPassword: Institution, ChangeOwnPassword;
        OperatorOwnPassword: Operator, ChangeOwnPassword;
        ManageInstitutions: Operator, ManageInstitutions;
        ViewPlatformAudit: Operator, ViewPlatformAudit;
        PostNotices: Operator, PostNotices;
    }
}

/// A signed-in member of staff who passed gate `G`: the service's session,
/// re-read from the database on every request so that a disabled account or
/// a changed role takes effect at once.
pub struct Staff<G> {
    session: Session,
    gate: PhantomData<fn() -> G>,
}

impl<G> Deref for Staff<G> {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl<G> DerefMut for Staff<G> {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl<G: Gate> FromRequestParts<AppState> for Staff<G> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match admit(state, &parts.headers, G::REALM, G::PERMISSION).await {
            Ok(Ok(session)) => Ok(Self {
                session,
                gate: PhantomData,
            }),
            Ok(Err(turned_away)) => Err(turned_away),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl<G> Staff<G> {
    /// The institution of institution staff. Operators never reach a handler
    /// that calls this: their role has none of the institution permissions.
    pub fn institution(&self) -> Result<&StoredInstitution, WebError> {
        Ok(self.staff_institution()?)
    }

    pub fn may(&self, p: Permission) -> bool {
        self.account.role.may(p)
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

    /// The refusal to send when a form's CSRF token is not this session's
    /// (画面番号 K-E-03).
    pub fn csrf_refusal(&self, token: Option<&str>) -> Option<Response> {
        csrf_refusal(self, token)
    }

    /// The session after a use case replaced it (a changed password).
    pub fn replaced(self, session: Session) -> Self {
        Self {
            session,
            gate: PhantomData,
        }
    }
}

/// The refusal to send when a form's CSRF token is not this session's
/// (画面番号 K-E-03).
pub fn csrf_refusal(session: &Session, token: Option<&str>) -> Option<Response> {
    (token != Some(session.csrf.as_str())).then(|| refusal_page(session, Refusal::StaleForm, None))
}

/// Who is signed in on this realm, if anyone (no permission check).
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
) -> Result<Option<Session>, WebError> {
    let Some(sid) = cookies::read(headers, realm.cookie()) else {
        return Ok(None);
    };
    Ok(staff::resume_session(&state.store, sid, realm, Utc::now()).await?)
}

/// Signed in on this realm, password not awaiting change, and the role holds
/// `permission`; `Err` is where the browser goes instead.
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    realm: Realm,
    permission: Permission,
) -> Result<Result<Session, Response>, WebError> {
    let Some(session) = signed_in(state, headers, realm).await? else {
        return Ok(Err(
            Redirect::to(&format!("{}/login", realm.base())).into_response()
        ));
    };
    if session.account.must_change_password && permission != Permission::ChangeOwnPassword {
        return Ok(Err(
            Redirect::to(&format!("{}/password", realm.base())).into_response()
        ));
    }
    if !session.account.role.may(permission) {
        staff::access_denied(&state.store, &session, permission, Utc::now()).await?;
        return Ok(Err(refusal_page(&session, Refusal::Forbidden, None)));
    }
    Ok(Ok(session))
}

/// A form that carries nothing but its CSRF token (a button's post).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// A refusal inside the administration: the role's menu, logout and a way
/// back stay, and the page carries its own 画面番号 (docs/decisions.md).
#[derive(Template)]
#[template(path = "admin/refusal.html")]
struct RefusalPage<'a> {
    nav: Nav<'a>,
    title: &'a str,
    message: &'a str,
    code: &'a str,
    screen_id: &'a str,
    back: Option<(&'a str, &'a str)>,
}

/// `back` is the list to choose again from (K-E-02).
pub fn refusal_page(session: &Session, refusal: Refusal, back: Option<(&str, &str)>) -> Response {
    let message = refusal.message();
    let page = RefusalPage {
        nav: Nav::new(session, session.realm, ""),
        title: refusal.title(),
        message: &message,
        code: refusal.code(),
        screen_id: refusal.screen_id(),
        back,
    };
    match page.render() {
        Ok(html) => (refusal.status(), Html(html)).into_response(),
        Err(_) => refusal.plain_page(refusal.status()),
    }
}

/// 画面番号 K-E-02 with the list to choose again from.
pub fn no_such_record(session: &Session, back: Option<(&str, &str)>) -> Response {
    refusal_page(session, Refusal::NoSuchRecord, back)
}
