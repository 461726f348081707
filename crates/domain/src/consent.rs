//! The consent model: items, choices, prescription form, channel, validity and
//! the rule that decides whether a consent is in force.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::{ConsentFlag, PrescriptionForm};
use crate::error::{Result, ValidationError};
use crate::institution::{Institution, InstitutionKind};
use crate::photo_id::PhotoIdReason;

/// Japan Standard Time: the consultation day ends at 24:00 JST.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| unreachable!("+09:00 is a valid offset"))
}

/// `2026年11月21日 14:05` in JST, as tables and messages write an instant.
pub fn jst_minute(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&jst())
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

/// The consent items (同意項目), in the order the web service shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentItem {
    /// 手術・傷病名情報・感染症検査結果の提供
    Surgery,
    /// 診療情報(感染症を除く検査結果、アレルギー等)・薬剤情報の提供
    ClinicalAndDrug,
    /// 特定健診等情報の提供
    Checkups,
    /// 限度額情報の提供 (online care; seed 003 shows it between 特定健診 and 特定疾病)
    LimitAmount,
    /// 特定疾病療養受療証情報の提供
    SpecificDisease,
    /// 医療費助成受給者証情報の提供
    Subsidy,
}

impl ConsentItem {
    pub const ALL: [Self; 6] = [
        Self::Surgery,
        Self::ClinicalAndDrug,
        Self::Checkups,
        Self::LimitAmount,
        Self::SpecificDisease,
        Self::Subsidy,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Surgery => "手術・傷病名情報・感染症検査結果の提供",
            Self::ClinicalAndDrug => "診療情報(感染症を除く検査結果、アレルギー等)・薬剤情報の提供",
            Self::Checkups => "特定健診等情報の提供",
            Self::SpecificDisease => "特定疾病療養受療証情報の提供",
            Self::Subsidy => "医療費助成受給者証情報の提供",
            Self::LimitAmount => "限度額情報の提供",
        }
    }

    /// The ? help text shown beside the item.
    pub fn help(self) -> &'static str {
        match self {
            Self::Surgery => {
                "過去に受けた手術の情報、傷病名、感染症の検査結果を、この医療機関等に提供することへの同意です。"
            }
            Self::ClinicalAndDrug => {
                "過去の診療情報（感染症を除く検査結果、アレルギー等）と、処方・調剤された薬の情報を、この医療機関等に提供することへの同意です。"
            }
            Self::Checkups => {
                "特定健診（いわゆるメタボ健診）や後期高齢者健診などの結果を、この医療機関等に提供することへの同意です。"
            }
            Self::SpecificDisease => {
                "特定疾病療養受療証（人工透析、血友病など）の情報を、この医療機関等に提供することへの同意です。"
            }
            Self::Subsidy => {
                "難病や子ども医療費などの医療費助成受給者証の情報を、この医療機関等に提供することへの同意です。"
            }
            Self::LimitAmount => {
                "限度額適用認定証の情報（医療費の自己負担上限額の区分）を、この医療機関等に提供することへの同意です。"
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Surgery => "surgery",
            Self::ClinicalAndDrug => "clinical_and_drug",
            Self::Checkups => "checkups",
            Self::SpecificDisease => "specific_disease",
            Self::Subsidy => "subsidy",
            Self::LimitAmount => "limit_amount",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "同意項目",
                value: s.to_owned(),
            })
    }

    /// Items an institution of this kind offers until its administrator
    /// changes them. 限度額情報 is an online-care item and starts off.
    pub fn default_for(_kind: InstitutionKind) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|i| *i != Self::LimitAmount)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// 同意する
    Agree,
    /// 同意しない
    Disagree,
}

impl Choice {
    pub fn label(self) -> &'static str {
        match self {
            Self::Agree => "同意する",
            Self::Disagree => "同意しない",
        }
    }
}

/// The kind of care the consent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareKind {
    /// 訪問診療等
    HomeVisit,
    /// オンライン診療等
    Online,
    /// 外来診療等（通常とは異なる動線）
    Outpatient,
}

impl CareKind {
    pub const ALL: [Self; 3] = [Self::HomeVisit, Self::Online, Self::Outpatient];

