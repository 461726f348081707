//! 資格確認 for one person at one institution, as staff do it: the patient
//! must have consented to this institution (otherwise "not found", exactly
//! like a person who does not exist); eligibility is shown as confirmed at
//! consent or, by 再照会, as of today while the consent is in force; medical
//! information only for the roles that may read it, only the consented
//! items, only while the consent is in force, never on a certificate in its
//! grace period. Every read, granted or refused, is audited with who, what
//! and when. The staff app and the receipt-computer interface ask the same
//! questions.

pub mod app_check;
pub mod oqs;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde_json::json;
use zaitaku_card::validity::classify;
use zaitaku_domain::access::{
    CertificateStanding, MedicalKind, MedicalRefusal, medical_access, requery_allowed,
};
use zaitaku_domain::account::Permission;
use zaitaku_domain::consent::{Choice, ConsentAction, ConsentItem, ConsentRecord, jst};
use zaitaku_domain::eligibility::Eligibility;
use zaitaku_domain::medical::{CheckupResult, ClinicalEvent, ClinicalKind, DrugRecord};
use zaitaku_identity::CertificateStatus;
use zaitaku_storage::{PatientNotes, Store};

use crate::staff::Session;
use crate::{ServiceError, jst_day};

/// The best standing among the person's cards that are not revoked.
pub async fn certificate_standing(
    store: &Store,
    person_id: i64,
    now: DateTime<Utc>,
) -> Result<CertificateStanding, ServiceError> {
    let mut best = CertificateStanding::Unusable;
    for card in store.cards(Some(person_id)).await? {
        if card.revoked_at.is_some() {
            continue;
        }
        match classify(card.issued_at, card.not_after, now) {
            Ok(CertificateStatus::Grace { .. }) => best = CertificateStanding::Grace,
            Ok(_) => return Ok(CertificateStanding::Valid),
            Err(_) => {}
        }
    }
    Ok(best)
}

/// What the patient page shows, read and audited in one go.
pub struct PatientInquiry {
    /// Oldest first.
    pub history: Vec<ConsentRecord>,
    pub notes: PatientNotes,
    pub standing: CertificateStanding,
    pub eligibility: Option<Eligibility>,
    /// The choices of the last consent given (not revoked): what the
    /// eligibility block may show.
    pub choices: BTreeMap<ConsentItem, Choice>,
    /// The day eligibility is shown as of.
    pub on: NaiveDate,
    /// 再照会 was asked and is not allowed (no consent in force).
    pub requery_refusal: Option<MedicalRefusal>,
    /// 再照会 was asked and done.
    pub requeried: bool,
    /// For roles that may read medical information: each kind, open or why
    /// not. Empty for the others.
    pub medical: Vec<(MedicalKind, Result<(), MedicalRefusal>)>,
}

/// The patient page (`requery` false) or 再照会 (`requery` true) for a
/// patient found by [`crate::patients::consented`].
pub async fn patient(
    store: &Store,
    session: &Session,
    person_id: i64,
    requery: bool,
    now: DateTime<Utc>,
) -> Result<PatientInquiry, ServiceError> {
    let institution_id = session
        .institution_id()
        .ok_or_else(|| ServiceError::Internal("an operator asked for a patient".into()))?;
    let history = store.consent_history(institution_id, person_id).await?;
    let notes = store.patient_notes(institution_id, person_id).await?;
    let standing = certificate_standing(store, person_id, now).await?;
    let latest = history.last();
    let today = jst_day(now);
    // Eligibility as confirmed with the latest registration, or — by 再照会 —
    // as of today.
    let last_given = history
        .iter()
        .rev()
        .find(|r| r.action != ConsentAction::Revoke);
    let choices = last_given.map(|r| r.choices.clone()).unwrap_or_default();
    let consent_day =
        last_given.map_or(today, |r| r.recorded_at.with_timezone(&jst()).date_naive());
    let requery_refusal = if requery {
        requery_allowed(latest, now).err()
    } else {
        None
    };
    let requeried = requery && requery_refusal.is_none();
    let on = if requeried { today } else { consent_day };
    let eligibility = store.eligibility(person_id).await?;
    let medical = if session.account.role.may(Permission::ViewMedical) {
        MedicalKind::ALL
            .iter()
            .map(|k| (*k, k.access(latest, standing, now)))
            .collect()
    } else {
        Vec::new()
    };
    store
        .audit(
            &session.actor().event(
                if requery {
                    "eligibility.requery"
                } else {
                    "patient.view"
                },
                if requery_refusal.is_some() {
                    "refused"
                } else {
                    "ok"
                },
                Some(person_id),
                json!({"eligibility_on": on}),
            ),
            now,
        )
        .await?;
    Ok(PatientInquiry {
        history,
        notes,
        standing,
        eligibility,
        choices,
        on,
        requery_refusal,
        requeried,
        medical,
    })
}

