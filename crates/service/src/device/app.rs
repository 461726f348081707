//! The staff app's login on an activated device (seed 001 「アプリを起動する」,
//! セキュリティ設定): the four-digit passcode, the ID and password when the
//! passcode is spent or after a ログアウト, the session bound to the device,
//! and the device's own settings. A session opens only on the device that
//! keeps the device token it was opened with.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_domain::account::Role;
use zaitaku_domain::staff_app::{Passcode, PasscodeOutcome, passcode_attempt};
use zaitaku_storage::{
    AppDevice, AppSessionParts, AuditEvent, Store, StoredAccount, StoredInstitution, Write,
};

use crate::staff::{
    IDLE_MINUTES, LoginRefusal, PasswordRefusal, Realm, check_new_password, check_password,
    hash_password_off_thread, password_mark, password_matches_off_thread,
};
use crate::{Actor, ServiceError, random_token};

/// A signed-in app: the device, its account and their institution, and
/// where the current check stands.
#[derive(Debug, Clone)]
pub struct AppSession {
    pub sid: String,
    pub csrf: String,
    pub device: AppDevice,
    pub account: StoredAccount,
    pub institution: StoredInstitution,
    /// A check started and waiting for the card
    /// (`crate::inquiry::app_check`).
    pub check: Option<serde_json::Value>,
    /// The result on screen (C-04-01-W) until 「閉じる」.
    pub result: Option<i64>,
    /// セキュリティ設定 stays open until then (microseconds): the passcode
    /// was given again.
    pub security_until: Option<i64>,
    /// A passkey enrolment waiting for the authenticator
    /// ([`super::passkey`]).
    pub passkey: Option<serde_json::Value>,
}

impl AppSession {
    pub fn actor(&self) -> Actor<'_> {
        Actor::new(&self.account, Some(self.institution.id))
    }

    /// The device has no passcode yet: パスコード登録 comes before anything
    /// else.
    pub fn needs_passcode(&self) -> bool {
        self.device.passcode_hash.is_none()
    }

    /// セキュリティ設定 is open: the passcode was given again less than
    /// [`SECURITY_MINUTES`] ago.
    pub fn security_open(&self, now: DateTime<Utc>) -> bool {
        self.security_until
            .is_some_and(|t| t > now.timestamp_micros())
    }

    /// An audit record of this device's account, naming the device.
    pub fn event<'e>(
        &self,
        action: &'e str,
        outcome: &'e str,
        person_id: Option<i64>,
        mut detail: serde_json::Value,
    ) -> AuditEvent<'e> {
        if let Some(map) = detail.as_object_mut() {
            map.insert("device".into(), json!(self.device.id));
        }
        self.actor().event(action, outcome, person_id, detail)
    }
}

impl AppSession {
    fn data(&self) -> serde_json::Value {
        json!({
            "realm": "app",
            "app_device": self.device.id,
            "account": self.account.id,
            "csrf": self.csrf,
            "password": password_mark(&self.account.password_hash),
            "check": self.check,
            "result": self.result,
            "security_until": self.security_until,
            "passkey": self.passkey,
        })
    }

    /// Keeps the session's state (the check, the result on screen) for
    /// another [`IDLE_MINUTES`].
    pub async fn save(&self, store: &Store, now: DateTime<Utc>) -> Result<(), ServiceError> {
        store
            .put_session(
                &self.sid,
                &self.data(),
                now,
                now + Duration::minutes(IDLE_MINUTES),
            )
            .await?;
        Ok(())
    }
}

impl AppSession {
    /// The session's save once a check is kept: no check waiting, and the
    /// result on screen is the one the same job keeps (its id is known only
    /// inside the job).
    pub(crate) fn showing_kept_result(&self, now: DateTime<Utc>) -> Write {
        let mut data = self.data();
        data["check"] = serde_json::Value::Null;
        data["result"] = json!(0);
        Write::put_session_naming_row(
            &self.sid,
            data,
            "/result",
            now,
            now + Duration::minutes(IDLE_MINUTES),
        )
    }
}

