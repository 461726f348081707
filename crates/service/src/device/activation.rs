//! アクティベーションコード管理 (seed 002 《マイナ資格確認アプリ管理》) and
//! アプリの初期登録 (seed 001): an administrator issues a code for a 端末識別メモ;
//! a nurse's browser becomes an app device of the institution with the
//! institution code, her ID and password and that code. The rules are in
//! `zaitaku_domain::staff_app` (docs/design/staff-app.md).

use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_domain::account::validate_display_name;
use zaitaku_domain::error::ValidationError;
use zaitaku_domain::staff_app::{ActivationCode, CodeState, CodeTerms, may_activate};
use zaitaku_storage::{
    AuditEvent, NewActivationCode, Refusal, StorageError, Store, StoredActivationCode, Write,
};

use super::app::{AppSession, open_app_session};
use crate::ServiceError;
use crate::staff::{LoginRefusal, Realm, Session, check_password};

/// How many codes the administration lists (newest first).
const LISTED_CODES: i64 = 100;

/// A code just issued: the digits are shown this once.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: ActivationCode,
    pub stored: StoredActivationCode,
}

/// 《発行》 for `memo`. The code is drawn here; `terms` is the institution's
/// setting (the demo waits no time).
pub async fn issue_code(
    store: &Store,
    admin: &Session,
    memo: &str,
    terms: CodeTerms,
    now: DateTime<Utc>,
) -> Result<Result<IssuedCode, ValidationError>, ServiceError> {
    let memo = match validate_display_name("端末識別メモ", memo) {
        Ok(m) => m,
        Err(e) => return Ok(Err(e)),
    };
    let inst = admin.staff_institution()?;
    let window = terms.window(now);
    // Twelve digits may repeat one the institution holds; a second draw
    // will not, short of a broken random source.
    for _ in 0..2 {
        let mut bytes = [0u8; 8];
        zaitaku_identity::random_bytes(&mut bytes)?;
        let code = ActivationCode::from_random(bytes);
        let new = NewActivationCode {
            institution_id: inst.id,
            code: code.as_str(),
            memo: &memo,
            issued_by: admin.account.id,
            issued_at: now,
            usable_from: window.usable_from,
            expires_at: window.expires_at,
        };
        match store.issue_activation_code(&new).await {
            Err(StorageError::Duplicate(_)) => continue,
            other => other?,
        }
        let stored = store
            .activation_code(inst.id, code.as_str())
            .await?
            .ok_or_else(|| ServiceError::Internal("the code just issued is not stored".into()))?;
        store
            .audit(
                &admin.actor().event(
                    "app.code_issue",
                    "ok",
                    None,
                    json!({"code": stored.id, "memo": stored.memo}),
                ),
                now,
            )
            .await?;
        return Ok(Ok(IssuedCode { code, stored }));
    }
    Err(ServiceError::Internal(
        "two activation codes drawn in a row were both taken".into(),
    ))
}

/// The institution's codes, newest first, with where each stands at `now`.
pub async fn codes(
    store: &Store,
    admin: &Session,
    now: DateTime<Utc>,
) -> Result<Vec<(StoredActivationCode, CodeState)>, ServiceError> {
    let inst = admin.staff_institution()?;
    Ok(store
        .activation_codes_of(inst.id, LISTED_CODES)
        .await?
        .into_iter()
        .map(|c| {
            let state = CodeState::of(code_window(&c), c.used_at, now);
            (c, state)
        })
        .collect())
}

fn code_window(c: &StoredActivationCode) -> zaitaku_domain::staff_app::CodeWindow {
    zaitaku_domain::staff_app::CodeWindow {
        usable_from: c.usable_from,
        expires_at: c.expires_at,
    }
}

/// Why a browser was not activated. Each is audited (`app.activate`), and
/// none changes anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationRefusal {
    /// A field is empty or the code is not twelve half-width digits.
    Input(ValidationError),
    /// The institution code, ID or password is not right (which one is not
    /// said), or the account is disabled or not started.
    Login,
    /// Five wrong passwords: the account is locked (the administration's
    /// lock, 30 minutes).
    Locked,
    /// An administrator's account.
    Role,
    /// The account has never logged in to the administration (seed 002).
    NeverLoggedIn,
    /// No code with these digits at this institution.
    UnknownCode,
    /// Issued less than the waiting time ago.
    NotYetUsable {
        usable_from: DateTime<Utc>,
    },
    Expired,
    /// It activated a device already.
    Used,
}