    pub fn label(self) -> &'static str {
        match self {
            Self::HomeVisit => "訪問診療等",
            Self::Online => "オンライン診療等",
            Self::Outpatient => "外来診療等（通常とは異なる動線）",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HomeVisit => "home_visit",
            Self::Online => "online",
            Self::Outpatient => "outpatient",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "診療の種類",
                value: s.to_owned(),
            })
    }
}

/// Where the consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// マイナ在宅受付Web
    Web,
    /// マイナ資格確認アプリ
    App,
    /// 顔認証付きカードリーダー
    Counter,
    /// オンライン診療アプリ等からの連携
    Partner,
}

impl Channel {
    pub const ALL: [Self; 4] = [Self::Web, Self::App, Self::Counter, Self::Partner];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::App => "app",
            Self::Counter => "counter",
            Self::Partner => "partner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Web => "マイナ在宅受付Web",
            Self::App => "マイナ資格確認アプリ",
            Self::Counter => "顔認証付きカードリーダー",
            Self::Partner => "連携サービス",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "同意の経路",
                value: s.to_owned(),
            })
    }
}

/// What a consent record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    Register,
    Update,
    Revoke,
}

impl ConsentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Update => "update",
            Self::Revoke => "revoke",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Register => "登録",
            Self::Update => "更新",
            Self::Revoke => "取消",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        [Self::Register, Self::Update, Self::Revoke]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "同意の操作",
                value: s.to_owned(),
            })
    }
}

/// What the patient chose on B-01 / C-03, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRequest {
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
    /// オンライン診療等: the consultation day the patient entered.
    pub consultation_date: Option<NaiveDate>,
}

/// A validated set of choices, ready to be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentDecision {
    pub care_kind: CareKind,
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
    /// End of validity; `None` = until revoked.
    pub valid_until: Option<DateTime<Utc>>,
}

impl ConsentRequest {
    /// Every offered item answered, nothing else; the prescription form exactly
    /// where it is asked; online care valid to the end of the consultation day
    /// (today when none was entered) in Japan time.
    pub fn validate(
        &self,
        institution: &Institution,
        care_kind: CareKind,
        now: DateTime<Utc>,
    ) -> Result<ConsentDecision> {
        for item in self.choices.keys() {
            if !institution.offers(*item) {
                return Err(ValidationError::ConsentItemNotOffered(item.label()));
            }
        }
        if institution
            .consent_items
            .iter()
            .any(|i| !self.choices.contains_key(i))
        {
            return Err(ValidationError::ConsentItemMissing);
        }
        let prescription_form = match (institution.asks_prescription_form(), self.prescription_form)
        {
            (true, None) => return Err(ValidationError::PrescriptionFormRequired),
            (false, Some(_)) => return Err(ValidationError::PrescriptionFormNotOffered),
            (_, form) => form,
        };
        let valid_until = match care_kind {
            CareKind::Online => {
                let today = now.with_timezone(&jst()).date_naive();
                let day = self.consultation_date.unwrap_or(today);
                if day < today {
                    return Err(ValidationError::ConsultationDate);
                }
                Some(next_midnight_jst(day))
            }
            CareKind::HomeVisit | CareKind::Outpatient => None,
        };
        Ok(ConsentDecision {
            care_kind,
            choices: self.choices.clone(),
            prescription_form,
            valid_until,
        })
    }
}

/// The first instant after `day` in Japan time, as UTC: consent is valid while
/// `now < next_midnight_jst(day)`.
pub fn next_midnight_jst(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    jst()
        .from_local_datetime(&midnight)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// One stored consent record: the history is the list of these, newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub id: i64,
    pub institution_code: String,
    pub person_id: i64,
    pub action: ConsentAction,
    pub care_kind: CareKind,
    pub channel: Channel,
    pub choices: BTreeMap<ConsentItem, Choice>,
    pub prescription_form: Option<PrescriptionForm>,
    pub recorded_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Who recorded it: "patient" for the patient's own card, or a staff user ID.
    pub recorded_by: String,
    /// Why staff must check a photo ID (`None`: registered in front of
    /// staff on the institution's own device).
    #[serde(default)]
    pub photo_id_reason: Option<PhotoIdReason>,
}