/// Opens a session for a device whose account has just proven itself.
pub(super) async fn open_app_session(
    store: &Store,
    device: AppDevice,
    account: StoredAccount,
    now: DateTime<Utc>,
) -> Result<AppSession, ServiceError> {
    let institution = store
        .institution(device.institution_id)
        .await?
        .ok_or_else(|| ServiceError::Internal("a device without its institution".into()))?;
    let session = AppSession {
        sid: random_token()?,
        csrf: random_token()?,
        device,
        account,
        institution,
        check: None,
        result: None,
        security_until: None,
        passkey: None,
    };
    session.save(store, now).await?;
    // 最終利用 in the administration's list: the last login.
    store.touch_device(session.device.id, now).await?;
    Ok(session)
}

/// Where a browser stands when it opens `/app`.
#[derive(Debug)]
pub enum AppStart {
    /// No device token, or one no device keeps: 利用規約 → 初期登録.
    NotActivated,
    /// The device was deregistered (登録解除): the browser is to forget its
    /// token; it may be activated again with a new code.
    Revoked,
    /// ログイン with the passcode.
    Passcode {
        device: AppDevice,
    },
    /// システムログイン with the ID and password (no passcode: spent, or
    /// logged out).
    Password {
        device: AppDevice,
    },
    SignedIn(Box<AppSession>),
}

/// What `/app` shows this browser, from its device token and session id.
/// A live session is kept alive for another [`IDLE_MINUTES`].
pub async fn start(
    store: &Store,
    token: Option<&str>,
    sid: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AppStart, ServiceError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(AppStart::NotActivated);
    };
    let sid = sid.filter(|s| !s.is_empty());
    // The device, and the session's parts when there is one, in one read.
    let Some(parts) = store.app_session_parts(token, sid, now).await? else {
        return Ok(AppStart::NotActivated);
    };
    if !parts.device.active {
        return Ok(AppStart::Revoked);
    }
    let device = parts.device.clone();
    if let Some(sid) = sid
        && let Some(session) = resume(store, sid, parts, now).await?
    {
        return Ok(AppStart::SignedIn(Box::new(session)));
    }
    Ok(if device.passcode_hash.is_some() {
        AppStart::Passcode { device }
    } else {
        AppStart::Password { device }
    })
}

async fn resume(
    store: &Store,
    sid: &str,
    parts: AppSessionParts,
    now: DateTime<Utc>,
) -> Result<Option<AppSession>, ServiceError> {
    let AppSessionParts {
        device,
        session,
        account,
        institution,
    } = parts;
    let Some((data, until)) = session else {
        return Ok(None);
    };
    let field = |k: &str| data.get(k).and_then(serde_json::Value::as_i64);
    if data.get("realm").and_then(serde_json::Value::as_str) != Some("app")
        || field("app_device") != Some(device.id)
        || field("account") != Some(device.account_id)
    {
        return Ok(None);
    }
    let Some(csrf) = data.get("csrf").and_then(serde_json::Value::as_str) else {
        return Ok(None);
    };
    let Some(account) = account else {
        return Ok(None);
    };
    let same_password = data.get("password").and_then(serde_json::Value::as_str)
        == Some(password_mark(&account.password_hash).as_str());
    if account.disabled || account.is_locked(now) || !same_password {
        store.delete_session(sid).await?;
        return Ok(None);
    }
    let Some(institution) = institution else {
        return Ok(None);
    };
    // Kept alive for another IDLE_MINUTES, written at most once a minute: a
    // check's requests follow each other within seconds, and each write is
    // a commit the request waits for.
    let idle = now + Duration::minutes(IDLE_MINUTES);
    if idle - until >= Duration::minutes(1) {
        store.put_session(sid, &data, now, idle).await?;
    }
    Ok(Some(AppSession {
        sid: sid.to_owned(),
        csrf: csrf.to_owned(),
        device,
        account,
        institution,
        check: data.get("check").filter(|c| !c.is_null()).cloned(),
        result: field("result"),
        security_until: field("security_until"),
        passkey: data.get("passkey").filter(|c| !c.is_null()).cloned(),
    }))
}

