//! The state of one patient's visit to the web service, kept server-side in
//! `web_sessions` under a random cookie id, so any node can continue it.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{CareKind, Choice, ConsentItem};
use zaitaku_identity::{CertificateStatus, random_bytes};
use zaitaku_proto::base64url;
use zaitaku_storage::Write;

use crate::AppState;
use crate::error::WebError;

pub const COOKIE: &str = "zt_flow";
/// A visit may pause this long between steps (an elderly patient looking for
/// the card) before it has to start again.
pub const IDLE_MINUTES: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// A: 同意登録
    Register,
    /// B: 同意照会・更新
    Update,
    /// C: すべての同意を取消す
    Cancel,
}

/// Why the patient is being sent to the authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// B: show the stored consent.
    View,
    /// A, B, C: write.
    Save,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuth {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
    pub purpose: Purpose,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub consent_id: i64,
    pub person_id: i64,
    pub status: CertificateStatus,
    pub cross_device: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownConsent {
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub sid: String,
    pub csrf: String,
    pub institution_id: i64,
    pub care_kind: CareKind,
    /// オンライン診療等: where 「手続きを終了する」 returns.
    pub partner_return: Option<String>,
    /// The partner's `state`, returned in the signed return.
    #[serde(default)]
    pub partner_state: Option<String>,
    pub kind: Option<FlowKind>,
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
    pub consultation_date: Option<NaiveDate>,
    pub auth: Option<PendingAuth>,
    /// Flow B: who was authenticated to see the stored consent.
    pub identified_person: Option<i64>,
    /// Flow B: the consent in force that was shown, to tell the patient
    /// when the update changes nothing.
    #[serde(default)]
    pub shown: Option<ShownConsent>,
    /// One write per visit, however often the patient presses or reloads.
    pub idempotency: String,
    pub outcome: Option<Outcome>,
}

pub fn random_token() -> Result<String, WebError> {
    let mut b = [0u8; 32];
    random_bytes(&mut b).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(base64url::encode(&b))
}

/// The key that makes a visit's consent write happen once: random, but led by
/// the time it was made (13 hex digits of microseconds), so that new keys
/// land on the last pages of the unique index instead of a random page each,
/// which in the WAL is a 4 KiB frame per registration.
pub fn idempotency_key() -> Result<String, WebError> {
    let mut b = [0u8; 24];
    random_bytes(&mut b).map_err(|e| WebError::Internal(e.to_string()))?;
    let micros = chrono::Utc::now().timestamp_micros().max(0);
    Ok(format!("{micros:013x}{}", base64url::encode(&b)))
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Flow {
    pub fn new(institution_id: i64) -> Result<Self, WebError> {
        Ok(Self {
            sid: random_token()?,
            csrf: random_token()?,
            institution_id,
            care_kind: CareKind::HomeVisit,
            partner_return: None,
            partner_state: None,
            kind: None,
            choices: BTreeMap::new(),
            prescription_form: None,
            consultation_date: None,
            auth: None,
            identified_person: None,
            shown: None,
            idempotency: idempotency_key()?,
            outcome: None,
        })
    }

    /// The visit behind the request's cookie, if it is alive and belongs to
    /// this institution.
    pub async fn load(
        state: &AppState,
        headers: &HeaderMap,
        institution_id: i64,
    ) -> Result<Option<Self>, WebError> {
        let Some(sid) = cookie(headers, COOKIE) else {
            return Ok(None);
        };
        let Some(text) = state.store.session_text(sid, Utc::now()).await? else {
            return Ok(None);
        };
        // Not a visit (another kind of session, or one from an older
        // version): the patient starts again.
        let flow: Self = match serde_json::from_str(&text) {
            Ok(f) => f,
            Err(_) => return Ok(None),
        };
        Ok((flow.institution_id == institution_id && flow.sid == sid).then_some(flow))
    }

    pub async fn save(&self, state: &AppState) -> Result<(), WebError> {
        state
            .store
            .write(vec![self.save_write()?])
            .await?
            .map_err(|r| WebError::Internal(format!("{r:?}")))?;
        Ok(())
    }

    /// The same save as a write, to commit together with other writes.
    pub fn save_write(&self) -> Result<Write, WebError> {
        let text = serde_json::to_string(self).map_err(|e| WebError::Internal(e.to_string()))?;
        let now = Utc::now();
        Ok(Write::put_session_text(
            &self.sid,
            text,
            now,
            now + Duration::minutes(IDLE_MINUTES),
        ))
    }

    pub fn cookie_header(&self, state: &AppState) -> Result<HeaderValue, WebError> {
        let secure = if state.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{COOKIE}={}; Path=/w/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.sid,
            IDLE_MINUTES * 60
        ))
        .map_err(|e| WebError::Internal(e.to_string()))
    }

    /// Constant-time comparison is not needed: the token is compared once per
    /// form and a mismatch ends the visit.
    pub fn csrf_ok(&self, presented: Option<&str>) -> bool {
        presented == Some(self.csrf.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_unique_and_sort_by_when_they_were_made() {
        let first = idempotency_key().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = idempotency_key().unwrap();
        assert_ne!(first, second);
        assert!(first < second, "{first} then {second}");
        // 13 hex digits of time, then 24 random bytes in URL-safe base64.
        assert_eq!(first.len(), 13 + 32);
        assert!(first[..13].chars().all(|c| c.is_ascii_hexdigit()));
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }
}
