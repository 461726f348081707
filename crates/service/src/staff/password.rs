//! Passwords: Argon2id hashes, checked off the async workers; temporary
//! passwords for a reset or a new account; the change of one's own password.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_domain::account::validate_password;
use zaitaku_identity::random_bytes;
use zaitaku_storage::Store;

use super::session::{Session, session_data};
use crate::{Actor, ServiceError};

/// Argon2id PHC string for a password (already checked against the rules).
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    random_bytes(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Whether `password` is the one `hash` was made from.
pub fn password_matches(password: &str, hash: &str) -> bool {
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
pub async fn hash_password_off_thread(password: &str) -> Result<String, ServiceError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// A hash no password is checked against for real: an unknown or locked
/// account still costs one Argon2 verification, so the answer's timing does
/// not tell which IDs exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        crate::random_text::<24>()
            .and_then(|secret| hash_password(&secret))
            .unwrap_or_default()
    })
}

/// Spends the time of a real check without a real account.
pub(crate) async fn decoy_check(password: &str) {
    let hash = tokio::task::spawn_blocking(decoy_hash)
        .await
        .unwrap_or_default();
    password_matches_off_thread(password, hash).await;
}

/// A temporary password that meets the rules (12 characters from each class),
/// for an administrator's reset or a new account. Shown once, never stored.
pub fn temporary_password() -> Result<String, ServiceError> {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"#$%&*@!?";
    let mut bytes = [0u8; 12];
    random_bytes(&mut bytes)?;
    let classes = [UPPER, LOWER, DIGIT, SYMBOL];
    let password: String = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = classes[i % classes.len()];
            char::from(set[usize::from(*b) % set.len()])
        })
        .collect();
    validate_password(&password).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(password)
}

/// Why one's own password was not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRefusal {
    WrongCurrent,
    /// The new password breaks a rule (the domain's message and code).
    Rule {
        message: String,
        code: &'static str,
    },
    ConfirmationDiffers,
    Unchanged,
    /// Five wrong passwords: the account is locked for 30 minutes (the
    /// staff app counts a wrong current password like a login).
    Locked,
}

impl PasswordRefusal {
    pub fn message(&self) -> String {
        match self {
            Self::WrongCurrent => "現在のパスワードが正しくありません。".into(),
            Self::Rule { message, code } => format!("{message}（{code}）"),
            Self::ConfirmationDiffers => {
                "新しいパスワードと確認用のパスワードが一致しません。".into()
            }
            Self::Unchanged => "現在と異なるパスワードを設定してください。".into(),
            Self::Locked => "パスワードを5回間違えたため、アカウントがロックされています。30分経ってから、もう一度お試しください。".into(),
        }
    }
}

/// The rules a new password of one's own must meet, after the current one
/// was proven.
pub(crate) fn check_new_password(
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), PasswordRefusal> {
    if let Err(e) = validate_password(new) {
        return Err(PasswordRefusal::Rule {
            message: e.to_string(),
            code: e.code(),
        });
    }
    if new != confirm {
        return Err(PasswordRefusal::ConfirmationDiffers);
    }
    if new == current {
        return Err(PasswordRefusal::Unchanged);
    }
    Ok(())
}

/// The change of one's own password. This session goes on with the new
/// password; every other session of the account ends (they are bound to the
/// old hash). Returns the session as it now stands.
pub async fn change_password(
    store: &Store,
    session: &Session,
    current: &str,
    new: &str,
    confirm: &str,
    now: DateTime<Utc>,
) -> Result<Result<Session, PasswordRefusal>, ServiceError> {
    let actor = Actor::new(&session.account, session.institution_id());
    if !password_matches_off_thread(current, &session.account.password_hash).await {
        store
            .audit(
                &actor.event("account.password_change", "wrong_password", None, json!({})),
                now,
            )
            .await?;
        return Ok(Err(PasswordRefusal::WrongCurrent));
    }
    if let Err(why) = check_new_password(current, new, confirm) {
        return Ok(Err(why));
    }
    let hash = hash_password_off_thread(new).await?;
    store.set_password(session.account.id, &hash, false).await?;
    let mut after = session.clone();
    after.account.password_hash = hash;
    after.account.must_change_password = false;
    store
        .put_session(
            &after.sid,
            &session_data(&after.account, after.realm, &after.csrf),
            now,
            now + chrono::Duration::minutes(super::IDLE_MINUTES),
        )
        .await?;
    store
        .audit(
            &actor.event("account.password_change", "ok", None, json!({})),
            now,
        )
        .await?;
    Ok(Ok(after))
}
