//! The door of the administration: login with the lockout rule, the session,
//! the permission check every page goes through, password changes, logout.
//!
//! Two realms share this code: institution staff (`/admin`, code + ID +
//! password) and the platform's operators (`/operator`, ID + password). A
//! session belongs to one realm; its cookie is scoped to that realm's path.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use zaitaku_domain::account::{Permission, Role, validate_password};
use zaitaku_identity::random_bytes;
use zaitaku_storage::{AuditEvent, StoredAccount, StoredInstitution};

use crate::AppState;
use crate::error::{WebError, error_page};
use crate::flow::cookie;

/// An administrator's session ends after this long without a request.
const IDLE_MINUTES: i64 = 30;
/// The same words for an unknown ID, a wrong password, a disabled or locked
/// account: a refusal reveals neither which IDs exist nor which are locked.
/// The login page states the lock rule beside every refusal instead
/// (docs/design/administration.md).
const LOGIN_FAILED: &str = "医療機関等コード、ユーザID、またはパスワードが正しくありません。";
const OPERATOR_LOGIN_FAILED: &str = "ユーザID、またはパスワードが正しくありません。";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Realm {
    Institution,
    Operator,
}

impl Realm {
    fn cookie(self) -> &'static str {
        match self {
            Self::Institution => "zt_admin",
            Self::Operator => "zt_operator",
        }
    }

    pub fn base(self) -> &'static str {
        match self {
            Self::Institution => "/admin",
            Self::Operator => "/operator",
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Institution => "institution",
            Self::Operator => "operator",
        }
    }
}

/// Argon2id PHC string for a password (already checked against the rules).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// [`password_matches`] on the blocking pool: Argon2 takes tens of
/// milliseconds of CPU, which must not stall the async workers that answer
/// everyone else.
pub(crate) async fn password_matches_off_thread(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || password_matches(&password, &hash))
        .await
        .unwrap_or(false)
}

/// [`hash_password`] on the blocking pool.
pub async fn hash_password_off_thread(password: &str) -> Result<String, String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())?
}

/// A hash no password is checked against for real: an unknown or locked
/// account still costs one Argon2 verification, so the answer's timing does
/// not tell which IDs exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 24];
        let secret = random_bytes(&mut secret)
            .map(|()| zaitaku_proto::base64url::encode(&secret))
            .unwrap_or_default();
        hash_password(&secret).unwrap_or_default()
    })
}

/// Spends the time of a real check without a real account.
async fn decoy_check(password: &str) {
    let hash = tokio::task::spawn_blocking(decoy_hash)
        .await
        .unwrap_or_default();
    password_matches_off_thread(password, hash).await;
}

/// A temporary password that meets the rules (12 characters from each class),
/// for an administrator's reset or a new account. Shown once, never stored.
pub fn temporary_password() -> Result<String, WebError> {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"#$%&*@!?";
    let mut bytes = [0u8; 12];
    random_bytes(&mut bytes).map_err(|e| WebError::Internal(e.to_string()))?;
    let classes = [UPPER, LOWER, DIGIT, SYMBOL];
    let password: String = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = classes[i % classes.len()];
            char::from(set[usize::from(*b) % set.len()])
        })
        .collect();
    validate_password(&password).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(password)
}

/// A signed-in member of staff (or operator), re-read from the database on
/// every request so that a disabled account or a changed role takes effect at
/// once.
pub struct Staff {
    pub sid: String,
    pub csrf: String,
    pub account: StoredAccount,
    /// `None` for an operator.
    pub institution: Option<StoredInstitution>,
}

impl Staff {
    /// The institution of institution staff. Operators never reach a handler
    /// that calls this: their role has none of the institution permissions.
    pub fn institution(&self) -> Result<&StoredInstitution, WebError> {
        self.institution
            .as_ref()
            .ok_or_else(|| WebError::Internal("operator reached an institution page".into()))
    }

    pub fn institution_id(&self) -> Option<i64> {
        self.institution.as_ref().map(|i| i.id)
    }

    pub fn may(&self, p: Permission) -> bool {
        self.account.role.may(p)
    }

    /// The realm this account signs in to.
    pub fn realm(&self) -> Realm {
        if self.account.role == Role::Operator {
            Realm::Operator
        } else {
            Realm::Institution
        }
    }

