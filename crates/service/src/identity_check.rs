//! 本人確認のテスト: a card tried end to end without any consent (nonce →
//! authenticator → back channel → verification → person), so that the demo
//! cards can be tried. The consent flows take the same steps
//! ([`crate::consent`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_identity::{Identified, Identity, LoginError};
use zaitaku_storage::{AuditEvent, Store, Write};

use crate::{ServiceError, random_token};

/// How long a started check waits for the card.
const LIFETIME_MINUTES: i64 = 30;

/// A check waiting for the authenticator: what the browser's session holds.
pub struct Pending {
    pub sid: String,
    pub state: String,
    pub verifier: String,
    pub nonce: String,
}

/// Opens a check: a session and a nonce for it.
pub async fn open(
    store: &Store,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<Pending, ServiceError> {
    let sid = random_token()?;
    let pending = Pending {
        state: random_token()?,
        verifier: random_token()?,
        nonce: identity.new_nonce(&sid, now).await?,
        sid,
    };
    store
        .put_session(
            &pending.sid,
            &json!({"state": pending.state, "verifier": pending.verifier, "nonce": pending.nonce}),
            now,
            now + Duration::minutes(LIFETIME_MINUTES),
        )
        .await?;
    Ok(pending)
}

/// Why a returning browser cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// No session, or it expired.
    Expired,
    /// The `state` that came back is not this session's.
    OtherState,
}

/// The check behind `sid` for the `state` that came back. It is taken:
/// each session signs in at most once.
pub async fn take(
    store: &Store,
    sid: &str,
    returned_state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<Pending, Lost>, ServiceError> {
    let Some(session) = store.session(sid, now).await? else {
        return Ok(Err(Lost::Expired));
    };
    let field = |k: &str| {
        session
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let pending = Pending {
        sid: sid.to_owned(),
        state: field("state"),
        verifier: field("verifier"),
        nonce: field("nonce"),
    };
    if returned_state != Some(pending.state.as_str()) {
        return Ok(Err(Lost::OtherState));
    }
    store.delete_session(sid).await?;
    Ok(Ok(pending))
}

/// Why the card was not accepted.
#[derive(Debug)]
pub enum CheckRefusal {
    /// The hand-off's code was already spent.
    CodeSpent,
    Login(LoginError),
    /// The card's person is not in the eligibility registry.
    UnknownPerson,
}

/// Who the card belongs to, as shown to them.
pub struct Checked {
    pub who: Identified,
    pub eligibility: Eligibility,
}

/// Spends the hand-off's code (`redeem`), verifies the token against the
/// check's nonce and reads the person, auditing the read of their name and
/// birth date.
pub async fn finish(
    store: &Store,
    identity: &Identity,
    pending: &Pending,
    token: &str,
    redeem: Write,
    origin: &str,
    now: DateTime<Utc>,
) -> Result<Result<Checked, CheckRefusal>, ServiceError> {
    if store.write(vec![redeem]).await?.is_err() {
        return Ok(Err(CheckRefusal::CodeSpent));
    }
    let who = match identity
        .verify_login(token, origin, &pending.nonce, &pending.sid, now)
        .await
    {
        Ok(who) => who,
        Err(e) => return Ok(Err(CheckRefusal::Login(e))),
    };
    let Some(eligibility) = store.eligibility(who.person_id).await? else {
        return Ok(Err(CheckRefusal::UnknownPerson));
    };
    store
        .audit(
            &AuditEvent {
                actor: "patient",
                action: "read.person",
                outcome: "ok",
                institution_id: None,
                person_id: Some(who.person_id),
                detail: json!({"page": "identity_check", "fields": ["name", "name_kana", "birth_date"]}),
            },
            now,
        )
        .await?;
    Ok(Ok(Checked { who, eligibility }))
}
