//! 生体認証 of the staff app (seed 001: 「生体認証又はパスコード」): a passkey
//! — a WebAuthn platform authenticator (Face ID, Touch ID, Windows Hello) —
//! enrolled on the device in セキュリティ設定 and then used instead of the
//! passcode to log in. One passkey per device; it opens only the device it
//! was enrolled on, and only while the device may log in with a passcode
//! (after five wrong passcodes or a ログアウト, the ID and password first).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder,
};
use zaitaku_storage::{AppDevice, AuditEvent, StorageError, Store};

use super::app::{AppSession, open_app_session};
use crate::ServiceError;

/// How long a login ceremony waits for the authenticator.
const CEREMONY_MINUTES: i64 = 5;

/// The relying party for `public_url`. Browsers accept no IP address as a
/// relying party, so a server addressed by one (the demo's 127.0.0.1) is
/// `localhost` for passkeys, reached at `http://localhost:<port>`.
pub fn relying_party(public_url: &str) -> Result<Webauthn, ServiceError> {
    let bad = |e: String| ServiceError::Internal(format!("relying party {public_url}: {e}"));
    let mut origin = Url::parse(public_url).map_err(|e| bad(e.to_string()))?;
    if origin.domain().is_none() {
        origin
            .set_host(Some("localhost"))
            .map_err(|e| bad(e.to_string()))?;
    }
    let rp_id = origin
        .domain()
        .ok_or_else(|| bad("no host".into()))?
        .to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("マイナ資格確認アプリ").build())
        .map_err(|e| bad(e.to_string()))
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// Whether the device has a passkey (the login screen offers 生体認証).
pub async fn enrolled(store: &Store, device: &AppDevice) -> Result<bool, ServiceError> {
    Ok(store.app_passkey(device.id).await?.is_some())
}

/// 生体認証の登録, first half: the options for `navigator.credentials.create`;
/// the ceremony's state waits in the session.
pub async fn enrol_start(
    store: &Store,
    rp: &Webauthn,
    session: &mut AppSession,
    now: DateTime<Utc>,
) -> Result<CreationChallengeResponse, ServiceError> {
    let (options, state) = rp
        .start_passkey_registration(
            Uuid::new_v4(),
            &session.account.user_id,
            &format!("{}（{}）", session.account.name, session.device.memo),
            None,
        )
        .map_err(internal)?;
    session.passkey = Some(serde_json::to_value(&state).map_err(internal)?);
    session.save(store, now).await?;
    Ok(options)
}

/// Why a passkey was not enrolled or did not open the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRefusal {
    /// No ceremony is waiting (expired, or another started).
    NoCeremony,
    /// The authenticator's answer did not verify.
    NotVerified,
    /// The credential is another device's.
    Taken,
    /// No passkey is enrolled on this device.
    NotEnrolled,
}

impl PasskeyRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoCeremony => "Z-P-0030",
            Self::NotVerified => "Z-P-0031",
            Self::Taken => "Z-P-0032",
            Self::NotEnrolled => "Z-P-0033",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NoCeremony => "生体認証の手続きが見つかりません。もう一度お試しください。",
            Self::NotVerified => {
                "生体認証を確認できませんでした。パスコードでログインしてください。"
            }
            Self::Taken => "この生体認証は別の端末に登録されています。",
            Self::NotEnrolled => {
                "この端末には生体認証が登録されていません。パスコードでログインしてください。"
            }
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Self::NoCeremony => "no_ceremony",
            Self::NotVerified => "not_verified",
            Self::Taken => "taken",
            Self::NotEnrolled => "not_enrolled",
        }
    }
}

/// 生体認証の登録, second half: the authenticator's answer is verified and
/// the passkey kept for this device (replacing one enrolled before).
pub async fn enrol_finish(
    store: &Store,
    rp: &Webauthn,
    session: &mut AppSession,
    answer: &RegisterPublicKeyCredential,
    now: DateTime<Utc>,
) -> Result<Result<(), PasskeyRefusal>, ServiceError> {
    let state: Option<PasskeyRegistration> = session
        .passkey
        .take()
        .and_then(|v| serde_json::from_value(v).ok());
    session.save(store, now).await?;
    let outcome = match state {
        None => Err(PasskeyRefusal::NoCeremony),
        Some(state) => match rp.finish_passkey_registration(answer, &state) {
            Err(_) => Err(PasskeyRefusal::NotVerified),
            Ok(passkey) => {
                let id = serde_json::to_string(passkey.cred_id()).map_err(internal)?;
                let json = serde_json::to_string(&passkey).map_err(internal)?;
                match store
                    .put_app_passkey(session.device.id, &id, &json, now)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(StorageError::Duplicate(_)) => Err(PasskeyRefusal::Taken),
                    Err(e) => return Err(e.into()),
                }
            }
        },
    };
    let result = match outcome {
        Ok(()) => "ok",
        Err(why) => why.outcome(),
    };
    store
        .audit(
            &session.event("app.passkey_enrol", result, None, json!({})),
            now,
        )
        .await?;
    Ok(outcome)
}