    /// An audit record made by this member of staff.
    pub fn event<'a>(
        &self,
        action: &'a str,
        outcome: &'a str,
        person_id: Option<i64>,
        detail: serde_json::Value,
    ) -> AuditEvent<'a> {
        let mut detail = detail;
        if let Some(map) = detail.as_object_mut() {
            map.insert("account".into(), json!(self.account.id));
            map.insert("user_id".into(), json!(self.account.user_id));
            map.insert("role".into(), json!(self.account.role.as_str()));
        }
        AuditEvent {
            actor: if self.account.role == Role::Operator {
                "operator"
            } else {
                "staff"
            },
            action,
            outcome,
            institution_id: self.institution_id(),
            person_id,
            detail,
        }
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

/// What a session remembers. It is bound to the password it was opened
/// with: a change or a reset ends every other session of the account.
fn session_data(account: &StoredAccount, realm: Realm, csrf: &str) -> serde_json::Value {
    json!({
        "account": account.id,
        "realm": realm.as_str(),
        "csrf": csrf,
        "password": password_mark(&account.password_hash),
    })
}

/// Names a password hash without storing it a second time.
fn password_mark(password_hash: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password_hash.as_bytes());
    zaitaku_proto::base64url::encode(&digest.as_ref()[..16])
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
    let now = Utc::now();
    let Some(data) = state.store.session(sid, now).await? else {
        return Ok(None);
    };
    let (Some(account_id), Some(csrf), Some(session_realm)) = (
        data.get("account").and_then(serde_json::Value::as_i64),
        data.get("csrf").and_then(serde_json::Value::as_str),
        data.get("realm").and_then(serde_json::Value::as_str),
    ) else {
        return Ok(None);
    };
    if session_realm != realm.as_str() {
        return Ok(None);
    }
    let Some(account) = state.store.account(account_id).await? else {
        return Ok(None);
    };
    let same_password = data.get("password").and_then(serde_json::Value::as_str)
        == Some(password_mark(&account.password_hash).as_str());
    if account.disabled || account.is_locked(now) || !same_password {
        state.store.delete_session(sid).await?;
        return Ok(None);
    }
    let institution = match account.institution_id {
        Some(id) => match state.store.institution(id).await? {
            Some(i) => Some(i),
            None => return Ok(None),
        },
        None => None,
    };
    if (realm == Realm::Operator) != (account.role == Role::Operator) {
        return Ok(None);
    }
    // Sliding expiry: each request keeps the session alive for another 30 minutes.
    state
        .store
        .put_session(sid, &data, now, now + Duration::minutes(IDLE_MINUTES))
        .await?;
    Ok(Some(Staff {
        sid: sid.to_owned(),
        csrf: csrf.to_owned(),
        account,
        institution,
    }))
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
        state
            .store
            .audit(
                &staff.event(
                    "access.denied",
                    "role",
                    None,
                    json!({"permission": permission.as_str()}),
                ),
                Utc::now(),
            )
            .await?;
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
    let event = AuditEvent {
        actor: match realm {
            Realm::Institution => "staff",
            Realm::Operator => "operator",
        },
        action: "account.login",
        outcome: "cross_site",
        institution_id: None,
        person_id: None,
        detail: json!({}),
    };
    state.store.audit(&event, Utc::now()).await?;
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
    let account = state
        .store
        .account_for_login(form.institution_code.trim(), form.user_id.trim())
        .await?;
    attempt(&state, Realm::Institution, account, &form).await
}

pub async fn operator_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if let Some(refusal) = cross_site_login(&state, &headers, Realm::Operator).await? {
        return Ok(refusal);
    }
    let account = state.store.operator_for_login(form.user_id.trim()).await?;
    attempt(&state, Realm::Operator, account, &form).await
}

