//! A signed-in account's session: opened on login, resumed on every
//! request (re-reading the account, so a disabled account, a lock or a
//! changed password takes effect at once), ended on logout.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use zaitaku_domain::account::{Permission, Role};
use zaitaku_storage::{Store, StoredAccount, StoredInstitution};

use super::Realm;
use crate::{Actor, ServiceError, random_token};

/// A session ends after this long without a request.
pub const IDLE_MINUTES: i64 = 30;

#[derive(Debug, Clone)]
pub struct Session {
    pub sid: String,
    pub csrf: String,
    pub realm: Realm,
    pub account: StoredAccount,
    /// `None` for an operator.
    pub institution: Option<StoredInstitution>,
}

impl Session {
    pub fn institution_id(&self) -> Option<i64> {
        self.institution.as_ref().map(|i| i.id)
    }

    /// The institution of institution staff. An operator never reaches a use
    /// case that asks for it: their role has none of the institution
    /// permissions.
    pub fn staff_institution(&self) -> Result<&StoredInstitution, ServiceError> {
        self.institution.as_ref().ok_or_else(|| {
            ServiceError::Internal("an operator reached an institution's use case".into())
        })
    }

    /// The account as the audit log names it.
    pub fn actor(&self) -> Actor<'_> {
        Actor::new(&self.account, self.institution_id())
    }
}

/// What a session remembers. It is bound to the password it was opened
/// with: a change or a reset ends every other session of the account.
pub(crate) fn session_data(account: &StoredAccount, realm: Realm, csrf: &str) -> serde_json::Value {
    json!({
        "account": account.id,
        "realm": realm.as_str(),
        "csrf": csrf,
        "password": password_mark(&account.password_hash),
    })
}

/// A digest of the password hash, so the session store does not hold the
/// hash itself.
pub(crate) fn password_mark(password_hash: &str) -> String {
    let digest = Sha256::digest(password_hash.as_bytes());
    zaitaku_proto::base64url::encode(&digest[..16])
}

/// A new session for an account that has just proven its password.
pub(crate) async fn open_session(
    store: &Store,
    account: StoredAccount,
    institution: Option<StoredInstitution>,
    realm: Realm,
    now: DateTime<Utc>,
) -> Result<Session, ServiceError> {
    let session = Session {
        sid: random_token()?,
        csrf: random_token()?,
        realm,
        account,
        institution,
    };
    store
        .put_session(
            &session.sid,
            &session_data(&session.account, realm, &session.csrf),
            now,
            now + Duration::minutes(IDLE_MINUTES),
        )
        .await?;
    Ok(session)
}

/// The session `sid` on `realm`, if it is alive and its account may still
/// use it; each request keeps it alive for another [`IDLE_MINUTES`].
pub async fn resume_session(
    store: &Store,
    sid: &str,
    realm: Realm,
    now: DateTime<Utc>,
) -> Result<Option<Session>, ServiceError> {
    let Some(data) = store.session(sid, now).await? else {
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
    let Some(account) = store.account(account_id).await? else {
        return Ok(None);
    };
    let same_password = data.get("password").and_then(serde_json::Value::as_str)
        == Some(password_mark(&account.password_hash).as_str());
    if account.disabled || account.is_locked(now) || !same_password {
        store.delete_session(sid).await?;
        return Ok(None);
    }
    let institution = match account.institution_id {
        Some(id) => match store.institution(id).await? {
            Some(i) => Some(i),
            None => return Ok(None),
        },
        None => None,
    };
    if (realm == Realm::Operator) != (account.role == Role::Operator) {
        return Ok(None);
    }
    store
        .put_session(sid, &data, now, now + Duration::minutes(IDLE_MINUTES))
        .await?;
    Ok(Some(Session {
        sid: sid.to_owned(),
        csrf: csrf.to_owned(),
        realm,
        account,
        institution,
    }))
}

/// Logout.
pub async fn end_session(
    store: &Store,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store.delete_session(&session.sid).await?;
    store
        .audit(
            &session
                .actor()
                .event("account.logout", "ok", None, json!({})),
            now,
        )
        .await?;
    Ok(())
}

/// A page or action the account's role does not allow: audited.
pub async fn access_denied(
    store: &Store,
    session: &Session,
    permission: Permission,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store
        .audit(
            &session.actor().event(
                "access.denied",
                "role",
                None,
                json!({"permission": permission.as_str()}),
            ),
            now,
        )
        .await?;
    Ok(())
}
