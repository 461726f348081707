//! Whether staff may read a patient's medical information now: the consent
//! gate of seed 000/002 (only consented items, only while the consent is in
//! force) and the JPKI rule that a certificate in its grace period confirms
//! eligibility but releases no medical information.

use chrono::{DateTime, Utc};

use crate::consent::{ConsentItem, ConsentRecord, ConsentState, permits};

/// Where the patient's My Number card certificate stands now (the best of
/// their cards that are not revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStanding {
    /// Valid, or expiring within 3 months (still valid).
    Valid,
    /// Expired at most 3 months ago: eligibility only.
    Grace,
    /// Expired beyond the grace period, revoked, or no card at all.
    Unusable,
}

/// Why a read is refused; each has a stable code and a sentence for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MedicalRefusal {
    #[error("この患者から同意を取得していないため、閲覧できません。")]
    NoConsent,
    #[error("この情報の提供に患者が同意していないため、閲覧できません。")]
    ItemNotConsented,
    #[error("同意の有効期間が過ぎているため、閲覧できません。改めて同意登録が必要です。")]
    Expired,
    #[error("患者が同意を取り消しているため、閲覧できません。")]
    Revoked,
    #[error(
        "患者のマイナンバーカードの電子証明書が有効期限切れ（猶予期間中）のため、資格情報のみ確認でき、薬剤情報等は提供されません。"
    )]
    Grace,
    #[error("患者のマイナンバーカードの電子証明書が有効でないため、閲覧できません。")]
    CertificateUnusable,
}

impl MedicalRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NoConsent => "Z-W-0640",
            Self::ItemNotConsented => "Z-W-0641",
            Self::Expired => "Z-W-0642",
            Self::Revoked => "Z-W-0643",
            Self::Grace => "Z-W-0644",
            Self::CertificateUnusable => "Z-W-0645",
        }
    }
}

/// The consent is checked first: a patient who never consented is refused as
/// such, whatever their card.
pub fn medical_access(
    latest: Option<&ConsentRecord>,
    item: ConsentItem,
    certificate: CertificateStanding,
    now: DateTime<Utc>,
) -> Result<(), MedicalRefusal> {
    match ConsentState::of(latest, now) {
        ConsentState::None => return Err(MedicalRefusal::NoConsent),
        ConsentState::Revoked => return Err(MedicalRefusal::Revoked),
        ConsentState::Expired => return Err(MedicalRefusal::Expired),
        ConsentState::InForce => {}
    }
    if !permits(latest, item, now) {
        return Err(MedicalRefusal::ItemNotConsented);
    }
    match certificate {
        CertificateStanding::Valid => Ok(()),
        CertificateStanding::Grace => Err(MedicalRefusal::Grace),
        CertificateStanding::Unusable => Err(MedicalRefusal::CertificateUnusable),
    }
}

/// The kinds of medical information staff read (seed 002): each released
/// by its consent items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedicalKind {
    /// 薬剤情報
    Drugs,
    /// 診療情報
    Clinical,
    /// 特定健診等情報
    Checkups,
}

impl MedicalKind {
    pub const ALL: [MedicalKind; 3] = [Self::Drugs, Self::Clinical, Self::Checkups];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drugs => "drugs",
            Self::Clinical => "clinical",
            Self::Checkups => "checkups",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Drugs => "薬剤情報",
            Self::Clinical => "診療情報",
            Self::Checkups => "特定健診等情報",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The consent items that release this kind; clinical information is
    /// split between the first two items (seed 000 wording), so either opens
    /// the page and each event is then filtered by its own item.
    fn items(self) -> &'static [ConsentItem] {
        match self {
            Self::Drugs => &[ConsentItem::ClinicalAndDrug],
            Self::Clinical => &[ConsentItem::Surgery, ConsentItem::ClinicalAndDrug],
            Self::Checkups => &[ConsentItem::Checkups],
        }
    }

    /// Granted if any of its items is; otherwise the first item's refusal
    /// (they differ only when one item was consented and the other not).
    pub fn access(
        self,
        latest: Option<&ConsentRecord>,
        standing: CertificateStanding,
        now: DateTime<Utc>,
    ) -> Result<(), MedicalRefusal> {
        let mut first = None;
        for item in self.items() {
            match medical_access(latest, *item, standing, now) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.unwrap_or(MedicalRefusal::ItemNotConsented))
    }
}