/// The lockout rule, the audit of every attempt (never the password) and the
/// session on success — the same for both realms.
async fn attempt(
    state: &AppState,
    realm: Realm,
    account: Option<StoredAccount>,
    form: &LoginForm,
) -> Result<Response, WebError> {
    let now = Utc::now();
    let again = |message: &str| -> Result<Response, WebError> {
        let page = LoginPage {
            error: Some(message),
            operator: realm == Realm::Operator,
            code: &form.institution_code,
            user_id: &form.user_id,
        };
        Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
    };
    let failed = match realm {
        Realm::Institution => LOGIN_FAILED,
        Realm::Operator => OPERATOR_LOGIN_FAILED,
    };
    let audit = |outcome: &'static str, institution: Option<i64>| AuditEvent {
        actor: match realm {
            Realm::Institution => "staff",
            Realm::Operator => "operator",
        },
        action: "account.login",
        outcome,
        institution_id: institution,
        person_id: None,
        detail: json!({"user_id": form.user_id.trim(), "institution_code": form.institution_code.trim()}),
    };
    let Some(account) = account else {
        decoy_check(&form.password).await;
        state.store.audit(&audit("unknown_user", None), now).await?;
        return again(failed);
    };
    // Counted before the check, so a burst of attempts cannot check more
    // than five passwords however they interleave.
    let Some((count, locked)) = state.store.reserve_login_attempt(account.id, now).await? else {
        decoy_check(&form.password).await;
        state
            .store
            .audit(&audit("locked", account.institution_id), now)
            .await?;
        return again(failed);
    };
    let started = account.start_date <= crate::admin::today();
    let matches = password_matches_off_thread(&form.password, &account.password_hash).await;
    if account.disabled || !started || !matches {
        let outcome = if locked.is_some_and(|t| t > now) {
            "locked_now"
        } else if account.disabled {
            "disabled"
        } else if !started {
            "not_started"
        } else {
            "wrong_password"
        };
        state
            .store
            .audit(&audit(outcome, account.institution_id), now)
            .await?;
        tracing::info!(failures = count, "administration login refused");
        return again(failed);
    }
    state.store.record_login(account.id, now).await?;
    state
        .store
        .audit(&audit("ok", account.institution_id), now)
        .await?;
    let mut sid = [0u8; 32];
    random_bytes(&mut sid).map_err(|e| WebError::Internal(e.to_string()))?;
    let sid = zaitaku_proto::base64url::encode(&sid);
    let mut csrf = [0u8; 32];
    random_bytes(&mut csrf).map_err(|e| WebError::Internal(e.to_string()))?;
    state
        .store
        .put_session(
            &sid,
            &session_data(&account, realm, &zaitaku_proto::base64url::encode(&csrf)),
            now,
            now + Duration::minutes(IDLE_MINUTES),
        )
        .await?;
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let target = if account.must_change_password {
        format!("{}/password", realm.base())
    } else {
        realm.base().to_owned()
    };
    let mut res = Redirect::to(&target).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{}={sid}; Path={}; HttpOnly; SameSite=Strict{secure}",
            realm.cookie(),
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
        state.store.delete_session(&s.sid).await?;
        state
            .store
            .audit(
                &s.event("account.logout", "ok", None, json!({})),
                Utc::now(),
            )
            .await?;
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
    let now = Utc::now();
    let refuse = |message: String| -> Result<Response, WebError> {
        let page = PasswordPage {
            nav: crate::admin::Nav::new(&staff, realm, ""),
            forced: staff.account.must_change_password,
            error: Some(message),
            done: false,
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
    };
    if !password_matches_off_thread(&form.current, &staff.account.password_hash).await {
        state
            .store
            .audit(
                &staff.event("account.password_change", "wrong_password", None, json!({})),
                now,
            )
            .await?;
        return refuse("現在のパスワードが正しくありません。".into());
    }
    if let Err(e) = validate_password(&form.new) {
        return refuse(format!("{e}（{}）", e.code()));
    }
    if form.new != form.confirm {
        return refuse("新しいパスワードと確認用のパスワードが一致しません。".into());
    }
    if form.new == form.current {
        return refuse("現在と異なるパスワードを設定してください。".into());
    }
    let hash = hash_password_off_thread(&form.new)
        .await
        .map_err(WebError::Internal)?;
    state
        .store
        .set_password(staff.account.id, &hash, false)
        .await?;
    // This session goes on with the new password; every other one has ended.
    let mut staff = staff;
    staff.account.password_hash = hash;
    state
        .store
        .put_session(
            &staff.sid,
            &session_data(&staff.account, realm, &staff.csrf),
            now,
            now + Duration::minutes(IDLE_MINUTES),
        )
        .await?;
    state
        .store
        .audit(
            &staff.event("account.password_change", "ok", None, json!({})),
            now,
        )
        .await?;
    // The menu comes back now that the temporary password is gone.
    staff.account.must_change_password = false;
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

    #[test]
    fn temporary_passwords_meet_the_rules_and_differ() {
        let a = temporary_password().unwrap();
        let b = temporary_password().unwrap();
        assert!(validate_password(&a).is_ok(), "{a}");
        assert_ne!(a, b);
    }
}