impl ConsentRecord {
    pub fn needs_photo_id_check(&self) -> bool {
        self.photo_id_reason.is_some()
    }
}

/// Where a consent stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    None,
    InForce,
    Expired,
    Revoked,
}

impl ConsentState {
    /// The latest record decides.
    pub fn of(latest: Option<&ConsentRecord>, now: DateTime<Utc>) -> Self {
        match latest {
            None => Self::None,
            Some(r) if r.action == ConsentAction::Revoke => Self::Revoked,
            Some(r) if r.valid_until.is_some_and(|u| now >= u) => Self::Expired,
            Some(_) => Self::InForce,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::None => "同意なし",
            Self::InForce => "同意あり",
            Self::Expired => "同意期限切れ",
            Self::Revoked => "同意取消済み",
        }
    }
}

/// The national layout's flag for one item (0 none, 1 given, 2 expired).
pub fn consent_flag(
    latest: Option<&ConsentRecord>,
    item: ConsentItem,
    now: DateTime<Utc>,
) -> ConsentFlag {
    let agreed = latest.is_some_and(|r| r.choices.get(&item) == Some(&Choice::Agree));
    match (ConsentState::of(latest, now), agreed) {
        (ConsentState::InForce, true) => ConsentFlag::Given,
        (ConsentState::Expired, true) => ConsentFlag::Expired,
        _ => ConsentFlag::None,
    }
}