/// Why the app did not open. Each is audited (`app.login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppLoginRefusal {
    /// Not four half-width digits.
    PasscodeFormat,
    WrongPasscode {
        tries_left: u8,
    },
    /// The fifth wrong passcode in a row: the ID and password are asked now.
    PasscodeSpent,
    /// The ID or password is not right, or not this device's account.
    Login,
    /// The account is locked (five wrong passwords; 30 minutes).
    Locked,
    /// The two passcodes of パスコード登録 differ.
    PasscodesDiffer,
}

impl AppLoginRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::PasscodeFormat => "Z-V-0002",
            Self::WrongPasscode { .. } => "Z-P-0010",
            Self::PasscodeSpent => "Z-P-0011",
            Self::Login => "Z-P-0012",
            Self::Locked => "Z-P-0002",
            Self::PasscodesDiffer => "Z-P-0013",
        }
    }

    pub fn message(self) -> String {
        match self {
            Self::PasscodeFormat => "パスコードは半角数字4桁で入力してください。".into(),
            Self::WrongPasscode { tries_left } => format!(
                "パスコードが正しくありません。あと{tries_left}回間違えると、ID及びパスワードの入力が必要になります。"
            ),
            Self::PasscodeSpent => "パスコードを5回間違えました。ID及びパスワードでログインしてください。".into(),
            Self::Login => "ID又はパスワードが正しくありません。".into(),
            Self::Locked => "パスワードを5回間違えたため、アカウントがロックされています。30分経ってから、もう一度お試しください。".into(),
            Self::PasscodesDiffer => "1回目と2回目のパスコードが一致しません。もう一度入力してください。".into(),
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Self::PasscodeFormat => "passcode_format",
            Self::WrongPasscode { .. } => "wrong_passcode",
            Self::PasscodeSpent => "passcode_spent",
            Self::Login => "login",
            Self::Locked => "locked",
            Self::PasscodesDiffer => "passcodes_differ",
        }
    }
}

fn device_event(
    device: &AppDevice,
    action: &'static str,
    outcome: &'static str,
    code: &str,
) -> AuditEvent<'static> {
    AuditEvent {
        actor: "staff",
        action,
        outcome,
        institution_id: Some(device.institution_id),
        person_id: None,
        detail: json!({"device": device.id, "account": device.account_id, "code": code}),
    }
}

/// Attempts a contended passcode count this many times before giving up.
const CAS_RETRIES: usize = 8;