/// Where a login ceremony waits: keyed by the device, for a few minutes.
fn ceremony_key(device: &AppDevice) -> String {
    format!("passkey-login:{}", device.id)
}

/// 生体認証でログイン, first half: the options for `navigator.credentials.get`.
pub async fn login_start(
    store: &Store,
    rp: &Webauthn,
    device: &AppDevice,
    now: DateTime<Utc>,
) -> Result<Result<RequestChallengeResponse, PasskeyRefusal>, ServiceError> {
    let Some(json) = store.app_passkey(device.id).await? else {
        return Ok(Err(PasskeyRefusal::NotEnrolled));
    };
    let passkey: Passkey = serde_json::from_str(&json).map_err(internal)?;
    let (options, state) = rp
        .start_passkey_authentication(&[passkey])
        .map_err(internal)?;
    store
        .put_session(
            &ceremony_key(device),
            &serde_json::to_value(&state).map_err(internal)?,
            now,
            now + Duration::minutes(CEREMONY_MINUTES),
        )
        .await?;
    Ok(Ok(options))
}

/// 生体認証でログイン, second half: the assertion is verified against this
/// device's passkey (the ceremony is spent either way); the app opens.
pub async fn login_finish(
    store: &Store,
    rp: &Webauthn,
    device: &AppDevice,
    answer: &PublicKeyCredential,
    now: DateTime<Utc>,
) -> Result<Result<AppSession, PasskeyRefusal>, ServiceError> {
    if let Err(why) = verify(store, rp, device, answer, "app.login", now).await? {
        return Ok(Err(why));
    }
    let Some(account) = store.account(device.account_id).await? else {
        return Ok(Err(PasskeyRefusal::NotVerified));
    };
    if account.disabled || account.is_locked(now) {
        return Ok(Err(PasskeyRefusal::NotVerified));
    }
    open_app_session(store, device.clone(), account, now)
        .await
        .map(Ok)
}

/// セキュリティ設定 opened with 生体認証 instead of the passcode (seed 001:
/// 「生体認証又はパスコードの入力が必要です」).
pub async fn unlock_finish(
    store: &Store,
    rp: &Webauthn,
    session: &mut AppSession,
    answer: &PublicKeyCredential,
    now: DateTime<Utc>,
) -> Result<Result<(), PasskeyRefusal>, ServiceError> {
    let device = session.device.clone();
    if let Err(why) = verify(store, rp, &device, answer, "app.security", now).await? {
        return Ok(Err(why));
    }
    session.security_until =
        Some((now + Duration::minutes(super::app::SECURITY_MINUTES)).timestamp_micros());
    session.save(store, now).await?;
    Ok(Ok(()))
}

/// The assertion against the device's passkey and the ceremony waiting for
/// it (spent either way); the passkey's counter is kept. Audited as
/// `action` with the method.
async fn verify(
    store: &Store,
    rp: &Webauthn,
    device: &AppDevice,
    answer: &PublicKeyCredential,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<Result<(), PasskeyRefusal>, ServiceError> {
    let key = ceremony_key(device);
    let state: Option<PasskeyAuthentication> = store
        .session(&key, now)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    store.delete_session(&key).await?;
    let audit = |outcome: &'static str| AuditEvent {
        actor: "staff",
        action,
        outcome,
        institution_id: Some(device.institution_id),
        person_id: None,
        detail: json!({"device": device.id, "account": device.account_id, "method": "passkey"}),
    };
    let checked = match (state, store.app_passkey(device.id).await?) {
        (Some(state), Some(json)) => {
            let mut passkey: Passkey = serde_json::from_str(&json).map_err(internal)?;
            match rp.finish_passkey_authentication(answer, &state) {
                Ok(result) => {
                    passkey.update_credential(&result);
                    let json = serde_json::to_string(&passkey).map_err(internal)?;
                    store.touch_app_passkey(device.id, &json, now).await?;
                    Ok(())
                }
                Err(_) => Err(PasskeyRefusal::NotVerified),
            }
        }
        _ => Err(PasskeyRefusal::NoCeremony),
    };
    let outcome = match checked {
        Ok(()) => "ok",
        Err(why) => why.outcome(),
    };
    store.audit(&audit(outcome), now).await?;
    Ok(checked)
}