/// The 診療年月 window of a medical-information read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day of the first 診療年月.
    pub from: NaiveDate,
    /// First day of the last 診療年月.
    pub to: NaiveDate,
    /// The months staff entered could not be used; the default is shown.
    pub error: Option<&'static str>,
}

fn month(s: Option<&str>) -> Result<Option<NaiveDate>, ()> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

impl Window {
    /// From `YYYY-MM` texts; by default the last 3 診療年月 including this
    /// one, and for check-ups (yearly) five years back.
    pub fn of(kind: MedicalKind, from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Self {
        let this_month = today.with_day(1).unwrap_or(today);
        let back = if kind == MedicalKind::Checkups { 59 } else { 2 };
        let default_from = this_month
            .checked_sub_months(Months::new(back))
            .unwrap_or(this_month);
        let fallback = |error| Self {
            from: default_from,
            to: this_month,
            error: Some(error),
        };
        match (month(from), month(to)) {
            (Ok(f), Ok(t)) => {
                let f = f.unwrap_or(default_from);
                let t = t.unwrap_or(this_month);
                if f <= t {
                    Self {
                        from: f,
                        to: t,
                        error: None,
                    }
                } else {
                    fallback("診療年月の期間が正しくありません（開始が終了より後です）。")
                }
            }
            _ => fallback("診療年月は 2026-04 の形で入力してください。"),
        }
    }

    /// The last day of the last 診療年月.
    pub fn last_day(&self) -> NaiveDate {
        self.to
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(self.to)
    }
}

/// The records released by a medical-information read.
pub enum MedicalRecords {
    /// Refused, or the window could not be used.
    Nothing,
    Drugs(Vec<DrugRecord>),
    Clinical(Vec<ClinicalEvent>),
    Checkups(Vec<CheckupResult>),
}

impl MedicalRecords {
    fn len(&self) -> usize {
        match self {
            Self::Nothing => 0,
            Self::Drugs(r) => r.len(),
            Self::Clinical(r) => r.len(),
            Self::Checkups(r) => r.len(),
        }
    }
}

pub struct MedicalRead {
    pub access: Result<(), MedicalRefusal>,
    pub records: MedicalRecords,
}

/// A read of medical information of `kind` in `window`. `None`: the role
/// may not read medical information at all (audited as refused; the surface
/// shows its no-permission page). `requested_kind` is what staff asked for,
/// as recorded in that refusal.
pub async fn medical(
    store: &Store,
    session: &Session,
    person_id: i64,
    requested_kind: Option<&str>,
    kind: MedicalKind,
    window: Window,
    now: DateTime<Utc>,
) -> Result<Option<MedicalRead>, ServiceError> {
    if !session.account.role.may(Permission::ViewMedical) {
        store
            .audit(
                &session.actor().event(
                    "medical.read",
                    "refused",
                    Some(person_id),
                    json!({"kind": requested_kind, "refusal": "Z-W-0603"}),
                ),
                now,
            )
            .await?;
        return Ok(None);
    }
    let institution_id = session
        .institution_id()
        .ok_or_else(|| ServiceError::Internal("an operator asked for a patient".into()))?;
    let latest = store.latest_consent(institution_id, person_id).await?;
    let standing = certificate_standing(store, person_id, now).await?;
    let access = kind.access(latest.as_ref(), standing, now);
    let (from, last) = (window.from, window.last_day());
    let records = if access.is_ok() && window.error.is_none() {
        match kind {
            MedicalKind::Drugs => {
                MedicalRecords::Drugs(store.drug_history(person_id, from, last).await?)
            }
            MedicalKind::Clinical => {
                let allowed = |k: ClinicalKind| {
                    medical_access(latest.as_ref(), k.consent_item(), standing, now).is_ok()
                };
                MedicalRecords::Clinical(
                    store
                        .clinical_events(person_id)
                        .await?
                        .into_iter()
                        .filter(|e| allowed(e.kind))
                        .filter(|e| e.occurred_on >= from && e.occurred_on <= last)
                        .collect(),
                )
            }
            MedicalKind::Checkups => MedicalRecords::Checkups(
                store
                    .checkups(person_id)
                    .await?
                    .into_iter()
                    .filter(|c| c.examined_on >= from && c.examined_on <= last)
                    .collect(),
            ),
        }
    } else {
        MedicalRecords::Nothing
    };
    store
        .audit(
            &session.actor().event(
                "medical.read",
                match (&access, window.error) {
                    (Ok(()), None) => "ok",
                    (Ok(()), Some(_)) => "bad_request",
                    (Err(_), _) => "refused",
                },
                Some(person_id),
                json!({
                    "kind": kind.as_str(),
                    "from": window.from.format("%Y-%m").to_string(),
                    "to": window.to.format("%Y-%m").to_string(),
                    "records": records.len(),
                    "refusal": access.err().map(MedicalRefusal::code),
                }),
            ),
            now,
        )
        .await?;
    Ok(Some(MedicalRead { access, records }))
}
