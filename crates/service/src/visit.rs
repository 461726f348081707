//! The state of one patient's visit to the web service (来院・訪問ごとの手続き),
//! kept server-side in `web_sessions` under a random id, so any node can
//! continue it. The browser holds only the id (the surface's cookie).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zaitaku_domain::codes::PrescriptionForm;
use zaitaku_domain::consent::{CareKind, Choice, ConsentItem};
use zaitaku_identity::CertificateStatus;
use zaitaku_storage::{Store, Write};

use crate::{ServiceError, random_token};

/// A visit may pause this long between steps (an elderly patient looking for
/// the card) before it has to start again.
pub const IDLE_MINUTES: i64 = 30;

/// The manual's flows.
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

/// The hand-off to the authenticator in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuth {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
    pub purpose: Purpose,
}

/// What the visit ended with: the consent written and who wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub consent_id: i64,
    pub person_id: i64,
    pub status: CertificateStatus,
    pub cross_device: bool,
}

/// Flow B: the consent in force that was shown before the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownConsent {
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Visit {
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

/// The key that makes a visit's consent write happen once: random, but led by
/// the time it was made (13 hex digits of microseconds), so that new keys
/// land on the last pages of the unique index instead of a random page each,
/// which in the WAL is a 4 KiB frame per registration.
pub fn idempotency_key(now: DateTime<Utc>) -> Result<String, ServiceError> {
    let micros = now.timestamp_micros().max(0);
    Ok(format!("{micros:013x}{}", crate::random_text::<24>()?))
}

impl Visit {
    pub fn new(institution_id: i64, now: DateTime<Utc>) -> Result<Self, ServiceError> {
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
            idempotency: idempotency_key(now)?,
            outcome: None,
        })
    }

    /// The visit stored under `sid`, if it is alive and belongs to this
    /// institution.
    pub async fn load(
        store: &Store,
        sid: &str,
        institution_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>, ServiceError> {
        let Some(text) = store.session_text(sid, now).await? else {
            return Ok(None);
        };
        // Not a visit (another kind of session, or a visit this build cannot
        // read): the patient starts again.
        let Ok(visit) = serde_json::from_str::<Self>(&text) else {
            return Ok(None);
        };
        Ok((visit.institution_id == institution_id && visit.sid == sid).then_some(visit))
    }

    pub async fn save(&self, store: &Store, now: DateTime<Utc>) -> Result<(), ServiceError> {
        store
            .write(vec![self.save_write(now)?])
            .await?
            .map_err(|r| ServiceError::Internal(format!("{r:?}")))?;
        Ok(())
    }

    /// The same save as a write, to commit together with other writes.
    pub(crate) fn save_write(&self, now: DateTime<Utc>) -> Result<Write, ServiceError> {
        let text =
            serde_json::to_string(self).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(Write::put_session_text(
            &self.sid,
            text,
            now,
            now + Duration::minutes(IDLE_MINUTES),
        ))
    }

    /// [`Visit::save_write`] for a visit whose outcome names the consent
    /// written earlier in the same job: the writer puts the consent's id in
    /// place of the outcome's.
    pub(crate) fn save_write_naming_consent(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Write, ServiceError> {
        let data = serde_json::to_value(self).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(Write::put_session_naming_consent(
            &self.sid,
            data,
            "/outcome/consent_id",
            now,
            now + Duration::minutes(IDLE_MINUTES),
        ))
    }

    /// 「同意登録をする」, 「同意照会・更新」, 「すべての同意を取消す」: a new
    /// choice of flow starts a new write. The visit and its audit record
    /// share one commit.
    pub async fn choose_flow(
        &mut self,
        store: &Store,
        kind: FlowKind,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        self.kind = Some(kind);
        self.outcome = None;
        self.identified_person = None;
        self.shown = None;
        self.choices = BTreeMap::new();
        self.prescription_form = None;
        self.idempotency = idempotency_key(now)?;
        let audit = crate::actor::patient_event(
            "flow.start",
            "ok",
            self.institution_id,
            None,
            serde_json::json!({"flow": kind}),
        );
        store
            .write(vec![self.save_write(now)?, Write::audit(&audit, now)])
            .await?
            .map_err(|r| ServiceError::Internal(format!("{r:?}")))?;
        Ok(())
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
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 21, 1, 0, 0).unwrap();
        let first = idempotency_key(now).unwrap();
        let second = idempotency_key(now + Duration::milliseconds(2)).unwrap();
        assert_ne!(first, second);
        assert!(first < second, "{first} then {second}");
        assert_ne!(
            first,
            idempotency_key(now).unwrap(),
            "random after the time"
        );
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