/// 再照会 of eligibility needs only a consent in force (no item, and a grace
/// certificate is enough).
pub fn requery_allowed(
    latest: Option<&ConsentRecord>,
    now: DateTime<Utc>,
) -> Result<(), MedicalRefusal> {
    match ConsentState::of(latest, now) {
        ConsentState::None => Err(MedicalRefusal::NoConsent),
        ConsentState::Revoked => Err(MedicalRefusal::Revoked),
        ConsentState::Expired => Err(MedicalRefusal::Expired),
        ConsentState::InForce => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::consent::{CareKind, Channel, Choice, ConsentAction};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap()
    }

    fn record(action: ConsentAction, valid_until: Option<DateTime<Utc>>) -> ConsentRecord {
        let mut choices = BTreeMap::new();
        choices.insert(ConsentItem::ClinicalAndDrug, Choice::Agree);
        choices.insert(ConsentItem::Checkups, Choice::Disagree);
        ConsentRecord {
            id: 1,
            institution_code: "1310100019".into(),
            person_id: 1,
            action,
            care_kind: CareKind::HomeVisit,
            channel: Channel::Web,
            choices: if action == ConsentAction::Revoke {
                BTreeMap::new()
            } else {
                choices
            },
            prescription_form: None,
            recorded_at: now() - Duration::days(1),
            valid_until,
            recorded_by: "patient".into(),
            photo_id_reason: None,
        }
    }

    #[test]
    fn consented_item_with_a_valid_card_is_readable() {
        let r = record(ConsentAction::Register, None);
        assert_eq!(
            medical_access(
                Some(&r),
                ConsentItem::ClinicalAndDrug,
                CertificateStanding::Valid,
                now()
            ),
            Ok(())
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let r = record(ConsentAction::Register, None);
        let drug = ConsentItem::ClinicalAndDrug;
        let valid = CertificateStanding::Valid;
        assert_eq!(
            medical_access(None, drug, valid, now()),
            Err(MedicalRefusal::NoConsent)
        );
        assert_eq!(
            medical_access(Some(&r), ConsentItem::Checkups, valid, now()),
            Err(MedicalRefusal::ItemNotConsented),
            "said 同意しない"
        );
        assert_eq!(
            medical_access(Some(&r), ConsentItem::Surgery, valid, now()),
            Err(MedicalRefusal::ItemNotConsented),
            "never asked"
        );
        let expired = record(ConsentAction::Register, Some(now() - Duration::minutes(1)));
        assert_eq!(
            medical_access(Some(&expired), drug, valid, now()),
            Err(MedicalRefusal::Expired)
        );
        let revoked = record(ConsentAction::Revoke, None);
        assert_eq!(
            medical_access(Some(&revoked), drug, valid, now()),
            Err(MedicalRefusal::Revoked)
        );
        assert_eq!(
            medical_access(Some(&r), drug, CertificateStanding::Grace, now()),
            Err(MedicalRefusal::Grace)
        );
        assert_eq!(
            medical_access(Some(&r), drug, CertificateStanding::Unusable, now()),
            Err(MedicalRefusal::CertificateUnusable)
        );
    }

    #[test]
    fn requery_needs_only_a_consent_in_force() {
        let r = record(ConsentAction::Register, None);
        assert_eq!(requery_allowed(Some(&r), now()), Ok(()));
        assert_eq!(requery_allowed(None, now()), Err(MedicalRefusal::NoConsent));
        let revoked = record(ConsentAction::Revoke, None);
        assert_eq!(
            requery_allowed(Some(&revoked), now()),
            Err(MedicalRefusal::Revoked)
        );
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            MedicalRefusal::NoConsent,
            MedicalRefusal::ItemNotConsented,
            MedicalRefusal::Expired,
            MedicalRefusal::Revoked,
            MedicalRefusal::Grace,
            MedicalRefusal::CertificateUnusable,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), all.len());
    }
}