impl ActivationRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Input(e) => e.code(),
            Self::Login => "Z-P-0001",
            Self::Locked => "Z-P-0002",
            Self::Role => "Z-P-0003",
            Self::NeverLoggedIn => "Z-P-0004",
            Self::UnknownCode => "Z-P-0005",
            Self::NotYetUsable { .. } => "Z-P-0006",
            Self::Expired => "Z-P-0007",
            Self::Used => "Z-P-0008",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Input(e) => e.to_string(),
            Self::Login => "機関コード、ID又はパスワードが正しくありません。".into(),
            Self::Locked => "パスワードを5回間違えたため、アカウントがロックされています。30分経ってから、もう一度お試しください。".into(),
            Self::Role => "管理者のアカウントではアプリを利用できません。一般利用者又は医療情報閲覧のアカウントで登録してください。".into(),
            Self::NeverLoggedIn => "このアカウントは一度もオンライン資格確認等システムにログインしていないため、アプリを利用できません。先に資格確認端末でログインしてください。".into(),
            Self::UnknownCode => "アクティベーションコードが正しくありません。発行されたコードをご確認ください。".into(),
            Self::NotYetUsable { usable_from } => format!(
                "このアクティベーションコードはまだ利用できません。{}以降に登録してください。",
                zaitaku_domain::consent::jst_minute(*usable_from)
            ),
            Self::Expired => "このアクティベーションコードは有効期限が切れています。管理者に新しいコードの発行を依頼してください。".into(),
            Self::Used => "このアクティベーションコードは既に使用されています。管理者に新しいコードの発行を依頼してください。".into(),
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::Input(_) => "input",
            Self::Login => "login",
            Self::Locked => "locked",
            Self::Role => "role",
            Self::NeverLoggedIn => "never_logged_in",
            Self::UnknownCode => "unknown_code",
            Self::NotYetUsable { .. } => "not_yet_usable",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }
}

/// What 初期登録 asks for.
pub struct ActivationForm<'a> {
    pub institution_code: &'a str,
    pub user_id: &'a str,
    pub password: &'a str,
    pub code: &'a str,
}

/// 初期登録 → 「登録する」: the browser that will keep `token` becomes an app
/// device of the account's institution, and is signed in (the passcode is
/// chosen next). The password is checked under the administration's lockout
/// rule.
pub async fn activate(
    store: &Store,
    form: &ActivationForm<'_>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Result<AppSession, ActivationRefusal>, ServiceError> {
    let refused = |why: ActivationRefusal, institution_id: Option<i64>| async move {
        let event = AuditEvent {
            actor: "staff",
            action: "app.activate",
            outcome: why.outcome(),
            institution_id,
            person_id: None,
            detail: json!({"code": why.code(), "user_id": form.user_id.trim(),
                "institution_code": form.institution_code.trim()}),
        };
        store.audit(&event, now).await?;
        Ok::<_, ServiceError>(Err(why))
    };
    for (field, value) in [
        ("機関コード", form.institution_code),
        ("ID", form.user_id),
        ("パスワード", form.password),
    ] {
        if value.trim().is_empty() {
            return refused(
                ActivationRefusal::Input(ValidationError::Required { field }),
                None,
            )
            .await;
        }
    }
    let code = match ActivationCode::parse(form.code) {
        Ok(c) => c,
        Err(e) => return refused(ActivationRefusal::Input(e), None).await,
    };
    let account = match check_password(
        store,
        Realm::Institution,
        "app.login",
        form.institution_code,
        form.user_id,
        form.password,
        now,
    )
    .await?
    {
        Ok(a) => a,
        Err(LoginRefusal::Locked | LoginRefusal::LockedNow) => {
            return refused(ActivationRefusal::Locked, None).await;
        }
        Err(_) => return refused(ActivationRefusal::Login, None).await,
    };
    let institution_id = account
        .institution_id
        .ok_or_else(|| ServiceError::Internal("an institution login without one".into()))?;
    store.clear_login_failures(account.id).await?;
    if !may_activate(account.role) {
        return refused(ActivationRefusal::Role, Some(institution_id)).await;
    }
    if account.last_login_at.is_none() {
        return refused(ActivationRefusal::NeverLoggedIn, Some(institution_id)).await;
    }
    let Some(stored) = store.activation_code(institution_id, code.as_str()).await? else {
        return refused(ActivationRefusal::UnknownCode, Some(institution_id)).await;
    };
    match CodeState::of(code_window(&stored), stored.used_at, now) {
        CodeState::Unused => {}
        CodeState::NotYetUsable => {
            let why = ActivationRefusal::NotYetUsable {
                usable_from: stored.usable_from,
            };
            return refused(why, Some(institution_id)).await;
        }
        CodeState::Expired => {
            return refused(ActivationRefusal::Expired, Some(institution_id)).await;
        }
        CodeState::Used => return refused(ActivationRefusal::Used, Some(institution_id)).await,
    }
    let actor = crate::Actor::new(&account, Some(institution_id));
    let job = vec![
        Write::activate_app_device(
            institution_id,
            stored.id,
            token,
            &stored.memo,
            account.id,
            now,
        ),
        Write::audit(
            &actor.event(
                "app.activate",
                "ok",
                None,
                json!({"code": stored.id, "memo": stored.memo}),
            ),
            now,
        ),
    ];
    match store.write(job).await? {
        Ok(_) => {}
        // Used by another browser between the read and the write.
        Err(r) if r.refusal == Refusal::CodeNotRedeemable => {
            return refused(ActivationRefusal::Used, Some(institution_id)).await;
        }
        Err(r) => return Err(ServiceError::Internal(format!("activation refused: {r:?}"))),
    }
    let device = store
        .app_device_by_token(token)
        .await?
        .ok_or_else(|| ServiceError::Internal("the device just activated is not stored".into()))?;
    open_app_session(store, device, account, now).await.map(Ok)
}