/// May medical information of this item be provided now?
pub fn permits(latest: Option<&ConsentRecord>, item: ConsentItem, now: DateTime<Utc>) -> bool {
    consent_flag(latest, item, now) == ConsentFlag::Given
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::institution::InstitutionCode;
    use crate::prefecture::Prefecture;

    fn clinic(eprescription: bool) -> Institution {
        let code =
            InstitutionCode::build(Prefecture::new(13).unwrap(), InstitutionKind::Medical, 1, 1)
                .unwrap();
        Institution::new(code, "試験クリニック", eprescription).unwrap()
    }

    #[test]
    fn online_items_in_the_order_of_seed_003() {
        let mut i = clinic(false);
        i.set_consent_items(&[
            ConsentItem::SpecificDisease,
            ConsentItem::LimitAmount,
            ConsentItem::Checkups,
        ]);
        let labels: Vec<_> = i.consent_items.iter().map(|c| c.label()).collect();
        assert_eq!(
            labels,
            [
                "特定健診等情報の提供",
                "限度額情報の提供",
                "特定疾病療養受療証情報の提供"
            ]
        );
    }

    fn all_agree(i: &Institution) -> BTreeMap<ConsentItem, Choice> {
        i.consent_items
            .iter()
            .map(|i| (*i, Choice::Agree))
            .collect()
    }

    fn now() -> DateTime<Utc> {
        // 2026-11-21 10:00 JST.
        Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
    }

    #[test]
    fn prescription_form_rules() {
        let c = clinic(true);
        let mut req = ConsentRequest {
            choices: all_agree(&c),
            ..Default::default()
        };
        assert_eq!(
            req.validate(&c, CareKind::HomeVisit, now())
                .unwrap_err()
                .code(),
            "Z-V-0014"
        );
        req.prescription_form = Some(PrescriptionForm::Electronic);
        let ok = req.validate(&c, CareKind::HomeVisit, now()).unwrap();
        assert_eq!(ok.prescription_form, Some(PrescriptionForm::Electronic));
        assert_eq!(ok.valid_until, None);
        let plain = clinic(false);
        let req2 = ConsentRequest {
            choices: all_agree(&plain),
            prescription_form: Some(PrescriptionForm::Paper),
            ..Default::default()
        };
        assert_eq!(
            req2.validate(&plain, CareKind::HomeVisit, now())
                .unwrap_err()
                .code(),
            "Z-V-0015"
        );
    }

    #[test]
    fn items_must_match_the_offer() {
        let mut c = clinic(false);
        c.set_consent_items(&[ConsentItem::Surgery, ConsentItem::ClinicalAndDrug]);
        let mut choices = BTreeMap::new();
        choices.insert(ConsentItem::Surgery, Choice::Agree);
        let mut req = ConsentRequest {
            choices,
            ..Default::default()
        };
        assert_eq!(
            req.validate(&c, CareKind::HomeVisit, now())
                .unwrap_err()
                .code(),
            "Z-V-0017"
        );
        req.choices
            .insert(ConsentItem::ClinicalAndDrug, Choice::Disagree);
        assert!(req.validate(&c, CareKind::HomeVisit, now()).is_ok());
        req.choices.insert(ConsentItem::LimitAmount, Choice::Agree);
        assert_eq!(
            req.validate(&c, CareKind::HomeVisit, now())
                .unwrap_err()
                .code(),
            "Z-V-0016"
        );
    }

    #[test]
    fn online_care_valid_until_end_of_consultation_day_jst() {
        let c = clinic(false);
        let mut req = ConsentRequest {
            choices: all_agree(&c),
            ..Default::default()
        };
        // No date entered: today (21 Nov JST) until 22 Nov 00:00 JST = 21 Nov 15:00 UTC.
        let d = req.validate(&c, CareKind::Online, now()).unwrap();
        assert_eq!(
            d.valid_until,
            Some(Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap())
        );
        req.consultation_date = NaiveDate::from_ymd_opt(2026, 11, 25);
        let d = req.validate(&c, CareKind::Online, now()).unwrap();
        assert_eq!(
            d.valid_until,
            Some(Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap())
        );
        req.consultation_date = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(
            req.validate(&c, CareKind::Online, now())
                .unwrap_err()
                .code(),
            "Z-V-0018"
        );
        // 23:30 JST on the 21st is still the 21st in Japan though the 21st in UTC too;
        // 00:30 JST on the 22nd is the 21st in UTC but the 22nd in Japan.
        let after_midnight_jst = Utc.with_ymd_and_hms(2026, 11, 21, 15, 30, 0).unwrap();
        req.consultation_date = NaiveDate::from_ymd_opt(2026, 11, 21);
        assert_eq!(
            req.validate(&c, CareKind::Online, after_midnight_jst)
                .unwrap_err()
                .code(),
            "Z-V-0018"
        );
    }

    fn record(action: ConsentAction, valid_until: Option<DateTime<Utc>>) -> ConsentRecord {
        let mut choices = BTreeMap::new();
        choices.insert(ConsentItem::ClinicalAndDrug, Choice::Agree);
        choices.insert(ConsentItem::Checkups, Choice::Disagree);
        ConsentRecord {
            id: 1,
            institution_code: "1310000011".into(),
            person_id: 1,
            action,
            care_kind: CareKind::Online,
            channel: Channel::Web,
            choices,
            prescription_form: None,
            recorded_at: now(),
            valid_until,
            recorded_by: "patient".into(),
            photo_id_reason: None,
        }
    }

    #[test]
    fn gating() {
        let until = Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap();
        let r = record(ConsentAction::Register, Some(until));
        assert!(permits(Some(&r), ConsentItem::ClinicalAndDrug, now()));
        assert!(!permits(Some(&r), ConsentItem::Checkups, now()));
        assert!(!permits(Some(&r), ConsentItem::Surgery, now()));
        assert!(!permits(None, ConsentItem::ClinicalAndDrug, now()));
        // At the boundary the consent has ended.
        assert!(!permits(Some(&r), ConsentItem::ClinicalAndDrug, until));
        assert_eq!(
            consent_flag(Some(&r), ConsentItem::ClinicalAndDrug, until),
            ConsentFlag::Expired
        );
        assert_eq!(
            consent_flag(Some(&r), ConsentItem::Checkups, until),
            ConsentFlag::None
        );
        let revoked = record(ConsentAction::Revoke, None);
        assert_eq!(
            ConsentState::of(Some(&revoked), now()),
            ConsentState::Revoked
        );
        assert!(!permits(
            Some(&revoked),
            ConsentItem::ClinicalAndDrug,
            now()
        ));
    }
}