/// ログイン with the passcode: a session on `device`.
pub async fn passcode_login(
    store: &Store,
    device: &AppDevice,
    passcode: &str,
    now: DateTime<Utc>,
) -> Result<Result<AppSession, AppLoginRefusal>, ServiceError> {
    if let Err(why) = check_passcode(store, device, passcode, "app.login", now).await? {
        return Ok(Err(why));
    }
    let refused = |why: AppLoginRefusal| {
        let event = device_event(device, "app.login", why.outcome(), why.code());
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    let Some(account) = store.account(device.account_id).await? else {
        return refused(AppLoginRefusal::Login).await;
    };
    if account.disabled || account.is_locked(now) {
        return refused(AppLoginRefusal::Locked).await;
    }
    open_app_session(store, device.clone(), account, now)
        .await
        .map(Ok)
}

/// The passcode asked again to open セキュリティ設定; wrong ones count
/// like a login's.
pub async fn confirm_passcode(
    store: &Store,
    session: &mut AppSession,
    passcode: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), AppLoginRefusal>, ServiceError> {
    let checked = check_passcode(store, &session.device, passcode, "app.security", now).await?;
    if checked.is_ok() {
        session.security_until =
            Some((now + Duration::minutes(SECURITY_MINUTES)).timestamp_micros());
        session.save(store, now).await?;
    }
    Ok(checked)
}

/// How long セキュリティ設定 stays open after the passcode was given again.
pub const SECURITY_MINUTES: i64 = 10;

/// One passcode attempt on `device`, counted and audited as `action`.
async fn check_passcode(
    store: &Store,
    device: &AppDevice,
    passcode: &str,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<Result<(), AppLoginRefusal>, ServiceError> {
    let refused = |why: AppLoginRefusal, device: &AppDevice| {
        let event = device_event(device, action, why.outcome(), why.code());
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    let Ok(passcode) = Passcode::parse(passcode) else {
        return refused(AppLoginRefusal::PasscodeFormat, device).await;
    };
    let mut device = device.clone();
    for _ in 0..CAS_RETRIES {
        let Some(hash) = device.passcode_hash.clone() else {
            return refused(AppLoginRefusal::PasscodeSpent, &device).await;
        };
        let correct = password_matches_off_thread(passcode.as_str(), &hash).await;
        let (outcome, wrong) = passcode_attempt(device.wrong_passcodes, correct);
        let forget = outcome == PasscodeOutcome::NeedsPassword;
        let counted = wrong == device.wrong_passcodes
            || store
                .record_passcode_attempt(device.id, device.wrong_passcodes, wrong, forget)
                .await?;
        if !counted {
            // Another attempt moved the count first: read it again.
            match store.app_device_by_id(device.id).await? {
                Some(d) if d.active => device = d,
                _ => return refused(AppLoginRefusal::Login, &device).await,
            }
            continue;
        }
        return match outcome {
            PasscodeOutcome::Accepted => {
                store
                    .audit(&device_event(&device, action, "ok", "passcode"), now)
                    .await?;
                Ok(Ok(()))
            }
            PasscodeOutcome::Wrong { tries_left } => {
                refused(AppLoginRefusal::WrongPasscode { tries_left }, &device).await
            }
            PasscodeOutcome::NeedsPassword => {
                refused(AppLoginRefusal::PasscodeSpent, &device).await
            }
        };
    }
    Err(ServiceError::Internal("passcode count contended".into()))
}

/// システムログイン: the ID and password of the device's own account, when
/// the passcode no longer opens the app. The lockout rule is the
/// administration's.
pub async fn password_login(
    store: &Store,
    device: &AppDevice,
    user_id: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<AppSession, AppLoginRefusal>, ServiceError> {
    let refused = |why: AppLoginRefusal| {
        let event = device_event(device, "app.login", why.outcome(), why.code());
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    let Some(institution) = store.institution(device.institution_id).await? else {
        return Err(ServiceError::Internal(
            "a device without its institution".into(),
        ));
    };
    let account = match check_password(
        store,
        Realm::Institution,
        "app.login",
        institution.institution.code.as_str(),
        user_id,
        password,
        now,
    )
    .await?
    {
        Ok(a) if a.id == device.account_id && a.role != Role::Admin => a,
        Ok(_) => return refused(AppLoginRefusal::Login).await,
        Err(LoginRefusal::Locked | LoginRefusal::LockedNow) => {
            return refused(AppLoginRefusal::Locked).await;
        }
        Err(_) => return refused(AppLoginRefusal::Login).await,
    };
    store.clear_login_failures(account.id).await?;
    open_app_session(store, device.clone(), account, now)
        .await
        .map(Ok)
}

/// パスコード登録 (and ログインパスコード設定 once the current one is
/// proven): `first` and `again` must be the same four digits.
pub async fn register_passcode(
    store: &Store,
    session: &AppSession,
    first: &str,
    again: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), AppLoginRefusal>, ServiceError> {
    let refused = |why: AppLoginRefusal| {
        let event = session.event(
            "app.passcode",
            why.outcome(),
            None,
            json!({"code": why.code()}),
        );
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    let (Ok(first), Ok(again)) = (Passcode::parse(first), Passcode::parse(again)) else {
        return refused(AppLoginRefusal::PasscodeFormat).await;
    };
    if first != again {
        return refused(AppLoginRefusal::PasscodesDiffer).await;
    }
    let hash = hash_password_off_thread(first.as_str()).await?;
    if !store.set_app_passcode(session.device.id, &hash).await? {
        return Err(ServiceError::Internal(
            "the device was revoked meanwhile".into(),
        ));
    }
    store
        .audit(&session.event("app.passcode", "ok", None, json!({})), now)
        .await?;
    Ok(Ok(()))
}

/// アカウントパスワード設定: the current password (a wrong one counts
/// toward the account's lock, as at login), the new one twice under the
/// rules of seed 001. Every other session of the account ends; this one
/// goes on.
pub async fn change_account_password(
    store: &Store,
    session: &mut AppSession,
    current: &str,
    new: &str,
    confirm: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), PasswordRefusal>, ServiceError> {
    let checked = check_password(
        store,
        Realm::Institution,
        "app.password_change",
        session.institution.institution.code.as_str(),
        &session.account.user_id,
        current,
        now,
    )
    .await?;
    match checked {
        Ok(_) => {}
        Err(LoginRefusal::Locked | LoginRefusal::LockedNow) => {
            return Ok(Err(PasswordRefusal::Locked));
        }
        Err(_) => return Ok(Err(PasswordRefusal::WrongCurrent)),
    }
    store.clear_login_failures(session.account.id).await?;
    if let Err(why) = check_new_password(current, new, confirm) {
        return Ok(Err(why));
    }
    let hash = hash_password_off_thread(new).await?;
    store.set_password(session.account.id, &hash, false).await?;
    session.account.password_hash = hash;
    session.save(store, now).await?;
    store
        .audit(
            &session.event("account.password_change", "ok", None, json!({})),
            now,
        )
        .await?;
    Ok(Ok(()))
}

/// ログインパスコード設定: the current passcode (counted like a login's),
/// then the new one twice.
pub async fn change_passcode(
    store: &Store,
    session: &mut AppSession,
    current: &str,
    new: &str,
    again: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), AppLoginRefusal>, ServiceError> {
    if let Err(why) =
        check_passcode(store, &session.device, current, "app.passcode_change", now).await?
    {
        return Ok(Err(why));
    }
    register_passcode(store, session, new, again, now).await
}

/// ログアウト: the session ends and the passcode is forgotten, so the next
/// start asks for the ID and password.
pub async fn logout(
    store: &Store,
    session: &AppSession,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store.forget_app_passcode(session.device.id).await?;
    store.delete_session(&session.sid).await?;
    store
        .audit(&session.event("app.logout", "ok", None, json!({})), now)
        .await?;
    Ok(())
}

/// 目視確認で本人認証 on or off.
pub async fn set_visual_check(
    store: &Store,
    session: &AppSession,
    on: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store.set_app_visual_check(session.device.id, on).await?;
    store
        .audit(
            &session.event("app.visual_check", "ok", None, json!({"on": on})),
            now,
        )
        .await?;
    Ok(())
}

/// デバイス登録解除 from the app itself: the device is revoked at once and
/// its session ends.
pub async fn deregister(
    store: &Store,
    session: &AppSession,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store
        .revoke_device(
            session.institution.id,
            session.device.id,
            session.account.id,
            now,
        )
        .await?;
    store.delete_session(&session.sid).await?;
    store
        .audit(
            &session.event(
                "device.revoke",
                "ok",
                None,
                json!({"memo": session.device.memo, "from": "app"}),
            ),
            now,
        )
        .await?;
    Ok(())
}
