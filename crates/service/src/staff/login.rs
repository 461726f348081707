//! Login with the lockout rule: every attempt is counted before the password
//! is checked (so a burst cannot check more than five), Argon2 runs off the
//! async workers, an unknown or locked account costs the same decoy check,
//! and every attempt is audited — never the password.

use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_storage::{AuditEvent, Store, StoredAccount};

use super::Realm;
use super::password::{decoy_check, password_matches_off_thread};
use super::session::{Session, open_session};
use crate::{ServiceError, jst_day};

/// Why a login was refused. The person is shown the same words for each, so
/// a refusal reveals neither which IDs exist nor which are locked; the audit
/// log tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    UnknownUser,
    /// Already locked before this attempt.
    Locked,
    /// This attempt was the one that locked the account.
    LockedNow,
    Disabled,
    NotStarted,
    WrongPassword,
}

impl LoginRefusal {
    /// The audit log's outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::Locked => "locked",
            Self::LockedNow => "locked_now",
            Self::Disabled => "disabled",
            Self::NotStarted => "not_started",
            Self::WrongPassword => "wrong_password",
        }
    }
}

/// A successful login: the new session, and whether the account must choose
/// a password before anything else.
#[derive(Debug)]
pub struct SignedIn {
    pub session: Session,
    pub must_change_password: bool,
}

/// A login posted from another site's page (login CSRF: being signed in to
/// someone else's account), refused before anything is checked: audited.
pub async fn refuse_cross_site(
    store: &Store,
    realm: Realm,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let event = AuditEvent {
        actor: realm.actor(),
        action: "account.login",
        outcome: "cross_site",
        institution_id: None,
        person_id: None,
        detail: json!({}),
    };
    store.audit(&event, now).await?;
    Ok(())
}

/// One login attempt on `realm`. `institution_code` is ignored for operators.
pub async fn login(
    store: &Store,
    realm: Realm,
    institution_code: &str,
    user_id: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<SignedIn, LoginRefusal>, ServiceError> {
    let account = match check_password(
        store,
        realm,
        "account.login",
        institution_code,
        user_id,
        password,
        now,
    )
    .await?
    {
        Ok(account) => account,
        Err(why) => return Ok(Err(why)),
    };
    store.record_login(account.id, now).await?;
    let institution = match account.institution_id {
        Some(id) => store.institution(id).await?,
        None => None,
    };
    let must_change_password = account.must_change_password;
    let session = open_session(store, account, institution, realm, now).await?;
    Ok(Ok(SignedIn {
        session,
        must_change_password,
    }))
}

/// The password check of a login, with the lockout rule, audited as
/// `action`: the account (as it was before this attempt), or why not. The
/// staff app's login shares it, and with it the count that locks the
/// account. The caller records the success: its count of failures is
/// still standing.
pub(crate) async fn check_password(
    store: &Store,
    realm: Realm,
    action: &'static str,
    institution_code: &str,
    user_id: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Result<StoredAccount, LoginRefusal>, ServiceError> {
    let (institution_code, user_id) = (institution_code.trim(), user_id.trim());
    let account = match realm {
        Realm::Institution => store.account_for_login(institution_code, user_id).await?,
        Realm::Operator => store.operator_for_login(user_id).await?,
    };
    let audit = |outcome: &'static str, institution: Option<i64>| AuditEvent {
        actor: realm.actor(),
        action,
        outcome,
        institution_id: institution,
        person_id: None,
        detail: json!({"user_id": user_id, "institution_code": institution_code}),
    };
    let refused = |why: LoginRefusal, institution: Option<i64>| {
        let event = audit(why.as_str(), institution);
        async move {
            store.audit(&event, now).await?;
            Ok::<_, ServiceError>(Err(why))
        }
    };
    let Some(account) = account else {
        decoy_check(password).await;
        return refused(LoginRefusal::UnknownUser, None).await;
    };
    // Counted before the check, so a burst of attempts cannot check more
    // than five passwords however they interleave.
    let Some((count, locked)) = store.reserve_login_attempt(account.id, now).await? else {
        decoy_check(password).await;
        return refused(LoginRefusal::Locked, account.institution_id).await;
    };
    let started = account.start_date <= jst_day(now);
    let matches = password_matches_off_thread(password, &account.password_hash).await;
    if account.disabled || !started || !matches {
        let why = if locked.is_some_and(|t| t > now) {
            LoginRefusal::LockedNow
        } else if account.disabled {
            LoginRefusal::Disabled
        } else if !started {
            LoginRefusal::NotStarted
        } else {
            LoginRefusal::WrongPassword
        };
        tracing::info!(failures = count, "login refused");
        return refused(why, account.institution_id).await;
    }
    store
        .audit(&audit("ok", account.institution_id), now)
        .await?;
    Ok(Ok(account))
}
